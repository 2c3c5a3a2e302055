// The audio send direction of a call: every 20 ms (sleep_until on a fixed schedule, so no drift)
// a ToneSource frame, or whatever the PortAudio microphone captured, → Opus (48 kHz, 20 ms, FEC)
// → one OutgoingFrame per packet (RTP timestamp at 48 kHz, marker false) → the `send` hook.
// Runs on its own thread.
//
// The peer's Opus fmtp (RFC 7587 §7.1, applyPeerFmtp) configures the encoder: usedtx=1 turns on
// DTX, and then during silence only the first near-empty packet of each silent stretch and
// Opus's comfort-noise updates (~every 400 ms) go out, as libwebrtc does; the RTP timestamps run
// on, so the receiver sees a jump in time with no gap in sequence numbers (nothing counted as
// lost). useinbandfec=0 turns FEC off, stereo=0 codes a stereo source as mono, maxaveragebitrate
// caps the bitrate. replaceSource() switches the source mid-call (W3C replaceTrack): the same
// encoder, SSRC and timeline carry on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "tincan/track.hpp"

namespace tincan::media {

class OpusAudioEncoder;
class PortAudioSystem;
class PortAudioMicrophone;

enum class AudioSourceKind : uint8_t { Tone = 1, Microphone };

struct AudioSendConfig {
    AudioSourceKind source = AudioSourceKind::Tone;
    double toneFrequencyHz = 440;
    double toneLevelDbfs = -12;
    int channels = 1;
    int bitrateBps = 32'000;
    bool fec = true;
    int expectedLossPct = 10;
    int microphoneDevice = -1;  // −1: the system default
};

struct AudioSendStats {
    uint64_t framesCaptured = 0;  // 20 ms frames
    uint64_t packetsEncoded = 0;
    uint64_t packetsSent = 0;     // the send hook took it
    uint64_t packetsRefused = 0;  // the send hook returned false (not negotiated yet)
    uint64_t bytesSent = 0;
    uint64_t encodeErrors = 0;
    uint64_t microphoneUnderruns = 0;  // a tick found less than 20 ms captured
    uint64_t ticksLate = 0;   // stalls over 500 ms: the frames missed were skipped, not sent late
    uint64_t dtxPackets = 0;  // encoded as DTX (2 bytes or less)
    uint64_t dtxSuppressed = 0;  // of those, not sent (all but the first of a silent stretch)
    uint64_t sourceReplacements = 0;
    // What the peer's fmtp set (after applyPeerFmtp).
    bool dtx = false, fec = false, forcedMono = false;
    int maxBitrateBps = 0;
    uint64_t fmtpMalformed = 0;  // known fmtp parameters with a bad value: ignored
};

// What replaceSource() switches to.
struct AudioSourceSpec {
    AudioSourceKind source = AudioSourceKind::Tone;
    double toneFrequencyHz = 440;
    double toneLevelDbfs = -12;
    int microphoneDevice = -1;
};

class AudioSendStream {
public:
    using SendHook = std::function<bool(OutgoingFrame frame)>;

    AudioSendStream(const AudioSendConfig& config, SendHook send);
    ~AudioSendStream();
    AudioSendStream(const AudioSendStream&) = delete;
    AudioSendStream& operator=(const AudioSendStream&) = delete;

    // Opens the microphone (if chosen) and the encoder, starts the thread; false with a reason a
    // user can read ("no microphone found (...)") when it cannot.
    bool start(std::string& error);
    void stop();

    void setSendHook(SendHook send);  // any thread
    // The congestion controller's share, clamped to 16 kbit/s..bitrateBps; any thread.
    void setTargetBitrate(uint32_t bps);
    // Mute (any thread): silence is encoded and sent in place of the source, so the peer's
    // playout and the RTP timeline carry on; the microphone keeps being drained.
    void setMuted(bool muted) { muted_.store(muted); }
    bool muted() const { return muted_.load(); }
    // The peer's a=fmtp for Opus (Track onNegotiated's RtpCodec.fmtp); any thread, applied to
    // the encoder before the next packet.
    void applyPeerFmtp(const std::string& fmtp);
    // W3C RTCRtpSender.replaceTrack at the media level: the next 20 ms comes from `spec` (a
    // microphone is opened here: false with a reason, and the old source stays, when it cannot).
    // The RTP timestamps and the encoder carry on. Any thread while started.
    bool replaceSource(const AudioSourceSpec& spec, std::string& error);
    // W3C RTCAudioSourceStats of what is captured (level after mute), about once a second, on
    // the worker's thread. Any thread may set it.
    void setSourceStatsHook(std::function<void(const CapturedMediaStats&)> hook);

    AudioSendStats stats() const;

private:
    void run();
    void applyPending(OpusAudioEncoder& encoder);

    struct PendingFmtp {
        bool dtx = false, fec = false, forceMono = false;
        int maxBitrateBps = 0;
    };

    AudioSendConfig config_;
    mutable std::mutex mutex_;
    std::condition_variable wake_;
    SendHook send_;
    AudioSendStats stats_;
    bool stopping_ = false;
    std::atomic<int> bitrateBps_;
    std::atomic<bool> muted_{false};
    std::unique_ptr<OpusAudioEncoder> encoder_;
    std::shared_ptr<PortAudioSystem> portAudio_;
    std::unique_ptr<PortAudioMicrophone> microphone_;  // the worker's
    std::function<void(const CapturedMediaStats&)> onSourceStats_;
    std::optional<PendingFmtp> pendingFmtp_;  // under mutex_
    int maxBitrateBps_ = 0;                   // the peer's cap; the worker's
    // A source switch waiting for the worker's next tick (under mutex_).
    std::optional<AudioSourceSpec> pendingSource_;
    std::unique_ptr<PortAudioMicrophone> pendingMicrophone_;
    std::shared_ptr<PortAudioSystem> pendingPortAudio_;
    std::thread worker_;
};

}  // namespace tincan::media
