// The ICE agent (RFC 8445 full agent, RFC 8838 trickle, RFC 7675 consent freshness), sans-IO.
//
// One agent serves one data stream with one component (BUNDLE + rtcp-mux). The runtime binds
// the UDP sockets and tells the agent their addresses (addHostBase); from then on the agent
// decides everything: which server to ask, which pair to check, when to retransmit, which pair
// carries data. Everything it wants sent comes out of pollTransmit(), everything that happened
// comes out of pollEvent(), and pollTimeout() says when to call handleTimeout() next.
//
// Threading: none. The owner calls every method from one thread (the runtime's loop thread).
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/common/random.hpp"
#include "core/common/sansio.hpp"
#include "core/ice/candidate.hpp"
#include "tincan/result.hpp"

namespace tincan::ice {

enum class Role : uint8_t { Controlling = 1, Controlled = 2 };
enum class TransportPolicy : uint8_t { All = 1, Relay = 2 };

// W3C RTCIceTransportState.
enum class IceState : uint8_t {
    New = 1,
    Checking,
    Connected,
    Completed,
    Disconnected,
    Failed,
    Closed
};
const char* toString(IceState s);

// W3C RTCIceGatheringState.
enum class GatheringState : uint8_t { New = 1, Gathering, Complete };
const char* toString(GatheringState s);

// How the selected pair crosses the network (../shared/CLI.md): host to host, through a NAT
// without a relay, or through a TURN relay.
enum class PathType : uint8_t { Lan = 1, Direct = 2, Relay = 3 };
const char* toString(PathType p);

struct StunServerConfig {
    Endpoint address;
    std::string url;  // for display and stats ("stun:host:port")
};

struct TurnServerConfig {
    Endpoint address;
    TransportProtocol transport = TransportProtocol::Udp;
    std::string username;
    std::string password;
    std::string url;
};

struct Credentials {
    std::string ufrag;
    std::string pwd;
};

struct AgentConfig {
    Role role = Role::Controlling;
    TransportPolicy policy = TransportPolicy::All;
    std::vector<StunServerConfig> stunServers;
    std::vector<TurnServerConfig> turnServers;

    // RFC 8445 §14.2 pacing of ordinary checks. The first check goes out as soon as a pair
    // exists; later ones at most one per Ta. 20 ms (RFC 5245's value for RTP) rather than
    // RFC 8445's 50 ms default: with BUNDLE and one component the checklist is a handful of
    // pairs, and relay pairs, checked last, would otherwise wait several slots (measured in
    // tests/bench/bench_ice: symmetric<->symmetric 192 ms at 50 ms, 132 ms at 20 ms).
    Duration ta = 20ms;
    // Check retransmission: RTO doubling from checkRto, capped at checkMaxInterval, checkRetries
    // sends in all; a pair fails checkFinalWait after the last one.
    Duration checkRto = 250ms;
    Duration checkMaxInterval = 1s;
    int checkRetries = 7;
    Duration checkFinalWait = 1s;
    // Controlling side: once a pair is valid, wait at most this long for a higher-priority
    // pair still in flight before nominating the best valid one.
    Duration nominationDelay = 150ms;
    // ... and this long when the best valid pair is relayed but direct pairs are still in flight.
    Duration relayNominationDelay = 2s;
    // Controlling side: put USE-CANDIDATE on every check (RFC 5245 aggressive nomination, as
    // aiortc and older stacks do) instead of regular nomination. For interop tests.
    bool aggressiveNomination = false;
    // RFC 7675: consent checks every consentInterval (randomised ±20 %); consent is lost after
    // consentTimeout without a response. `disconnected` after disconnectedTimeout.
    Duration consentInterval = 5s;
    Duration consentTimeout = 30s;
    Duration disconnectedTimeout = 6s;
    // Give up if no pair has succeeded this long after checks began.
    Duration checkingTimeout = 30s;
    // Without end-of-candidates, how long to wait for more candidates once every pair failed.
    Duration failedGrace = 5s;
    // STUN server (srflx) transactions.
    Duration gatherRto = 250ms;
    int gatherRetries = 5;

    std::string software = "tincan";
    // Fixed credentials instead of random ones (tests).
    std::optional<Credentials> localCredentials;
};

struct CandidatePairInfo {
    Candidate local;
    Candidate remote;
    PathType path = PathType::Direct;
    std::optional<TransportProtocol> relayProtocol;  // when path is Relay
    Duration rtt{};
};

namespace event {
struct LocalCandidate {
    Candidate candidate;
};
struct GatheringStateChanged {
    GatheringState state;
};
struct StateChanged {
    IceState state;
};
struct SelectedPairChanged {
    CandidatePairInfo pair;
};
// A remote candidate has a ".local" name: resolve it and call resolvedMdns().
struct MdnsQuery {
    std::string hostname;
};
struct RoleChanged {
    Role role;
};
// Non-STUN data received from the peer (DTLS, SRTP, ...) when no data handler is set.
struct Data {
    Bytes data;
};
}  // namespace event

using Event =
    std::variant<event::LocalCandidate, event::GatheringStateChanged, event::StateChanged,
                 event::SelectedPairChanged, event::MdnsQuery, event::RoleChanged, event::Data>;

enum class PairState : uint8_t { Frozen = 1, Waiting, InProgress, Succeeded, Failed };
const char* toString(PairState s);

// getStats()-style figures (W3C webrtc-stats names in comments).
struct PairStats {
    Candidate local;
    Candidate remote;
    PairState state = PairState::Frozen;
    bool nominated = false;
    bool selected = false;
    uint64_t priority = 0;
    uint64_t requestsSent = 0;       // requestsSent
    uint64_t requestsReceived = 0;   // requestsReceived
    uint64_t responsesSent = 0;      // responsesSent
    uint64_t responsesReceived = 0;  // responsesReceived
    uint64_t consentRequestsSent = 0;
    uint64_t packetsSent = 0;
    uint64_t packetsReceived = 0;
    uint64_t bytesSent = 0;
    uint64_t bytesReceived = 0;
    std::optional<Duration> currentRtt;  // currentRoundTripTime
    Duration totalRtt{};                 // totalRoundTripTime
    uint64_t rttSamples = 0;             // responsesReceived that timed an RTT
    std::optional<Timestamp> lastPacketSent;
    std::optional<Timestamp> lastPacketReceived;
};

struct AgentStats {
    std::vector<Candidate> localCandidates;
    std::vector<Candidate> remoteCandidates;
    std::vector<PairStats> pairs;
    uint64_t stunMalformedDropped = 0;  // garbage that looked like STUN
    uint64_t stunUnauthorized = 0;      // checks with a bad USERNAME or MESSAGE-INTEGRITY
    uint64_t dataDroppedUnknownSource = 0;
    uint64_t roleConflicts = 0;
};

class Agent final : public SansIoMachine {
public:
    explicit Agent(AgentConfig config, Random& random);
    ~Agent() override;

    // --- Set-up (before or after start) ---
    // A UDP socket the runtime bound for this agent; becomes a host candidate (unless the
    // policy is relay) and the base for STUN and TURN/UDP traffic.
    void addHostBase(const Endpoint& base);
    // Begins gathering: host candidates at once, server-reflexive and relayed as answers come.
    void startGathering(Timestamp now);

    const Credentials& localCredentials() const;
    Role role() const;
    // Before checks start only (the PeerConnection knows the role from offer/answer).
    void setRole(Role role);
    uint64_t tieBreaker() const;

    // --- Remote side (trickle: any order, any time) ---
    // New credentials for a remote that already had others mean the remote restarted ICE; the
    // agent then restarts too (the caller signals the new localCredentials()).
    void setRemoteCredentials(Timestamp now, const Credentials& remote);
    // Returns an error for a malformed candidate; candidates are kept until the credentials
    // arrive. TCP candidates are accepted and ignored.
    Result<void> addRemoteCandidate(Timestamp now, std::string_view sdpCandidate);
    void addRemoteCandidate(Timestamp now, const Candidate& candidate);
    void endOfRemoteCandidates(Timestamp now);
    // Answer to an MdnsQuery event (nullopt: not resolvable, the candidate is dropped).
    void resolvedMdns(Timestamp now, const std::string& hostname, std::optional<IpAddress> ip);

    // RFC 8445 §9: new local credentials, regather; the old pair keeps carrying data until a
    // new one is selected.
    void restart(Timestamp now);
    // Deallocates TURN allocations, stops everything; state Closed.
    void close(Timestamp now);

    // --- Data path ---
    // Sends over the selected pair. Returns false if there is none.
    bool send(Timestamp now, ByteView data);
    // Called synchronously from handlePacket() for every non-STUN datagram from the peer,
    // instead of queueing an event::Data. The handler may call send().
    void setDataHandler(std::function<void(ByteView)> handler);

    // --- State ---
    IceState state() const;
    GatheringState gatheringState() const;
    // Why the agent failed, in words for a user ("no candidate pair succeeded after 30 s").
    std::string failureReason() const;
    std::optional<CandidatePairInfo> selectedPair() const;
    AgentStats stats() const;

    // --- SansIoMachine ---
    void handlePacket(Timestamp now, const PacketView& packet) override;
    void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                           const Endpoint& remote, StreamState state) override;
    void handleTimeout(Timestamp now) override;
    std::optional<Packet> pollTransmit() override;
    std::optional<Timestamp> pollTimeout() override;
    std::optional<Event> pollEvent();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Path classification used for the selected pair (and by the CLI's "path" field).
PathType classifyPath(const Candidate& local, const Candidate& remote);

}  // namespace tincan::ice
