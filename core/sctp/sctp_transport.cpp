// SctpTransport on usrsctp. How it fits together:
//
// - One usrsctp socket per transport (one-to-one style, non-blocking, no upcalls, no receive
//   callback). Its AF_CONN address is the transport's PacketSink: both bind() and connect() use
//   that same cookie, so every packet of the association comes back to the output callback
//   with it (usrsctp_glue.cpp) and every packet we feed is matched to it.
// - Pull model: after every input (packet, timer tick, start) pump() flushes our send queue,
//   requests pending stream resets and updates bufferedAmount; pollEvent() reads from usrsctp
//   with usrsctp_recvv(), one message or notification at a time, as the owner drains. Nothing
//   of ours ever runs inside a usrsctp callback except the output callback's queue push, so
//   the owner may call send() while it handles a message.
// - Sending: send() hands the message straight to usrsctp_sendv() when nothing is queued (no
//   copy). With SCTP_EXPLICIT_EOR usrsctp may take only the first part of a message when its
//   buffer is nearly full; the rest, and any message it refuses (EWOULDBLOCK), is copied into
//   our FIFO, which flush() drains in order as SACKs free space. A message usrsctp has started
//   must be finished before any other (DATA chunks of one message take consecutive TSNs), which
//   the FIFO guarantees: its head is always the started one.
// - bufferedAmount (W3C): bytes still in our FIFO, i.e. accepted by send() and not yet handed to
//   usrsctp. What usrsctp holds leaves as fast as the congestion window and the peer's receive
//   window allow; it is bounded by handLimit() (1.25 bandwidth-delay products, measured; 2
//   while the delivery rate still grows, see kStartupGain), so an application that keeps
//   bufferedAmount above zero keeps the path full whatever its RTT without a long queue inside
//   usrsctp; BufferedAmountLow fires as flush() hands the FIFO over.
// - unacknowledgedAmount: usrsctp has no per-stream acknowledgement notification, so per channel
//   it is the bytes handed to usrsctp and not yet drained, where "drained" is computed from
//   usrsctp's total unacknowledged send queue (SCTP_GET_SNDBUF_USE: total_output_queue_size,
//   which also counts 16 bytes per DATA chunk header) and attributed to the handed messages in
//   the order they were handed. Exact for one channel; with several it attributes
//   acknowledgements in FIFO order. It never under-reports (the chunk headers make usrsctp's
//   figure a little larger) and reaches 0 exactly when usrsctp holds nothing.
#include "core/sctp/sctp_transport.hpp"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>
#include <usrsctp.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <set>

#include "core/sctp/dcep.hpp"
#include "core/sctp/usrsctp_glue.hpp"

namespace tincan::sctp {

const char* toString(ChannelState s) {
    switch (s) {
        case ChannelState::Connecting:
            return "connecting";
        case ChannelState::Open:
            return "open";
        case ChannelState::Closing:
            return "closing";
        case ChannelState::Closed:
            return "closed";
    }
    return "?";
}

const char* toString(AssociationState s) {
    switch (s) {
        case AssociationState::New:
            return "new";
        case AssociationState::Connecting:
            return "connecting";
        case AssociationState::Connected:
            return "connected";
        case AssociationState::ShuttingDown:
            return "shutting-down";
        case AssociationState::Closed:
            return "closed";
        case AssociationState::Failed:
            return "failed";
    }
    return "?";
}

namespace {

constexpr Duration kBusyTick = 10ms;   // usrsctp's own timer thread ticks every 10 ms too
constexpr Duration kIdleTick = 200ms;  // nothing queued, in flight or received for a second
constexpr Duration kActivityWindow = 1s;
constexpr size_t kCommonHeaderSize = 12;
constexpr size_t kChunkHeaderSize = 4;
constexpr size_t kDataChunkHeaderSize = 16;
constexpr size_t kMaxEarlyPackets = 32;
constexpr size_t kMaxNotificationSize = size_t(64) * 1024;
constexpr size_t kMinReceiveBuffer = size_t(64) * 1024;
constexpr size_t kMaxReceiveBuffer = size_t(1024) * 1024;
constexpr int kMaxResetAttempts = 3;
constexpr uint16_t kCauseUserInitiatedAbort = 12;  // RFC 4960 §3.3.10.12

// In usrsctp's netinet/sctp.h but not in usrsctp.h: the association's unacknowledged send queue,
// and the congestion-control module option (setting it on a live association re-initialises
// its cwnd and ssthresh, see restartSlowStart()).
constexpr int kSctpGetSndbufUse = 0x1101;
constexpr int kSctpPluggableCc = 0x1202;

// Slow-start restart (restartSlowStart()): a cwnd below this many MTUs while the sender has data
// waiting and the path shows no queue is a collapse, not a measure of the path.
constexpr uint32_t kCollapsedCwndMtus = 10;
// "No queue": the smoothed RTT within this of the smallest one seen lately.
constexpr double kQueueFreeRttFactor = 1.25;
constexpr uint32_t kQueueFreeRttSlackMs = 10;
// The smallest smoothed RTT of the last 5-10 s (two windows of 5 s): the path's RTT without the
// queue our own data builds.
constexpr Duration kMinRttWindow = 5s;

// How much usrsctp may hold (in flight + waiting for cwnd), see handLimit(): 1.25 times what the
// path delivered per queue-free RTT, plus a margin, never less than the floor
// (loopback keeps its queue small and cache-warm: docs/BENCHMARKS.md) and never more than the send
// buffer.
constexpr uint64_t kHandFloor = uint64_t(1) << 20;
constexpr uint64_t kHandMargin = uint64_t(256) << 10;
// 1.25, not BBR's 2: without pacing, the extra bandwidth-delay product sits in the slowest queue
// on the path, and on these links that is often the receiver's UDP socket (a receiver that is
// CPU-bound at 30-40 MB/s): at 100-150 ms a whole BDP of queue overflowed its 4 MiB and the
// losses cost seconds (docs/BENCHMARKS.md, WAN: 8-16 MB/s with 2, 25-29 MB/s with 1.25).
constexpr double kHandGain = 1.25;
// Start-up (BBR's STARTUP and its full-bandwidth test, draft-ietf-ccwg-bbr): until the delivery
// rate stops growing, the limit uses a gain of 2, so that usrsctp's slow start can double cwnd per
// round trip instead of being held to 1.25 times a rate sample that lags it; at 50 ms the ramp to
// 80 MB/s took about 0.9 s with 1.25 (docs/BENCHMARKS.md). The rate has "stopped growing" when,
// with data waiting, its best sample has not risen by kStartupGrowth for kStartupFlatRounds
// queue-free round trips (at least kStartupFlatMin).
constexpr double kStartupGain = 2.0;
constexpr double kStartupGrowth = 1.25;
constexpr uint32_t kStartupFlatRounds = 3;
constexpr Duration kStartupFlatMin = 300ms;
constexpr Duration kRateSampleInterval = 100ms;
constexpr size_t kRateSamples = 10;  // the max over the last second
struct SctpSockstat {
    sctp_assoc_t ss_assoc_id;
    uint32_t ss_total_sndbuf;
    uint32_t ss_total_recv_buf;
};

bool wouldBlock(int e) {
    return e == EWOULDBLOCK || e == EAGAIN;
}

std::string errnoText(int e) {
    return std::string(std::strerror(e));
}

uint16_t clampU16(uint32_t v) {
    return uint16_t(std::min<uint32_t>(v, 0xFFFF));
}

}  // namespace

struct SctpTransport::Impl {
    struct Channel {
        ChannelInfo info;
        uint64_t generation = 0;   // tells a reused id's channels apart in `handed`
        bool awaitingAck = false;  // we sent OPEN, no ACK yet: send ordered (RFC 8832 §6)
        bool wasOpen = false;
        bool resetRequested = false;  // our outgoing stream reset is queued or sent
        bool outgoingReset = false;
        bool incomingReset = false;
        int resetAttempts = 0;
        size_t queuedMessages = 0;  // in txQueue, control messages included
        size_t queuedBytes = 0;     // user bytes in txQueue
        size_t handedBytes = 0;     // user bytes inside usrsctp, not yet drained (estimate)
        size_t lowThreshold = 0;
        bool aboveLow = false;  // bufferedAmount was above lowThreshold since the last event
        uint64_t messagesSent = 0;
        uint64_t bytesSent = 0;
        uint64_t messagesReceived = 0;
        uint64_t bytesReceived = 0;
        Bytes legacyPartial;  // deprecated PPIDs 52/54 (RFC 8831 §6.6)

        size_t buffered() const { return queuedBytes; }
    };

    // A message (or the rest of one) usrsctp has not taken yet.
    struct Outgoing {
        uint16_t id = 0;
        uint32_t ppid = 0;
        Bytes data;
        size_t offset = 0;
        bool control = false;  // DCEP
        bool counts = true;    // user bytes (false for DCEP and for the byte of an empty message)
        bool started = false;  // usrsctp has the first part: finish this before anything else
    };
    // A piece handed to usrsctp and not yet known to be drained.
    struct Handed {
        uint16_t id = 0;
        uint64_t generation = 0;
        uint32_t bytes = 0;
        bool counts = true;
    };

    struct SendResult {
        size_t accepted = 0;
        bool blocked = false;
        bool error = false;
    };

    SctpConfig config;
    detail::PacketSink sink;  // the AF_CONN address: Impl lives on the heap and never moves
    struct socket* sock = nullptr;
    std::string initError;
    AssociationState state = AssociationState::New;
    Stats counters;
    MessageHandler onMessage;
    // The message the last read produced, waiting in pollEvent(); its view points into
    // rxBuffer or rxWhole, which stay untouched until the next read.
    std::optional<event::Message> readMessage;
    Bytes rxWhole;  // a message reassembled from parts (partial delivery, legacy PPIDs)
    size_t fragmentPoint = 0;

    std::map<uint16_t, Channel> channels;
    uint64_t nextGeneration = 1;
    std::set<uint16_t> closing;  // Closing, outgoing reset not requested yet
    std::deque<Outgoing> txQueue;
    std::deque<Handed> handed;
    uint64_t handedTotal = 0;
    std::vector<uint16_t> pendingResets;
    bool shutdownRequested = false;
    bool shutdownSent = false;
    uint16_t streamsOut = 0;
    uint16_t streamsIn = 0;

    std::deque<Event> items;
    // usrsctp_recvv()'s buffer: one whole message of up to localMaxMessageSize. Not zeroed, so
    // that an idle association does not keep 256 KiB resident: its pages are only touched as
    // far as the largest message received reaches (bench_pc_memory: -250 KiB RSS per idle
    // connection).
    std::unique_ptr<uint8_t[]> rxBuffer;
    size_t rxBufferSize = 0;
    Bytes rxPartial;
    bool rxInProgress = false;
    bool rxDiscarding = false;
    uint16_t rxSid = 0;
    uint32_t rxPpid = 0;
    Bytes notificationPartial;
    std::vector<Bytes> early;  // packets before start()

    bool started = false;
    Timestamp lastTick{};
    Timestamp lastTrace{};
    // restartSlowStart()'s state.
    Timestamp lastGuardCheck{};
    Timestamp minRttSince{};
    uint32_t minRttMs = 0;      // of the current window (0 = no sample yet)
    uint32_t minRttPrevMs = 0;  // of the previous one
    uint64_t slowStartRestarts = 0;
    // handLimit()'s delivery-rate estimate: bytes usrsctp drained (acknowledged) so far, sampled
    // every kRateSampleInterval.
    uint64_t ackedTotal = 0;
    uint64_t rateSampleAcked = 0;
    Timestamp rateSampleAt{};
    std::array<double, kRateSamples> rateSamples{};  // bytes per second
    size_t rateSampleNext = 0;
    // Start-up: handLimit() uses kStartupGain until the delivery rate stops growing.
    bool startup = true;
    double startupBestRate = 0;
    Timestamp startupGrewAt{};
    uint32_t srttMs = 0;
    Timestamp lastActivity{};

    explicit Impl(const SctpConfig& c) : config(c) {
        config.maxStreams = std::max<uint16_t>(config.maxStreams, 2);
        config.mtu = std::clamp<size_t>(config.mtu, 512, 65535);
        fragmentPoint = config.mtu - kCommonHeaderSize - kDataChunkHeaderSize;
        const size_t local = config.localMaxMessageSize;
        rxBufferSize = std::clamp<size_t>(local == 0 ? kMaxReceiveBuffer : local + 1,
                                          kMinReceiveBuffer, kMaxReceiveBuffer);
        rxBuffer.reset(new uint8_t[rxBufferSize]);  // default-initialised: not zeroed
        detail::registerSink(&sink);
        sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, nullptr, nullptr, 0, nullptr);
        if (sock == nullptr) {
            initError = "usrsctp_socket: " + errnoText(errno);
            return;
        }
        configureSocket();
    }

    ~Impl() {
        detail::unregisterSink(&sink);
        if (sock != nullptr) usrsctp_close(sock);  // SO_LINGER 0: ABORT, dropped
        detail::forgetAddress(&sink);
    }

    bool setOption(int level, int name, const void* value, socklen_t size, const char* what) {
        if (usrsctp_setsockopt(sock, level, name, value, size) == 0) return true;
        if (initError.empty())
            initError = std::string("setsockopt ") + what + ": " + errnoText(errno);
        return false;
    }

    void configureSocket() {
        if (usrsctp_set_non_blocking(sock, 1) != 0) {
            initError = "usrsctp_set_non_blocking: " + errnoText(errno);
            return;
        }
        // Closing the socket must not linger: the layer below may already be gone.
        linger noLinger{1, 0};
        setOption(SOL_SOCKET, SO_LINGER, &noLinger, sizeof(noLinger), "SO_LINGER");
        // RFC 8831 §6.7: channels close by resetting their streams (RFC 6525).
        sctp_assoc_value reset{SCTP_FUTURE_ASSOC, SCTP_ENABLE_RESET_STREAM_REQ};
        setOption(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset),
                  "SCTP_ENABLE_STREAM_RESET");
        const int on = 1;
        setOption(IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on), "SCTP_RECVRCVINFO");
        // Messages may be handed over in parts (only the last with SCTP_EOR): messages larger
        // than the free send buffer, or than the whole buffer, still go out.
        setOption(IPPROTO_SCTP, SCTP_EXPLICIT_EOR, &on, sizeof(on), "SCTP_EXPLICIT_EOR");
        // RFC 8831 §6.6: no Nagle.
        setOption(IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on), "SCTP_NODELAY");
        // Partial deliveries of one message are never interleaved with other messages or with
        // notifications (RFC 6458 §8.1.20 level 0): one reassembly buffer suffices.
        const int interleave = 0;
        setOption(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, &interleave, sizeof(interleave),
                  "SCTP_FRAGMENT_INTERLEAVE");
        sctp_initmsg init{};
        init.sinit_num_ostreams = config.maxStreams;
        init.sinit_max_instreams = config.maxStreams;
        setOption(IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init), "SCTP_INITMSG");
        // Fixed MTU, no PMTUD (RFC 8261 §5); no heartbeats: ICE consent checks cover liveness
        // (RFC 7675) and an idle association then has no timer running at all. usrsctp's
        // path MTU counts the chunks only, hence minus the common header.
        sctp_paddrparams paddr{};
        paddr.spp_assoc_id = SCTP_FUTURE_ASSOC;
        paddr.spp_flags = SPP_PMTUD_DISABLE | SPP_HB_DISABLE;
        paddr.spp_pathmtu = uint32_t(config.mtu - kCommonHeaderSize);
        setOption(IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &paddr, sizeof(paddr),
                  "SCTP_PEER_ADDR_PARAMS");
        // Fewer SACKs when the peer asked for them (a Tincan sender, a=x-tincan-sack-every):
        // on a fast path the SACKs are a good part of both peers' work. The delay stays 20 ms.
        if (config.sackEvery > 2) {
            sctp_sack_info sack{};
            sack.sack_assoc_id = SCTP_FUTURE_ASSOC;
            sack.sack_delay = 0;  // unchanged
            sack.sack_freq = std::min(config.sackEvery, kMaxSackEvery);
            setOption(IPPROTO_SCTP, SCTP_DELAYED_SACK, &sack, sizeof(sack), "SCTP_DELAYED_SACK");
        }
        const int sendBuffer = int(std::min<size_t>(config.sendBufferSize, INT32_MAX));
        const int receiveBuffer = int(std::min<size_t>(config.receiveBufferSize, INT32_MAX));
        setOption(SOL_SOCKET, SO_SNDBUF, &sendBuffer, sizeof(sendBuffer), "SO_SNDBUF");
        setOption(SOL_SOCKET, SO_RCVBUF, &receiveBuffer, sizeof(receiveBuffer), "SO_RCVBUF");
        for (uint16_t type : {SCTP_ASSOC_CHANGE, SCTP_REMOTE_ERROR, SCTP_SHUTDOWN_EVENT,
                              SCTP_PARTIAL_DELIVERY_EVENT, SCTP_STREAM_RESET_EVENT,
                              SCTP_SENDER_DRY_EVENT, SCTP_STREAM_CHANGE_EVENT}) {
            sctp_event event{};
            event.se_assoc_id = SCTP_FUTURE_ASSOC;
            event.se_type = type;
            event.se_on = 1;
            setOption(IPPROTO_SCTP, SCTP_EVENT, &event, sizeof(event), "SCTP_EVENT");
        }
    }

    // ---- plumbing ----

    Channel* find(uint16_t id) {
        auto it = channels.find(id);
        return it == channels.end() ? nullptr : &it->second;
    }
    const Channel* find(uint16_t id) const {
        auto it = channels.find(id);
        return it == channels.end() ? nullptr : &it->second;
    }

    void pushEvent(Event e) { items.emplace_back(std::move(e)); }

    // W3C bufferedamountlow: once per fall from above the threshold to at or below it.
    void noteBuffered(Channel& ch) {
        if (ch.buffered() > ch.lowThreshold) {
            ch.aboveLow = true;
            return;
        }
        if (!ch.aboveLow) return;
        ch.aboveLow = false;
        if (ch.info.state == ChannelState::Open || ch.info.state == ChannelState::Closing)
            pushEvent(event::BufferedAmountLow{ch.info.id});
    }

    bool connected() const { return state == AssociationState::Connected; }
    bool canHandOver() const {
        return sock != nullptr &&
               (state == AssociationState::Connected || state == AssociationState::ShuttingDown);
    }
    bool terminal() const {
        return state == AssociationState::Closed || state == AssociationState::Failed;
    }
    uint32_t streamLimit() const {
        return connected() || state == AssociationState::ShuttingDown
                   ? std::min<uint32_t>(streamsOut, streamsIn)
                   : config.maxStreams;
    }

    void deliverMessage(uint16_t id, ByteView data, bool binary) {
        readMessage = event::Message{id, data, binary};
    }

    // ---- driving usrsctp ----

    void feed(ByteView packet) { usrsctp_conninput(&sink, packet.data(), packet.size(), 0); }

    // Moves what is queued into usrsctp. Reading is pollEvent()'s: messages and notifications
    // leave usrsctp one at a time, in order, as the owner drains them.
    void pump() {
        if (sock == nullptr) return;
        if (canHandOver()) {
            updateBuffered();  // what the peer acknowledged frees hand-over room (handLimit())
            flush();
            requestResets();
            if (shutdownRequested && !shutdownSent && txQueue.empty()) {
                shutdownSent = true;
                if (usrsctp_shutdown(sock, SHUT_WR) != 0 && errno != ENOTCONN)
                    spdlog::debug("sctp: shutdown: {}", errnoText(errno));
            }
        }
        updateBuffered();
    }

    // One recvv: a notification, a DCEP message, a data message (into readMessage), or a part
    // of one. False when usrsctp had nothing to read.
    bool readOne() {
        {
            sctp_rcvinfo info{};
            socklen_t infoLength = sizeof(info);
            unsigned int infoType = 0;
            int flags = 0;
            socklen_t fromLength = 0;
            const ssize_t n = usrsctp_recvv(sock, rxBuffer.get(), rxBufferSize, nullptr,
                                            &fromLength, &info, &infoLength, &infoType, &flags);
            if (n < 0) {
                const int e = errno;
                if (!wouldBlock(e) && e != ENOTCONN && e != ECONNRESET)
                    spdlog::debug("sctp: recvv: {}", errnoText(e));
                return false;
            }
            if (n == 0) return false;  // the peer shut down; the notification told us already
            const ByteView bytes(rxBuffer.get(), size_t(n));
            const bool eor = (flags & MSG_EOR) != 0;
            if (flags & MSG_NOTIFICATION) {
                if (eor && notificationPartial.empty()) {
                    handleNotification(bytes);
                } else if (notificationPartial.size() + bytes.size() <= kMaxNotificationSize) {
                    appendBytes(notificationPartial, bytes);
                    if (eor) {
                        const Bytes whole = std::move(notificationPartial);
                        notificationPartial.clear();
                        handleNotification(whole);
                    }
                } else {
                    notificationPartial.clear();  // never happens with what we subscribe to
                }
                return true;
            }
            if (infoType != SCTP_RECVV_RCVINFO) return true;  // SCTP_RECVRCVINFO is on: cannot be
            handleData(info.rcv_sid, ntohl(info.rcv_ppid), bytes, eor);
            return true;
        }
    }

    // ---- receiving ----

    size_t messageLimit() const {
        return config.localMaxMessageSize == 0 ? std::numeric_limits<size_t>::max()
                                               : config.localMaxMessageSize;
    }

    void handleData(uint16_t sid, uint32_t ppid, ByteView bytes, bool eor) {
        if (!rxInProgress && eor) {  // the common case: a whole message in one read, no copy
            if (bytes.size() > messageLimit()) {
                counters.oversizeDropped++;
                return;
            }
            deliver(sid, ppid, bytes);
            return;
        }
        // Partial delivery: concatenate until MSG_EOR.
        if (rxInProgress && (sid != rxSid || ppid != rxPpid)) {
            // Interleaved parts (cannot happen at interleave level 0): drop the older one.
            rxPartial.clear();
            rxInProgress = false;
            counters.malformedDropped++;
        }
        if (!rxInProgress) {
            rxInProgress = true;
            rxDiscarding = false;
            rxSid = sid;
            rxPpid = ppid;
        }
        if (!rxDiscarding) {
            if (rxPartial.size() + bytes.size() > messageLimit()) {
                rxDiscarding = true;
                rxPartial = Bytes();
                counters.oversizeDropped++;
            } else {
                appendBytes(rxPartial, bytes);
            }
        }
        if (!eor) return;
        rxInProgress = false;
        if (rxDiscarding) {
            rxDiscarding = false;
            return;
        }
        rxWhole = std::move(rxPartial);
        rxPartial = Bytes();
        deliver(sid, ppid, rxWhole);
    }

    void deliver(uint16_t sid, uint32_t ppid, ByteView data) {
        switch (ppid) {
            case dcep::kPpidDcep:
                handleDcep(sid, data);
                return;
            case dcep::kPpidString:
            case dcep::kPpidBinary:
            case dcep::kPpidStringEmpty:
            case dcep::kPpidBinaryEmpty:
            case dcep::kPpidStringPartial:
            case dcep::kPpidBinaryPartial:
                break;
            default:
                counters.unknownPpidDropped++;
                return;
        }
        Channel* ch = find(sid);
        if (ch == nullptr || ch->incomingReset ||
            (ch->info.state != ChannelState::Open && ch->info.state != ChannelState::Closing)) {
            counters.unknownStreamDropped++;
            return;
        }
        const bool binary = ppid == dcep::kPpidBinary || ppid == dcep::kPpidBinaryEmpty ||
                            ppid == dcep::kPpidBinaryPartial;
        if (ppid == dcep::kPpidStringPartial || ppid == dcep::kPpidBinaryPartial) {
            if (ch->legacyPartial.size() + data.size() > messageLimit()) {
                ch->legacyPartial = Bytes();
                counters.oversizeDropped++;
            } else {
                appendBytes(ch->legacyPartial, data);
            }
            return;
        }
        // RFC 8831 §6.6: an empty message travels as one byte with PPID 56/57.
        ByteView payload =
            ppid == dcep::kPpidStringEmpty || ppid == dcep::kPpidBinaryEmpty ? ByteView{} : data;
        if (!ch->legacyPartial.empty()) {
            Bytes joined = std::move(ch->legacyPartial);
            ch->legacyPartial = Bytes();
            appendBytes(joined, payload);
            rxWhole = std::move(joined);
            payload = rxWhole;
        }
        ch->messagesReceived++;
        ch->bytesReceived += payload.size();
        counters.messagesReceived++;
        counters.bytesReceived += payload.size();
        deliverMessage(sid, payload, binary);  // may change `channels`: ch is not used after
    }

    void handleDcep(uint16_t sid, ByteView data) {
        if (dcep::isAck(data)) {
            // RFC 8832 §6: the ACK only ends the "send ordered" period.
            Channel* ch = find(sid);
            if (ch != nullptr && ch->awaitingAck)
                ch->awaitingAck = false;
            else
                counters.malformedDropped++;
            return;
        }
        auto open = dcep::parseOpen(data);
        if (!open) {
            counters.malformedDropped++;
            return;
        }
        if (const Channel* existing = find(sid);
            (existing != nullptr && existing->info.state != ChannelState::Closed) ||
            sid >= streamLimit() || !canHandOver()) {
            spdlog::debug("sctp: DATA_CHANNEL_OPEN on stream {} ignored (in use)", sid);
            counters.malformedDropped++;
            return;
        }
        Channel ch;
        ch.generation = nextGeneration++;
        ch.info.id = sid;
        ch.info.label = std::move(open->label);
        ch.info.protocol = std::move(open->protocol);
        ch.info.ordered = open->ordered;
        if (open->reliability == dcep::Reliability::Rexmit)
            ch.info.maxRetransmits = clampU16(open->reliabilityParameter);
        if (open->reliability == dcep::Reliability::Timed)
            ch.info.maxPacketLifeTimeMs = clampU16(open->reliabilityParameter);
        ch.info.priority = open->priority;
        ch.info.remote = true;
        ch.info.state = ChannelState::Open;
        ch.wasOpen = true;
        Channel& stored = channels[sid] = std::move(ch);
        counters.dataChannelsOpened++;
        queueControl(sid, dcep::encodeAck());
        pushEvent(event::ChannelOpened{sid, stored.info.label, stored.info.protocol, true});
    }

    void handleNotification(ByteView n) {
        sctp_notification::sctp_tlv header{};
        if (n.size() < sizeof(header)) return;
        std::memcpy(&header, n.data(), sizeof(header));
        if (header.sn_length != n.size()) return;
        switch (header.sn_type) {
            case SCTP_ASSOC_CHANGE: {
                sctp_assoc_change change{};
                if (n.size() < sizeof(change)) return;
                std::memcpy(&change, n.data(), sizeof(change));
                onAssociationChange(change);
                break;
            }
            case SCTP_STREAM_RESET_EVENT: {
                sctp_stream_reset_event reset{};
                if (n.size() < sizeof(reset)) return;
                std::memcpy(&reset, n.data(), sizeof(reset));
                std::vector<uint16_t> ids((n.size() - sizeof(reset)) / sizeof(uint16_t));
                if (!ids.empty())
                    std::memcpy(ids.data(), n.data() + sizeof(reset),
                                ids.size() * sizeof(uint16_t));
                onStreamReset(reset.strreset_flags, ids);
                break;
            }
            case SCTP_STREAM_CHANGE_EVENT: {
                sctp_stream_change_event change{};
                if (n.size() < sizeof(change)) return;
                std::memcpy(&change, n.data(), sizeof(change));
                if (!(change.strchange_flags &
                      (SCTP_STREAM_CHANGE_DENIED | SCTP_STREAM_CHANGE_FAILED))) {
                    streamsIn = change.strchange_instrms;
                    streamsOut = change.strchange_outstrms;
                }
                break;
            }
            case SCTP_SHUTDOWN_EVENT:  // the peer sent SHUTDOWN
                if (state == AssociationState::Connected) state = AssociationState::ShuttingDown;
                break;
            case SCTP_PARTIAL_DELIVERY_EVENT:  // the message being reassembled was aborted
                rxPartial.clear();
                rxInProgress = false;
                rxDiscarding = false;
                break;
            case SCTP_REMOTE_ERROR:
                spdlog::debug("sctp: peer reported an ERROR chunk");
                break;
            default:
                break;  // SENDER_DRY: flush() runs after every read anyway
        }
    }

    void onAssociationChange(const sctp_assoc_change& change) {
        switch (change.sac_state) {
            case SCTP_COMM_UP:
                if (state != AssociationState::Connecting) break;
                state = AssociationState::Connected;
                streamsOut = change.sac_outbound_streams;
                streamsIn = change.sac_inbound_streams;
                spdlog::debug("sctp: association up, {} out / {} in streams", streamsOut,
                              streamsIn);
                pushEvent(event::AssociationUp{});
                openPendingChannels();
                break;
            case SCTP_RESTART:
                spdlog::info("sctp: the peer restarted the association");
                streamsOut = change.sac_outbound_streams;
                streamsIn = change.sac_inbound_streams;
                break;
            case SCTP_COMM_LOST:
                if (state == AssociationState::Connecting) {
                    terminate(AssociationState::Failed,
                              event::AssociationFailed{"association could not be set up"});
                } else if (change.sac_error == kCauseUserInitiatedAbort ||
                           state == AssociationState::ShuttingDown) {
                    terminate(AssociationState::Closed, event::AssociationClosed{});
                } else {
                    std::string reason = "association lost";
                    if (change.sac_error != 0)
                        reason += " (error cause " + std::to_string(change.sac_error) + ")";
                    terminate(AssociationState::Failed, event::AssociationFailed{reason});
                }
                break;
            case SCTP_CANT_STR_ASSOC:
                terminate(AssociationState::Failed,
                          event::AssociationFailed{"association could not be set up"});
                break;
            case SCTP_SHUTDOWN_COMP:
                terminate(AssociationState::Closed, event::AssociationClosed{});
                break;
            default:
                break;
        }
    }

    void terminate(AssociationState final, Event ev) {
        if (terminal()) return;
        spdlog::debug("sctp: association {}", toString(final));
        state = final;
        for (auto& [id, ch] : channels)
            if (ch.info.state != ChannelState::Closed) setClosed(ch);
        txQueue.clear();
        pendingResets.clear();
        closing.clear();
        for (auto& [id, ch] : channels) {
            ch.queuedMessages = 0;
            ch.queuedBytes = 0;
        }
        pushEvent(std::move(ev));
    }

    // ---- channels ----

    void setClosed(Channel& ch) {
        if (ch.wasOpen) counters.dataChannelsClosed++;
        ch.info.state = ChannelState::Closed;
        ch.legacyPartial = Bytes();
        closing.erase(ch.info.id);
        pushEvent(event::ChannelClosed{ch.info.id});
    }

    void openPendingChannels() {
        std::vector<uint16_t> ids;
        for (auto& [id, ch] : channels)
            if (ch.info.state == ChannelState::Connecting) ids.push_back(id);
        for (uint16_t id : ids) openChannel(channels.at(id));
    }

    void openChannel(Channel& ch) {
        if (ch.info.id >= streamLimit()) {  // the peer granted fewer streams
            setClosed(ch);
            return;
        }
        ch.info.state = ChannelState::Open;
        ch.wasOpen = true;
        counters.dataChannelsOpened++;
        if (!ch.info.negotiated) {
            dcep::Open open;
            open.ordered = ch.info.ordered;
            if (ch.info.maxRetransmits) {
                open.reliability = dcep::Reliability::Rexmit;
                open.reliabilityParameter = *ch.info.maxRetransmits;
            } else if (ch.info.maxPacketLifeTimeMs) {
                open.reliability = dcep::Reliability::Timed;
                open.reliabilityParameter = *ch.info.maxPacketLifeTimeMs;
            }
            open.priority = ch.info.priority;
            open.label = ch.info.label;
            open.protocol = ch.info.protocol;
            // RFC 8832 §6: user messages may follow at once; until the ACK they go ordered so
            // that none overtakes the OPEN.
            ch.awaitingAck = true;
            queueControl(ch.info.id, dcep::encodeOpen(open));
        }
        pushEvent(event::ChannelOpened{ch.info.id, ch.info.label, ch.info.protocol, false});
    }

    void beginClosing(Channel& ch) {
        if (ch.info.state == ChannelState::Open) ch.info.state = ChannelState::Closing;
        if (!ch.resetRequested) closing.insert(ch.info.id);
        maybeRequestReset(ch);
    }

    // RFC 8831 §6.7: the outgoing stream is reset once everything queued on it is handed over.
    void maybeRequestReset(Channel& ch) {
        if (ch.resetRequested || ch.queuedMessages > 0) return;
        ch.resetRequested = true;
        closing.erase(ch.info.id);
        pendingResets.push_back(ch.info.id);
    }

    void maybeFinishClose(Channel& ch) {
        if (ch.outgoingReset && ch.incomingReset && ch.info.state != ChannelState::Closed)
            setClosed(ch);
    }

    void requestResets() {
        if (pendingResets.empty() || !canHandOver()) return;
        const size_t count = std::min<size_t>(pendingResets.size(), 0xFFFF);
        // uint32_t storage keeps the struct aligned.
        std::vector<uint32_t> storage((sizeof(sctp_reset_streams) + count * sizeof(uint16_t) + 3) /
                                      4);
        auto* request = reinterpret_cast<sctp_reset_streams*>(storage.data());
        request->srs_assoc_id = SCTP_ALL_ASSOC;
        request->srs_flags = SCTP_STREAM_RESET_OUTGOING;
        request->srs_number_streams = uint16_t(count);
        std::memcpy(reinterpret_cast<uint8_t*>(storage.data()) + sizeof(sctp_reset_streams),
                    pendingResets.data(), count * sizeof(uint16_t));
        const auto size = socklen_t(sizeof(sctp_reset_streams) + count * sizeof(uint16_t));
        if (usrsctp_setsockopt(sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, storage.data(), size) == 0) {
            pendingResets.erase(pendingResets.begin(), pendingResets.begin() + ptrdiff_t(count));
            return;
        }
        const int e = errno;
        if (wouldBlock(e) || e == EALREADY || e == EBUSY) return;  // again on the next pump
        spdlog::debug("sctp: stream reset refused: {}", errnoText(e));
        // Nothing more can be done for these streams: close the channels on our side.
        std::vector<uint16_t> ids(pendingResets.begin(), pendingResets.begin() + ptrdiff_t(count));
        pendingResets.erase(pendingResets.begin(), pendingResets.begin() + ptrdiff_t(count));
        for (uint16_t id : ids) {
            if (Channel* ch = find(id)) {
                ch->outgoingReset = ch->incomingReset = true;
                maybeFinishClose(*ch);
            }
        }
    }

    void onStreamReset(uint16_t flags, const std::vector<uint16_t>& listed) {
        std::vector<uint16_t> ids = listed;
        if (ids.empty())  // RFC 6525: an empty list means every stream
            for (auto& [id, ch] : channels) ids.push_back(id);
        if (flags & (SCTP_STREAM_RESET_DENIED | SCTP_STREAM_RESET_FAILED)) {
            for (uint16_t id : ids) {
                Channel* ch = find(id);
                if (ch == nullptr || !ch->resetRequested || ch->outgoingReset) continue;
                if (++ch->resetAttempts < kMaxResetAttempts) {
                    pendingResets.push_back(id);
                } else {
                    spdlog::debug("sctp: the peer keeps refusing to reset stream {}", id);
                    ch->outgoingReset = ch->incomingReset = true;
                    maybeFinishClose(*ch);
                }
            }
            return;
        }
        if (flags & SCTP_STREAM_RESET_OUTGOING_SSN) {  // our outgoing stream reset is done
            for (uint16_t id : ids) {
                Channel* ch = find(id);
                if (ch == nullptr || ch->info.state == ChannelState::Closed) continue;
                ch->outgoingReset = true;
                maybeFinishClose(*ch);
            }
        }
        if (flags & SCTP_STREAM_RESET_INCOMING_SSN) {  // the peer reset its outgoing stream
            for (uint16_t id : ids) {
                Channel* ch = find(id);
                if (ch == nullptr || ch->info.state == ChannelState::Closed) continue;
                ch->incomingReset = true;
                ch->legacyPartial = Bytes();
                // RFC 8831 §6.7: reset ours too (after what is queued on it).
                if (ch->info.state == ChannelState::Open || ch->info.state == ChannelState::Closing)
                    beginClosing(*ch);
                maybeFinishClose(*ch);
            }
        }
    }

    // ---- sending ----

    SendResult handOver(uint16_t id, uint32_t ppid, const uint8_t* data, size_t size, bool control,
                        bool counts) {
        Channel* ch = find(id);
        sctp_sendv_spa spa{};
        spa.sendv_flags = SCTP_SEND_SNDINFO_VALID;
        spa.sendv_sndinfo.snd_sid = id;
        spa.sendv_sndinfo.snd_ppid = htonl(ppid);
        // With SCTP_EXPLICIT_EOR: ends the message if usrsctp takes all of `data`.
        spa.sendv_sndinfo.snd_flags = SCTP_EOR;
        if (!control && ch != nullptr) {
            if (!ch->info.ordered && !ch->awaitingAck)
                spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
            if (ch->info.maxRetransmits) {
                spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
                spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
                spa.sendv_prinfo.pr_value = *ch->info.maxRetransmits;
            } else if (ch->info.maxPacketLifeTimeMs) {
                spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
                spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_TTL;
                spa.sendv_prinfo.pr_value = *ch->info.maxPacketLifeTimeMs;
            } else {
                // Reliable, sent as PR-SCTP "retransmit up to 2^32-1 times" (RFC 7496): nothing
                // is ever abandoned, no FORWARD-TSN goes out, and the wire is the same (the
                // policy stays with the sender). Why: usrsctp's fast path for SACKs without gaps
                // (sctp_express_handle_sack) never restarts the retransmission timer when the
                // cumulative ack advances, against RFC 9260 §6.3.2 R3, so under a steady flow
                // T3 fires every RTO; whenever a SACK is then a little late (a queue, a busy
                // receiver) the chunks it would have acked count as lost and cwnd drops to one
                // MTU, again and again (issue 7: 14-40 such timeouts per 200 MB at 50 ms, none
                // lost on the link). With a PR-SCTP chunk outstanding usrsctp takes the full
                // SACK path, which restarts T3 as the RFC says.
                spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
                spa.sendv_prinfo.pr_policy = SCTP_PR_SCTP_RTX;
                spa.sendv_prinfo.pr_value = UINT32_MAX;
            }
        }
        const ssize_t n =
            usrsctp_sendv(sock, data, size, nullptr, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
        if (n < 0) {
            const int e = errno;
            if (wouldBlock(e)) return {0, true, false};
            spdlog::debug("sctp: sendv on stream {}: {}", id, errnoText(e));
            return {0, false, true};
        }
        const auto accepted = size_t(n);
        handed.push_back(Handed{id, ch ? ch->generation : 0, uint32_t(accepted), counts});
        handedTotal += accepted;
        if (counts && ch != nullptr) ch->handedBytes += accepted;
        return {accepted, false, false};
    }

    void enqueue(Outgoing m) {
        if (Channel* ch = find(m.id)) {
            ch->queuedMessages++;
            if (m.counts) ch->queuedBytes += m.data.size() - m.offset;
            noteBuffered(*ch);
        }
        txQueue.push_back(std::move(m));
    }

    void queueControl(uint16_t id, Bytes message) {
        Outgoing m;
        m.id = id;
        m.ppid = dcep::kPpidDcep;
        m.data = std::move(message);
        m.control = true;
        m.counts = false;
        if (txQueue.empty() && canHandOver()) {
            const SendResult r = handOver(id, m.ppid, m.data.data(), m.data.size(), true, false);
            if (r.error) {
                counters.sendErrors++;
                return;
            }
            if (r.accepted == m.data.size()) return;
            m.offset = r.accepted;
            m.started = r.accepted > 0;
        }
        enqueue(std::move(m));
    }

    void dropHead() {
        Outgoing& m = txQueue.front();
        if (Channel* ch = find(m.id)) {
            ch->queuedMessages -= std::min<size_t>(ch->queuedMessages, 1);
            if (m.counts) ch->queuedBytes -= std::min(ch->queuedBytes, m.data.size() - m.offset);
        }
        txQueue.pop_front();
    }

    void flush() {
        while (!txQueue.empty() && canHandOver()) {
            Outgoing& m = txQueue.front();
            Channel* ch = find(m.id);
            if (!m.started && !m.control &&
                (ch == nullptr || ch->info.state == ChannelState::Closed)) {
                dropHead();
                continue;
            }
            if (!m.control && handedTotal >= handLimit()) break;  // the path is full enough
            const SendResult r = handOver(m.id, m.ppid, m.data.data() + m.offset,
                                          m.data.size() - m.offset, m.control, m.counts);
            if (r.blocked) break;
            if (r.error) {
                counters.sendErrors++;
                dropHead();
                continue;
            }
            if (ch != nullptr && m.counts) {
                ch->queuedBytes -= std::min(ch->queuedBytes, r.accepted);
                noteBuffered(*ch);
            }
            m.offset += r.accepted;
            if (m.offset < m.data.size()) {
                m.started = true;
                break;  // usrsctp's buffer is full
            }
            if (ch != nullptr) ch->queuedMessages -= std::min<size_t>(ch->queuedMessages, 1);
            txQueue.pop_front();
        }
        if (!closing.empty()) {
            const std::vector<uint16_t> ids(closing.begin(), closing.end());
            for (uint16_t id : ids)
                if (Channel* ch = find(id)) maybeRequestReset(*ch);
        }
    }

    void updateBuffered() {
        if (handed.empty()) return;
        uint64_t inside = 0;
        if (sock != nullptr) {
            SctpSockstat stat{};
            socklen_t size = sizeof(stat);
            if (usrsctp_getsockopt(sock, IPPROTO_SCTP, kSctpGetSndbufUse, &stat, &size) == 0)
                inside = stat.ss_total_sndbuf;
        }
        uint64_t drained = handedTotal > inside ? handedTotal - inside : 0;
        while (!handed.empty() && handed.front().bytes <= drained) {
            const Handed h = handed.front();
            handed.pop_front();
            drained -= h.bytes;
            handedTotal -= h.bytes;
            ackedTotal += h.bytes;
            if (!h.counts) continue;
            Channel* ch = find(h.id);
            if (ch == nullptr || ch->generation != h.generation) continue;
            ch->handedBytes -= std::min<size_t>(ch->handedBytes, h.bytes);
        }
    }

    // Bytes usrsctp may hold before the rest waits in our FIFO (and counts in bufferedAmount).
    // usrsctp needs about cwnd of it; anything beyond only costs memory and cache, and a huge
    // send buffer would let an application queue minutes of data it can no longer cancel.
    uint32_t pathMinRttMs() const {
        if (minRttPrevMs == 0) return std::max<uint32_t>(minRttMs, 1);
        return std::max<uint32_t>(std::min(minRttMs == 0 ? minRttPrevMs : minRttMs, minRttPrevMs),
                                  1);
    }

    double bestRate() const { return *std::max_element(rateSamples.begin(), rateSamples.end()); }

    uint64_t handLimit() const {
        const double best = bestRate();
        // The queue-free RTT, not srtt: with srtt the limit would grow with the queue it builds.
        const double bdp = best * double(pathMinRttMs()) / 1000.0;
        const auto wanted = uint64_t((startup ? kStartupGain : kHandGain) * bdp) + kHandMargin;
        return std::clamp<uint64_t>(wanted, kHandFloor,
                                    std::max<uint64_t>(config.sendBufferSize, kHandFloor));
    }

    void sampleRate(Timestamp now) {
        if (rateSampleAt == Timestamp{}) {
            rateSampleAt = now;
            rateSampleAcked = ackedTotal;
            return;
        }
        const Duration elapsed = now - rateSampleAt;
        if (elapsed < kRateSampleInterval) return;
        const double seconds = std::chrono::duration<double>(elapsed).count();
        rateSamples[rateSampleNext] = double(ackedTotal - rateSampleAcked) / seconds;
        rateSampleNext = (rateSampleNext + 1) % kRateSamples;
        rateSampleAt = now;
        rateSampleAcked = ackedTotal;
        if (startup) updateStartup(now);
    }

    void updateStartup(Timestamp now) {
        const double best = bestRate();
        // Only a sender with data waiting measures the path; an idle one restarts the clock.
        if (txQueue.empty() || best >= startupBestRate * kStartupGrowth) {
            startupBestRate = std::max(startupBestRate, best);
            startupGrewAt = now;
            return;
        }
        const Duration flat = std::max<Duration>(
            kStartupFlatMin, std::chrono::milliseconds(kStartupFlatRounds * pathMinRttMs()));
        if (now - startupGrewAt >= flat) {
            startup = false;
            spdlog::debug("sctp: start-up over at {:.1f} MB/s", best / 1e6);
        }
    }

    // The collapse fix. usrsctp's congestion control (RFC 4960 §7.2.3, Reno) answers a T3
    // timeout with cwnd = 1 MTU and ssthresh = cwnd / 2, then grows cwnd by one MTU per RTT: at
    // 1,200-byte packets and 100 ms that is +12 KB/s per second, so one timeout early in a
    // transfer (the first DATA chunks of both sides time out at the 1 s initial RTO when the
    // handshake's packets cross, and a burst drop later does the same) leaves a path that could
    // carry 40 MB/s at 0.3-2 MB/s for minutes. TCP undoes spurious timeouts (F-RTO, RFC 5682);
    // usrsctp has no undo, but re-selecting the congestion-control module re-initialises cwnd to
    // the initial window and ssthresh to the peer's window, i.e. restarts slow start. We do that
    // when cwnd has collapsed while data is waiting and the RTT shows no standing queue, so the
    // timeout cannot have been congestion; under real congestion the RTT is up and Reno rules.
    void guardCongestionWindow(Timestamp now) {
        if (sock == nullptr || !connected()) return;
        sctp_status status{};
        socklen_t size = sizeof(status);
        if (usrsctp_getsockopt(sock, IPPROTO_SCTP, SCTP_STATUS, &status, &size) != 0) return;
        srttMs = status.sstat_primary.spinfo_srtt;  // 0 on loopback
        if (now - minRttSince > kMinRttWindow) {
            minRttPrevMs = minRttMs;
            minRttMs = 0;
            minRttSince = now;
        }
        if (minRttMs == 0 || srttMs < minRttMs) minRttMs = std::max<uint32_t>(srttMs, 1);
        const uint32_t minRtt = pathMinRttMs();
        // Once per RTT at most: the restarted slow start needs a round trip to show.
        if (now - lastGuardCheck < std::chrono::milliseconds(std::max<uint32_t>(srttMs, 20)))
            return;
        lastGuardCheck = now;
        // Data waits for cwnd in our FIFO or inside usrsctp (handed and not acknowledged beyond
        // the window: sstat_penddata stays 0 for the PR-SCTP messages handOver() sends, so
        // without this the guard went quiet for a transfer's last hand-over limit of data).
        const bool waiting = status.sstat_penddata > 0 || !txQueue.empty() ||
                             handedTotal > status.sstat_primary.spinfo_cwnd;
        const uint32_t mtu = std::max<uint32_t>(status.sstat_primary.spinfo_mtu, 512);
        const bool collapsed = status.sstat_primary.spinfo_cwnd < kCollapsedCwndMtus * mtu;
        const bool queueFree =
            double(srttMs) <= double(minRtt) * kQueueFreeRttFactor + kQueueFreeRttSlackMs;
        if (!waiting || !collapsed || !queueFree) return;
        sctp_assoc_value cc{};
        socklen_t ccSize = sizeof(cc);
        cc.assoc_id = status.sstat_assoc_id;
        if (usrsctp_getsockopt(sock, IPPROTO_SCTP, kSctpPluggableCc, &cc, &ccSize) != 0) return;
        cc.assoc_id = status.sstat_assoc_id;
        if (usrsctp_setsockopt(sock, IPPROTO_SCTP, kSctpPluggableCc, &cc, sizeof(cc)) != 0) return;
        slowStartRestarts++;
        spdlog::debug("sctp: slow start restarted (cwnd {} B, srtt {} ms, min {} ms)",
                      status.sstat_primary.spinfo_cwnd, srttMs, minRtt);
    }
};

// ---- public API ----

void SctpTransport::prepare() {
    detail::ensureUsrsctp();
}

SctpTransport::SctpTransport(SctpConfig config) : impl_(std::make_unique<Impl>(config)) {}
SctpTransport::~SctpTransport() = default;
SctpTransport::SctpTransport(SctpTransport&&) noexcept = default;
SctpTransport& SctpTransport::operator=(SctpTransport&&) noexcept = default;

const SctpConfig& SctpTransport::config() const {
    return impl_->config;
}
AssociationState SctpTransport::state() const {
    return impl_->state;
}

void SctpTransport::start(Timestamp now) {
    Impl& s = *impl_;
    if (s.started) return;
    s.started = true;
    s.lastTick = now;
    s.lastActivity = now;
    s.state = AssociationState::Connecting;
    if (!s.initError.empty()) {
        s.terminate(AssociationState::Failed, event::AssociationFailed{s.initError});
        return;
    }
    detail::advanceClock(now);  // starts the shared clock if nobody runs it
    sockaddr_conn address{};
    address.sconn_family = AF_CONN;
    address.sconn_port = htons(s.config.localPort);
    address.sconn_addr = &s.sink;
    if (usrsctp_bind(s.sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
        s.terminate(AssociationState::Failed,
                    event::AssociationFailed{"usrsctp_bind: " + errnoText(errno)});
        return;
    }
    // AF_CONN: connect to our own cookie too; only the port says who the peer is.
    address.sconn_port = htons(s.config.remotePort);
    if (usrsctp_connect(s.sock, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 &&
        errno != EINPROGRESS) {
        s.terminate(AssociationState::Failed,
                    event::AssociationFailed{"usrsctp_connect: " + errnoText(errno)});
        return;
    }
    for (const Bytes& packet : s.early) s.feed(packet);
    s.early.clear();
    s.pump();
}

void SctpTransport::handleIncoming(Timestamp now, ByteView packet) {
    Impl& s = *impl_;
    if (packet.size() < kCommonHeaderSize + kChunkHeaderSize) {
        s.counters.malformedDropped++;
        return;
    }
    const uint32_t stored = uint32_t(packet[8]) | uint32_t(packet[9]) << 8 |
                            uint32_t(packet[10]) << 16 | uint32_t(packet[11]) << 24;
    if (stored != detail::sctpChecksum(packet)) {
        s.counters.malformedDropped++;
        return;
    }
    s.counters.packetsReceived++;
    s.counters.packetBytesReceived += packet.size();
    if (!s.started) {
        if (s.early.size() < kMaxEarlyPackets) s.early.emplace_back(packet.begin(), packet.end());
        return;
    }
    if (s.sock == nullptr || !s.initError.empty()) return;
    s.lastActivity = now;
    s.feed(packet);
    s.pump();
}

void SctpTransport::handleTimeout(Timestamp now) {
    Impl& s = *impl_;
    if (!s.started || s.sock == nullptr) return;
    if (const uint32_t elapsed = detail::advanceClock(now)) usrsctp_handle_timers(elapsed);
    s.lastTick = now;
    s.pump();
    s.guardCongestionWindow(now);
    s.sampleRate(now);
    if (!s.txQueue.empty()) s.pump();  // the hand-over limit may have risen
    // Once a second while data moves, at debug level: what the congestion control is doing
    // (the figures a WAN stall or collapse is diagnosed from).
    if (spdlog::should_log(spdlog::level::debug) && now - s.lastTrace >= 1s &&
        (!s.handed.empty() || s.lastActivity + kActivityWindow > now)) {
        s.lastTrace = now;
        const Stats st = stats();
        spdlog::debug(
            "sctp: path cwnd={} rwnd={} srtt={}ms rto={}ms unack={}ch pend={}ch "
            "inflight+unsent={}B "
            "queued={}B handlimit={}B{} t3={} fastrtx={} rtx={} dup_in={} restarts={} pkts_out={} "
            "pkts_in={}",
            st.congestionWindow, st.receiverWindow, st.smoothedRoundTripTimeMs,
            st.retransmissionTimeoutMs, st.unackData, st.pendingData, st.unacknowledgedBytes,
            st.queuedBytes, st.handOverLimit, st.startingUp ? " (start-up)" : "", st.t3Timeouts,
            st.fastRetransmissions, st.retransmittedChunks, st.duplicateChunksReceived,
            st.slowStartRestarts, st.packetsSent, st.packetsReceived);
    }
}

std::optional<Bytes> SctpTransport::pollOutgoing() {
    std::lock_guard lock(impl_->sink.mutex);
    auto& packets = impl_->sink.packets;
    if (packets.empty()) return std::nullopt;
    Bytes packet = std::move(packets.front());
    packets.pop_front();
    return packet;
}

std::optional<Timestamp> SctpTransport::pollTimeout() {
    const Impl& s = *impl_;
    if (!s.started || s.sock == nullptr || s.terminal()) return std::nullopt;
    const bool busy = s.state != AssociationState::Connected || !s.txQueue.empty() ||
                      !s.handed.empty() || !s.pendingResets.empty() ||
                      s.lastActivity + kActivityWindow > s.lastTick;
    return s.lastTick + (busy ? kBusyTick : kIdleTick);
}

std::optional<Event> SctpTransport::pollEvent() {
    Impl& s = *impl_;
    for (;;) {
        if (!s.items.empty()) {
            Event e = std::move(s.items.front());
            s.items.pop_front();
            return e;
        }
        s.readMessage.reset();
        if (s.sock == nullptr || !s.readOne()) return std::nullopt;
        s.pump();                      // a notification may have unblocked sending or closing
        if (!s.readMessage) continue;  // a notification or DCEP: its events, if any, come next
        // A read that yields a message queues no event, and nothing is read before this one
        // is consumed: the view stays valid until the next call.
        if (!s.onMessage) return Event{*s.readMessage};
        s.onMessage(s.readMessage->id, s.readMessage->data, s.readMessage->binary);
    }
}

void SctpTransport::setMessageHandler(MessageHandler handler) {
    impl_->onMessage = std::move(handler);
}

Result<uint16_t> SctpTransport::createChannel(const ChannelInit& init) {
    Impl& s = *impl_;
    if (s.terminal() || s.state == AssociationState::ShuttingDown || s.shutdownRequested)
        return Error{"the association is closed"};
    if (init.maxRetransmits && init.maxPacketLifeTimeMs)
        return Error{"maxRetransmits and maxPacketLifeTime are mutually exclusive"};
    if (init.label.size() > 0xFFFF || init.protocol.size() > 0xFFFF)
        return Error{"label or protocol longer than 65535 bytes"};
    const uint32_t limit = std::min<uint32_t>(s.streamLimit(), 0xFFFF);  // 65535 is reserved
    auto isFree = [&](uint32_t id) {
        const Impl::Channel* ch = s.find(uint16_t(id));
        return ch == nullptr || ch->info.state == ChannelState::Closed;
    };
    uint16_t id = 0;
    if (init.negotiatedId) {
        id = *init.negotiatedId;
        if (id >= limit) return Error{"stream id out of range"};
        if (!isFree(id)) return Error{"stream id in use"};
    } else {
        uint32_t candidate = s.config.dtlsClient ? 0 : 1;  // RFC 8832 §6
        while (candidate < limit && !isFree(candidate)) candidate += 2;
        if (candidate >= limit) return Error{"no free stream id"};
        id = uint16_t(candidate);
    }
    Impl::Channel ch;
    ch.generation = s.nextGeneration++;
    ch.info.id = id;
    ch.info.label = init.label;
    ch.info.protocol = init.protocol;
    ch.info.ordered = init.ordered;
    ch.info.maxRetransmits = init.maxRetransmits;
    ch.info.maxPacketLifeTimeMs = init.maxPacketLifeTimeMs;
    ch.info.negotiated = init.negotiatedId.has_value();
    ch.info.remote = false;
    ch.info.priority = init.priority;
    ch.info.state = ChannelState::Connecting;
    Impl::Channel& stored = s.channels[id] = std::move(ch);
    if (s.connected()) s.openChannel(stored);
    return id;
}

bool SctpTransport::send(uint16_t id, ByteView data, bool binary) {
    Impl& s = *impl_;
    Impl::Channel* ch = s.find(id);
    if (ch == nullptr || ch->info.state != ChannelState::Open || !s.connected()) return false;
    if (s.config.remoteMaxMessageSize != 0 && data.size() > s.config.remoteMaxMessageSize)
        return false;
    if (ch->buffered() + data.size() > s.config.maxBufferedAmount) return false;
    static constexpr uint8_t kZero = 0;
    const bool empty = data.empty();
    const uint32_t ppid = binary ? (empty ? dcep::kPpidBinaryEmpty : dcep::kPpidBinary)
                                 : (empty ? dcep::kPpidStringEmpty : dcep::kPpidString);
    const ByteView wire = empty ? ByteView(&kZero, 1) : data;
    size_t offset = 0;
    if (s.txQueue.empty() && s.handedTotal < s.handLimit()) {  // fast path: no copy
        const Impl::SendResult r = s.handOver(id, ppid, wire.data(), wire.size(), false, !empty);
        if (r.error) {
            s.counters.sendErrors++;
            return false;
        }
        offset = r.accepted;
    }
    ch->messagesSent++;
    ch->bytesSent += data.size();
    s.counters.messagesSent++;
    s.counters.bytesSent += data.size();
    if (offset == wire.size()) return true;
    Impl::Outgoing m;
    m.id = id;
    m.ppid = ppid;
    m.data.assign(wire.begin() + ptrdiff_t(offset), wire.end());
    m.counts = !empty;
    m.started = offset > 0;
    s.enqueue(std::move(m));
    return true;
}

size_t SctpTransport::bufferedAmount(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    return ch == nullptr ? 0 : ch->buffered();
}

size_t SctpTransport::unacknowledgedAmount(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    return ch == nullptr ? 0 : ch->handedBytes;
}

void SctpTransport::setBufferedAmountLowThreshold(uint16_t id, size_t bytes) {
    // Changing the threshold fires nothing by itself (W3C); the next fall across it does.
    if (Impl::Channel* ch = impl_->find(id)) {
        ch->lowThreshold = bytes;
        ch->aboveLow = ch->buffered() > bytes;
    }
}

size_t SctpTransport::bufferedAmountLowThreshold(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    return ch == nullptr ? 0 : ch->lowThreshold;
}

void SctpTransport::closeChannel(uint16_t id) {
    Impl& s = *impl_;
    Impl::Channel* ch = s.find(id);
    if (ch == nullptr) return;
    switch (ch->info.state) {
        case ChannelState::Connecting:
            s.setClosed(*ch);
            return;  // never opened: nothing to reset
        case ChannelState::Open:
            break;
        case ChannelState::Closing:
        case ChannelState::Closed:
            return;
    }
    s.beginClosing(*ch);
    s.requestResets();
}

void SctpTransport::shutdown(Timestamp now) {
    Impl& s = *impl_;
    (void)now;
    if (s.terminal()) return;
    if (s.state == AssociationState::Connected) {
        s.shutdownRequested = true;
        s.state = AssociationState::ShuttingDown;
        s.pump();
        return;
    }
    if (s.state == AssociationState::ShuttingDown) {
        s.shutdownRequested = true;
        return;
    }
    // Not connected yet: there is nothing to shut down gracefully; stop the INIT retries.
    if (s.sock != nullptr) {
        detail::unregisterSink(&s.sink);
        usrsctp_close(s.sock);
        s.sock = nullptr;
    }
    s.terminate(AssociationState::Closed, event::AssociationClosed{});
}

ChannelState SctpTransport::channelState(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    return ch == nullptr ? ChannelState::Closed : ch->info.state;
}

std::optional<ChannelInfo> SctpTransport::channelInfo(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    if (ch == nullptr) return std::nullopt;
    return ch->info;
}

namespace {
ChannelStats statsOf(const ChannelInfo& info, uint64_t messagesSent, uint64_t bytesSent,
                     uint64_t messagesReceived, uint64_t bytesReceived) {
    ChannelStats out;
    out.id = info.id;
    out.label = info.label;
    out.protocol = info.protocol;
    out.state = info.state;
    out.messagesSent = messagesSent;
    out.bytesSent = bytesSent;
    out.messagesReceived = messagesReceived;
    out.bytesReceived = bytesReceived;
    return out;
}
}  // namespace

std::optional<ChannelStats> SctpTransport::channelStats(uint16_t id) const {
    const Impl::Channel* ch = impl_->find(id);
    if (ch == nullptr) return std::nullopt;
    return statsOf(ch->info, ch->messagesSent, ch->bytesSent, ch->messagesReceived,
                   ch->bytesReceived);
}

std::vector<ChannelStats> SctpTransport::allChannelStats() const {
    std::vector<ChannelStats> out;
    out.reserve(impl_->channels.size());
    for (const auto& [id, ch] : impl_->channels)
        out.push_back(
            statsOf(ch.info, ch.messagesSent, ch.bytesSent, ch.messagesReceived, ch.bytesReceived));
    return out;
}

SctpTransport::Stats SctpTransport::stats() const {
    const Impl& s = *impl_;
    Stats out = s.counters;
    {
        std::lock_guard lock(impl_->sink.mutex);
        out.packetsSent = s.sink.packetsSent;
        out.packetBytesSent = s.sink.bytesSent;
    }
    out.outboundStreams = s.streamsOut;
    out.inboundStreams = s.streamsIn;
    if (s.sock != nullptr && !s.terminal() && s.state != AssociationState::New) {
        sctp_status status{};
        socklen_t size = sizeof(status);
        if (usrsctp_getsockopt(s.sock, IPPROTO_SCTP, SCTP_STATUS, &status, &size) == 0) {
            out.smoothedRoundTripTimeMs = status.sstat_primary.spinfo_srtt;
            out.congestionWindow = status.sstat_primary.spinfo_cwnd;
            out.receiverWindow = status.sstat_rwnd;
            out.mtu = status.sstat_primary.spinfo_mtu;
            out.unackData = status.sstat_unackdata;
            out.pendingData = status.sstat_penddata;
            out.retransmissionTimeoutMs = status.sstat_primary.spinfo_rto;
        }
    }
    out.unacknowledgedBytes = s.handedTotal;
    out.slowStartRestarts = s.slowStartRestarts;
    out.handOverLimit = s.handLimit();
    out.startingUp = s.startup;
    for (const auto& [id, ch] : s.channels) out.queuedBytes += ch.queuedBytes;
    sctpstat global{};
    usrsctp_get_stat(&global);
    out.t3Timeouts = global.sctps_timodata;
    out.fastRetransmissions = global.sctps_sendfastretrans;
    out.retransmittedChunks = global.sctps_sendretransdata;
    out.duplicateChunksReceived = global.sctps_recvdupdata;
    return out;
}

bool SctpTransport::sendRawForTesting(uint16_t streamId, uint32_t ppid, ByteView data) {
    Impl& s = *impl_;
    if (!s.canHandOver() || !s.txQueue.empty() || data.empty()) return false;
    sctp_sndinfo info{};
    info.snd_sid = streamId;
    info.snd_ppid = htonl(ppid);
    info.snd_flags = SCTP_EOR;
    const ssize_t n = usrsctp_sendv(s.sock, data.data(), data.size(), nullptr, 0, &info,
                                    sizeof(info), SCTP_SENDV_SNDINFO, 0);
    if (n <= 0) return false;
    s.handed.push_back(Impl::Handed{streamId, 0, uint32_t(n), false});
    s.handedTotal += uint64_t(n);
    return n == ssize_t(data.size());
}

}  // namespace tincan::sctp
