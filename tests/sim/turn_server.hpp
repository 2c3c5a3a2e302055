// A minimal but real TURN server (RFC 8656) for the simulator.
//
// Long-term credentials (RFC 8489 §9.2): 401 with REALM and NONCE first, 438 once a nonce is
// older than `nonceLifetime`. Allocate, Refresh (LIFETIME 0 deletes), CreatePermission,
// ChannelBind, Send indications and ChannelData from the client, Data indications and
// ChannelData to it, all over UDP or TCP/TLS (the client-to-server transport is per allocation;
// relaying to peers is always UDP). Responses carry MESSAGE-INTEGRITY (when authenticated) and
// FINGERPRINT. Binding requests are answered without authentication, like coturn does.
//
// Client traffic is whatever arrives on a port outside [relayPortMin, relayPortMax] (e.g. 3478,
// 5349); peers' traffic is what arrives on a relayed address.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/common/sansio.hpp"
#include "core/stun/message.hpp"
#include "tests/sim/framing.hpp"

namespace tincan::sim {

struct TurnServerConfig {
    std::string realm = "sim.example.org";
    std::map<std::string, std::string> users;  // username → password
    Duration nonceLifetime = 600s;
    Duration defaultLifetime = 600s;  // RFC 8656 §3.8
    Duration maxLifetime = 3600s;
    Duration permissionLifetime = 300s;  // RFC 8656 §9
    Duration channelLifetime = 600s;     // RFC 8656 §12
    // Relayed addresses use these IPs (by family); empty: the address the Allocate arrived on.
    std::vector<IpAddress> relayIps;
    uint16_t relayPortMin = 49152;
    uint16_t relayPortMax = 65535;
    size_t maxAllocations = 1000;
    std::string software = "tincan-sim-turn";
    uint64_t seed = 1;  // nonces, relay ports, indication transaction ids
};

struct TurnServerStats {
    uint64_t requests = 0;
    uint64_t unauthenticated = 0;  // 401 sent
    uint64_t staleNonces = 0;      // 438 sent
    uint64_t errorResponses = 0;   // every error response, 401 and 438 included
    uint64_t allocationsCreated = 0;
    uint64_t allocationsDeleted = 0;  // Refresh with LIFETIME 0
    uint64_t allocationsExpired = 0;
    uint64_t permissionsCreated = 0;
    uint64_t channelsBound = 0;
    uint64_t relayedToPeer = 0;  // packets client → peer
    uint64_t relayedToPeerBytes = 0;
    uint64_t relayedToClient = 0;  // packets peer → client
    uint64_t relayedToClientBytes = 0;
    uint64_t droppedNoPermission = 0;
    uint64_t droppedNoAllocation = 0;
    uint64_t malformed = 0;
};

class SimTurnServer : public SansIoMachine {
public:
    explicit SimTurnServer(TurnServerConfig config);

    const TurnServerConfig& config() const { return config_; }
    const TurnServerStats& stats() const { return stats_; }
    size_t allocationCount() const { return allocations_.size(); }
    std::vector<Endpoint> relayedAddresses() const;
    // Whether the allocation on `relayed` has a live permission for `peer`.
    bool hasPermission(const Endpoint& relayed, const IpAddress& peer, Timestamp now) const;

    void handlePacket(Timestamp now, const PacketView& packet) override;
    void handleTimeout(Timestamp now) override;
    std::optional<Packet> pollTransmit() override;
    std::optional<Timestamp> pollTimeout() override;

private:
    // RFC 8656 §2: client address, server address and transport identify an allocation.
    using FiveTuple = std::tuple<uint8_t, Endpoint, Endpoint>;  // (protocol, client, server)
    struct Channel {
        Endpoint peer;
        Timestamp expires;
    };
    struct Allocation {
        FiveTuple tuple;
        std::string username;
        Bytes key;
        Endpoint relayed;
        Timestamp expires;
        stun::TransactionId createdBy{};
        Bytes createdResponse;  // resent on a retransmitted Allocate
        std::map<IpAddress, Timestamp> permissions;
        std::map<uint16_t, Channel> channels;
        std::map<Endpoint, uint16_t> channelByPeer;
    };
    struct Auth {
        std::string username;
        Bytes key;
    };

    void handleFromClient(Timestamp now, const FiveTuple& tuple, ByteView frame);
    void handleFromPeer(Timestamp now, Allocation& a, const Endpoint& peer, ByteView data);
    void handleRequest(Timestamp now, const FiveTuple& tuple, const stun::Message& req);
    void handleAllocate(Timestamp now, const FiveTuple& tuple, const stun::Message& req,
                        const Auth& auth);
    void handleRefresh(Timestamp now, Allocation& a, const stun::Message& req, const Auth& auth);
    void handleCreatePermission(Timestamp now, Allocation& a, const stun::Message& req,
                                const Auth& auth);
    void handleChannelBind(Timestamp now, Allocation& a, const stun::Message& req,
                           const Auth& auth);
    void handleSend(Timestamp now, const FiveTuple& tuple, const stun::Message& ind);
    void relayToPeer(Allocation& a, const Endpoint& peer, ByteView data);

    void toClient(const FiveTuple& tuple, Bytes data);
    Bytes encode(const stun::Message& m, const Auth* auth) const;
    void sendError(const FiveTuple& tuple, const stun::Message& req, int code,
                   std::string_view reason, const Auth* auth);
    void sendChallenge(Timestamp now, const FiveTuple& tuple, const stun::Message& req, int code);
    std::string newNonce(Timestamp now);
    Allocation* findAllocation(Timestamp now, const FiveTuple& tuple);
    void removeAllocation(std::map<FiveTuple, Allocation>::iterator it);
    std::optional<uint16_t> allocatePort(const IpAddress& relayIp, bool even);
    std::vector<Endpoint> peerAddresses(const stun::Message& m) const;
    std::optional<Duration> requestedLifetime(const stun::Message& m) const;
    static bool permitted(const Allocation& a, const IpAddress& peer, Timestamp now);

    TurnServerConfig config_;
    TurnServerStats stats_;
    std::mt19937_64 rng_;
    std::deque<Packet> out_;
    std::map<FiveTuple, Allocation> allocations_;
    std::map<Endpoint, FiveTuple> byRelayed_;
    std::map<std::string, Timestamp> nonces_;  // nonce → expiry
    std::map<std::tuple<uint8_t, Endpoint, Endpoint>, StreamDeframer> streams_;
};

}  // namespace tincan::sim
