// A widget that paints video frames itself (so QWidget::grab() and tests see the pixels, which
// QVideoWidget never gives): keeps the aspect ratio, can mirror (self view), and shows a plain
// placeholder text while there is no frame. Qt thread only: frames arrive through MediaBridge,
// the one place that crosses threads.
#pragma once

#include <QElapsedTimer>
#include <QImage>
#include <QWidget>

namespace tincan::ui {

class VideoView : public QWidget {
    Q_OBJECT
public:
    explicit VideoView(QWidget* parent = nullptr);

    void setFrame(const QImage& frame);
    void setMirrored(bool on);
    void setPlaceholder(const QString& text);
    QString placeholder() const { return placeholder_; }
    // A thin frame around the view (the self view over the remote one).
    void setFramed(bool on);
    // Drops the frame; the placeholder shows.
    void clear();
    bool hasFrame() const { return !frame_.isNull(); }
    quint64 framesReceived() const { return framesReceived_; }
    quint64 framesPainted() const { return framesPainted_; }
    // Since the last setFrame(); −1 before the first.
    qint64 msSinceLastFrame() const { return lastFrame_.isValid() ? lastFrame_.elapsed() : -1; }
    // Where the frame is drawn (aspect kept, centred); empty without a frame.
    QRect frameRect() const;

signals:
    void resized();

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;

private:
    QImage frame_;
    QString placeholder_;
    QElapsedTimer lastFrame_;
    bool mirrored_ = false;
    bool framed_ = false;
    quint64 framesReceived_ = 0;
    quint64 framesPainted_ = 0;
};

}  // namespace tincan::ui
