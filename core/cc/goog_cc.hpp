// Send-side bandwidth estimation in the manner of Google Congestion Control
// (draft-ietf-rmcat-gcc-02; libwebrtc's goog_cc read as a reference): the target send rate is
// min(delay-based, loss-based, REMB), with initial exponential probing to find the link fast.
//
// Who calls what:
//  - the send path, for each packet leaving the pacer: onPacketSent() (with the probe
//    cluster id the pacer gave it);
//  - the RTCP path: onTransportFeedback() for each TWCC packet, onRemb() for REMB,
//    onRtt() for RTT from SR/RR;
//  - then reads targetBitrateBps() (the encoders' budget) and pacingRateBps(), and drains
//    pollProbe() into Pacer::startProbe().
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <vector>

#include "core/cc/delay_based.hpp"
#include "core/cc/feedback_adapter.hpp"
#include "core/cc/loss_based.hpp"
#include "core/common/time.hpp"
#include "core/rtp/rtcp.hpp"

namespace tincan::cc {

// A burst the pacer should send at `rateBps` (media if queued, padding otherwise).
struct ProbeCluster {
    int id = 0;
    uint64_t rateBps = 0;
    size_t minBytes = 0;
    size_t minPackets = 5;
};

class CongestionController {
public:
    struct Config {
        uint64_t startBitrateBps = 300'000;
        uint64_t minBitrateBps = 30'000;
        uint64_t maxBitrateBps = 10'000'000;
        double pacingFactor = 2.5;
        bool initialProbing = true;
        Duration probeDuration = 30ms;
    };
    struct Stats {
        uint64_t feedbacks = 0;
        uint64_t packetsReported = 0;
        uint64_t packetsLost = 0;
        uint64_t overuseSignals = 0;
        uint64_t probeResults = 0;
    };

    CongestionController() : CongestionController(Config{}) {}
    explicit CongestionController(Config config);

    void onPacketSent(const SentPacket& packet);
    void onTransportFeedback(Timestamp now, const rtp::TransportFeedback& feedback);
    void onRemb(Timestamp now, uint64_t bitrateBps);
    void onRtt(Duration rtt);

    uint64_t targetBitrateBps() const;
    uint64_t pacingRateBps() const {
        return uint64_t(double(targetBitrateBps()) * config_.pacingFactor);
    }
    std::optional<ProbeCluster> pollProbe();

    uint64_t delayBasedBps() const { return aimd_.estimateBps(); }
    uint64_t lossBasedBps() const { return loss_.estimateBps(); }
    std::optional<uint64_t> ackedBitrateBps() const { return ackedBps_; }
    BandwidthUsage delayState() const { return trendline_.state(); }
    size_t bytesInFlight() const { return adapter_.outstandingBytes(); }
    const Stats& stats() const { return stats_; }

private:
    void requestProbe(uint64_t rateBps);
    void updateAcked(const PacketResult& r);
    void onProbeResults(Timestamp now, const std::vector<PacketResult>& results);

    Config config_;
    FeedbackAdapter adapter_;
    InterArrival interArrival_;
    TrendlineEstimator trendline_;
    AimdRateControl aimd_;
    LossBasedBwe loss_;
    std::optional<uint64_t> rembBps_;

    // Acknowledged rate: bytes received over the last 500 ms of arrivals.
    std::deque<std::pair<int64_t, size_t>> ackedWindow_;
    size_t ackedWindowBytes_ = 0;
    std::optional<uint64_t> ackedBps_;

    // Probing: clusters asked for, and what feedback showed of each.
    struct ProbeRecord {
        uint64_t rateBps = 0;
        size_t minPackets = 0;
        size_t received = 0;
        size_t bytes = 0, firstBytes = 0, lastBytes = 0;
        std::optional<Timestamp> firstSend, lastSend;
        std::optional<int64_t> firstArrivalUs, lastArrivalUs;
        bool done = false;
    };
    std::deque<ProbeCluster> pendingProbes_;
    std::map<int, ProbeRecord> probes_;
    int nextProbeId_ = 1;
    bool probingStarted_ = false;
    Stats stats_;
};

}  // namespace tincan::cc
