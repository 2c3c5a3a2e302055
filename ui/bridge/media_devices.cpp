#include "ui/bridge/media_devices.hpp"

#include <QObject>

#include <chrono>
#include <thread>

#include "media/audio/portaudio_devices.hpp"
#include "media/audio/portaudio_system.hpp"
#include "media/audio/tone.hpp"
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

TestSoundResult playTestSound(const QString& speaker, int durationMs) {
    using namespace std::chrono_literals;
    std::lock_guard lock(portAudioMutex());
    TestSoundResult out;
    std::string error;
    auto system = media::PortAudioSystem::create(error);
    if (!system) {
        out.error =
            QObject::tr("the sound system did not start (%1)").arg(QString::fromStdString(error));
        return out;
    }
    int device = -1;
    for (const auto& d : system->devices())
        if (d.maxOutputChannels > 0 &&
            (speaker.isEmpty() ? d.isDefaultOutput : QString::fromStdString(d.name) == speaker)) {
            device = d.index;
            out.device = QString::fromStdString(d.name);
        }
    if (device < 0) {
        out.error = speaker.isEmpty() ? QObject::tr("there is no speaker to play on")
                                      : QObject::tr("%1 is not connected").arg(speaker);
        return out;
    }
    system.reset();  // openAudioDevice starts its own
    auto sink = media::openAudioDevice<media::PortAudioSpeaker>(system, device, 1, error);
    if (!sink) {
        out.error = QObject::tr("%1 could not be opened (%2)")
                        .arg(out.device, QString::fromStdString(error));
        return out;
    }
    media::ToneSource tone(660.0, -12.0);
    media::AudioFrame frame;
    const int frames = std::max(1, durationMs / 20);
    int written = 0;
    // Real time: keep ~100 ms queued ahead of the device, never the whole tone at once (the
    // ring holds 200 ms). A device that takes nothing for 2 s has failed.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(durationMs) + 2s;
    while (written < frames && std::chrono::steady_clock::now() < deadline) {
        if (sink->bufferedSamples() < 4800) {
            tone.fill(frame);
            if (sink->write(frame)) ++written;
        } else {
            std::this_thread::sleep_for(5ms);
        }
    }
    while (sink->bufferedSamples() > 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    out.callbacks = sink->callbacks();
    const bool drained = sink->bufferedSamples() == 0;
    sink->stop();
    if (written < frames || !drained || out.callbacks == 0) {
        out.error = QObject::tr(
                        "%1 stopped taking sound (unplugged, or in use by another "
                        "program?)")
                        .arg(out.device);
        return out;
    }
    out.ok = true;
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
