// Helpers shared by the core/net tests: a recording SansIoMachine and small waiting helpers.
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/common/sansio.hpp"

namespace tincan::net::test {

// Polls `pred` until it holds or `timeout` passes; returns the last value of pred.
template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds timeout = std::chrono::milliseconds(1500)) {
    auto end = Clock::now() + timeout;
    while (!pred()) {
        if (Clock::now() > end) return pred();
        std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
}

struct Received {
    TransportProtocol protocol = TransportProtocol::Udp;
    Endpoint local, remote;
    Bytes data;
    Timestamp at;
};

struct StreamEvent {
    TransportProtocol protocol = TransportProtocol::Tcp;
    Endpoint local, remote;
    StreamState state = StreamState::Failed;
    Timestamp at;
    size_t bytesReceivedBefore = 0;  // stream bytes delivered before this event
};

// A machine that records what the runtime hands it and sends what the test queues. The
// runtime calls it on the loop thread; the test thread reads it under `mu`.
class TestMachine : public SansIoMachine {
public:
    void handlePacket(Timestamp now, const PacketView& p) override {
        std::lock_guard lk(mu);
        received.push_back(
            {p.protocol, p.local, p.remote, Bytes(p.data.begin(), p.data.end()), now});
        if (p.protocol != TransportProtocol::Udp) streamBytes += p.data.size();
        if (echo)
            outbox.push_back(
                Packet{p.protocol, p.local, p.remote, Bytes(p.data.begin(), p.data.end())});
        if (onPacket) onPacket(p, outbox);
        checkThread();
    }
    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState state) override {
        std::lock_guard lk(mu);
        streamEvents.push_back({protocol, local, remote, state, now, streamBytes});
        checkThread();
    }
    void handleTimeout(Timestamp now) override {
        std::lock_guard lk(mu);
        while (!deadlines.empty() && deadlines.front() <= now) {
            firedLateness.push_back(now - deadlines.front());
            deadlines.erase(deadlines.begin());
        }
        ++timeoutCalls;
        checkThread();
    }
    std::optional<Packet> pollTransmit() override {
        std::lock_guard lk(mu);
        checkThread();
        if (outbox.empty()) return std::nullopt;
        Packet p = std::move(outbox.front());
        outbox.pop_front();
        return p;
    }
    std::optional<Timestamp> pollTimeout() override {
        std::lock_guard lk(mu);
        if (deadlines.empty()) return std::nullopt;
        return deadlines.front();
    }

    // Call on the loop thread (through Runtime::post), or before attaching.
    void queue(Packet p) {
        std::lock_guard lk(mu);
        outbox.push_back(std::move(p));
    }
    void addDeadline(Timestamp t) {
        std::lock_guard lk(mu);
        deadlines.insert(std::upper_bound(deadlines.begin(), deadlines.end(), t), t);
    }

    size_t receivedCount() {
        std::lock_guard lk(mu);
        return received.size();
    }
    size_t streamEventCount() {
        std::lock_guard lk(mu);
        return streamEvents.size();
    }
    std::vector<StreamEvent> events() {
        std::lock_guard lk(mu);
        return streamEvents;
    }
    Bytes streamData() {
        std::lock_guard lk(mu);
        Bytes all;
        for (auto& r : received)
            if (r.protocol != TransportProtocol::Udp)
                all.insert(all.end(), r.data.begin(), r.data.end());
        return all;
    }

    std::mutex mu;
    bool echo = false;
    std::function<void(const PacketView&, std::deque<Packet>&)> onPacket;
    std::deque<Packet> outbox;
    std::vector<Received> received;
    std::vector<StreamEvent> streamEvents;
    std::vector<Timestamp> deadlines;  // sorted
    std::vector<Duration> firedLateness;
    size_t streamBytes = 0;
    int timeoutCalls = 0;
    std::thread::id loopThread;  // if set, every call must come from it
    bool wrongThread = false;

private:
    void checkThread() {
        if (loopThread != std::thread::id() && std::this_thread::get_id() != loopThread)
            wrongThread = true;
    }
};

inline Bytes bytesOf(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

}  // namespace tincan::net::test
