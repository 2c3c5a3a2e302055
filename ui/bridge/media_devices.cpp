#include "ui/bridge/media_devices.hpp"

#include "media/audio/portaudio_system.hpp"
#include "media/capture_qt/qt_camera_source.hpp"

namespace tincan::ui {

std::mutex& portAudioMutex() {
    static std::mutex m;
    return m;
}

AudioDeviceLists listAudioDevices() {
    std::lock_guard lock(portAudioMutex());
    AudioDeviceLists out;
    std::string error;
    auto system = media::PortAudioSystem::create(error);
    if (!system) {
        out.error = QString::fromStdString(error);
        return out;
    }
    for (const auto& d : system->devices()) {
        const QString name = QString::fromStdString(d.name);
        if (d.maxInputChannels > 0)
            d.isDefaultInput ? out.microphones.prepend(name) : out.microphones.append(name);
        if (d.maxOutputChannels > 0)
            d.isDefaultOutput ? out.speakers.prepend(name) : out.speakers.append(name);
    }
    return out;
}

QList<CameraEntry> listCameras() {
    QList<CameraEntry> out;
    for (const auto& c : media::QtCameraSource::listCameras()) {
        CameraEntry e{QString::fromStdString(c.id), QString::fromStdString(c.description)};
        c.isDefault ? out.prepend(e) : out.append(e);
    }
    return out;
}

}  // namespace tincan::ui
