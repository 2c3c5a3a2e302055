#include "ui/widgets/quality_indicator.hpp"

#include <QPainter>

namespace tincan::ui {

QualityIndicator::QualityIndicator(QWidget* parent) : QWidget(parent) {
    setFixedSize(sizeHint());
    setToolTip(tr("Call quality: not connected yet"));
}

void QualityIndicator::setQuality(Quality level, const QString& reason) {
    level_ = level;
    known_ = true;
    const char* word = level == Quality::Good ? "good" : level == Quality::Fair ? "fair" : "poor";
    setToolTip(tr("Call quality: %1 — %2").arg(tr(word), reason));
    update();
}

void QualityIndicator::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    int lit = !known_ ? 0 : level_ == Quality::Good ? 3 : level_ == Quality::Fair ? 2 : 1;
    QColor on = level_ == Quality::Good   ? QColor(46, 160, 67)
                : level_ == Quality::Fair ? QColor(219, 155, 36)
                                          : QColor(207, 34, 46);
    for (int i = 0; i < 3; ++i) {
        int h = 6 + i * 6;
        QRect bar(3 + i * 8, height() - h - 1, 6, h);
        p.setBrush(i < lit ? on : palette().color(QPalette::Mid));
        p.setPen(Qt::NoPen);
        p.drawRoundedRect(bar, 1.5, 1.5);
    }
}

}  // namespace tincan::ui
