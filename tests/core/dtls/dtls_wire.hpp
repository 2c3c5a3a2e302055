// A tiny in-memory network for DtlsTransport tests: wires that move pollOutgoing() of one end
// into handleIncoming() of the other, optionally losing datagrams, driven on real time because
// OpenSSL's DTLS timer runs on the wall clock (STYLE.md).
#pragma once

#include <algorithm>
#include <functional>
#include <thread>
#include <vector>

#include "core/common/random.hpp"
#include "core/dtls/dtls_transport.hpp"

namespace tincan::dtls::test {

class Wires {
public:
    explicit Wires(uint64_t seed = 1) : random_(seed) {}

    // Datagrams from a to b and back; each is lost with probability `loss`.
    void connect(DtlsTransport& a, DtlsTransport& b, double loss = 0) {
        wires_.push_back({&a, &b, loss});
        for (DtlsTransport* t : {&a, &b})
            if (std::find(nodes_.begin(), nodes_.end(), t) == nodes_.end()) nodes_.push_back(t);
    }

    // Every datagram seen on any wire passes through here first (sizes, tampering).
    std::function<void(const DtlsTransport& from, Bytes& datagram)> inspect;

    // Moves datagrams and fires due timers until `done()` or `limit` of real time has passed.
    bool runUntil(const std::function<bool()>& done, Duration limit = 5s) {
        Timestamp deadline = Clock::now() + limit;
        for (;;) {
            Timestamp now = Clock::now();
            bool moved = false;
            for (DtlsTransport* t : nodes_)
                if (auto at = t->pollTimeout(); at && *at <= now) t->handleTimeout(now);
            for (const Wire& w : wires_) {
                moved |= carry(*w.a, *w.b, w.loss, now);
                moved |= carry(*w.b, *w.a, w.loss, now);
            }
            if (done()) return true;
            if (now >= deadline) return false;
            if (!moved) {
                Timestamp wake = now + 2ms;
                for (DtlsTransport* t : nodes_)
                    if (auto at = t->pollTimeout()) wake = std::min(wake, *at);
                std::this_thread::sleep_until(std::max(wake, now + 100us));
            }
        }
    }
    // Runs for a while regardless (to show that nothing more happens).
    void runFor(Duration d) {
        runUntil([] { return false; }, d);
    }

    uint64_t carried = 0, lost = 0;

private:
    struct Wire {
        DtlsTransport* a;
        DtlsTransport* b;
        double loss;
    };

    bool carry(DtlsTransport& from, DtlsTransport& to, double loss, Timestamp now) {
        bool moved = false;
        while (auto d = from.pollOutgoing()) {
            moved = true;
            if (inspect) inspect(from, *d);
            if (loss > 0 && random_.uniform() < loss) {
                ++lost;
                continue;
            }
            ++carried;
            to.handleIncoming(now, *d);
        }
        return moved;
    }

    Random random_;
    std::vector<Wire> wires_;
    std::vector<DtlsTransport*> nodes_;
};

// All events queued so far.
inline std::vector<Event> drainEvents(DtlsTransport& t) {
    std::vector<Event> out;
    while (auto e = t.pollEvent()) out.push_back(std::move(*e));
    return out;
}

}  // namespace tincan::dtls::test
