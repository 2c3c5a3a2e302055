// WebRTC data channels (RFC 8831): SCTP over DTLS (RFC 8261, SDP in RFC 8841) with the Data
// Channel Establishment Protocol (RFC 8832), on usrsctp in AF_CONN mode, shaped like the other
// sans-IO machines: SCTP packets from DTLS go into handleIncoming(), SCTP packets for DTLS come
// out of pollOutgoing(), state changes out of pollEvent(), and pollTimeout() says when to call
// handleTimeout() next.
//
// usrsctp keeps clocks of its own (RTT measurement, cookie lifetime), so unlike the other
// machines this one runs on real time: `now` must come from Clock (steady_clock). It starts no
// thread: its timers advance only in handleTimeout(), whose deadline is a tick every 10 ms
// while anything is in flight (200 ms when idle).
//
// Received messages come out of pollEvent() as event::Message, in order with every other event
// (a channel's ChannelOpened always before its first message), read from usrsctp one at a time
// as the owner drains: the view points into the transport's receive buffer and stays valid
// until the next call into the transport — no copy per message. (Tests may instead set a
// message handler, which pollEvent() then calls in the same order.)
//
// Threading: usrsctp is one stack per process, shared by all transports (glue in
// usrsctp_glue.hpp). Any number of transports may live in one process, on one thread or on
// several, but each one is driven by a single thread: all its methods are called from that
// thread. (A transport's timer tick may make usrsctp emit another transport's retransmission;
// the packet waits in that transport's queue, behind a mutex, for its own thread's next call.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "tincan/result.hpp"

namespace tincan::sctp {

struct SctpConfig {
    uint16_t localPort = 5000;   // a=sctp-port (RFC 8841 §5)
    uint16_t remotePort = 5000;  // the peer's a=sctp-port
    // Our a=max-message-size (RFC 8841 §6): larger incoming messages are dropped
    // (Stats::oversizeDropped). 0 = no limit.
    size_t localMaxMessageSize = 256 * 1024;
    // The peer's a=max-message-size; send() refuses larger messages. 65536 when the peer did
    // not say (RFC 8841 §6.1), 0 = no limit.
    size_t remoteMaxMessageSize = 65536;
    bool dtlsClient = false;  // DTLS client uses even stream ids, server odd (RFC 8832 §6)
    // One SACK per this many received packets (at most kMaxSackEvery): the peer's
    // a=x-tincan-sack-every. 2 is RFC 9260 §6.2's rate, for every peer that did not ask for less.
    uint8_t sackEvery = 2;

    // Streams asked for in INIT, both directions (RFC 8831 §6.2 suggests 65535; usrsctp keeps
    // ~200 bytes of state per stream pair, so 1024 = ids 0..1023 is the common choice).
    uint16_t maxStreams = 1024;
    // Largest SCTP packet handed to DTLS. Path MTU discovery stays off: RFC 8261 §5 recommends
    // a fixed value of at most 1200 when DF cannot be controlled.
    size_t mtu = 1200;
    // usrsctp socket buffers, sized for long fat paths: the receive buffer is the window we
    // advertise and the send buffer holds what is in flight plus what waits for the congestion
    // window, so together they bound throughput at window / RTT. 16 MiB covers 500 Mbit/s at
    // 200 ms (after usrsctp's per-chunk overhead). They are limits, not allocations: an idle
    // association uses none of it.
    size_t sendBufferSize = 16 * 1024 * 1024;
    size_t receiveBufferSize = 16 * 1024 * 1024;
    // send() refuses a message that would take a channel's bufferedAmount (bytes waiting here,
    // not yet handed to usrsctp) past this.
    size_t maxBufferedAmount = 16 * 1024 * 1024;
};

// The most packets one SACK may cover (sackEvery, a=x-tincan-sack-every). A sender grows its
// slow-start window by at most this many MTUs per SACK (usrsctp_glue.cpp), so it must be as
// large as anything we offer.
constexpr uint8_t kMaxSackEvery = 16;

struct ChannelInit {
    std::string label;
    std::string protocol;
    bool ordered = true;
    // Partial reliability (RFC 3758): at most one of the two.
    std::optional<uint16_t> maxRetransmits;
    std::optional<uint16_t> maxPacketLifeTimeMs;
    // Negotiated out of band (W3C `negotiated: true`): this id, no DCEP; both peers create it.
    std::optional<uint16_t> negotiatedId;
    uint16_t priority = 256;  // DCEP priority (RFC 8832 §5.1): 128, 256, 512, 1024
};

// W3C RTCDataChannelState.
enum class ChannelState : uint8_t { Connecting = 1, Open, Closing, Closed };
const char* toString(ChannelState s);

enum class AssociationState : uint8_t {
    New = 1,     // start() not called yet
    Connecting,  // INIT sent
    Connected,   // COMM_UP
    ShuttingDown,
    Closed,  // graceful shutdown completed, or the peer aborted on purpose
    Failed,  // could not be set up, or lost
};
const char* toString(AssociationState s);

struct ChannelInfo {
    uint16_t id = 0;
    std::string label;
    std::string protocol;
    bool ordered = true;
    std::optional<uint16_t> maxRetransmits;
    std::optional<uint16_t> maxPacketLifeTimeMs;
    bool negotiated = false;
    bool remote = false;  // opened by the peer's DATA_CHANNEL_OPEN
    uint16_t priority = 256;
    ChannelState state = ChannelState::Closed;
};

// W3C RTCDataChannelStats.
struct ChannelStats {
    uint16_t id = 0;
    std::string label;
    std::string protocol;
    ChannelState state = ChannelState::Closed;
    uint64_t messagesSent = 0;
    uint64_t bytesSent = 0;
    uint64_t messagesReceived = 0;
    uint64_t bytesReceived = 0;
};

namespace event {
struct AssociationUp {};
struct AssociationFailed {
    std::string reason;
};
// Graceful shutdown completed (either side), or the peer aborted with "User-Initiated Abort".
struct AssociationClosed {};
struct ChannelOpened {
    uint16_t id = 0;
    std::string label;
    std::string protocol;
    bool remote = false;  // opened by the peer's DATA_CHANNEL_OPEN
};
// Both directions of the channel's stream are reset (or the association ended, or the
// channel could never open). Its id may be reused from now on.
struct ChannelClosed {
    uint16_t id = 0;
};
// bufferedAmount(id) fell from above the channel's threshold to at or below it.
struct BufferedAmountLow {
    uint16_t id = 0;
};
// A message on an open channel. `data` is valid until the next call into the transport.
struct Message {
    uint16_t id = 0;
    ByteView data;
    bool binary = false;
};
}  // namespace event
using Event = std::variant<event::AssociationUp, event::AssociationFailed, event::AssociationClosed,
                           event::ChannelOpened, event::ChannelClosed, event::BufferedAmountLow,
                           event::Message>;

class SctpTransport {
public:
    // (stream id, message, binary): the view is valid only during the call.
    using MessageHandler = std::function<void(uint16_t id, ByteView data, bool binary)>;

    struct Stats {
        // User messages (DCEP excluded); bytes are payload bytes.
        uint64_t messagesSent = 0;
        uint64_t messagesReceived = 0;
        uint64_t bytesSent = 0;
        uint64_t bytesReceived = 0;
        // SCTP packets to and from DTLS.
        uint64_t packetsSent = 0;
        uint64_t packetsReceived = 0;
        uint64_t packetBytesSent = 0;
        uint64_t packetBytesReceived = 0;
        // Dropped input: packets shorter than a header or with a bad CRC32c, DCEP messages
        // that do not parse or make no sense (OPEN on a stream in use, unknown type).
        uint64_t malformedDropped = 0;
        uint64_t unknownStreamDropped = 0;  // user messages on a stream without an open channel
        uint64_t unknownPpidDropped = 0;
        uint64_t oversizeDropped = 0;  // incoming messages larger than localMaxMessageSize
        uint64_t sendErrors = 0;       // messages usrsctp refused for a reason other than space
        // W3C RTCPeerConnectionStats.
        uint64_t dataChannelsOpened = 0;
        uint64_t dataChannelsClosed = 0;
        // W3C RTCSctpTransportStats, from usrsctp (SCTP_STATUS) while the association exists.
        double smoothedRoundTripTimeMs = 0;
        uint32_t congestionWindow = 0;
        uint32_t receiverWindow = 0;  // the peer's
        uint32_t mtu = 0;
        uint32_t unackData = 0;    // chunks in flight
        uint32_t pendingData = 0;  // chunks queued in usrsctp, not sent yet
        uint32_t retransmissionTimeoutMs = 0;
        // Bytes handed to usrsctp and not yet acknowledged by the peer (all channels).
        uint64_t unacknowledgedBytes = 0;
        // Bytes accepted by send() and still waiting here for usrsctp (all channels).
        uint64_t queuedBytes = 0;
        // usrsctp's counters (SCTPCTL stats). They are process-wide: with one association per
        // process (tincan-cli) they are this association's.
        uint64_t t3Timeouts = 0;               // retransmission timer expiries (RFC 4960 §6.3.3)
        uint64_t fastRetransmissions = 0;      // DATA chunks fast-retransmitted (§7.2.4)
        uint64_t retransmittedChunks = 0;      // DATA chunks retransmitted, both kinds
        uint64_t duplicateChunksReceived = 0;  // DATA chunks the peer sent us twice
        // Times cwnd had collapsed (after a timeout) on a queue-free path and slow start was
        // restarted (see guardCongestionWindow() in the .cpp).
        uint64_t slowStartRestarts = 0;
        // Bytes usrsctp may hold now before the rest waits here (in flight + not yet sent;
        // handLimit() in the .cpp), and whether it still uses the start-up gain.
        uint64_t handOverLimit = 0;
        bool startingUp = true;
        uint16_t outboundStreams = 0;
        uint16_t inboundStreams = 0;
    };

    // Initialises the process-wide usrsctp stack now, on the calling thread (thread-safe,
    // idempotent). Otherwise the first transport does it, on the path of the first association
    // (0.3-1.3 ms here: usrsctp enumerates the interfaces and allocates its tables).
    static void prepare();

    explicit SctpTransport(SctpConfig config);
    ~SctpTransport();  // aborts the association (nothing is sent: nobody drains us any more)
    SctpTransport(const SctpTransport&) = delete;
    SctpTransport& operator=(const SctpTransport&) = delete;
    SctpTransport(SctpTransport&&) noexcept;
    SctpTransport& operator=(SctpTransport&&) noexcept;

    const SctpConfig& config() const;
    AssociationState state() const;

    // Both sides connect: SCTP resolves the simultaneous open (INIT collision, RFC 4960 §5.2.1).
    // Packets that arrive before start() are kept (a few) and fed in here.
    void start(Timestamp now);
    // One SCTP packet from DTLS.
    void handleIncoming(Timestamp now, ByteView packet);
    void handleTimeout(Timestamp now);

    // SCTP packets for DTLS, in order.
    std::optional<Bytes> pollOutgoing();
    std::optional<Timestamp> pollTimeout();
    // Drain after every call: events and messages in the order they happened (reading from
    // usrsctp happens here). An event::Message's view is valid until the next call.
    std::optional<Event> pollEvent();

    // For tests: pollEvent() hands messages to `handler` instead of returning them.
    void setMessageHandler(MessageHandler handler);

    // The channel's id, or why it cannot be created. Allowed before the association is up (the
    // channel is Connecting and opens with it). Ids follow RFC 8832 §6 parity; a negotiated id
    // may have either parity.
    Result<uint16_t> createChannel(const ChannelInit& init);
    // Queues one message. False if the channel is not open, the association not connected,
    // the message larger than remoteMaxMessageSize, or bufferedAmount would pass
    // maxBufferedAmount. Never drops a message it accepted while the channel stays open (only
    // partial reliability may). Empty messages are sent as one zero byte with PPID 56/57.
    bool send(uint16_t id, ByteView data, bool binary);
    // W3C bufferedAmount: bytes of this channel's messages accepted by send() and not yet
    // handed to usrsctp (they wait here because usrsctp's send buffer is full). What usrsctp
    // holds is in flight or waiting for the congestion window and the peer's receive window;
    // see unacknowledgedAmount(). BufferedAmountLow fires when this falls from above the
    // channel's threshold to at or below it.
    size_t bufferedAmount(uint16_t id) const;
    // Bytes of this channel handed to usrsctp and not yet acknowledged by the peer (an
    // estimate with several channels, see the .cpp; exact with one, and 0 exactly when usrsctp
    // holds nothing).
    size_t unacknowledgedAmount(uint16_t id) const;
    void setBufferedAmountLowThreshold(uint16_t id, size_t bytes);
    size_t bufferedAmountLowThreshold(uint16_t id) const;
    // Closing procedure (RFC 8831 §6.7): sends what is queued, then resets the outgoing stream;
    // the channel is Closed once the peer has reset its own.
    void closeChannel(uint16_t id);
    // Graceful SHUTDOWN once everything queued is sent and acknowledged; ends in
    // AssociationClosed.
    void shutdown(Timestamp now);

    ChannelState channelState(uint16_t id) const;  // Closed for unknown ids
    std::optional<ChannelInfo> channelInfo(uint16_t id) const;
    std::optional<ChannelStats> channelStats(uint16_t id) const;
    // Every channel this transport knows, closed ones included until their id is reused.
    std::vector<ChannelStats> allChannelStats() const;
    Stats stats() const;

    // For tests: sends `data` as it is with `ppid` on `streamId`, bypassing DCEP and channel
    // state (e.g. to feed the peer malformed DCEP). False if usrsctp does not take it at once.
    bool sendRawForTesting(uint16_t streamId, uint32_t ppid, ByteView data);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tincan::sctp
