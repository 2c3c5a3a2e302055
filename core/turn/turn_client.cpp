// TURN client (RFC 8656), sans-IO. See turn_client.hpp for the contract with the owner.
//
// One allocation, one server. Requests are STUN transactions timed by stun::TransactionTimer
// (retransmitted over UDP, sent once over TCP/TLS); everything after the first Allocate is
// authenticated with the long-term credential mechanism (RFC 8489 §9.2). Permissions are per
// peer IP, channels per peer transport address; both are refreshed before they expire.
#include "core/turn/turn_client.hpp"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace tincan::turn {
namespace {

using stun::Method;
namespace attr = stun::attr;

constexpr uint16_t kFirstChannel = 0x4000;  // RFC 8656 §12: 0x4000 through 0x4FFF
constexpr uint16_t kLastChannel = 0x4FFF;
constexpr Duration kPermissionRefresh = 240s;  // permissions last 300 s (§9)
constexpr Duration kChannelRefresh = 540s;     // channel bindings last 600 s (§12)
constexpr Duration kRefreshMargin = 60s;
// ChannelData and STUN both carry a 16-bit length; leave room for the Send indication's
// XOR-PEER-ADDRESS, DATA header and FINGERPRINT.
constexpr size_t kMaxPeerPayload = 65535 - 64;

size_t padded4(size_t n) {
    return (n + 3) & ~size_t(3);
}

uint32_t toSeconds(Duration d) {
    auto s = std::chrono::duration_cast<std::chrono::seconds>(d).count();
    return uint32_t(std::clamp<int64_t>(s, 0, INT32_MAX));
}

// Refresh well before expiry: a minute early, or half-way for short lifetimes (RFC 8656 §7.1
// leaves the margin to the client).
Duration refreshDelay(Duration lifetime) {
    return lifetime > 2 * kRefreshMargin ? lifetime - kRefreshMargin : lifetime / 2;
}

// RFC 8489 §9.2: a NONCE that starts with the "nonce cookie" carries a 24-bit security feature
// set as 4 base64 characters; bit 0 (the most significant) is "Password algorithms".
bool nonceAnnouncesPasswordAlgorithms(std::string_view nonce) {
    constexpr std::string_view kCookie = "obMatJos2";
    if (nonce.size() < kCookie.size() + 4 || nonce.substr(0, kCookie.size()) != kCookie)
        return false;
    unsigned char bits[4] = {};
    int n = EVP_DecodeBlock(bits, reinterpret_cast<const unsigned char*>(nonce.data()) + 9, 4);
    return n == 3 && (bits[0] & 0x80) != 0;
}

// Server-supplied text (error reason phrases) before it goes into our own messages and logs.
std::string printable(std::string_view s) {
    std::string out;
    for (char c : s.substr(0, 128)) out.push_back(c >= 0x20 && c < 0x7F ? c : '?');
    return out;
}

std::string seconds(Duration d) {
    return fmt::format("{:.1f} s", toMillis(d) / 1000.0);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// REST credentials, ChannelData, stream framing

Credentials restCredentials(std::string_view sharedSecret, std::string_view user,
                            int64_t expiryUnixSeconds) {
    Credentials c;
    c.username = std::to_string(expiryUnixSeconds);
    if (!user.empty()) c.username.append(":").append(user);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    HMAC(EVP_sha1(), sharedSecret.data(), int(sharedSecret.size()),
         reinterpret_cast<const unsigned char*>(c.username.data()), c.username.size(), mac, &len);
    std::string b64(4 * ((len + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(b64.data()), mac, int(len));
    b64.resize(size_t(std::max(n, 0)));
    c.password = std::move(b64);
    OPENSSL_cleanse(mac, sizeof mac);
    return c;
}

bool looksLikeChannelData(ByteView data) {
    return data.size() >= 4 && data[0] >= 0x40 && data[0] <= 0x4F;  // RFC 7983 demux: 64–79
}

Bytes encodeChannelData(uint16_t channel, ByteView payload, bool padForStream) {
    Bytes out;
    size_t len = std::min(payload.size(), size_t(0xFFFF));
    out.reserve(4 + padded4(len));
    appendU16(out, channel);
    appendU16(out, uint16_t(len));
    appendBytes(out, payload.first(len));
    if (padForStream) out.resize(4 + padded4(len), 0);  // RFC 8656 §12.5
    return out;
}

std::optional<ChannelDataView> parseChannelData(ByteView frame) {
    if (frame.size() < 4) return std::nullopt;
    uint16_t channel = readU16(frame.data());
    size_t len = readU16(frame.data() + 2);
    if (channel < kFirstChannel || channel > kLastChannel) return std::nullopt;
    // Padding is mandatory over streams and allowed over UDP (§12.5); nothing beyond it is.
    if (frame.size() < 4 + len || frame.size() > 4 + padded4(len)) return std::nullopt;
    return ChannelDataView{channel, frame.subspan(4, len)};
}

namespace {
enum class FrameCheck : uint8_t { NeedMore = 1, Ok = 2, Garbage = 3 };

// RFC 8656 §11.7 / §12.5: over a stream, a frame is either a STUN message (first two bits 00,
// 20 + length bytes) or ChannelData (first byte 0x40–0x4F, 4 + length padded to 4).
FrameCheck checkFrame(const uint8_t* p, size_t avail, size_t& length) {
    if (avail == 0) return FrameCheck::NeedMore;
    if ((p[0] & 0xC0) == 0) {
        if (avail < 4) return FrameCheck::NeedMore;
        size_t body = readU16(p + 2);
        if (body % 4) return FrameCheck::Garbage;
        if (avail >= 8 && readU32(p + 4) != stun::kMagicCookie) return FrameCheck::Garbage;
        length = stun::kHeaderSize + body;
        return avail >= 8 ? FrameCheck::Ok : FrameCheck::NeedMore;
    }
    if (p[0] >= 0x40 && p[0] <= 0x4F) {
        if (avail < 4) return FrameCheck::NeedMore;
        length = 4 + padded4(readU16(p + 2));
        return FrameCheck::Ok;
    }
    return FrameCheck::Garbage;
}
}  // namespace

void StreamFramer::push(ByteView chunk) {
    if (broken_ || chunk.empty()) return;
    if (start_ > 0 && start_ * 2 >= buffer_.size()) {
        buffer_.erase(buffer_.begin(), buffer_.begin() + ptrdiff_t(start_));
        scan_ -= start_;
        start_ = 0;
    }
    appendBytes(buffer_, chunk);
    // Validate every frame header as soon as it is complete, so that garbage is reported even
    // before the owner pops what precedes it.
    while (scan_ < buffer_.size()) {
        size_t length = 0;
        FrameCheck c = checkFrame(buffer_.data() + scan_, buffer_.size() - scan_, length);
        if (c == FrameCheck::Garbage) {
            broken_ = true;
            return;
        }
        if (c == FrameCheck::NeedMore || buffer_.size() - scan_ < length) return;
        scan_ += length;
    }
}

std::optional<Bytes> StreamFramer::pop() {
    if (start_ >= scan_) return std::nullopt;  // no whole, validated frame buffered
    size_t length = 0;
    checkFrame(buffer_.data() + start_, scan_ - start_, length);
    Bytes frame(buffer_.begin() + ptrdiff_t(start_), buffer_.begin() + ptrdiff_t(start_ + length));
    start_ += length;
    if (start_ == buffer_.size()) {
        buffer_.clear();
        start_ = scan_ = 0;
    }
    return frame;
}

// ---------------------------------------------------------------------------------------------
// TurnClient

struct TurnClient::Impl {
    enum class Kind : uint8_t { Allocate = 1, Refresh, Deallocate, CreatePermission, ChannelBind };

    // What a request is for; enough to rebuild it with a new transaction id (after 401/438).
    struct Spec {
        Kind kind = Kind::Allocate;
        bool staleRetried = false;
        IpAddress peerIp;
        Endpoint peer;
        uint16_t channel = 0;
    };
    static Spec specOf(Kind kind) {
        Spec s;
        s.kind = kind;
        return s;
    }
    struct Transaction {
        Spec spec;
        bool authenticated = false;
        Bytes wire;
        stun::TransactionTimer timer;
        Timestamp firstSent;
    };

    enum class PermState : uint8_t { Wanted = 1, Pending, Installed, Failed };
    struct Permission {
        PermState state = PermState::Wanted;
        bool inFlight = false;  // a CreatePermission (first or refresh) is outstanding
        Timestamp refreshAt{};
        std::deque<std::pair<Endpoint, Bytes>> queue;
    };

    enum class ChanState : uint8_t { Binding = 1, Bound, Failed };
    struct Channel {
        uint16_t number = 0;
        ChanState state = ChanState::Binding;
        bool inFlight = false;
        Timestamp refreshAt{};
    };

    TurnClient* self;
    std::string server;  // for logs and reasons

    std::map<stun::TransactionId, Transaction> transactions;
    std::deque<Bytes> outgoing;
    std::deque<Event> events;
    StreamFramer framer;

    // Long-term credential state (RFC 8489 §9.2). The key is never logged.
    std::string realm;
    std::string nonce;
    Bytes key;
    stun::PasswordAlgorithm algorithm = stun::PasswordAlgorithm::Md5;
    std::optional<Bytes> passwordAlgorithms;  // echoed when the server used the nonce cookie

    Timestamp expiresAt{};
    Timestamp refreshAt{};
    bool refreshInFlight = false;

    std::map<IpAddress, Permission> permissions;
    std::map<Endpoint, Channel> channels;
    std::map<uint16_t, Endpoint> channelPeers;
    uint16_t nextChannel = kFirstChannel;

    explicit Impl(TurnClient* owner)
        : self(owner),
          server(fmt::format("{}/{}", owner->config_.server.toString(),
                             toString(owner->config_.transport))) {}

    ~Impl() { OPENSSL_cleanse(key.data(), key.size()); }

    const ServerConfig& cfg() const { return self->config_; }
    TurnStats& stats() { return self->stats_; }
    State state() const { return self->state_; }
    bool isStream() const { return cfg().transport != TransportProtocol::Udp; }
    bool active() const {
        return state() == State::Allocating || state() == State::Allocated ||
               state() == State::Closing;
    }

    void setState(State s) {
        static constexpr const char* kNames[] = {"?",      "New",     "Allocating", "Allocated",
                                                 "Failed", "Closing", "Closed"};
        spdlog::debug("turn {}: {} -> {}", server, kNames[int(state())], kNames[int(s)]);
        self->state_ = s;
    }

    // --- requests -------------------------------------------------------------------------

    static Method methodOf(Kind k) {
        switch (k) {
            case Kind::Allocate:
                return Method::Allocate;
            case Kind::Refresh:
            case Kind::Deallocate:
                return Method::Refresh;
            case Kind::CreatePermission:
                return Method::CreatePermission;
            case Kind::ChannelBind:
                return Method::ChannelBind;
        }
        return Method::Binding;
    }

    stun::RetransmitPolicy policyFor(Kind k) const {
        stun::RetransmitPolicy p;
        p.reliable = isStream();
        if (k == Kind::Deallocate) {
            // Best effort: the allocation expires anyway, so don't hold close() for 39.5 s.
            p.rc = 3;
            p.rm = 4;
            p.reliableTimeout = 5s;
        }
        return p;
    }

    void sendRequest(Timestamp now, const Spec& spec) {
        stun::Message m = stun::Message::request(methodOf(spec.kind), self->random_);
        switch (spec.kind) {
            case Kind::Allocate:
                m.addRequestedTransport(17);  // UDP relay (§7.1)
                m.addU32(attr::Lifetime, toSeconds(cfg().requestedLifetime));
                if (!cfg().software.empty()) m.addString(attr::Software, cfg().software);
                break;
            case Kind::Refresh:
                m.addU32(attr::Lifetime, toSeconds(cfg().requestedLifetime));
                break;
            case Kind::Deallocate:
                m.addU32(attr::Lifetime, 0);
                break;  // §7.2
            case Kind::CreatePermission:
                m.addXorAddress(attr::XorPeerAddress, Endpoint{spec.peerIp, 0});  // §9.1
                break;
            case Kind::ChannelBind:
                m.addChannelNumber(spec.channel);  // §12.1
                m.addXorAddress(attr::XorPeerAddress, spec.peer);
                break;
        }
        bool authenticated = !key.empty();
        Bytes wire;
        if (authenticated) {
            m.addString(attr::Username, cfg().username);
            m.addString(attr::Realm, realm);
            m.addString(attr::Nonce, nonce);
            if (passwordAlgorithms) {  // RFC 8489 §9.2.3.2
                m.addRaw(attr::PasswordAlgorithms, *passwordAlgorithms);
                m.addPasswordAlgorithm(algorithm);
            }
            stun::Integrity integrity{key, false};
            wire = m.encode(&integrity, true);
            OPENSSL_cleanse(integrity.key.data(), integrity.key.size());
        } else {
            wire = m.encode(nullptr, true);
        }
        auto [it, inserted] = transactions.emplace(
            m.transactionId(), Transaction{spec, authenticated, std::move(wire),
                                           stun::TransactionTimer(policyFor(spec.kind), now), now});
        if (!inserted) return;  // a 96-bit collision; the timeout path copes
        if (it->second.timer.poll(now) == stun::TransactionTimer::Action::Send) {
            outgoing.push_back(it->second.wire);
            ++stats().requestsSent;
        }
    }

    // --- failure and closing ---------------------------------------------------------------

    void dropState() {
        transactions.clear();
        for (auto& [ip, p] : permissions) stats().queueDropped += p.queue.size();
        permissions.clear();
        channels.clear();
        channelPeers.clear();
        refreshInFlight = false;
    }

    void fail(int code, std::string reason) {
        if (state() == State::Failed || state() == State::Closed) return;
        spdlog::debug("turn {}: failed: {} {}", server, code, reason);
        dropState();
        outgoing.clear();
        setState(State::Failed);
        events.push_back(event::Failed{code, std::move(reason)});
    }

    void finishClose() {
        dropState();
        setState(State::Closed);
        events.push_back(event::Closed{});
    }

    // --- incoming -------------------------------------------------------------------------

    void malformed(std::string_view what) {
        ++stats().malformedDropped;
        spdlog::debug("turn {}: dropped malformed input: {}", server, what);
    }

    void handleIncoming(Timestamp now, ByteView data) {
        if (!active()) return;
        if (!isStream()) {
            handleFrame(now, data);
            return;
        }
        framer.push(data);
        while (active()) {
            auto frame = framer.pop();
            if (!frame) break;
            handleFrame(now, *frame);
        }
        if (active() && framer.broken()) {
            malformed("stream carries neither STUN nor ChannelData");
            fail(0, fmt::format("TURN server {} sent bytes that are neither STUN nor ChannelData",
                                server));
        }
    }

    void handleFrame(Timestamp now, ByteView data) {
        if (looksLikeChannelData(data)) {
            handleChannelData(data);
            return;
        }
        if (!stun::looksLikeStun(data)) {
            malformed("neither STUN nor ChannelData");
            return;
        }
        auto parsed = stun::parse(data);
        if (!parsed) {
            malformed(parsed.error().message);
            return;
        }
        const auto& msg = *parsed;
        if (msg.isResponse()) {
            handleResponse(now, msg);
        } else if (msg.isIndication() && msg.method() == Method::Data) {
            handleDataIndication(msg);
        } else {
            malformed(fmt::format("unexpected STUN {} {}", stun::toString(msg.method()),
                                  msg.isRequest() ? "request" : "indication"));
        }
    }

    void handleChannelData(ByteView data) {
        auto cd = parseChannelData(data);
        if (!cd) {
            malformed("bad ChannelData");
            return;
        }
        auto it = channelPeers.find(cd->channel);
        if (it == channelPeers.end()) {
            ++stats().unknownChannelDropped;
            return;
        }
        if (state() != State::Allocated) return;
        ++stats().channelDataReceived;
        stats().peerBytesReceived += cd->payload.size();
        events.push_back(
            event::PeerData{it->second, Bytes(cd->payload.begin(), cd->payload.end())});
    }

    // RFC 8656 §11.4
    void handleDataIndication(const stun::Message& msg) {
        auto peer = msg.getXorAddress(attr::XorPeerAddress);
        const stun::Attribute* data = msg.find(attr::Data);
        if (!peer || !data) {
            malformed("Data indication without XOR-PEER-ADDRESS or DATA");
            return;
        }
        if (state() != State::Allocated) return;
        ++stats().dataIndicationsReceived;
        stats().peerBytesReceived += data->value.size();
        events.push_back(event::PeerData{*peer, data->value});
    }

    void handleResponse(Timestamp now, const stun::Message& msg) {
        auto it = transactions.find(msg.transactionId());
        if (it == transactions.end()) {
            ++stats().unmatchedResponses;  // late retransmission, or not ours
            return;
        }
        if (msg.method() != methodOf(it->second.spec.kind)) {
            malformed("response method does not match the request");
            return;
        }
        std::optional<stun::ErrorCode> error;
        if (msg.isError()) {
            error = msg.getErrorCode();
            if (!error) {
                malformed("error response without a valid ERROR-CODE");
                return;
            }
        }
        if (it->second.authenticated && !integrityAcceptable(msg, error)) {
            ++stats().integrityFailures;
            spdlog::debug("turn {}: dropped {} response with bad MESSAGE-INTEGRITY", server,
                          stun::toString(msg.method()));
            return;
        }
        Transaction tx = std::move(it->second);
        transactions.erase(it);
        ++stats().responsesReceived;

        if (!error) {
            onSuccess(now, tx, msg);
            return;
        }
        int code = error->code;
        if (code == stun::error::StaleNonce && !tx.spec.staleRetried) {
            // RFC 8489 §9.2.5: take the new NONCE and retry once with a new transaction.
            auto newNonce = msg.getString(attr::Nonce);
            if (newNonce && !newNonce->empty()) {
                nonce = *newNonce;
                if (auto r = msg.getString(attr::Realm); r && !r->empty() && *r != realm) {
                    realm = *r;
                    deriveKey();
                }
                Spec spec = tx.spec;
                spec.staleRetried = true;
                sendRequest(now, spec);
                return;
            }
        }
        if (code == stun::error::Unauthenticated && !tx.authenticated &&
            tx.spec.kind == Kind::Allocate) {
            startAuthentication(now, msg);
            return;
        }
        onFailure(now, tx, code, describeError(tx.spec.kind, *error, msg));
    }

    // Success responses to authenticated requests must carry valid integrity. Errors that a
    // server cannot or need not authenticate (RFC 8489 §9.2.4: 400, 401, 420, 438) are taken as
    // they are; any other error with a wrong MESSAGE-INTEGRITY is dropped.
    bool integrityAcceptable(const stun::Message& msg,
                             const std::optional<stun::ErrorCode>& error) const {
        auto check = msg.verifyIntegrity(key);
        if (!error) return check == stun::IntegrityCheck::Ok;
        switch (error->code) {
            case stun::error::BadRequest:
            case stun::error::Unauthenticated:
            case stun::error::UnknownAttribute:
            case stun::error::StaleNonce:
                return true;
            default:
                return check != stun::IntegrityCheck::Mismatch;
        }
    }

    void deriveKey() {
        OPENSSL_cleanse(key.data(), key.size());
        key = stun::longTermKey(cfg().username, realm, cfg().password, algorithm);
    }

    // RFC 8656 §7.1 / RFC 8489 §9.2.3: the 401 to the first Allocate names the realm and nonce.
    void startAuthentication(Timestamp now, const stun::Message& msg) {
        auto r = msg.getString(attr::Realm);
        auto n = msg.getString(attr::Nonce);
        if (!r || !n || n->empty()) {
            fail(stun::error::Unauthenticated,
                 "TURN server demanded authentication (401) without REALM and NONCE");
            return;
        }
        if (cfg().username.empty()) {
            fail(stun::error::Unauthenticated,
                 "TURN server requires credentials (401) but none are configured");
            return;
        }
        realm = *r;
        nonce = *n;
        algorithm = stun::PasswordAlgorithm::Md5;
        passwordAlgorithms.reset();
        if (nonceAnnouncesPasswordAlgorithms(nonce)) {
            // RFC 8489 §9.2.5: without the list this may be a bid-down attack; don't retry.
            const stun::Attribute* list = msg.find(attr::PasswordAlgorithms);
            auto algs = msg.getPasswordAlgorithms();
            if (!list || algs.empty()) {
                fail(stun::error::Unauthenticated,
                     "TURN server announced PASSWORD-ALGORITHMS in its nonce but sent none");
                return;
            }
            auto offered = [&](stun::PasswordAlgorithm a) {
                return std::find(algs.begin(), algs.end(), uint16_t(a)) != algs.end();
            };
            if (offered(stun::PasswordAlgorithm::Sha256)) {
                algorithm = stun::PasswordAlgorithm::Sha256;
            } else if (!offered(stun::PasswordAlgorithm::Md5)) {
                fail(stun::error::Unauthenticated,
                     "TURN server offers no password algorithm we support (MD5, SHA-256)");
                return;
            }
            passwordAlgorithms = list->value;
        }
        deriveKey();
        spdlog::debug("turn {}: authenticating in realm \"{}\" ({})", server, printable(realm),
                      algorithm == stun::PasswordAlgorithm::Sha256 ? "SHA-256" : "MD5");
        sendRequest(now, specOf(Kind::Allocate));
    }

    std::string describeError(Kind kind, const stun::ErrorCode& e, const stun::Message& msg) const {
        const char* what = kind == Kind::Deallocate ? "Refresh(0)" : stun::toString(methodOf(kind));
        std::string head = fmt::format("{} failed: {} {}", what, e.code, printable(e.reason));
        switch (e.code) {
            case stun::error::TryAlternate: {
                auto alt = msg.getAddress(attr::AlternateServer);
                return fmt::format("{} (server redirects to alternate server {})", head,
                                   alt ? alt->toString() : std::string("<none given>"));
            }
            case stun::error::Unauthenticated:
            case stun::error::WrongCredentials:
                return fmt::format("{} (credentials rejected for realm \"{}\")", head,
                                   printable(realm));
            case stun::error::AllocationMismatch:
                return head + " (no matching allocation on the server for this 5-tuple)";
            case stun::error::AllocationQuotaReached:
                return head + " (allocation quota reached for this user)";
            case stun::error::StaleNonce:
                return head + " (nonce still stale after one retry)";
            case stun::error::Forbidden:
                return head + " (forbidden by server policy)";
            case stun::error::UnsupportedTransportProtocol:
                return head + " (server does not relay UDP)";
            case stun::error::InsufficientCapacity:
                return head + " (server out of capacity)";
            default:
                return head;
        }
    }

    std::string timeoutReason(const Transaction& tx, Timestamp now) const {
        const char* what = tx.spec.kind == Kind::Deallocate
                               ? "Refresh(0)"
                               : stun::toString(methodOf(tx.spec.kind));
        return fmt::format("no answer from TURN server {} to {} ({} send{} over {})", server, what,
                           tx.timer.sends(), tx.timer.sends() == 1 ? "" : "s",
                           seconds(now - tx.firstSent));
    }

    void onSuccess(Timestamp now, const Transaction& tx, const stun::Message& msg) {
        switch (tx.spec.kind) {
            case Kind::Allocate:
                onAllocated(now, msg);
                break;
            case Kind::Refresh: {
                refreshInFlight = false;
                Duration lifetime = std::chrono::seconds(
                    msg.getU32(attr::Lifetime).value_or(toSeconds(cfg().requestedLifetime)));
                if (lifetime <= 0s) {
                    fail(0, "TURN server ended the allocation (Refresh answered LIFETIME 0)");
                    return;
                }
                expiresAt = now + lifetime;
                refreshAt = now + refreshDelay(lifetime);
                spdlog::debug("turn {}: refreshed, lifetime {}", server, seconds(lifetime));
                break;
            }
            case Kind::Deallocate:
                finishClose();
                break;
            case Kind::CreatePermission: {
                auto it = permissions.find(tx.spec.peerIp);
                if (it == permissions.end()) return;
                Permission& p = it->second;
                p.inFlight = false;
                p.refreshAt = now + kPermissionRefresh;
                if (p.state == PermState::Installed) return;
                p.state = PermState::Installed;
                spdlog::debug("turn {}: permission for {}", server, tx.spec.peerIp.toString());
                auto queued = std::move(p.queue);
                p.queue.clear();
                for (auto& [peer, data] : queued) transmit(now, peer, data);
                break;
            }
            case Kind::ChannelBind: {
                auto it = channels.find(tx.spec.peer);
                if (it == channels.end()) return;
                it->second.inFlight = false;
                it->second.state = ChanState::Bound;
                it->second.refreshAt = now + kChannelRefresh;
                spdlog::debug("turn {}: channel {:#06x} bound to {}", server, tx.spec.channel,
                              tx.spec.peer.toString());
                break;
            }
        }
    }

    void onAllocated(Timestamp now, const stun::Message& msg) {
        auto relayed = msg.getXorAddress(attr::XorRelayedAddress);
        if (!relayed) {
            malformed("Allocate success without XOR-RELAYED-ADDRESS");
            fail(0, "TURN server answered Allocate without XOR-RELAYED-ADDRESS");
            return;
        }
        Duration lifetime = std::chrono::seconds(
            msg.getU32(attr::Lifetime).value_or(toSeconds(cfg().requestedLifetime)));
        if (lifetime <= 0s) lifetime = cfg().requestedLifetime;
        self->relayed_ = relayed;
        self->mapped_ = msg.getXorAddress(attr::XorMappedAddress);
        expiresAt = now + lifetime;
        refreshAt = now + refreshDelay(lifetime);
        setState(State::Allocated);
        spdlog::debug("turn {}: relayed {}, lifetime {}", server, relayed->toString(),
                      seconds(lifetime));
        events.push_back(event::Allocated{*relayed, self->mapped_.value_or(Endpoint{}), lifetime});
        // Permissions asked for while allocating; a relay of one family cannot reach peers of
        // the other (the server would answer 443), so those are forgotten.
        std::erase_if(permissions, [&](const auto& entry) {
            return entry.first.family() != relayed->ip.family();
        });
        for (auto& [ip, p] : permissions)
            if (p.state == PermState::Wanted) requestPermission(now, ip, p);
    }

    void onFailure(Timestamp now, const Transaction& tx, int code, std::string reason) {
        if (code == stun::error::AllocationMismatch && tx.spec.kind != Kind::Deallocate &&
            tx.spec.kind != Kind::Allocate) {
            fail(code, std::move(reason));  // the allocation is gone
            return;
        }
        switch (tx.spec.kind) {
            case Kind::Allocate:
                fail(code, std::move(reason));
                break;
            case Kind::Refresh:
                refreshInFlight = false;
                if (code == 0 && now < expiresAt) {
                    refreshAt = now;  // lost in the network: try again while there is time
                    spdlog::debug("turn {}: {}; retrying", server, reason);
                } else {
                    fail(code, std::move(reason));
                }
                break;
            case Kind::Deallocate:
                finishClose();
                break;
            case Kind::CreatePermission: {
                auto it = permissions.find(tx.spec.peerIp);
                if (it == permissions.end()) return;
                Permission& p = it->second;
                stats().queueDropped += p.queue.size();
                p.queue.clear();
                p.state = PermState::Failed;
                p.inFlight = false;
                spdlog::debug("turn {}: permission for {} failed: {}", server,
                              tx.spec.peerIp.toString(), reason);
                events.push_back(event::PermissionFailed{tx.spec.peerIp, code, std::move(reason)});
                break;
            }
            case Kind::ChannelBind: {
                // Not fatal: data to that peer keeps going as Send indications.
                auto it = channels.find(tx.spec.peer);
                if (it == channels.end()) return;
                it->second.state = ChanState::Failed;
                it->second.inFlight = false;
                spdlog::debug("turn {}: ChannelBind for {} failed: {}", server,
                              tx.spec.peer.toString(), reason);
                break;
            }
        }
    }

    // --- timers ---------------------------------------------------------------------------

    void handleTimeout(Timestamp now) {
        if (!active()) return;
        std::vector<stun::TransactionId> timedOut;
        for (auto& [tid, tx] : transactions) {
            switch (tx.timer.poll(now)) {
                case stun::TransactionTimer::Action::Send:
                    outgoing.push_back(tx.wire);
                    ++stats().retransmissions;
                    break;
                case stun::TransactionTimer::Action::TimedOut:
                    timedOut.push_back(tid);
                    break;
                case stun::TransactionTimer::Action::None:
                    break;
            }
        }
        for (const auto& tid : timedOut) {
            if (!active()) return;
            auto it = transactions.find(tid);
            if (it == transactions.end()) continue;
            Transaction tx = std::move(it->second);
            transactions.erase(it);
            onFailure(now, tx, 0, timeoutReason(tx, now));
        }
        if (state() != State::Allocated) return;

        if (now >= expiresAt) {
            fail(0, fmt::format("allocation on TURN server {} expired without a successful "
                                "Refresh",
                                server));
            return;
        }
        if (!refreshInFlight && now >= refreshAt) {
            refreshInFlight = true;
            sendRequest(now, specOf(Kind::Refresh));
        }
        for (auto& [ip, p] : permissions)
            if (p.state == PermState::Installed && !p.inFlight && now >= p.refreshAt)
                requestPermission(now, ip, p);
        for (auto& [peer, ch] : channels)
            if (ch.state == ChanState::Bound && !ch.inFlight && now >= ch.refreshAt)
                requestChannel(now, peer, ch);
    }

    std::optional<Timestamp> pollTimeout() const {
        if (!active()) return std::nullopt;
        std::optional<Timestamp> next;
        auto consider = [&](Timestamp t) {
            if (!next || t < *next) next = t;
        };
        for (const auto& [tid, tx] : transactions)
            if (auto d = tx.timer.deadline()) consider(*d);
        if (state() == State::Allocated) {
            consider(expiresAt);
            if (!refreshInFlight) consider(refreshAt);
            for (const auto& [ip, p] : permissions)
                if (p.state == PermState::Installed && !p.inFlight) consider(p.refreshAt);
            for (const auto& [peer, ch] : channels)
                if (ch.state == ChanState::Bound && !ch.inFlight) consider(ch.refreshAt);
        }
        return next;
    }

    // --- permissions, channels, data ------------------------------------------------------

    void requestPermission(Timestamp now, const IpAddress& ip, Permission& p) {
        if (p.state != PermState::Installed) p.state = PermState::Pending;
        p.inFlight = true;
        Spec spec = specOf(Kind::CreatePermission);
        spec.peerIp = ip;
        sendRequest(now, spec);
    }

    void requestChannel(Timestamp now, const Endpoint& peer, Channel& ch) {
        ch.inFlight = true;
        Spec spec = specOf(Kind::ChannelBind);
        spec.peer = peer;
        spec.channel = ch.number;
        sendRequest(now, spec);
    }

    Permission& ensurePermission(Timestamp now, const IpAddress& ip) {
        auto [it, inserted] = permissions.try_emplace(ip);
        Permission& p = it->second;
        if (inserted || p.state == PermState::Failed) {
            p.state = PermState::Wanted;
            if (state() == State::Allocated) requestPermission(now, ip, p);
        }
        return p;
    }

    bool sendTo(Timestamp now, const Endpoint& peer, ByteView data) {
        if (state() != State::Allocated || !self->relayed_) return false;
        if (peer.ip.family() != self->relayed_->ip.family() || data.size() > kMaxPeerPayload)
            return false;
        auto existing = permissions.find(peer.ip);
        if (existing != permissions.end() && existing->second.state == PermState::Failed)
            return false;  // createPermission() retries
        Permission& p = ensurePermission(now, peer.ip);
        if (p.state == PermState::Installed) {
            transmit(now, peer, data);
            return true;
        }
        // RFC 8656 §9: the server drops data for peers without a permission; hold it.
        if (p.queue.size() >= std::max<size_t>(cfg().maxQueuedPerPeer, 1)) {
            p.queue.pop_front();
            ++stats().queueDropped;
        }
        p.queue.emplace_back(peer, Bytes(data.begin(), data.end()));
        return true;
    }

    // The permission for peer.ip exists: ChannelData if bound, else a Send indication (and a
    // ChannelBind so that later data is cheaper, RFC 8656 §12).
    void transmit(Timestamp now, const Endpoint& peer, ByteView data) {
        auto it = channels.find(peer);
        if (it == channels.end() && nextChannel <= kLastChannel) {
            Channel ch;
            ch.number = nextChannel++;
            it = channels.emplace(peer, ch).first;
            channelPeers[ch.number] = peer;
            requestChannel(now, peer, it->second);
        }
        stats().peerBytesSent += data.size();
        if (it != channels.end() && it->second.state == ChanState::Bound) {
            outgoing.push_back(encodeChannelData(it->second.number, data, isStream()));
            ++stats().channelDataSent;
            return;
        }
        stun::Message m = stun::Message::indication(Method::Send, self->random_);  // §11.2
        m.addXorAddress(attr::XorPeerAddress, peer);
        m.addRaw(attr::Data, data);
        outgoing.push_back(m.encode(nullptr, true));
        ++stats().sendIndicationsSent;
    }

    void close(Timestamp now) {
        switch (state()) {
            case State::New:
            case State::Allocating:
            case State::Failed:
                outgoing.clear();
                finishClose();
                break;
            case State::Allocated:
                dropState();
                setState(State::Closing);
                sendRequest(now, specOf(Kind::Deallocate));
                break;
            case State::Closing:
            case State::Closed:
                break;
        }
    }
};

TurnClient::TurnClient(ServerConfig config, Random& random)
    : config_(std::move(config)), random_(random), impl_(std::make_unique<Impl>(this)) {}

TurnClient::~TurnClient() = default;

TurnClient::TurnClient(TurnClient&& other) noexcept
    : config_(std::move(other.config_)),
      random_(other.random_),
      state_(other.state_),
      relayed_(std::move(other.relayed_)),
      mapped_(std::move(other.mapped_)),
      stats_(other.stats_),
      impl_(std::move(other.impl_)) {
    if (impl_) impl_->self = this;
}

bool TurnClient::hasPermission(const IpAddress& peer) const {
    if (!impl_) return false;
    auto it = impl_->permissions.find(peer);
    return it != impl_->permissions.end() && it->second.state == Impl::PermState::Installed;
}

std::optional<uint16_t> TurnClient::boundChannel(const Endpoint& peer) const {
    if (!impl_) return std::nullopt;
    auto it = impl_->channels.find(peer);
    if (it == impl_->channels.end() || it->second.state != Impl::ChanState::Bound)
        return std::nullopt;
    return it->second.number;
}

void TurnClient::start(Timestamp now) {
    if (!impl_ || state_ != State::New) return;
    impl_->setState(State::Allocating);
    impl_->sendRequest(now, Impl::specOf(Impl::Kind::Allocate));
}

void TurnClient::handleIncoming(Timestamp now, ByteView data) {
    if (impl_) impl_->handleIncoming(now, data);
}

void TurnClient::handleStreamState(Timestamp now, StreamState state) {
    (void)now;
    if (!impl_ || config_.transport == TransportProtocol::Udp) return;
    if (state != StreamState::Failed && state != StreamState::Closed) return;
    if (state_ == State::Closing) {
        impl_->finishClose();
    } else if (state_ == State::Allocating || state_ == State::Allocated) {
        impl_->fail(0, fmt::format("connection to TURN server {} {}", impl_->server,
                                   state == StreamState::Failed ? "failed" : "was closed"));
    }
}

void TurnClient::handleTimeout(Timestamp now) {
    if (impl_) impl_->handleTimeout(now);
}

std::optional<Bytes> TurnClient::pollOutgoing() {
    if (!impl_ || impl_->outgoing.empty()) return std::nullopt;
    Bytes b = std::move(impl_->outgoing.front());
    impl_->outgoing.pop_front();
    return b;
}

std::optional<Timestamp> TurnClient::pollTimeout() {
    return impl_ ? impl_->pollTimeout() : std::nullopt;
}

std::optional<Event> TurnClient::pollEvent() {
    if (!impl_ || impl_->events.empty()) return std::nullopt;
    Event e = std::move(impl_->events.front());
    impl_->events.pop_front();
    return e;
}

void TurnClient::createPermission(Timestamp now, const IpAddress& peer) {
    if (!impl_) return;
    if (state_ != State::New && state_ != State::Allocating && state_ != State::Allocated) return;
    if (relayed_ && relayed_->ip.family() != peer.family()) return;  // would be 443
    impl_->ensurePermission(now, peer);
}

bool TurnClient::sendTo(Timestamp now, const Endpoint& peer, ByteView data) {
    return impl_ && impl_->sendTo(now, peer, data);
}

void TurnClient::close(Timestamp now) {
    if (impl_) impl_->close(now);
}

}  // namespace tincan::turn
