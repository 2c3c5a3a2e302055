// A widget that paints video frames itself (so QWidget::grab() and tests see the pixels, which
// QVideoWidget never gives): keeps the aspect ratio, can mirror (self view), and shows a plain
// placeholder text while no frame has arrived.
#pragma once

#include <QImage>
#include <QWidget>
#include <atomic>

#include "ui/widgets/video_sink.hpp"

namespace tincan::ui {

class VideoView : public QWidget, public VideoSink {
    Q_OBJECT
public:
    explicit VideoView(QWidget* parent = nullptr);

    void present(const QImage& frame) override;  // any thread
    void setMirrored(bool on);
    void setPlaceholder(const QString& text);
    // A thin frame around the view (the self view over the remote one).
    void setFramed(bool on);
    void clear();
    quint64 framesPainted() const { return framesPainted_; }

signals:
    void resized();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    QImage frame_;
    QString placeholder_;
    bool mirrored_ = false;
    bool framed_ = false;
    quint64 framesPainted_ = 0;
};

}  // namespace tincan::ui
