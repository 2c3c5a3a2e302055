#include "ui/widgets/video_view.hpp"

#include <QPainter>

namespace tincan::ui {

VideoView::VideoView(QWidget* parent) : QWidget(parent), placeholder_(tr("No video yet")) {
    setAttribute(Qt::WA_OpaquePaintEvent);
    setMinimumSize(160, 90);
}

void VideoView::setFrame(const QImage& frame) {
    frame_ = frame;  // shares the bytes
    lastFrame_.start();
    ++framesReceived_;
    update();
}

QRect VideoView::frameRect() const {
    if (frame_.isNull()) return {};
    QSize size = frame_.size().scaled(this->size(), Qt::KeepAspectRatio);
    return {QPoint((width() - size.width()) / 2, (height() - size.height()) / 2), size};
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
    if (frame_.isNull()) {
        p.setPen(QColor(200, 204, 210));
        QFont f = font();
        f.setPointSizeF(f.pointSizeF() * (width() > 400 ? 1.4 : 0.9));
        p.setFont(f);
        p.drawText(rect().adjusted(8, 8, -8, -8), Qt::AlignCenter | Qt::TextWordWrap, placeholder_);
    } else {
        p.save();
        if (mirrored_) {
            p.translate(width(), 0);
            p.scale(-1, 1);
        }
        const QRect target = frameRect();
        // MediaBridge converts frames to the size they are drawn at: then this is a plain copy.
        // Only a frame of another size (the view was just resized) is scaled here.
        const qreal dpr = devicePixelRatioF();
        if (frame_.size() == (QSizeF(target.size()) * dpr).toSize()) {
            QImage image = frame_;
            image.setDevicePixelRatio(dpr);
            p.drawImage(target.topLeft(), image);
        } else {
            p.setRenderHint(QPainter::SmoothPixmapTransform);
            p.drawImage(target, frame_);
        }
        p.restore();
        framesPainted_++;
    }
    if (framed_) {  // over the picture, so the self view stands out from the remote one
        p.setPen(QPen(QColor(140, 148, 160), 2));
        p.drawRect(rect().adjusted(1, 1, -1, -1));
    }
}

}  // namespace tincan::ui
