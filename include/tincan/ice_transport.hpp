// IceTransport: ICE alone (RFC 8445 with trickle and consent freshness), without DTLS or data
// channels — for connectivity checks, a pre-call test ("which candidate types can I gather?"),
// and apps that bring their own protocol over the selected pair. Signaling is the caller's:
// exchange localCredentials() and candidates with the other side however you like.
//
// Threading as PeerConnection: methods from any thread, callbacks on the NetworkThread.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tincan/bytes.hpp"
#include "tincan/candidate.hpp"
#include "tincan/ice_server.hpp"
#include "tincan/network_thread.hpp"
#include "tincan/peer_connection.hpp"
#include "tincan/result.hpp"
#include "tincan/stats.hpp"

namespace tincan {

namespace net {
class IceTransport;
}

struct IceCredentials {
    std::string ufrag;
    std::string pwd;
};

struct IceTransportConfig {
    std::vector<IceServer> iceServers;
    IceTransportPolicy iceTransportPolicy = IceTransportPolicy::All;
    std::string tlsCaFile;
    std::vector<std::string> interfaces;
    bool allowLoopback = false;
    bool controlling = true;  // RFC 8445 role; the offerer controls
    std::shared_ptr<NetworkThread> networkThread;
};

struct IceTransportCallbacks {
    std::function<void(const CandidateInfo&)> onLocalCandidate{};
    std::function<void(IceGatheringState)> onGatheringState{};
    std::function<void(IceConnectionState)> onState{};
    std::function<void(const CandidatePair&)> onSelectedPair{};
    // A datagram from the peer over a checked pair; valid during the call only.
    std::function<void(ByteView)> onData{};
};

class IceTransport {
public:
    // Resolves the servers (blocking DNS), binds the host sockets and starts gathering.
    static Result<std::unique_ptr<IceTransport>> create(IceTransportConfig config,
                                                        IceTransportCallbacks callbacks);
    ~IceTransport();  // no callback runs after it returns

    IceCredentials localCredentials() const;
    void setRemoteCredentials(const IceCredentials& remote);
    Result<void> addRemoteCandidate(const std::string& candidate);
    void endOfRemoteCandidates();
    // Over the selected pair; copied when called off the network thread.
    void send(ByteView data);
    void close();

    IceConnectionState state() const;
    std::optional<CandidatePair> selectedPair() const;
    // Why the state is Failed, in words ("no candidate pair succeeded after 30 s").
    std::string failureReason() const;
    // Transport, candidates and candidate pairs.
    StatsReport getStats() const;

private:
    IceTransport() = default;
    std::shared_ptr<NetworkThread> thread_;
    std::unique_ptr<net::IceTransport> impl_;
    bool controlling_ = true;
};

}  // namespace tincan
