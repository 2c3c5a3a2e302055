// IceTransport: an ICE agent running on the network runtime — the glue between the sans-IO
// ice::Agent and real sockets. It binds one UDP socket per usable local address (the agent's
// host candidates), resolves mDNS candidates, and reports the agent's events through callbacks.
//
// Threading: every callback runs on the runtime's loop thread. Every public method may be
// called from any thread; calls from other threads are posted to the loop in order.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "core/ice/agent.hpp"
#include "core/net/interfaces.hpp"
#include "core/net/runtime.hpp"

namespace tincan::net {

// Binds one UDP socket for `machine` on every address `policy` selects (port 0: ephemeral) and
// returns the bound endpoints: the ICE host candidates' bases (never empty on success). Fails
// when nothing could be bound. Shared by IceTransport and pc::PeerConnection.
Result<std::vector<Endpoint>> bindHostSockets(Runtime& runtime, MachineId machine,
                                              const HostPolicy& policy, uint16_t port);

struct IceTransportConfig {
    ice::AgentConfig agent;
    HostPolicy hostPolicy;
    // Bind the host sockets to this port where possible (0: ephemeral).
    uint16_t port = 0;
};

struct IceTransportCallbacks {
    std::function<void(const ice::Candidate&)> onLocalCandidate;
    std::function<void(ice::GatheringState)> onGatheringState;
    std::function<void(ice::IceState)> onState;
    std::function<void(const ice::CandidatePairInfo&)> onSelectedPair;
    std::function<void(ice::Role)> onRoleChanged;
    // Non-STUN datagrams from the peer (DTLS, SRTP). The view is valid during the call only.
    std::function<void(ByteView)> onData;
};

class IceTransport {
public:
    IceTransport(Runtime& runtime, IceTransportConfig config, IceTransportCallbacks callbacks);
    ~IceTransport();  // closes and detaches; no callback runs after it returns
    IceTransport(const IceTransport&) = delete;
    IceTransport& operator=(const IceTransport&) = delete;

    // Binds the host sockets and starts gathering. Fails with a reason when no local address
    // could be bound at all.
    Result<void> start();

    ice::Credentials localCredentials() const;
    void setRemoteCredentials(const ice::Credentials& remote);
    // Returns the parse error for a malformed candidate (checked on the calling thread).
    Result<void> addRemoteCandidate(const std::string& sdpCandidate);
    void endOfRemoteCandidates();
    // RFC 8445 §9; the future yields the new local credentials to signal.
    std::future<ice::Credentials> restart();
    void close();

    // Sends over the selected pair. From the loop thread (inside onData, say) it is sent at
    // once; from any other thread it is copied and posted.
    void send(ByteView data);

    // A consistent snapshot, taken on the loop thread (blocks the caller briefly; never call
    // it from the loop thread itself — use agent() there).
    ice::AgentStats stats() const;
    std::optional<ice::CandidatePairInfo> selectedPair() const;
    ice::IceState state() const;
    std::string failureReason() const;

    // Loop thread only.
    ice::Agent& agent() { return *agent_; }
    Runtime& runtime() { return runtime_; }

private:
    void onActivity();
    template <typename T>
    T onLoop(std::function<T()> fn) const;

    Runtime& runtime_;
    IceTransportConfig config_;
    IceTransportCallbacks callbacks_;
    std::unique_ptr<Random> random_;
    std::unique_ptr<ice::Agent> agent_;
    MachineId id_ = kInvalidMachine;
    mutable std::mutex mutex_;
    ice::Credentials localCredentials_;
    std::shared_ptr<bool> alive_;
};

}  // namespace tincan::net
