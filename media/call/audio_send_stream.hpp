// The audio send direction of a call: every 20 ms (sleep_until on a fixed schedule, so no drift)
// a ToneSource frame, or whatever the PortAudio microphone captured, → Opus (48 kHz, 20 ms, FEC)
// → one OutgoingFrame per packet (RTP timestamp at 48 kHz, marker false) → the `send` hook.
// Runs on its own thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
    uint64_t ticksLate = 0;  // stalls over 500 ms: the frames missed were skipped, not sent late
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

    AudioSendStats stats() const;

private:
    void run();

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
    std::unique_ptr<PortAudioMicrophone> microphone_;
    std::thread worker_;
};

}  // namespace tincan::media
