#include "ui/widgets/graph_widget.hpp"

#include <QPainter>
#include <QPainterPath>
#include <algorithm>

namespace tincan::ui {

GraphWidget::GraphWidget(QString title, QString unit, QWidget* parent)
    : QWidget(parent), title_(std::move(title)), unit_(std::move(unit)) {
    setMinimumHeight(110);
}

int GraphWidget::addSeries(const QString& name, const QColor& color) {
    series_.push_back({name, color, {}});
    return int(series_.size()) - 1;
}

void GraphWidget::append(int series, double value) {
    auto& s = series_[size_t(series)];
    s.values.push_back(value);
    while (s.values.size() > kWindow) s.values.pop_front();
    update();
}

static QString axisLabel(double v) {
    return v >= 100 ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3);
}

void GraphWidget::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QPalette& pal = palette();
    p.fillRect(rect(), pal.color(QPalette::Base));
    QFontMetrics fm(font());
    const int top = fm.height() + 6, left = fm.horizontalAdvance("000000.0") + 8,
              bottom = height() - 6, right = width() - 6;
    double maxValue = 0;
    for (const auto& s : series_)
        for (double v : s.values) maxValue = std::max(maxValue, v);
    maxValue = maxValue <= 0 ? 1 : maxValue * 1.15;

    p.setPen(pal.color(QPalette::Text));
    QString legend = title_;
    for (const auto& s : series_)
        if (!s.values.empty())
            legend += QString("   %1 %2 %3").arg(s.name).arg(s.values.back(), 0, 'f', 1).arg(unit_);
    p.drawText(QRect(4, 2, width() - 8, fm.height()), Qt::AlignLeft, legend);
    p.setPen(QPen(pal.color(QPalette::Mid), 1, Qt::DotLine));
    for (int i = 0; i <= 2; ++i) {
        int y = top + (bottom - top) * i / 2;
        p.drawLine(left, y, right, y);
        p.drawText(QRect(0, y - fm.height() / 2, left - 4, fm.height()), Qt::AlignRight,
                   axisLabel(maxValue * (2 - i) / 2));
    }
    for (const auto& s : series_) {
        if (s.values.size() < 2) continue;
        QPainterPath path;
        // The x axis grows with the samples up to the window, so a young call fills the graph.
        size_t span = std::clamp<size_t>(s.values.size(), 30, kWindow);
        double dx = double(right - left) / double(span - 1);
        double x0 = right - dx * double(s.values.size() - 1);
        for (size_t i = 0; i < s.values.size(); ++i) {
            QPointF pt(x0 + dx * double(i), bottom - (bottom - top) * s.values[i] / maxValue);
            i == 0 ? path.moveTo(pt) : path.lineTo(pt);
        }
        p.setPen(QPen(s.color, 2));
        p.drawPath(path);
    }
}

}  // namespace tincan::ui
