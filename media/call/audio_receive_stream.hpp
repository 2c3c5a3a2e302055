// The audio receive direction of a call: RTP packets from the network thread go straight into
// the AudioPlayoutBuffer (behind a mutex; inserting is cheap); a playout thread pulls 20 ms every
// 20 ms (sleep_until on a fixed schedule) and hands it to the sinks: a WAV recording, the
// PortAudio speaker, or nowhere. It also listens to what it plays: level, and how much of each
// clean (not concealed) 20 ms sits at `probeFrequencyHz` (Goertzel), and the frequency from zero
// crossings, so a test can tell that the peer's tone came through.
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

#include "core/common/time.hpp"
#include "tincan/track.hpp"

namespace tincan::media {

class AudioPlayoutBuffer;
class PortAudioSystem;
class PortAudioSpeaker;
class WavAudioSink;

enum class AudioOutputKind : uint8_t { Null = 1, Speaker };

struct AudioReceiveConfig {
    AudioOutputKind output = AudioOutputKind::Null;
    int speakerDevice = -1;  // −1: the system default
    int channels = 1;
    std::string recordPath;  // a .wav file, or empty
    double probeFrequencyHz = 440;
    Duration statsInterval = 1s;
};

struct AudioReceiveStats {
    ReceivedMediaStats media;  // what Track::reportReceivedStats takes
    uint64_t packetsReceived = 0, packetsMalformed = 0, packetsLate = 0, packetsDuplicate = 0;
    uint64_t fecRecoveredPackets = 0;
    uint64_t bytesReceived = 0;  // RTP payload bytes
    uint64_t framesPlayed = 0;   // 20 ms pulls since playout started
    // Listening: clean frames (nothing concealed or time-stretched in them or the frame before)
    // and those where the probe tone holds at least half of the power.
    uint64_t framesAnalysed = 0, toneFrames = 0;
    double levelDbfs = -120;          // of the last clean frame
    double estimatedFrequencyHz = 0;  // median zero-crossing estimate, last 64 clean frames
    int currentDelayMs = 0, targetDelayMs = 0;
    uint64_t samplesRecorded = 0;
    uint64_t ticksLate = 0;   // the playout thread stalled over 500 ms: those pulls skipped
    uint64_t dtxSamples = 0;  // comfort noise while the sender sent nothing (DTX): not loss
    int syncDelayMs = 0;      // the extra delay lip sync asked for
};

// The newest packet and its delay to playout, for lip sync (media/call/av_sync.hpp).
struct ReceiveTiming {
    uint32_t rtpTimestamp = 0;
    Timestamp arrival{};
    int playoutDelayMs = 0;
};

class AudioReceiveStream {
public:
    explicit AudioReceiveStream(const AudioReceiveConfig& config = {});
    ~AudioReceiveStream();
    AudioReceiveStream(const AudioReceiveStream&) = delete;
    AudioReceiveStream& operator=(const AudioReceiveStream&) = delete;

    // Opens the recording and the speaker (if chosen), starts the playout thread; false with a
    // reason when it cannot.
    bool start(std::string& error);
    void stop();

    // Network thread (any thread).
    void onPacket(const RtpPacketIn& packet);

    // Playout thread, every statsInterval. Any thread may set it.
    void setStatsHook(std::function<void(const ReceivedMediaStats&)> hook);

    AudioReceiveStats stats() const;

    // Lip sync (any thread): extra playout delay, reached by time-stretching.
    void setSyncDelayMs(int ms);
    std::optional<ReceiveTiming> timing() const;

private:
    void run();

    AudioReceiveConfig config_;
    mutable std::mutex bufferMutex_;  // the playout buffer (network thread vs playout thread)
    std::unique_ptr<AudioPlayoutBuffer> buffer_;
    std::atomic<uint64_t> bytesReceived_{0};
    mutable std::mutex mutex_;  // stats, hook, stop flag
    std::condition_variable wake_;
    bool stopping_ = false;
    AudioReceiveStats stats_;
    std::function<void(const ReceivedMediaStats&)> onStats_;
    std::unique_ptr<WavAudioSink> recorder_;
    std::shared_ptr<PortAudioSystem> portAudio_;
    std::unique_ptr<PortAudioSpeaker> speaker_;
    std::thread worker_;
};

}  // namespace tincan::media
