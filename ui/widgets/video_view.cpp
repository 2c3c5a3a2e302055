#include "ui/widgets/video_view.hpp"

#include <QPainter>

namespace tincan::ui {

VideoView::VideoView(QWidget* parent) : QWidget(parent), placeholder_(tr("No video yet")) {
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(160, 90);
}

void VideoView::present(const QImage& frame) {
    // The copy crosses to the Qt thread; QImage shares its bytes, so this is cheap.
    QMetaObject::invokeMethod(
        this,
        [this, frame] {
            frame_ = frame;
            update();
        },
        Qt::QueuedConnection);
}

void VideoView::setMirrored(bool on) {
    mirrored_ = on;
    update();
}

void VideoView::setPlaceholder(const QString& text) {
    placeholder_ = text;
    update();
}

void VideoView::setFramed(bool on) {
    framed_ = on;
    update();
}

void VideoView::clear() {
    frame_ = {};
    update();
}

void VideoView::resizeEvent(QResizeEvent*) {
    emit resized();
}

void VideoView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.fillRect(rect(), framed_ ? QColor(48, 52, 60) : QColor(24, 26, 30));
    if (framed_) {
        p.setPen(QPen(QColor(140, 148, 160), 2));
        p.drawRect(rect().adjusted(1, 1, -1, -1));
    }
    if (frame_.isNull()) {
        p.setPen(QColor(200, 204, 210));
        QFont f = font();
        f.setPointSizeF(f.pointSizeF() * (width() > 400 ? 1.4 : 0.9));
        p.setFont(f);
        p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
        return;
    }
    QSize size = frame_.size().scaled(this->size(), Qt::KeepAspectRatio);
    QRect target(QPoint((width() - size.width()) / 2, (height() - size.height()) / 2), size);
    p.setRenderHint(QPainter::SmoothPixmapTransform);
    if (mirrored_) {
        p.translate(width(), 0);
        p.scale(-1, 1);
    }
    p.drawImage(target, frame_);
    framesPainted_++;
}

}  // namespace tincan::ui
