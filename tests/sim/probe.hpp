// A scriptable machine for simulator tests: sends what it is told to, records what it receives,
// its stream state changes and its timer firings, and can echo everything back.
#pragma once

#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/sansio.hpp"

namespace tincan::sim {

class ProbeMachine : public SansIoMachine {
public:
    struct Received {
        Timestamp at;
        TransportProtocol protocol = TransportProtocol::Udp;
        Endpoint local;
        Endpoint remote;
        Bytes data;
        std::string text() const { return std::string(asString(data)); }
    };
    struct StateChange {
        Timestamp at;
        TransportProtocol protocol = TransportProtocol::Udp;
        Endpoint local;
        Endpoint remote;
        StreamState state = StreamState::Connected;
    };

    // Answer every datagram and stream chunk with the same bytes, back where it came from.
    bool echo = false;

    // Queued; goes out when the network drains this machine (Network::drain, or the next run).
    void send(Packet p) { out_.push_back(std::move(p)); }
    void send(TransportProtocol protocol, const Endpoint& local, const Endpoint& remote,
              std::string_view text) {
        send(Packet{protocol, local, remote, Bytes(text.begin(), text.end())});
    }
    void sendUdp(const Endpoint& local, const Endpoint& remote, std::string_view text) {
        send(TransportProtocol::Udp, local, remote, text);
    }
    // handleTimeout() runs at exactly `at`; firings are recorded in `timeouts`.
    void wakeAt(Timestamp at) { timers_.insert(at); }

    // Everything received on streams from `remote`, concatenated.
    std::string streamText(const Endpoint& remote) const {
        std::string s;
        for (const auto& r : received)
            if (r.protocol != TransportProtocol::Udp && r.remote == remote) s += r.text();
        return s;
    }

    std::vector<Received> received;
    std::vector<StateChange> states;
    std::vector<Timestamp> timeouts;

    void handlePacket(Timestamp now, const PacketView& p) override {
        received.push_back(
            Received{now, p.protocol, p.local, p.remote, Bytes(p.data.begin(), p.data.end())});
        if (echo) send(Packet{p.protocol, p.local, p.remote, Bytes(p.data.begin(), p.data.end())});
    }
    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState state) override {
        states.push_back(StateChange{now, protocol, local, remote, state});
    }
    void handleTimeout(Timestamp now) override {
        while (!timers_.empty() && *timers_.begin() <= now) {
            timeouts.push_back(now);
            timers_.erase(timers_.begin());
        }
    }
    std::optional<Packet> pollTransmit() override {
        if (out_.empty()) return std::nullopt;
        Packet p = std::move(out_.front());
        out_.pop_front();
        return p;
    }
    std::optional<Timestamp> pollTimeout() override {
        if (timers_.empty()) return std::nullopt;
        return *timers_.begin();
    }

private:
    std::deque<Packet> out_;
    std::multiset<Timestamp> timers_;
};

}  // namespace tincan::sim
