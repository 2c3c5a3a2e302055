// Three bars, green/amber/red, for the CallQuality level; the tooltip says why.
#pragma once

#include <QWidget>

#include "ui/models/call_quality.hpp"

namespace tincan::ui {

class QualityIndicator : public QWidget {
    Q_OBJECT
public:
    explicit QualityIndicator(QWidget* parent = nullptr);
    void setQuality(Quality level, const QString& reason);
    Quality quality() const { return level_; }
    QSize sizeHint() const override { return {28, 20}; }

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    Quality level_ = Quality::Good;
    bool known_ = false;
};

}  // namespace tincan::ui
