// Two SctpTransports back to back in memory: packets go straight from one's pollOutgoing() to
// the other's handleIncoming(), optionally through a lossy wire with a one-way delay. usrsctp runs
// on real time, so run() drives both on the real clock, sleeping only when nothing moves.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>
#include <functional>
#include <random>
#include <thread>
#include <variant>
#include <vector>

#include "core/sctp/sctp_transport.hpp"

namespace tincan::sctp::testing {

struct ReceivedMessage {
    uint16_t id = 0;
    Bytes data;
    bool binary = false;
};

struct Peer {
    explicit Peer(SctpConfig config) : transport(std::move(config)) {
        transport.setMessageHandler([this](uint16_t id, ByteView data, bool binary) {
            bytesReceived += data.size();
            if (keepMessages) messages.push_back({id, Bytes(data.begin(), data.end()), binary});
            // What the handler sees of the channel must already be announced.
            if (!hasOpened(id)) messagesBeforeOpen++;
        });
    }

    bool hasOpened(uint16_t id) const {
        for (const auto& e : events)
            if (auto* o = std::get_if<event::ChannelOpened>(&e); o && o->id == id) return true;
        return false;
    }
    template <typename T>
    std::vector<T> eventsOf() const {
        std::vector<T> out;
        for (const auto& e : events)
            if (auto* v = std::get_if<T>(&e)) out.push_back(*v);
        return out;
    }
    template <typename T>
    size_t countOf() const {
        return eventsOf<T>().size();
    }
    bool closed(uint16_t id) const {
        for (const auto& c : eventsOf<event::ChannelClosed>())
            if (c.id == id) return true;
        return false;
    }

    SctpTransport transport;
    std::vector<Event> events;
    std::vector<ReceivedMessage> messages;
    bool keepMessages = true;
    uint64_t bytesReceived = 0;
    uint64_t packetsSent = 0;  // handed to the wire (before any loss)
    int messagesBeforeOpen = 0;
};

inline SctpConfig clientConfig() {
    SctpConfig c;
    c.dtlsClient = true;
    return c;
}
inline SctpConfig serverConfig() {
    return SctpConfig{};
}

class Pair {
public:
    explicit Pair(SctpConfig a = clientConfig(), SctpConfig b = serverConfig(), uint64_t seed = 1)
        : a(std::move(a)), b(std::move(b)), rng_(seed) {}

    void start() {
        const Timestamp now = Clock::now();
        a.transport.start(now);
        b.transport.start(now);
        drainEvents();
    }
    bool connect(Duration timeout = 5s) {
        start();
        return run(
            [&] {
                return a.countOf<event::AssociationUp>() == 1 &&
                       b.countOf<event::AssociationUp>() == 1;
            },
            timeout);
    }

    // Moves every queued packet (both ways, until neither has any), runs due timers and drains
    // events. True if a packet moved.
    bool step() {
        bool movedAny = false;
        for (;;) {
            const Timestamp now = Clock::now();
            bool moved = false;
            moved |= forward(a, b, lossAToB, now);
            moved |= forward(b, a, lossBToA, now);
            moved |= deliverDue(now);
            drainEvents();
            if (!moved) break;
            movedAny = true;
        }
        const Timestamp now = Clock::now();
        for (Peer* p : {&a, &b})
            if (auto t = p->transport.pollTimeout(); t && *t <= now)
                p->transport.handleTimeout(now);
        drainEvents();
        return movedAny;
    }

    bool run(const std::function<bool()>& done, Duration timeout = 5s) {
        const Timestamp deadline = Clock::now() + timeout;
        while (!done()) {
            if (Clock::now() > deadline) return false;
            if (!step()) idle();
        }
        return true;
    }
    void runFor(Duration d) {
        const Timestamp end = Clock::now() + d;
        while (Clock::now() < end)
            if (!step()) idle();
    }

    void drainEvents() {
        for (Peer* p : {&a, &b})
            while (auto e = p->transport.pollEvent()) p->events.push_back(std::move(*e));
    }

    Peer a;
    Peer b;
    double lossAToB = 0;
    double lossBToA = 0;
    Duration delay = 0ms;  // one-way, both directions (FIFO: a packet never overtakes another)
    // A bottleneck from a to b in bytes per second (0: none), before the delay: packets queue
    // behind it without limit, like a router's buffer in front of a slower link.
    double rateAToB = 0;
    uint64_t dropped = 0;
    // Applied to every packet before delivery (malformation tests); return false to drop it.
    std::function<bool(Bytes&)> tamper;

private:
    bool forward(Peer& from, Peer& to, double loss, Timestamp now) {
        bool moved = false;
        while (auto packet = from.transport.pollOutgoing()) {
            moved = true;
            from.packetsSent++;
            maxPacket = std::max(maxPacket, packet->size());
            if (loss > 0 && std::uniform_real_distribution<double>(0, 1)(rng_) < loss) {
                dropped++;
                continue;
            }
            if (tamper && !tamper(*packet)) continue;
            const bool limited = rateAToB > 0 && &to == &b;
            if (delay > 0ms || limited) {
                Timestamp leaves = now;
                if (limited) {
                    linkFreeAt_ =
                        std::max(linkFreeAt_, now) +
                        std::chrono::duration_cast<Duration>(
                            std::chrono::duration<double>(double(packet->size()) / rateAToB));
                    leaves = linkFreeAt_;
                }
                wire(to).push_back({leaves + delay, &to, std::move(*packet)});
                continue;
            }
            to.transport.handleIncoming(now, *packet);
        }
        return moved;
    }
    bool deliverDue(Timestamp now) {
        bool moved = false;
        for (auto& w : wire_) {
            while (!w.empty() && w.front().at <= now) {
                InFlight f = std::move(w.front());
                w.pop_front();
                f.to->transport.handleIncoming(now, f.packet);
                moved = true;
            }
        }
        return moved;
    }
    void idle() {
        const Timestamp now = Clock::now();
        Timestamp next = now + 2ms;
        for (Peer* p : {&a, &b})
            if (auto t = p->transport.pollTimeout()) next = std::min(next, *t);
        for (const auto& w : wire_)
            if (!w.empty()) next = std::min(next, w.front().at);
        if (next > now) std::this_thread::sleep_until(next);
    }

    struct InFlight {
        Timestamp at;
        Peer* to = nullptr;
        Bytes packet;
    };
    // Packets on their way, one FIFO per direction (to a, to b): each is in time order.
    std::array<std::deque<InFlight>, 2> wire_;
    Timestamp linkFreeAt_{};  // when the a -> b bottleneck has sent what it holds
    std::deque<InFlight>& wire(const Peer& to) { return wire_[&to == &a ? 0 : 1]; }
    std::mt19937_64 rng_;

public:
    size_t maxPacket = 0;
};

inline Bytes pattern(size_t size, uint32_t seed) {
    Bytes out(size);
    uint32_t x = seed * 2654435761u + 1;
    for (auto& v : out) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v = uint8_t(x);
    }
    return out;
}

inline uint16_t idOf(const Result<uint16_t>& created) {
    if (!created) ADD_FAILURE() << "createChannel: " << created.error().message;
    return created ? *created : 0xFFFF;
}

}  // namespace tincan::sctp::testing
