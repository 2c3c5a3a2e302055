// A sans-IO pacer: smooths what the encoders hand over into a stream at the pacing rate
// (target × 2.5, as libwebrtc's), by priority, and runs probe clusters for the congestion
// controller (padding when no media is queued).
//
// The sender enqueues packet *handles* (its own id and the size; the bytes stay with the
// caller) and at pollTimeout() drains poll(now): each PacedSend says "send packet `id` now"
// or "send `sizeBytes` of padding now", with the probe cluster it belongs to. The caller then
// assigns the transport-wide sequence number, records it (CongestionController::onPacketSent),
// protects and transmits.
//
// Priority: audio, then retransmissions, then video (FIFO within each). Audio is never held
// by the budget (it is small and late audio is useless) but does use it up.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>

#include "core/cc/feedback_adapter.hpp"
#include "core/cc/goog_cc.hpp"
#include "core/common/time.hpp"

namespace tincan::cc {

enum class PacketKind : uint8_t { Audio = 1, Retransmission = 2, Video = 3 };

struct PacedSend {
    enum class Type : uint8_t { Media = 1, Padding = 2 };
    Type type = Type::Media;
    uint64_t id = 0;  // the caller's handle (Media only)
    size_t sizeBytes = 0;
    PacketKind kind = PacketKind::Video;  // Media only
    int probeClusterId = kNoProbe;
};

class Pacer {
public:
    struct Config {
        double pacingFactor = 2.5;
        // When the queue holds more than this much time at the pacing rate, the rate is
        // raised so that it drains in this time (the encoder overshot; libwebrtc does the same).
        Duration maxQueueTime = 2s;
        size_t paddingPacketBytes = 1000;
        // Let one budget interval's worth of bytes out in one go (keeps poll() calls sparse).
        Duration burstInterval = 5ms;
    };
    struct Stats {
        uint64_t mediaPackets = 0;
        uint64_t paddingPackets = 0;
        uint64_t paddingBytes = 0;
        uint64_t probeClusters = 0;
    };

    Pacer() : Pacer(Config{}) {}
    explicit Pacer(Config config) : config_(config) {}

    // The congestion controller's target; the pacing rate is pacingFactor × this.
    void setTargetBitrate(uint64_t bitrateBps);
    void enqueue(Timestamp now, uint64_t id, size_t sizeBytes, PacketKind kind);
    void startProbe(const ProbeCluster& cluster);

    std::optional<PacedSend> poll(Timestamp now);
    // When poll() may next return something; nullopt when idle. Timestamp{} means now.
    std::optional<Timestamp> pollTimeout() const;

    size_t queuedPackets() const { return audio_.size() + rtx_.size() + video_.size(); }
    size_t queuedBytes() const { return queuedBytes_; }
    // How long the oldest queued packet has waited.
    Duration oldestQueueTime(Timestamp now) const;
    uint64_t pacingRateBps() const { return pacingRateBps_; }
    const Stats& stats() const { return stats_; }

private:
    struct Item {
        uint64_t id;
        size_t sizeBytes;
        PacketKind kind;
        Timestamp enqueuedAt;
    };
    struct ActiveProbe {
        ProbeCluster cluster;
        std::optional<Timestamp> start;
        size_t sentBytes = 0;
        size_t sentPackets = 0;
    };
    void drainBudget(Timestamp now);
    uint64_t effectiveRateBps() const;
    std::deque<Item>* nextQueue();
    PacedSend take(std::deque<Item>& q, int probeId);

    Config config_;
    uint64_t pacingRateBps_ = 0;
    std::deque<Item> audio_, rtx_, video_;
    size_t queuedBytes_ = 0;
    double debtBytes_ = 0;  // sent ahead of the rate; drains at effectiveRateBps()
    std::optional<Timestamp> lastDrain_;
    std::deque<ProbeCluster> probes_;
    std::optional<ActiveProbe> probe_;
    Stats stats_;
};

}  // namespace tincan::cc
