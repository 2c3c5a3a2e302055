// The receive side of an audio stream: encoded packets in (any order, with gaps), 10 or 20 ms of
// PCM out on every pull, at a delay that follows the measured network jitter.
//
// - Target delay: the 95th percentile of packet transit variation over the last ~2 s plus two
//   packets, clamped to [minDelayMs, maxDelayMs].
// - Playout: packets are decoded in RTP-timestamp order; a missing one is recovered from the
//   next packet's FEC when that is here, else concealed by the decoder's PLC. With nothing
//   buffered at all the buffer conceals without advancing (the delay grows), and jumps to the
//   first packet that turns up after such a gap (DTX, a stall).
// - DTX (RFC 7587 §3.1.3, usedtx=1): after a packet of 2 bytes or less the sender goes quiet
//   on purpose; what fills that silence is the decoder's comfort noise, counted in dtxSamples,
//   not as concealment of a loss.
// - Following the target: a decoded packet is shortened by half when the buffer holds more than
//   target + 30 ms, lengthened by half when it holds less than target − 10 ms (time_stretch).
// Sans-IO: packets and `now` in, PCM out; the audio thread reaches it through a lock or a ring.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "media/audio/audio_frame.hpp"
#include "media/audio/opus_codec.hpp"
#include "media/common/seq_unwrapper.hpp"

namespace tincan::media {

struct AudioPacketIn {
    uint16_t seq = 0;
    uint32_t rtpTimestamp = 0;  // 48 kHz
    ByteView payload;           // one Opus packet
};

struct AudioPlayoutConfig {
    int channels = 1;
    int minDelayMs = 40;
    int maxDelayMs = 500;
    size_t maxPackets = 64;
    size_t jitterWindowPackets = 100;  // ~2 s of 20 ms packets
    bool useFec = true;
};

struct AudioPlayoutStats {
    uint64_t packetsReceived = 0;
    uint64_t packetsMalformed = 0;  // not Opus: dropped
    uint64_t packetsLate = 0;       // arrived after their play time: dropped
    uint64_t packetsDuplicate = 0;
    uint64_t packetsOverflow = 0;  // buffer full: oldest dropped
    uint64_t fecRecoveredPackets = 0;
    uint64_t concealedSamples = 0;  // per channel, W3C concealedSamples
    uint64_t removedSamples = 0;    // time-stretch shortening (and catch-up drops)
    uint64_t insertedSamples = 0;   // time-stretch lengthening
    uint64_t silentSamples = 0;     // before playout started
    uint64_t dtxSamples = 0;        // comfort noise while the sender is silent (DTX), per channel
    uint64_t dtxPackets = 0;        // DTX packets decoded
    uint64_t samplesPlayed = 0;
    uint64_t resyncs = 0;  // jumps after an underrun or a timestamp discontinuity
};

class AudioPlayoutBuffer {
public:
    explicit AudioPlayoutBuffer(const AudioPlayoutConfig& config = {});

    void insert(Timestamp now, const AudioPacketIn& packet);
    // Fills `out` with samplesPerChannel (480 or 960) samples.
    void pull(Timestamp now, AudioFrame& out, int samplesPerChannel);

    // Media held ahead of the speaker, in ms (packets not yet decoded plus decoded samples).
    int currentDelayMs() const;
    int targetDelayMs() const;
    // Lip sync: this much more delay on top of what the jitter needs (still at most maxDelayMs);
    // reached by time-stretching, like any change of the target.
    void setExtraDelayMs(int ms) { extraDelayMs_ = std::max(0, ms); }
    int extraDelayMs() const { return extraDelayMs_; }
    // The newest packet (highest timestamp) received: its RTP timestamp, when it came, and the
    // ms from its arrival until its first sample plays; nullopt before the first.
    struct Latest {
        uint32_t rtpTimestamp = 0;
        Timestamp arrival{};
        int playoutDelayMs = 0;
    };
    std::optional<Latest> latest(Timestamp now) const;
    const AudioPlayoutStats& stats() const { return stats_; }

private:
    struct Slot {
        bool used = false;
        int64_t ts = 0;
        int samples = 0;
        Bytes payload;
    };
    Slot* find(int64_t ts);
    Slot* earliestAfter(int64_t ts);
    void produce();
    void push(const int16_t* pcm, int samplesPerChannel);
    void updateTarget(Timestamp now, int64_t ts);

    AudioPlayoutConfig config_;
    AudioPlayoutStats stats_;
    OpusAudioDecoder decoder_;
    Unwrapper<32> unwrapper_;
    std::vector<Slot> slots_;
    bool haveFirst_ = false;
    bool started_ = false;
    bool underrun_ = false;
    int64_t playTs_ = 0;     // RTP time of the next sample to decode
    int lastSamples_ = 960;  // duration of the last packet decoded
    int targetDelayMs_ = 0;  // what the jitter needs
    int extraDelayMs_ = 0;
    bool inDtx_ = false;   // the sender is in DTX: gaps are its silence, not losses
    bool jumped_ = false;  // playout jumped over a gap to the packet decoded next
    bool haveLatest_ = false;
    int64_t latestTs_ = 0;
    Timestamp latestArrival_{};
    std::vector<int16_t> fifo_;  // decoded, not yet pulled (interleaved)
    size_t fifoFrames_ = 0;
    std::vector<int16_t> scratch_;
    std::vector<int16_t> stretched_;
    std::vector<double> transits_;  // ring: arrival ms − media ms per packet
    std::vector<double> sorted_;
    size_t transitNext_ = 0;
    size_t transitCount_ = 0;
    int farBehindRun_ = 0;
    static constexpr int kRestartRun = 10;  // packets far behind in a row: a new timeline
};

}  // namespace tincan::media
