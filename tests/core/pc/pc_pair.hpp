// Two public-API PeerConnections on one NetworkThread over loopback: real sockets, ICE, DTLS,
// SCTP, DCEP. Shared by the PeerConnection and file-transfer tests.
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <thread>

#include "tincan/peer_connection.hpp"

namespace tincan::test {

using namespace std::chrono_literals;

// Waits on a predicate that callbacks (network thread) make true.
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
    std::vector<std::shared_ptr<DataChannel>> remoteChannels;
    std::vector<std::optional<IceCandidate>> candidates;
    PeerConnectionState state = PeerConnectionState::New;
    // Runs inside onDataChannel (network thread), before any message can be delivered.
    std::function<void(std::shared_ptr<DataChannel>)> onRemoteChannel;
    // Runs inside onTrack (network thread): set the track's callbacks here.
    std::function<void(std::shared_ptr<Track>)> onRemoteTrack;
    std::vector<std::shared_ptr<Track>> remoteTracks;
    std::string dtlsFailure;
};

class Pair {
public:
    explicit Pair(bool tamperFingerprint = false) : tamper_(tamperFingerprint) {
        for (int i = 0; i < 2; ++i) {
            Configuration cfg;
            cfg.interfaces = {"lo"};
            cfg.allowLoopback = true;
            cfg.networkThread = thread;
            PeerConnectionCallbacks cb;
            Side* s = &side[i];
            Side* other = &side[1 - i];
            cb.onIceCandidate = [other](const std::optional<IceCandidate>& c) {
                // Trickle straight to the other side (it buffers until its remote description).
                // Both share the runtime, so this runs inline on its loop thread.
                (void)other->pc->addIceCandidate(c);
            };
            cb.onConnectionState = [this, s](PeerConnectionState st) {
                std::lock_guard lock(waiter.mutex());
                s->state = st;
                waiter.notify();
            };
            cb.onDataChannel = [this, s](std::shared_ptr<DataChannel> ch) {
                if (s->onRemoteChannel) s->onRemoteChannel(ch);
                std::lock_guard lock(waiter.mutex());
                s->remoteChannels.push_back(ch);
                waiter.notify();
            };
            cb.onTrack = [this, s](std::shared_ptr<Track> t) {
                if (s->onRemoteTrack) s->onRemoteTrack(t);
                std::lock_guard lock(waiter.mutex());
                s->remoteTracks.push_back(t);
                waiter.notify();
            };
            cb.onDtlsState = [this, s](DtlsState st, const std::string& reason) {
                if (st != DtlsState::Failed) return;
                std::lock_guard lock(waiter.mutex());
                s->dtlsFailure = reason;
                waiter.notify();
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
        auto offer = *side[0].pc->createOffer();
        ASSERT_TRUE(side[0].pc->setLocalDescription(offer));
        if (tamper_) {
            // A man in the middle rewrites the fingerprint: DTLS must refuse the real certificate.
            auto pos = offer.sdp.find("a=fingerprint:sha-256 ");
            ASSERT_NE(pos, std::string::npos);
            pos += 22;
            offer.sdp[pos] = offer.sdp[pos] == 'A' ? 'B' : 'A';
        }
        auto err = side[1].pc->setRemoteDescription(offer);
        ASSERT_TRUE(err) << err.message();
        auto answer = *side[1].pc->createAnswer();
        ASSERT_TRUE(side[1].pc->setLocalDescription(answer));
        err = side[0].pc->setRemoteDescription(answer);
        ASSERT_TRUE(err) << err.message();
    }

    bool waitConnected() {
        return waiter.wait([&] {
            return side[0].state == PeerConnectionState::Connected &&
                   side[1].state == PeerConnectionState::Connected;
        });
    }

    std::shared_ptr<NetworkThread> thread = NetworkThread::create();
    Side side[2];
    Waiter waiter;

private:
    bool tamper_;
};

}  // namespace tincan::test
