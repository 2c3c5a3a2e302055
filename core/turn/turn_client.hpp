// TURN client (RFC 8656), sans-IO: one allocation on one server over UDP, TCP or TLS.
//
// The owner (the ICE agent) feeds it what arrives from the server (whole datagrams over UDP,
// arbitrary chunks of the byte stream over TCP/TLS — framing is done here, RFC 8656 §11.7), and
// drains the bytes to send to the server. Peers' data comes out as PeerData events; data for
// peers goes in through sendTo(), which installs permissions and a channel binding on demand
// and queues what it cannot send yet.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"
#include "core/common/random.hpp"
#include "core/common/sansio.hpp"
#include "core/common/time.hpp"
#include "core/stun/message.hpp"
#include "core/stun/transaction.hpp"

namespace tincan::turn {

struct ServerConfig {
    Endpoint server;
    TransportProtocol transport = TransportProtocol::Udp;
    std::string username;
    std::string password;
    Duration requestedLifetime = 600s;
    std::string software = "tincan";
    // Data for a peer whose permission is still being installed is queued, at most this many
    // datagrams per peer IP; the oldest are dropped (TurnStats::queueDropped).
    size_t maxQueuedPerPeer = 64;
};

// coturn's "TURN REST API" ephemeral credentials (use-auth-secret): username is
// "<expiry unix time>:<user>", password is base64(HMAC-SHA1(secret, username)).
struct Credentials {
    std::string username;
    std::string password;
};
Credentials restCredentials(std::string_view sharedSecret, std::string_view user,
                            int64_t expiryUnixSeconds);

namespace event {
struct Allocated {
    Endpoint relayed;
    Endpoint mapped;  // our address as the server saw it (XOR-MAPPED-ADDRESS)
    Duration lifetime{};
};
struct Failed {
    int code = 0;  // STUN error code, or 0 for a timeout / transport failure
    std::string reason;
};
struct PeerData {
    Endpoint peer;
    Bytes data;
};
struct Closed {};
// A CreatePermission for `peer` failed (e.g. 403 from the server's peer policy, or no answer).
// The allocation itself stays usable; data queued for that IP is dropped and sendTo() to it
// returns false until createPermission() is called again.
struct PermissionFailed {
    IpAddress peer;
    int code = 0;  // STUN error code, or 0 for a timeout
    std::string reason;
};
}  // namespace event
using Event = std::variant<event::Allocated, event::Failed, event::PeerData, event::Closed,
                           event::PermissionFailed>;

enum class State : uint8_t { New = 1, Allocating, Allocated, Failed, Closing, Closed };

// Splits a TCP/TLS byte stream from a TURN server into STUN messages and ChannelData frames.
class StreamFramer {
public:
    void push(ByteView chunk);
    // The next whole frame, if one is buffered.
    std::optional<Bytes> pop();
    // The stream carried something that is neither (the connection must be dropped).
    bool broken() const { return broken_; }

private:
    Bytes buffer_;
    size_t start_ = 0;  // first byte of the next frame pop() returns
    size_t scan_ = 0;   // first byte not yet checked to be the start of a valid frame
    bool broken_ = false;
};

// ChannelData (RFC 8656 §12.4): channel numbers 0x4000–0x4FFF.
bool looksLikeChannelData(ByteView data);
// Over streams the frame is padded to a multiple of 4 (§12.5).
Bytes encodeChannelData(uint16_t channel, ByteView payload, bool padForStream);
struct ChannelDataView {
    uint16_t channel = 0;
    ByteView payload;
};
std::optional<ChannelDataView> parseChannelData(ByteView frame);

struct TurnStats {
    uint64_t requestsSent = 0;
    uint64_t responsesReceived = 0;
    uint64_t malformedDropped = 0;
    uint64_t peerBytesSent = 0;
    uint64_t peerBytesReceived = 0;
    uint64_t retransmissions = 0;        // request re-sends over UDP
    uint64_t integrityFailures = 0;      // responses dropped: bad or missing MESSAGE-INTEGRITY
    uint64_t unmatchedResponses = 0;     // responses to no outstanding transaction
    uint64_t unknownChannelDropped = 0;  // ChannelData on a channel we never bound
    uint64_t queueDropped = 0;           // peer data dropped: queue full, or permission failed
    uint64_t sendIndicationsSent = 0;
    uint64_t channelDataSent = 0;
    uint64_t dataIndicationsReceived = 0;
    uint64_t channelDataReceived = 0;
};

class TurnClient {
public:
    TurnClient(ServerConfig config, Random& random);
    ~TurnClient();
    TurnClient(TurnClient&&) noexcept;
    TurnClient& operator=(TurnClient&&) = delete;

    const ServerConfig& config() const { return config_; }
    State state() const { return state_; }
    std::optional<Endpoint> relayedAddress() const { return relayed_; }
    std::optional<Endpoint> mappedAddress() const { return mapped_; }
    const TurnStats& stats() const { return stats_; }
    // Whether the server has confirmed a permission for `peer` (and it has not failed since).
    bool hasPermission(const IpAddress& peer) const;
    // The channel bound to `peer`, once the server confirmed the ChannelBind.
    std::optional<uint16_t> boundChannel(const Endpoint& peer) const;

    // Sends the first Allocate (expecting 401 with REALM and NONCE).
    void start(Timestamp now);
    // Bytes from the server: a whole datagram over UDP, any chunk of the stream over TCP/TLS.
    void handleIncoming(Timestamp now, ByteView data);
    // The stream to the server (TCP/TLS) failed or closed: the allocation is gone.
    void handleStreamState(Timestamp now, StreamState state);
    void handleTimeout(Timestamp now);

    // Bytes for the server, in order.
    std::optional<Bytes> pollOutgoing();
    std::optional<Timestamp> pollTimeout();
    std::optional<Event> pollEvent();

    // Ask for a permission for `peer` now (ICE does this as soon as it pairs a relayed candidate
    // with a remote one, so that the peer's first check is not dropped by the server).
    void createPermission(Timestamp now, const IpAddress& peer);
    // Sends to a peer through the relay. Before the permission exists the data is queued
    // (bounded); afterwards it goes as ChannelData once the channel is bound, as a Send
    // indication before. Returns false if the allocation is not usable.
    bool sendTo(Timestamp now, const Endpoint& peer, ByteView data);
    // Deallocates (Refresh with LIFETIME 0) and ends in Closed.
    void close(Timestamp now);

private:
    // Implementation detail members are up to the implementation; see turn_client.cpp.
    struct Impl;
    ServerConfig config_;
    Random& random_;
    State state_ = State::New;
    std::optional<Endpoint> relayed_;
    std::optional<Endpoint> mapped_;
    TurnStats stats_;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tincan::turn
