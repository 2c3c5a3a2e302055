#include "media/capture_qt/qt_camera_source.hpp"

#include <QCamera>
#include <QCameraDevice>
#include <QMediaCaptureSession>
#include <QMediaDevices>
#include <QVideoFrame>
#include <QVideoSink>
#include <chrono>
#include <cmath>

#include "media/capture_qt/qt_frame_convert.hpp"

namespace tincan::media {

QtCameraSource::QtCameraSource(CameraRequest request) : request_(std::move(request)) {}

QtCameraSource::~QtCameraSource() {
    stop();
}

std::vector<CameraInfo> QtCameraSource::listCameras() {
    std::vector<CameraInfo> out;
    const QCameraDevice def = QMediaDevices::defaultVideoInput();
    for (const QCameraDevice& d : QMediaDevices::videoInputs())
        out.push_back({d.id().toStdString(), d.description().toStdString(), d == def});
    return out;
}

bool QtCameraSource::start(std::string& error) {
    stop();
    const auto inputs = QMediaDevices::videoInputs();
    if (inputs.isEmpty()) {
        error = "no camera found";
        return false;
    }
    QCameraDevice device = QMediaDevices::defaultVideoInput();
    if (!request_.deviceId.empty()) {
        const auto it = std::find_if(inputs.begin(), inputs.end(), [&](const QCameraDevice& d) {
            return d.id().toStdString() == request_.deviceId;
        });
        if (it == inputs.end()) {
            error = "camera '" + request_.deviceId + "' not found";
            return false;
        }
        device = *it;
    }
    // The offered format nearest the request in pixels, then frame rate.
    QCameraFormat best;
    double bestScore = 1e18;
    for (const QCameraFormat& f : device.videoFormats()) {
        const double pixels = std::abs(double(f.resolution().width() * f.resolution().height()) -
                                       double(request_.width * request_.height));
        const double score = pixels + 1000.0 * std::abs(f.maxFrameRate() - float(request_.fps));
        if (score < bestScore) bestScore = score, best = f;
    }
    camera_ = std::make_unique<QCamera>(device);
    if (!best.isNull()) camera_->setCameraFormat(best);
    session_ = std::make_unique<QMediaCaptureSession>();
    sink_ = std::make_unique<QVideoSink>();
    devices_ = std::make_unique<QMediaDevices>();
    session_->setCamera(camera_.get());
    session_->setVideoSink(sink_.get());
    activeId_ = device.id();
    QObject::connect(sink_.get(), &QVideoSink::videoFrameChanged, sink_.get(),
                     [this](const QVideoFrame& f) { onVideoFrame(f); });
    QObject::connect(camera_.get(), &QCamera::errorOccurred, sink_.get(),
                     [this](QCamera::Error, const QString& text) {
                         if (onError) onError("camera error: " + text.toStdString());
                     });
    // Unplugged mid-call: the call goes on without video and says so.
    QObject::connect(devices_.get(), &QMediaDevices::videoInputsChanged, sink_.get(), [this] {
        for (const QCameraDevice& d : QMediaDevices::videoInputs())
            if (d.id() == activeId_) return;
        if (onError) onError("camera disconnected");
    });
    camera_->start();
    return true;
}

void QtCameraSource::stop() {
    if (camera_) camera_->stop();
    sink_.reset();
    session_.reset();
    camera_.reset();
    devices_.reset();
}

void QtCameraSource::onVideoFrame(const QVideoFrame& f) {
    if (!f.isValid()) return;
    if (!convertToI420(f, frame_, lastError_)) {
        ++unconvertible_;
        return;
    }
    const auto now = std::chrono::steady_clock::now().time_since_epoch();
    frame_.captureTimeUs = std::chrono::duration_cast<std::chrono::microseconds>(now).count();
    frame_.rtpTimestamp = uint32_t(uint64_t(frame_.captureTimeUs) * 9 / 100);
    ++delivered_;
    if (onFrame) onFrame(frame_.view());
}

}  // namespace tincan::media
