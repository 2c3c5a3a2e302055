// Lip sync for one peer's audio and video (sans-IO), in the manner of libwebrtc's
// StreamSynchronization: the peer's RTCP Sender Reports (RFC 3550 §6.4.1) map each stream's RTP
// timestamps onto the one wall clock (NTP) both were captured on. For the newest frame of each
// stream that gives its capture time; with its arrival and the receiver's current delay (arrival
// → playout) the synchronizer knows how far apart the two streams play what was captured
// together. The stream that plays earlier gets extra delay: first the other stream's extra delay
// is taken back, then this one's raised; half the (smoothed) difference per update, at most
// maxStepMs, nothing inside ±deadBandMs, never above maxExtraDelayMs.
// Time in (arrivals, `now` is not needed), delays out; the caller applies them.
#pragma once

#include <cstdint>
#include <optional>

#include "core/common/time.hpp"

namespace tincan::media {

// One stream as the synchronizer sees it.
struct SyncStreamTiming {
    uint32_t clockRateHz = 0;  // 48000, 90000
    // The peer's last Sender Report: its wall clock (NTP 32.32) and RTP clock sampled together.
    std::optional<uint64_t> senderNtpTime;
    uint32_t senderRtpTimestamp = 0;
    // The newest frame (video) or packet (audio): its RTP timestamp and when it arrived.
    std::optional<uint32_t> latestRtpTimestamp;
    Timestamp latestArrival{};
    // From that frame's arrival to its playout (jitter buffer, decode, the extra delay in force).
    int currentDelayMs = 0;
};

struct AvSyncConfig {
    int maxStepMs = 80;          // libwebrtc's kMaxChangeMs
    int deadBandMs = 30;         // libwebrtc's kMinDeltaMs: closer than this is in sync
    int maxExtraDelayMs = 1000;  // more would be a broken mapping, not a slow stream
    int maxPlausibleMs = 5000;   // a difference beyond this is a bad report: ignored
    int filterLength = 4;        // the difference is averaged as (n−1)·avg + new) / n
};

struct AvSyncDelays {
    int audioExtraDelayMs = 0;
    int videoExtraDelayMs = 0;
    bool operator==(const AvSyncDelays&) const = default;
};

struct AvSyncStats {
    uint64_t updates = 0;         // both streams usable: a difference was measured
    uint64_t noMapping = 0;       // a stream has no Sender Report yet: nothing changed
    uint64_t noFrames = 0;        // a stream has received nothing yet
    uint64_t implausible = 0;     // |difference| > maxPlausibleMs: ignored
    uint64_t changes = 0;         // the delays moved
    double lastDifferenceMs = 0;  // video plays this much after audio (negative: before)
};

class AvSynchronizer {
public:
    explicit AvSynchronizer(const AvSyncConfig& config = {}) : config_(config) {}

    // About once a second. Returns the new extra delays when they changed.
    std::optional<AvSyncDelays> update(const SyncStreamTiming& audio,
                                       const SyncStreamTiming& video);

    const AvSyncDelays& delays() const { return delays_; }
    const AvSyncStats& stats() const { return stats_; }

    // When the newest frame was captured, in the sender's NTP milliseconds; nullopt without a
    // mapping or a frame.
    static std::optional<double> captureNtpMs(const SyncStreamTiming& s);

private:
    AvSyncConfig config_;
    AvSyncDelays delays_;
    AvSyncStats stats_;
    double averageDiffMs_ = 0;
};

}  // namespace tincan::media
