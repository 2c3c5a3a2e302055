// Two public-API PeerConnections on one NetworkThread over loopback (real sockets, ICE, DTLS,
// SCTP, DCEP), for the file-transfer tests. (tests/core/pc/pc_pair.hpp does the same for the
// core tests; this one uses only include/tincan/.)
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tincan/peer_connection.hpp"

namespace tincan::test {

using namespace std::chrono_literals;

// Waits on a predicate that callbacks (network thread, transfer workers) make true.
class Waiter {
public:
    // Call with mutex() held (the predicate's data changed under it).
    void notify() { cv_.notify_all(); }
    template <typename P>
    bool wait(P pred, std::chrono::milliseconds limit = 10s) {
        std::unique_lock lock(m_);
        return cv_.wait_for(lock, limit, pred);
    }
    std::mutex& mutex() { return m_; }

private:
    std::mutex m_;
    std::condition_variable cv_;
};

struct Side {
    std::shared_ptr<PeerConnection> pc;
    // Runs inside onDataChannel (network thread), before any message can be delivered.
    std::function<void(std::shared_ptr<DataChannel>)> onRemoteChannel;
};

class Pair {
public:
    Pair() {
        for (int i = 0; i < 2; ++i) {
            Configuration cfg;
            cfg.interfaces = {"lo"};
            cfg.allowLoopback = true;
            cfg.networkThread = thread;
            PeerConnectionCallbacks cb;
            Side* s = &side[i];
            Side* other = &side[1 - i];
            // Trickle straight to the other side (it buffers until its remote description).
            cb.onIceCandidate = [other](const std::optional<IceCandidate>& c) {
                (void)other->pc->addIceCandidate(c);
            };
            cb.onDataChannel = [s](std::shared_ptr<DataChannel> ch) {
                if (s->onRemoteChannel) s->onRemoteChannel(std::move(ch));
            };
            auto created = PeerConnection::create(cfg, cb);
            EXPECT_TRUE(created) << created.message();
            if (created) side[i].pc = *created;
        }
    }
    ~Pair() {
        for (auto& s : side)
            if (s.pc) s.pc->close();
    }

    void negotiate() {
        auto offer = side[0].pc->createOffer();
        ASSERT_TRUE(offer) << offer.message();
        ASSERT_TRUE(side[0].pc->setLocalDescription(*offer));
        auto err = side[1].pc->setRemoteDescription(*offer);
        ASSERT_TRUE(err) << err.message();
        auto answer = side[1].pc->createAnswer();
        ASSERT_TRUE(answer) << answer.message();
        ASSERT_TRUE(side[1].pc->setLocalDescription(*answer));
        err = side[0].pc->setRemoteDescription(*answer);
        ASSERT_TRUE(err) << err.message();
    }

    std::shared_ptr<NetworkThread> thread = NetworkThread::create();
    Side side[2];
    Waiter waiter;
};

}  // namespace tincan::test
