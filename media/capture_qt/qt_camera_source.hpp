// The camera through Qt Multimedia (QMediaDevices → QCamera → QMediaCaptureSession →
// QVideoSink), delivering I420 frames through the VideoSource interface. The Qt objects live on
// the thread that calls start(), which must run a Qt event loop; frames arrive there.
#pragma once

#include <QString>
#include <memory>
#include <string>
#include <vector>

#include "media/video/video_source.hpp"

class QCamera;
class QMediaCaptureSession;
class QMediaDevices;
class QVideoFrame;
class QVideoSink;

namespace tincan::media {

struct CameraInfo {
    std::string id;
    std::string description;
    bool isDefault = false;
};

struct CameraRequest {
    std::string deviceId;  // empty: the default camera
    int width = 1280;      // the closest format the camera offers is chosen
    int height = 720;
    int fps = 30;
};

class QtCameraSource : public VideoSource {
public:
    explicit QtCameraSource(CameraRequest request = {});
    ~QtCameraSource() override;

    static std::vector<CameraInfo> listCameras();

    bool start(std::string& error) override;
    void stop() override;

    uint64_t framesDelivered() const { return delivered_; }
    uint64_t framesUnconvertible() const { return unconvertible_; }

private:
    void onVideoFrame(const QVideoFrame& frame);

    CameraRequest request_;
    std::unique_ptr<QMediaDevices> devices_;
    std::unique_ptr<QMediaCaptureSession> session_;
    std::unique_ptr<QCamera> camera_;
    std::unique_ptr<QVideoSink> sink_;
    QString activeId_;
    I420Frame frame_;  // reused for every conversion
    uint64_t delivered_ = 0;
    uint64_t unconvertible_ = 0;
    std::string lastError_;
};

}  // namespace tincan::media
