#include "core/dtls/dtls_transport.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include "core/dtls/record.hpp"

namespace tincan::dtls {

namespace {

// ECDHE with AEAD first (what Chromium, Firefox and aiortc pick), then the CBC suites older
// stacks still offer. RSA entries matter only if an app imports an RSA identity.
constexpr const char* kCipherList =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "ECDHE-ECDSA-AES128-SHA:ECDHE-RSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA:ECDHE-RSA-AES256-SHA";
constexpr const char* kGroups = "X25519:P-256:P-384";

// Key and salt lengths per profile (RFC 5764 §4.1.2, RFC 7714 §12).
bool srtpLengths(uint16_t profile, size_t& keyLen, size_t& saltLen) {
    switch (profile) {
        case kSrtpAes128CmSha1_80:
        case kSrtpAes128CmSha1_32:
            keyLen = 16, saltLen = 14;
            return true;
        case kSrtpAeadAes128Gcm:
            keyLen = 16, saltLen = 12;
            return true;
        case kSrtpAeadAes256Gcm:
            keyLen = 32, saltLen = 12;
            return true;
        default:
            return false;
    }
}

int fingerprintRank(std::string_view algorithm) {
    if (algorithm == "sha-512") return 5;
    if (algorithm == "sha-384") return 4;
    if (algorithm == "sha-256") return 3;
    if (algorithm == "sha-224") return 2;
    if (algorithm == "sha-1") return 1;
    return 0;
}

std::string takeErrors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        const char* reason = ERR_reason_error_string(e);
        char buf[256];
        if (!reason) {
            ERR_error_string_n(e, buf, sizeof buf);
            reason = buf;
        }
        if (!out.empty()) out += "; ";
        out += reason;
    }
    return out;
}

// Each public call starts and ends with an empty error queue: SSL_get_error() needs it empty
// before the call, and the next transport on this thread must not inherit our errors. The queue
// is almost always empty already; ERR_clear_error() would still rewrite all its 16 slots, twice
// per packet (2 % of both cores in a 0 ms transfer, perf), so it is only called when needed.
void clearErrors() {
    if (ERR_peek_error() != 0) ERR_clear_error();
}

struct ErrorQueueScope {
    ErrorQueueScope() { clearErrors(); }
    ~ErrorQueueScope() { clearErrors(); }
    ErrorQueueScope(const ErrorQueueScope&) = delete;
    ErrorQueueScope& operator=(const ErrorQueueScope&) = delete;
};

}  // namespace

const char* toString(Role r) {
    return r == Role::Client ? "client" : "server";
}

const char* toString(State s) {
    switch (s) {
        case State::New:
            return "new";
        case State::Connecting:
            return "connecting";
        case State::Connected:
            return "connected";
        case State::Closed:
            return "closed";
        case State::Failed:
            return "failed";
    }
    return "?";
}

const char* srtpProfileName(uint16_t profile) {
    switch (profile) {
        case kSrtpAes128CmSha1_80:
            return "SRTP_AES128_CM_SHA1_80";
        case kSrtpAes128CmSha1_32:
            return "SRTP_AES128_CM_SHA1_32";
        case kSrtpAeadAes128Gcm:
            return "SRTP_AEAD_AES_128_GCM";
        case kSrtpAeadAes256Gcm:
            return "SRTP_AEAD_AES_256_GCM";
        default:
            return "";
    }
}

struct DtlsTransport::Impl {
    std::shared_ptr<Certificate> local;
    DtlsConfig config;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;

    State state = State::New;
    bool handshakeDone = false;
    std::optional<sdp::Fingerprint> remoteFp;  // of the peer certificate once seen
    std::string verifyFailure;                 // why the peer certificate was refused
    std::string receivedAlert, sentAlert;      // last fatal alerts, for the failure reason
    bool closeNotifyReceived = false;
    uint16_t srtpProfile = 0;

    ByteView in;       // the datagram OpenSSL is reading (the BIO hands it out once)
    Bytes pendingOut;  // the datagram being filled by OpenSSL's writes
    std::deque<Bytes> outgoing;
    std::deque<Event> events;
    Bytes readBuf;  // SSL_read target, reused; holds one full record
    std::function<void(ByteView)> dataHandler;
    Timestamp lastNow{};
    Stats stats;

    Impl(std::shared_ptr<Certificate> cert, DtlsConfig cfg)
        : local(std::move(cert)), config(std::move(cfg)), readBuf(kMaxPlaintext) {}

    ~Impl() {
        if (ssl) SSL_free(ssl);  // frees the BIO too
        if (ctx) SSL_CTX_free(ctx);
    }

    std::string setup();

    void setState(State s, std::string reason = {}) {
        if (state == s) return;
        state = s;
        if (s == State::Failed)
            spdlog::debug("dtls {}: failed: {}", toString(config.role), reason);
        else
            spdlog::debug("dtls {}: {}{}{}", toString(config.role), toString(s),
                          reason.empty() ? "" : ": ", reason);
        events.emplace_back(event::StateChanged{s, std::move(reason)});
    }
    bool terminal() const { return state == State::Closed || state == State::Failed; }
    void fail(std::string reason) {
        if (!terminal()) setState(State::Failed, std::move(reason));
    }
    void failFromSsl(int sslError);

    // The datagram BIO.
    void onWrite(const uint8_t* data, size_t n) {
        if (!pendingOut.empty() && pendingOut.size() + n > config.mtu) finishDatagram();
        if (pendingOut.empty())
            pendingOut.assign(data, data + n);
        else
            pendingOut.insert(pendingOut.end(), data, data + n);
    }
    void finishDatagram() {
        if (pendingOut.empty()) return;
        ++stats.packetsSent;
        stats.bytesSent += pendingOut.size();
        outgoing.push_back(std::move(pendingOut));
        pendingOut = Bytes();
    }

    bool checkPeer(X509* peer);
    void driveHandshake();
    void onHandshakeDone();
    void verifyAndConnect();
    bool exportSrtp();
    void readRecords();
};

// ---- OpenSSL callbacks -----------------------------------------------------------------------

namespace {

DtlsTransport::Impl* implOf(const SSL* ssl) {
    return static_cast<DtlsTransport::Impl*>(SSL_get_app_data(ssl));
}
DtlsTransport::Impl* implOf(BIO* bio) {
    return static_cast<DtlsTransport::Impl*>(BIO_get_data(bio));
}

int bioWrite(BIO* bio, const char* data, int len) {
    BIO_clear_retry_flags(bio);
    if (len <= 0) return 0;
    implOf(bio)->onWrite(reinterpret_cast<const uint8_t*>(data), size_t(len));
    return len;
}

// Datagram semantics: one read returns the whole datagram (OpenSSL's DTLS read buffer is larger
// than any record we accept) or "retry" when there is none.
int bioRead(BIO* bio, char* out, int len) {
    BIO_clear_retry_flags(bio);
    auto* impl = implOf(bio);
    if (impl->in.empty()) {
        BIO_set_retry_read(bio);
        return -1;
    }
    size_t n = std::min(impl->in.size(), size_t(std::max(len, 0)));
    std::memcpy(out, impl->in.data(), n);
    impl->in = {};
    return int(n);
}

long bioCtrl(BIO* bio, int cmd, long, void*) {
    auto* impl = implOf(bio);
    switch (cmd) {
        // OpenSSL flushes after every message it retransmits, which would send a retransmitted
        // flight as one datagram per message (five, for the server's second flight) and make
        // each retransmission five times as likely to lose a piece. Datagrams end instead when
        // the next record does not fit, and at the end of each call into the transport.
        case BIO_CTRL_FLUSH:
            return 1;
        case BIO_CTRL_WPENDING:  // lets dtls1_do_write size fragments to fill the datagram
            return long(impl->pendingOut.size());
        case BIO_CTRL_PENDING:
            return long(impl->in.size());
        case BIO_CTRL_DGRAM_QUERY_MTU:
        case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
            return long(impl->config.mtu);
        default:  // GET_MTU_OVERHEAD 0, SET_NEXT_TIMEOUT and peer addresses unused
            return 0;
    }
}

int bioCreate(BIO* bio) {
    BIO_set_init(bio, 1);
    return 1;
}

int bioDestroy(BIO* bio) {
    BIO_set_data(bio, nullptr);
    return 1;
}

BIO_METHOD* datagramBioMethod() {
    // Immutable once built; shared by every transport (C++ guarantees one initialisation).
    static BIO_METHOD* method = [] {
        BIO_METHOD* m =
            BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "tincan DTLS datagram");
        if (m) {
            BIO_meth_set_write(m, bioWrite);
            BIO_meth_set_read(m, bioRead);
            BIO_meth_set_ctrl(m, bioCtrl);
            BIO_meth_set_create(m, bioCreate);
            BIO_meth_set_destroy(m, bioDestroy);
        }
        return m;
    }();
    return method;
}

// Replaces chain verification: a WebRTC certificate is self-signed and vouched for only by the
// a=fingerprint (RFC 8827 §6.5). Returning 0 aborts the handshake with bad_certificate.
int verifyCertificate(X509_STORE_CTX* store, void* arg) {
    auto* impl = static_cast<DtlsTransport::Impl*>(arg);
    X509* peer = X509_STORE_CTX_get0_cert(store);
    if (impl->checkPeer(peer)) return 1;
    X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
    return 0;
}

// RFC 6347 §4.2.4.1 timer: initialRetransmit, doubled per expiry up to maxRetransmit.
unsigned int retransmitTimer(SSL* ssl, unsigned int previousUs) {
    auto* impl = implOf(ssl);
    auto us = [](Duration d) {
        auto v = std::chrono::duration_cast<std::chrono::microseconds>(d).count();
        return uint64_t(std::clamp<int64_t>(v, 1000, 3600LL * 1000000));
    };
    uint64_t initial = us(impl->config.initialRetransmit);
    uint64_t cap = std::max(initial, us(impl->config.maxRetransmit));
    if (previousUs == 0) return unsigned(initial);
    return unsigned(std::min(uint64_t(previousUs) * 2, cap));
}

void infoCallback(const SSL* ssl, int where, int ret) {
    if (!(where & SSL_CB_ALERT)) return;
    auto* impl = implOf(ssl);
    if (!impl) return;
    bool fatal = (ret >> 8) == SSL3_AL_FATAL;
    const char* text = SSL_alert_desc_string_long(ret);
    if (where & SSL_CB_READ) {
        if ((ret & 0xff) == SSL_AD_CLOSE_NOTIFY)
            impl->closeNotifyReceived = true;
        else if (fatal)
            impl->receivedAlert = text;
    } else if (fatal) {
        impl->sentAlert = text;
    }
}

}  // namespace

// ---- Impl ------------------------------------------------------------------------------------

std::string DtlsTransport::Impl::setup() {
    if (!local || !local->x509() || !local->privateKey()) return "no local certificate";
    if (config.mtu < 256 || config.mtu > 65535) return "mtu out of range (256..65535)";
    BIO_METHOD* method = datagramBioMethod();
    if (!method) return "cannot create the datagram BIO method";

    ctx = SSL_CTX_new(DTLS_method());
    if (!ctx) return "SSL_CTX_new: " + takeErrors();
    // DTLS 1.2 only (RFC 8827 §6.5: 1.0 is obsolete; 1.3 is not in OpenSSL 3.0).
    if (SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) != 1 ||
        SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION) != 1)
        return "cannot limit to DTLS 1.2: " + takeErrors();
    if (SSL_CTX_use_certificate(ctx, local->x509()) != 1 ||
        SSL_CTX_use_PrivateKey(ctx, local->privateKey()) != 1 ||
        SSL_CTX_check_private_key(ctx) != 1)
        return "cannot use the local certificate: " + takeErrors();
    if (SSL_CTX_set_cipher_list(ctx, kCipherList) != 1) return "cipher list: " + takeErrors();
    if (SSL_CTX_set1_groups_list(ctx, kGroups) != 1) return "groups: " + takeErrors();
    SSL_CTX_set_options(ctx, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // The server asks for the client's certificate (RFC 8827 §6.5: both sides authenticate).
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
    SSL_CTX_set_cert_verify_callback(ctx, verifyCertificate, this);

    if (config.offerSrtp && !config.srtpProfiles.empty()) {
        std::string profiles;
        for (uint16_t p : config.srtpProfiles) {
            const char* name = srtpProfileName(p);
            if (!*name) return "unknown SRTP profile " + std::to_string(p);
            if (!profiles.empty()) profiles += ':';
            profiles += name;
        }
        // Returns 0 on success, unlike almost everything else in OpenSSL.
        if (SSL_CTX_set_tlsext_use_srtp(ctx, profiles.c_str()) != 0)
            return "use_srtp: " + takeErrors();
    }

    ssl = SSL_new(ctx);
    if (!ssl) return "SSL_new: " + takeErrors();
    SSL_set_app_data(ssl, this);
    BIO* bio = BIO_new(method);
    if (!bio) return "BIO_new: " + takeErrors();
    BIO_set_data(bio, this);
    SSL_set_bio(ssl, bio, bio);  // one BIO both ways; the SSL owns it
    // After the BIO: the minimum MTU check asks it for its overhead. Returns the MTU set.
    if (SSL_set_mtu(ssl, long(config.mtu)) <= 0) return "SSL_set_mtu: " + takeErrors();
    DTLS_set_timer_cb(ssl, retransmitTimer);
    SSL_set_info_callback(ssl, infoCallback);
    if (config.role == Role::Client)
        SSL_set_connect_state(ssl);
    else
        SSL_set_accept_state(ssl);
    return {};
}

bool DtlsTransport::Impl::checkPeer(X509* peer) {
    if (!peer) {
        verifyFailure = "the peer sent no certificate";
        return false;
    }
    int best = 0;
    for (const auto& fp : config.remoteFingerprints)
        best = std::max(best, fingerprintRank(fp.algorithm));
    if (config.remoteFingerprints.empty()) {
        // Not known yet: accept for now, verifyAndConnect() decides once they are.
        if (!remoteFp) remoteFp = fingerprintOf(peer, "sha-256");
        return true;
    }
    if (best == 0) {
        verifyFailure = "no a=fingerprint with a supported hash function";
        return false;
    }
    std::optional<sdp::Fingerprint> actual;
    for (const auto& fp : config.remoteFingerprints) {
        if (fingerprintRank(fp.algorithm) != best) continue;
        if (!actual) actual = fingerprintOf(peer, fp.algorithm);
        if (actual && actual->digest == fp.digest) {
            remoteFp = std::move(actual);
            return true;
        }
    }
    remoteFp = fingerprintOf(peer, "sha-256");
    verifyFailure = "remote certificate fingerprint does not match a=fingerprint";
    return false;
}

void DtlsTransport::Impl::failFromSsl(int sslError) {
    std::string errors = takeErrors();
    if (closeNotifyReceived || sslError == SSL_ERROR_ZERO_RETURN) {
        if (!terminal()) setState(State::Closed, "closed by peer");
        return;
    }
    std::string reason;
    if (!verifyFailure.empty())
        reason = verifyFailure;
    else if (!receivedAlert.empty())
        reason = "received fatal alert: " + receivedAlert;
    else if (!errors.empty())
        reason = errors;
    else
        reason = "DTLS error " + std::to_string(sslError);
    if (verifyFailure.empty() && receivedAlert.empty() && !sentAlert.empty())
        reason += " (sent alert: " + sentAlert + ")";
    fail(std::move(reason));
}

void DtlsTransport::Impl::driveHandshake() {
    int r = SSL_do_handshake(ssl);
    if (r == 1) {
        onHandshakeDone();
        return;
    }
    int err = SSL_get_error(ssl, r);
    if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
    failFromSsl(err);
}

void DtlsTransport::Impl::onHandshakeDone() {
    handshakeDone = true;
    spdlog::debug("dtls {}: handshake done ({}, {}, extended master secret {})",
                  toString(config.role), SSL_get_version(ssl),
                  SSL_CIPHER_standard_name(SSL_get_current_cipher(ssl)),
                  SSL_get_extms_support(ssl) == 1 ? "yes" : "no");
    verifyAndConnect();
}

// Checked again at the end of the handshake, whatever the callback said: no path to Connected
// skips the fingerprint.
void DtlsTransport::Impl::verifyAndConnect() {
    if (!handshakeDone || state != State::Connecting) return;
    if (config.remoteFingerprints.empty()) return;  // wait for setRemoteFingerprints()
    if (!checkPeer(SSL_get0_peer_certificate(ssl))) {
        // Too late for an alert in the handshake; close_notify tells the peer we are gone.
        fail(verifyFailure);
        SSL_shutdown(ssl);
        return;
    }
    if (!exportSrtp()) return;
    setState(State::Connected);
}

bool DtlsTransport::Impl::exportSrtp() {
    const SRTP_PROTECTION_PROFILE* profile = SSL_get_selected_srtp_profile(ssl);
    if (!profile) return true;  // not negotiated (data channels only)
    uint16_t id = uint16_t(profile->id);
    size_t keyLen = 0, saltLen = 0;
    if (!srtpLengths(id, keyLen, saltLen)) {
        fail("negotiated an unsupported SRTP profile " + std::to_string(id));
        return false;
    }
    // RFC 5764 §4.2: client key | server key | client salt | server salt.
    static constexpr char kLabel[] = "EXTRACTOR-dtls_srtp";
    uint8_t material[2 * (32 + 14)];
    size_t total = 2 * (keyLen + saltLen);
    if (SSL_export_keying_material(ssl, material, total, kLabel, sizeof kLabel - 1, nullptr, 0,
                                   0) != 1) {
        fail("SRTP keying material export failed: " + takeErrors());
        return false;
    }
    SrtpKeyingMaterial keys;
    keys.profile = id;
    const uint8_t* p = material;
    keys.clientKey.assign(p, p + keyLen);
    keys.serverKey.assign(p + keyLen, p + 2 * keyLen);
    keys.clientSalt.assign(p + 2 * keyLen, p + 2 * keyLen + saltLen);
    keys.serverSalt.assign(p + 2 * keyLen + saltLen, p + total);
    OPENSSL_cleanse(material, sizeof material);
    srtpProfile = id;
    events.emplace_back(event::SrtpReady{std::move(keys)});
    return true;
}

void DtlsTransport::Impl::readRecords() {
    // Also runs while Connecting after the handshake (fingerprints still unknown): OpenSSL must
    // see the peer's retransmitted flights, but the data is dropped unverified.
    while (handshakeDone && (state == State::Connected || state == State::Connecting)) {
        int r = SSL_read(ssl, readBuf.data(), int(readBuf.size()));
        if (r > 0) {
            if (state != State::Connected) continue;
            stats.applicationBytesReceived += uint64_t(r);
            if (dataHandler) dataHandler(ByteView(readBuf.data(), size_t(r)));
            continue;
        }
        int err = SSL_get_error(ssl, r);
        if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            SSL_shutdown(ssl);  // answer with our close_notify
            ERR_clear_error();
            setState(State::Closed, "closed by peer");
            return;
        }
        failFromSsl(err);
        return;
    }
}

// ---- DtlsTransport ---------------------------------------------------------------------------

DtlsTransport::DtlsTransport(std::shared_ptr<Certificate> local, DtlsConfig config)
    : impl_(std::make_unique<Impl>(std::move(local), std::move(config))) {
    ErrorQueueScope errors;
    if (std::string error = impl_->setup(); !error.empty()) impl_->fail("DTLS setup: " + error);
}

DtlsTransport::~DtlsTransport() = default;
DtlsTransport::DtlsTransport(DtlsTransport&&) noexcept = default;
DtlsTransport& DtlsTransport::operator=(DtlsTransport&&) noexcept = default;

void DtlsTransport::start(Timestamp now) {
    Impl& d = *impl_;
    d.lastNow = now;
    if (d.state != State::New) return;
    ErrorQueueScope errors;
    d.setState(State::Connecting);
    if (d.config.role == Role::Client) d.driveHandshake();
    d.finishDatagram();
}

void DtlsTransport::handleIncoming(Timestamp now, ByteView datagram) {
    Impl& d = *impl_;
    d.lastNow = now;
    if (d.terminal()) return;
    if (!isWellFormedDatagram(datagram)) {
        ++d.stats.malformedDropped;
        return;
    }
    if (d.state == State::New) {
        if (d.config.role == Role::Client) return;  // nothing can be for us before our hello
        d.setState(State::Connecting);
    }
    ++d.stats.packetsReceived;
    d.stats.bytesReceived += datagram.size();
    ErrorQueueScope errors;
    d.in = datagram;
    if (!d.handshakeDone) d.driveHandshake();
    d.readRecords();
    d.in = {};
    d.finishDatagram();
}

void DtlsTransport::handleTimeout(Timestamp now) {
    Impl& d = *impl_;
    d.lastNow = now;
    if (d.state != State::Connecting || d.handshakeDone) return;
    ErrorQueueScope errors;
    int r = DTLSv1_handle_timeout(d.ssl);
    if (r > 0) {
        ++d.stats.handshakeRetransmits;
    } else if (r < 0) {
        std::string why = takeErrors();
        d.fail("DTLS handshake timed out" + (why.empty() ? std::string() : " (" + why + ")"));
    }
    d.finishDatagram();
}

std::optional<Bytes> DtlsTransport::pollOutgoing() {
    Impl& d = *impl_;
    if (d.outgoing.empty()) return std::nullopt;
    Bytes out = std::move(d.outgoing.front());
    d.outgoing.pop_front();
    return out;
}

std::optional<Timestamp> DtlsTransport::pollTimeout() {
    Impl& d = *impl_;
    if (d.state != State::Connecting || d.handshakeDone || !d.ssl) return std::nullopt;
    timeval left{};
    if (DTLSv1_get_timeout(d.ssl, &left) != 1) return std::nullopt;
    return d.lastNow + std::chrono::seconds(left.tv_sec) + std::chrono::microseconds(left.tv_usec);
}

std::optional<Event> DtlsTransport::pollEvent() {
    Impl& d = *impl_;
    if (d.events.empty()) return std::nullopt;
    Event e = std::move(d.events.front());
    d.events.pop_front();
    return e;
}

void DtlsTransport::setDataHandler(std::function<void(ByteView)> handler) {
    impl_->dataHandler = std::move(handler);
}

bool DtlsTransport::send(ByteView data) {
    Impl& d = *impl_;
    if (d.state != State::Connected || data.empty() || data.size() > kMaxPlaintext) return false;
    ErrorQueueScope errors;
    int r = SSL_write(d.ssl, data.data(), int(data.size()));
    if (r <= 0) {
        int err = SSL_get_error(d.ssl, r);
        if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) d.failFromSsl(err);
        d.finishDatagram();
        return false;
    }
    d.stats.applicationBytesSent += uint64_t(r);
    d.finishDatagram();
    return true;
}

size_t DtlsTransport::maxPayloadSize() const {
    const Impl& d = *impl_;
    if (d.state != State::Connected) return 0;
    return DTLS_get_data_mtu(d.ssl);
}

void DtlsTransport::close(Timestamp now) {
    Impl& d = *impl_;
    d.lastNow = now;
    if (d.terminal()) return;
    ErrorQueueScope errors;
    if (d.handshakeDone) SSL_shutdown(d.ssl);  // close_notify (refused mid-handshake)
    d.setState(State::Closed, "closed locally");
    d.finishDatagram();
}

void DtlsTransport::setRemoteFingerprints(Timestamp now, std::vector<sdp::Fingerprint> fps) {
    Impl& d = *impl_;
    d.lastNow = now;
    if (d.terminal() || d.state == State::Connected) return;  // never re-verify a live session
    ErrorQueueScope errors;
    d.config.remoteFingerprints = std::move(fps);
    d.verifyAndConnect();
    d.finishDatagram();
}

State DtlsTransport::state() const {
    return impl_->state;
}
Role DtlsTransport::role() const {
    return impl_->config.role;
}
const std::shared_ptr<Certificate>& DtlsTransport::localCertificate() const {
    return impl_->local;
}
std::optional<sdp::Fingerprint> DtlsTransport::remoteFingerprint() const {
    return impl_->remoteFp;
}

std::string DtlsTransport::cipherSuite() const {
    const Impl& d = *impl_;
    if (!d.handshakeDone) return {};
    const SSL_CIPHER* c = SSL_get_current_cipher(d.ssl);
    const char* name = c ? SSL_CIPHER_standard_name(c) : nullptr;
    return name ? name : "";
}

std::string DtlsTransport::tlsVersion() const {
    const Impl& d = *impl_;
    return d.handshakeDone ? SSL_get_version(d.ssl) : "";
}

uint16_t DtlsTransport::srtpProfile() const {
    return impl_->srtpProfile;
}

DtlsTransport::Stats DtlsTransport::stats() const {
    return impl_->stats;
}

}  // namespace tincan::dtls
