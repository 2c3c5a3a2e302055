// Audio and video for one call: the media/call streams (each on its own thread) bound to the
// PeerConnection's audio and video tracks, and the pictures handed to the Qt thread. With
// CallBridge this is the only UI code that knows about threads: frames are converted to QImage
// on the media threads, and at most one frame per view is ever waiting for the Qt thread — a
// frame that arrives while the last one is still queued is dropped (and counted), so a busy UI
// never makes a queue grow.
//
// Sources: the chosen (or default) camera, else the synthetic test pattern (also when the camera
// goes away mid-call); the chosen
// microphone, else silence; the peer's audio to the chosen speaker, else nowhere. `synthetic`
// (tests, --demo) sends the test pattern and a tone and plays nothing, touching no device.
#pragma once

#include <QFutureWatcher>
#include <QImage>
#include <QObject>
#include <QSize>
#include <QString>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

#include "tincan/peer_connection.hpp"

namespace tincan::media {
class LipSync;
class VideoSendStream;
class VideoReceiveStream;
class AudioSendStream;
class AudioReceiveStream;
class VideoSource;
struct I420View;
}  // namespace tincan::media

namespace tincan::ui {

struct MediaChoice {
    bool synthetic = false;  // the test pattern and a 440 Hz tone; nothing played
    QString cameraId;        // empty: the default camera
    QString microphone;      // a PortAudio device name; empty: the default
    QString speaker;         // a PortAudio device name; empty: the default
    // Makes the camera source instead of Qt Multimedia's (tests: a fake camera that can be
    // "unplugged"); used even when `synthetic` is set.
    std::function<std::unique_ptr<media::VideoSource>()> cameraFactory;
};

// Frames handed to the Qt thread and frames dropped because the last one was still waiting.
struct FrameCounts {
    quint64 delivered = 0, dropped = 0;
};

class MediaBridge : public QObject {
    Q_OBJECT
public:
    explicit MediaBridge(QObject* parent = nullptr);
    ~MediaBridge() override;  // stops every stream (joins their threads)

    // Qt thread. Starts capture (camera or test pattern) and the video decoder at once; audio
    // devices are opened on a worker and bound when ready (`audioReady`).
    void start(const MediaChoice& choice);
    // Qt thread, before the first offer: adds the audio and video tracks (W3C addTrack: as the
    // answerer they take the peer's offered sections) and binds the streams to them.
    bool addTracks(PeerConnection& pc, QString& error);
    // Any thread (the network thread's onTrack): a track of the peer's that is not one of ours.
    void onTrack(const std::shared_ptr<Track>& track);
    // Qt thread; unbinds the tracks and stops the streams. Idempotent.
    void stop();

    // Qt thread: the sizes (device pixels) the views draw at; frames are converted to them.
    void setViewSizes(QSize remote, QSize local);
    void setMuted(bool muted);
    void setCameraOn(bool on);
    bool sendingTestPattern() const { return testPattern_; }
    FrameCounts remoteFrameCounts() const { return {remote_.delivered, remote_.dropped}; }
    FrameCounts localFrameCounts() const { return {local_.delivered, local_.dropped}; }
    // What is being sent and played, in words ("No camera found — sending a test pattern").
    QString videoText() const { return videoText_; }
    QString audioText() const { return audioText_; }

    struct AudioStart;  // what the audio worker opened

signals:
    void remoteFrame(const QImage& frame);
    void localFrame(const QImage& frame);
    // videoText() or audioText() changed.
    void sourcesChanged();

private:
    struct Gate {
        std::atomic<bool> waiting{false};  // a frame is queued to the Qt thread
        std::atomic<quint64> delivered{0}, dropped{0};
    };
    void deliver(Gate& gate, const media::I420View& frame, bool remote);
    void startVideo(const MediaChoice& choice);
    // Qt thread: the camera stopped mid-call (unplugged, or an error): the test pattern takes
    // its place in the same stream, and the window says so.
    void cameraLost(const QString& reason);
    void onAudioStarted();
    void bindAll();
    // Qt thread, each second: lip sync from the peer's Sender Report clocks (media/call/lip_sync).
    void syncAudioAndVideo();

    std::shared_ptr<media::VideoSendStream> videoSend_;
    std::shared_ptr<media::VideoReceiveStream> videoReceive_;
    std::shared_ptr<media::AudioSendStream> audioSend_;
    std::shared_ptr<media::AudioReceiveStream> audioReceive_;
    std::unique_ptr<media::VideoSource> camera_;
    std::shared_ptr<media::LipSync> lipSync_;
    QTimer syncTimer_;
    std::vector<std::shared_ptr<Track>> tracks_;  // ours, then any of the peer's not ours
    QFutureWatcher<std::shared_ptr<AudioStart>> audioStarting_;
    Gate remote_, local_;
    // Packed width << 16 | height, read by the media threads; 0: the frame's own size.
    std::atomic<uint32_t> remoteSize_{0}, localSize_{0};
    QString videoText_, audioText_;
    bool testPattern_ = false;
    bool muted_ = false;
    bool silentOnly_ = false;  // no microphone: the tone runs muted whatever the button says
    bool stopped_ = false;
};

}  // namespace tincan::ui
