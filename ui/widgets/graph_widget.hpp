// A small line graph painted with QPainter: a rolling window of samples per series (one a
// second), an auto-scaled y axis with its unit, the latest value in the legend.
#pragma once

#include <QColor>
#include <QString>
#include <QWidget>
#include <deque>
#include <vector>

namespace tincan::ui {

class GraphWidget : public QWidget {
    Q_OBJECT
public:
    GraphWidget(QString title, QString unit, QWidget* parent = nullptr);
    int addSeries(const QString& name, const QColor& color);
    void append(int series, double value);
    size_t samples(int series) const { return series_[size_t(series)].values.size(); }
    QSize sizeHint() const override { return {360, 140}; }

    static constexpr size_t kWindow = 120;  // two minutes at 1 Hz

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    struct Series {
        QString name;
        QColor color;
        std::deque<double> values;
    };
    QString title_, unit_;
    std::vector<Series> series_;
};

}  // namespace tincan::ui
