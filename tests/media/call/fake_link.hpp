// An in-process stand-in for the connection between a send stream's hook and a receive stream's
// onPacket: numbers the packets as the RTP layer would, and loses or reorders them on command.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <thread>

#include "core/common/bytes.hpp"
#include "tincan/track.hpp"

namespace tincan::media::test {

class FakeLink {
public:
    // dropFrame(frameIndex) decides whole-frame losses; dropPacket(packetIndex) single ones.
    struct Rules {
        std::function<bool(uint64_t frameIndex)> dropFrame{};
        std::function<bool(uint64_t packetIndex)> dropPacket{};
        double reorderChance = 0;  // a packet is held back and delivered after the next one
    };

    FakeLink(Rules rules, std::function<void(const RtpPacketIn&)> deliver, uint32_t seed = 1)
        : rules_(std::move(rules)), deliver_(std::move(deliver)), rng_(seed) {}

    bool send(OutgoingFrame frame) {
        std::lock_guard lock(mutex_);
        const uint64_t f = frames_++;
        const bool dropFrame = rules_.dropFrame && rules_.dropFrame(f);
        for (RtpPayload& p : frame.packets) {
            RtpPacketIn in;
            in.ssrc = 0x1234;
            in.payloadType = 96;
            in.sequenceNumber = seq_++;
            in.rtpTimestamp = p.rtpTimestamp;
            in.marker = p.marker;
            in.arrival = std::chrono::steady_clock::now();
            const uint64_t index = packets_++;
            if (dropFrame || (rules_.dropPacket && rules_.dropPacket(index))) {
                ++dropped_;
                flushHeld();  // a held packet is late, not lost
                continue;
            }
            if (!held_ && coin_(rng_) < rules_.reorderChance) {
                held_ = in;
                heldPayload_ = std::move(p.payload);
                continue;
            }
            in.payload = p.payload;
            deliver_(in);
            flushHeld();
        }
        return true;
    }

    uint64_t dropped() const {
        std::lock_guard lock(mutex_);
        return dropped_;
    }
    uint64_t reordered() const {
        std::lock_guard lock(mutex_);
        return reordered_;
    }

private:
    void flushHeld() {
        if (!held_) return;
        held_->payload = heldPayload_;
        deliver_(*held_);
        held_.reset();
        ++reordered_;
    }

    Rules rules_;
    std::function<void(const RtpPacketIn&)> deliver_;
    mutable std::mutex mutex_;
    std::mt19937 rng_;
    std::uniform_real_distribution<double> coin_{0, 1};
    uint16_t seq_ = 65000;  // wraps early in every run
    uint64_t frames_ = 0, packets_ = 0, dropped_ = 0, reordered_ = 0;
    std::optional<RtpPacketIn> held_;
    Bytes heldPayload_;
};

// Polls `done` every 10 ms until it holds or `limit` passes (a bound on a hang, not a timing
// assertion: the checks after it do not depend on how long it took).
inline bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done()) {
        if (std::chrono::steady_clock::now() > end) return false;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return true;
}

}  // namespace tincan::media::test
