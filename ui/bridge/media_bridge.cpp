#include "ui/bridge/media_bridge.hpp"

#include <QtConcurrent/QtConcurrentRun>

#include <algorithm>

#include "media/audio/portaudio_system.hpp"
#include "media/call/audio_receive_stream.hpp"
#include "media/call/audio_send_stream.hpp"
#include "media/call/lip_sync.hpp"
#include "media/call/track_binding.hpp"
#include "media/call/video_receive_stream.hpp"
#include "media/call/video_send_stream.hpp"
#include "media/capture_qt/qt_camera_source.hpp"
#include "ui/bridge/i420_image.hpp"
#include "ui/bridge/media_devices.hpp"

namespace tincan::ui {

using namespace tincan::media;

// What the audio worker opened, handed back to the Qt thread.
struct MediaBridge::AudioStart {
    std::shared_ptr<AudioSendStream> send;
    std::shared_ptr<AudioReceiveStream> receive;
    bool silentOnly = false;  // no microphone: silence is all there is to send
    QStringList words;
};

namespace {

constexpr int kWidth = 640, kHeight = 480, kFps = 30;

// A device chosen by name in Settings, or the default when the name is empty; −1 when there is
// no such device, with `note` saying so.
int deviceByName(const PortAudioSystem& system, const QString& name, bool input, QString& note) {
    if (!name.isEmpty()) {
        for (const auto& d : system.devices())
            if (QString::fromStdString(d.name) == name &&
                (input ? d.maxInputChannels : d.maxOutputChannels) > 0)
                return d.index;
        note = MediaBridge::tr("%1 is not connected; using the default").arg(name);
    }
    std::string error;
    return system.pickDevice(-1, input, error);
}

std::shared_ptr<MediaBridge::AudioStart> openAudio(const MediaChoice& choice) {
    std::unique_lock lock(portAudioMutex(), std::defer_lock);
    if (!choice.synthetic) lock.lock();
    auto r = std::make_shared<MediaBridge::AudioStart>();
    AudioSendConfig sc;
    AudioReceiveConfig rc;
    rc.output = AudioOutputKind::Null;
    QString micName, speakerName, micNote, speakerNote;
    std::shared_ptr<PortAudioSystem> system;  // kept initialised while the streams open
    if (!choice.synthetic) {
        std::string error;
        system = PortAudioSystem::create(error);
        if (system) {
            const int mic = deviceByName(*system, choice.microphone, true, micNote);
            const int speaker = deviceByName(*system, choice.speaker, false, speakerNote);
            for (const auto& d : system->devices()) {
                if (d.index == mic) micName = QString::fromStdString(d.name);
                if (d.index == speaker) speakerName = QString::fromStdString(d.name);
            }
            if (mic >= 0) {
                sc.source = AudioSourceKind::Microphone;
                sc.microphoneDevice = mic;
            }
            if (speaker >= 0) {
                rc.output = AudioOutputKind::Speaker;
                rc.speakerDevice = speaker;
            }
        }
    }
    std::string error;
    r->send = std::make_shared<AudioSendStream>(sc, nullptr);
    if (sc.source == AudioSourceKind::Microphone && !r->send->start(error)) {
        micNote = QString::fromStdString(error);
        sc.source = AudioSourceKind::Tone;
        micName.clear();
        r->send = std::make_shared<AudioSendStream>(sc, nullptr);
    }
    if (sc.source == AudioSourceKind::Tone) {
        // Without a microphone the tone source runs muted: the peer hears silence, not a beep.
        r->silentOnly = !choice.synthetic;
        r->send->setMuted(r->silentOnly);
        if (!r->send->start(error)) {
            r->words
                << MediaBridge::tr("Audio cannot be sent: %1").arg(QString::fromStdString(error));
            r->send.reset();
        }
    }
    r->receive = std::make_shared<AudioReceiveStream>(rc);
    if (!r->receive->start(error) && rc.output == AudioOutputKind::Speaker) {
        speakerNote = QString::fromStdString(error);
        speakerName.clear();
        rc.output = AudioOutputKind::Null;
        r->receive = std::make_shared<AudioReceiveStream>(rc);
        if (!r->receive->start(error)) r->receive.reset();
    }
    auto note = [](const QString& n) { return n.isEmpty() ? QString() : " (" + n + ")"; };
    if (choice.synthetic)
        r->words << MediaBridge::tr("sending a 440 Hz test tone");
    else if (!micName.isEmpty())
        r->words << MediaBridge::tr("microphone: %1").arg(micName) + note(micNote);
    else
        r->words << MediaBridge::tr("no microphone found — sending silence") + note(micNote);
    if (choice.synthetic)
        r->words << MediaBridge::tr("the other side's audio is not played");
    else if (!speakerName.isEmpty())
        r->words << MediaBridge::tr("speaker: %1").arg(speakerName) + note(speakerNote);
    else
        r->words << MediaBridge::tr("no speaker found — the other side's audio is not played") +
                        note(speakerNote);
    return r;
}

}  // namespace

MediaBridge::MediaBridge(QObject* parent) : QObject(parent) {
    connect(&audioStarting_, &QFutureWatcherBase::finished, this, &MediaBridge::onAudioStarted);
}

MediaBridge::~MediaBridge() {
    stop();
    audioStarting_.waitForFinished();
    if (audioStarting_.future().resultCount())
        if (auto r = audioStarting_.result()) {
            if (r->send) r->send->stop();
            if (r->receive) r->receive->stop();
        }
}

void MediaBridge::start(const MediaChoice& choice) {
    if (videoSend_ || videoReceive_ || stopped_) return;
    startVideo(choice);
    connect(&syncTimer_, &QTimer::timeout, this, &MediaBridge::syncAudioAndVideo);
    syncTimer_.start(1000);
    audioText_ = tr("Audio: opening devices…");
    audioStarting_.setFuture(QtConcurrent::run([choice] { return openAudio(choice); }));
    emit sourcesChanged();
}

void MediaBridge::startVideo(const MediaChoice& choice) {
    VideoSendConfig vc;
    vc.width = kWidth;
    vc.height = kHeight;
    vc.fps = kFps;
    videoSend_ = std::make_shared<VideoSendStream>(vc, nullptr);
    videoSend_->setLocalFrameHook([this](const I420View& f) { deliver(local_, f, false); });
    std::string error;
    bool started = false;
    if (choice.cameraFactory || !choice.synthetic) {
        if (!choice.cameraFactory && QtCameraSource::listCameras().empty()) {
            videoText_ = tr("No camera found — sending a test pattern");
        } else {
            if (choice.cameraFactory) {
                camera_ = choice.cameraFactory();
            } else {
                CameraRequest request;
                request.deviceId = choice.cameraId.toStdString();
                request.width = kWidth;
                request.height = kHeight;
                request.fps = kFps;
                camera_ = std::make_unique<QtCameraSource>(request);
            }
            // The stream owns the camera's onError and calls this once the camera failed,
            // from the camera's thread (or from inside a Qt Multimedia signal): the stream
            // cannot be stopped there, so the fallback runs from the event loop.
            videoSend_->setSourceErrorHook([this](const std::string& why, bool) {
                QMetaObject::invokeMethod(
                    this, [this, reason = QString::fromStdString(why)] { cameraLost(reason); },
                    Qt::QueuedConnection);
            });
            started = videoSend_->startSource(*camera_, error);
            if (started) {
                videoText_ = tr("Sending your camera");
            } else {
                videoText_ = tr("The camera did not start (%1) — sending a test pattern")
                                 .arg(QString::fromStdString(error));
                camera_.reset();
            }
        }
    } else {
        videoText_ = tr("Sending the test pattern");
    }
    if (!started) {
        testPattern_ = videoSend_->startTestPattern(error);
        if (!testPattern_) {
            videoText_ = tr("Video cannot be sent: %1").arg(QString::fromStdString(error));
            videoSend_.reset();
        }
    }
    VideoReceiveStream::Hooks hooks;
    hooks.onFrame = [this](const I420View& f, const DecodedFrameInfo&) {
        deliver(remote_, f, true);
    };
    videoReceive_ = std::make_shared<VideoReceiveStream>(VideoReceiveConfig{}, hooks);
    if (!videoReceive_->start(error)) {
        videoText_ += tr("; video cannot be received: %1").arg(QString::fromStdString(error));
        videoReceive_.reset();
    }
}

static uint32_t packSize(QSize s) {
    return s.isValid() ? uint32_t(std::clamp(s.width(), 0, 0xFFFF)) << 16 |
                             uint32_t(std::clamp(s.height(), 0, 0xFFFF))
                       : 0;
}

void MediaBridge::setViewSizes(QSize remote, QSize local) {
    remoteSize_ = packSize(remote);
    localSize_ = packSize(local);
}

void MediaBridge::deliver(Gate& gate, const I420View& frame, bool remote) {
    // The last frame has not reached the Qt thread yet: drop this one rather than queue it.
    if (gate.waiting.exchange(true)) {
        ++gate.dropped;
        return;
    }
    const uint32_t fit = (remote ? remoteSize_ : localSize_).load();
    QImage image = i420ToImage(frame, QSize(int(fit >> 16), int(fit & 0xFFFF)));
    if (image.isNull()) {
        gate.waiting = false;
        return;
    }
    QMetaObject::invokeMethod(
        this,
        [this, &gate, remote, image = std::move(image)] {
            gate.waiting = false;
            ++gate.delivered;
            if (stopped_) return;
            if (remote)
                emit remoteFrame(image);
            else
                emit localFrame(image);
        },
        Qt::QueuedConnection);
}

void MediaBridge::onAudioStarted() {
    auto r = audioStarting_.result();
    if (!r) return;
    if (stopped_) {
        if (r->send) r->send->stop();
        if (r->receive) r->receive->stop();
        return;
    }
    audioSend_ = r->send;
    audioReceive_ = r->receive;
    silentOnly_ = r->silentOnly;
    if (audioSend_ && !silentOnly_) audioSend_->setMuted(muted_);
    QString words = r->words.join("; ");
    if (!words.isEmpty()) words[0] = words[0].toUpper();
    audioText_ = words;
    bindAll();
    emit sourcesChanged();
}

bool MediaBridge::addTracks(PeerConnection& pc, QString& error) {
    for (MediaKind kind : {MediaKind::Audio, MediaKind::Video}) {
        auto track = pc.addTrack(kind);
        if (!track) {
            error = tr("cannot add the %1 track: %2")
                        .arg(toString(kind), QString::fromStdString(track.message()));
            return false;
        }
        tracks_.push_back(*track);
    }
    bindAll();
    return true;
}

void MediaBridge::onTrack(const std::shared_ptr<Track>& track) {
    QMetaObject::invokeMethod(
        this,
        [this, track] {
            if (stopped_ || std::find(tracks_.begin(), tracks_.end(), track) != tracks_.end())
                return;
            tracks_.push_back(track);
            bindAll();
        },
        Qt::QueuedConnection);
}

void MediaBridge::bindAll() {
    for (const auto& t : tracks_)
        bindTrack(t, {videoSend_, videoReceive_, audioSend_, audioReceive_});
}

void MediaBridge::syncAudioAndVideo() {
    if (stopped_ || !audioReceive_ || !videoReceive_) return;
    if (!lipSync_) lipSync_ = std::make_shared<LipSync>(audioReceive_, videoReceive_);
    // One transceiver per kind carries the peer's stream too: its Sender Reports are there.
    std::optional<RemoteSenderClock> audio, video;
    for (const auto& t : tracks_) {
        auto& clock = t->kind() == MediaKind::Audio ? audio : video;
        if (!clock) clock = t->remoteSenderClock();
    }
    lipSync_->update(audio, video);
}

void MediaBridge::setMuted(bool muted) {
    muted_ = muted;
    if (audioSend_ && !silentOnly_) audioSend_->setMuted(muted);
}

void MediaBridge::cameraLost(const QString& reason) {
    if (stopped_ || !camera_ || !videoSend_) return;  // already handled, or the call ended
    videoSend_->stop();  // stops the camera and the worker; hooks and pause state stay
    camera_.reset();
    std::string error;
    testPattern_ = videoSend_->startTestPattern(error);
    videoText_ = testPattern_
                     ? tr("The camera stopped (%1) — sending a test pattern instead").arg(reason)
                     : tr("The camera stopped (%1) and no video can be sent: %2")
                           .arg(reason, QString::fromStdString(error));
    emit sourcesChanged();
}

void MediaBridge::setCameraOn(bool on) {
    if (videoSend_) videoSend_->setPaused(!on);
}

void MediaBridge::stop() {
    if (stopped_) return;
    stopped_ = true;
    syncTimer_.stop();
    for (const auto& t : tracks_)
        unbindTrack(t, {videoSend_, videoReceive_, audioSend_, audioReceive_});
    tracks_.clear();
    if (videoSend_) videoSend_->stop();  // stops the camera too
    if (videoReceive_) videoReceive_->stop();
    if (audioSend_) audioSend_->stop();
    if (audioReceive_) audioReceive_->stop();
}

}  // namespace tincan::ui
