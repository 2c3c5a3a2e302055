// TLS on a stream (RFC 8446 / 5246 via OpenSSL) over memory BIOs, so nothing blocks the loop:
// bytes read from the socket go into the read BIO, and whatever OpenSSL writes (handshake
// flights, records, alerts) is taken from the write BIO into the stream's output buffer.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

namespace {

std::string opensslErrors() {
    std::string out;
    char buf[256];
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out.empty() ? std::string("unknown TLS error") : out;
}

using SslCtxPtr = std::shared_ptr<SSL_CTX>;

// Trust anchors: the system store plus the given PEM files.
Result<SslCtxPtr> makeClientContext(const std::vector<std::string>& caFiles) {
    ERR_clear_error();
    SSL_CTX* raw = SSL_CTX_new(TLS_client_method());
    if (!raw) return Error{"SSL_CTX_new: " + opensslErrors()};
    SslCtxPtr ctx(raw, SSL_CTX_free);
    SSL_CTX_set_min_proto_version(raw, TLS1_2_VERSION);
    if (SSL_CTX_set_default_verify_paths(raw) != 1) {
        spdlog::warn("net: TLS: cannot use the system certificate store: {}", opensslErrors());
    }
    for (const auto& file : caFiles) {
        if (file.empty()) continue;
        if (SSL_CTX_load_verify_locations(raw, file.c_str(), nullptr) != 1)
            return Error{"cannot load CA file " + file + ": " + opensslErrors()};
    }
    return ctx;
}

}  // namespace

Result<void> Runtime::Impl::checkCaFile(const std::string& caFile) {
    ERR_clear_error();
    X509_STORE* store = X509_STORE_new();
    bool ok = store && X509_STORE_load_file(store, caFile.c_str()) == 1;
    X509_STORE_free(store);
    if (!ok) return Error{"cannot load CA file " + caFile + ": " + opensslErrors()};
    return {};
}

void Runtime::Impl::freeTls(Stream& s) {
    if (!s.ssl) return;
    SSL_free(s.ssl);
    s.ssl = nullptr;
    s.rbio = s.wbio = nullptr;
}

Runtime::Impl::TlsContext& Runtime::Impl::requestTlsContext(const std::string& caFile) {
    auto [it, inserted] = tlsContexts.try_emplace(caFile);
    if (inserted) {
        std::vector<std::string> files{config.defaultCaFile, caFile};
        tlsLoaders.emplace_back([this, caFile, files] {
            auto made = makeClientContext(files);
            SslCtxPtr ctx = made ? *made : nullptr;
            enqueue([this, caFile, ctx, error = made.message()] {
                onTlsContextReady(caFile, ctx, error);
            });
        });
    }
    return it->second;
}

void Runtime::Impl::onTlsContextReady(const std::string& caFile, SslCtxPtr ctx, std::string error) {
    TlsContext& c = tlsContexts[caFile];
    if (!ctx) spdlog::error("net: TLS: {}", error);
    c.ctx = std::move(ctx);
    c.error = std::move(error);
    c.ready = true;
    for (uint64_t token : std::exchange(c.waiting, {})) {
        auto it = streams.find(token);
        if (it == streams.end()) continue;
        Stream& s = *it->second;
        if (s.fd >= 0 && s.phase == Phase::Handshaking && !s.ssl) startTls(s);
    }
}

void Runtime::Impl::startTls(Stream& s) {
    TlsContext& c = requestTlsContext(s.tls.caFile);
    if (!c.ready) {
        c.waiting.push_back(s.token);
        return;
    }
    std::string error;
    if (!c.ctx)
        error = c.error;
    else if (auto setup = setupTls(s, c.ctx.get()); !setup)
        error = "TLS setup: " + setup.message();
    if (!error.empty()) {
        endStream(s, error);
        return;
    }
    tlsHandshake(s);
}

Result<void> Runtime::Impl::setupTls(Stream& s, SSL_CTX* ctx) {
    const TlsOptions& options = s.tls;
    ERR_clear_error();
    s.ssl = SSL_new(ctx);
    BIO* rbio = BIO_new(BIO_s_mem());
    BIO* wbio = BIO_new(BIO_s_mem());
    if (!s.ssl || !rbio || !wbio) {
        BIO_free(rbio);
        BIO_free(wbio);
        return Error{"SSL_new: " + opensslErrors()};
    }
    BIO_set_mem_eof_return(rbio, -1);  // empty means "want more", not EOF
    SSL_set_bio(s.ssl, rbio, wbio);
    s.rbio = rbio;
    s.wbio = wbio;
    SSL_set_connect_state(s.ssl);

    std::string identity = options.serverName;
    std::optional<IpAddress> ipIdentity =
        identity.empty() ? std::optional<IpAddress>(s.remote.ip) : IpAddress::parse(identity);
    if (!ipIdentity && SSL_set_tlsext_host_name(s.ssl, identity.c_str()) != 1) {
        return Error{"invalid TLS server name"};
    }
    if (!options.verifyPeer) {
        spdlog::warn("net: TLS to {}: certificate verification is off", s.remote.toString());
        SSL_set_verify(s.ssl, SSL_VERIFY_NONE, nullptr);
        return {};
    }
    SSL_set_verify(s.ssl, SSL_VERIFY_PEER, nullptr);
    bool ok = ipIdentity ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(s.ssl),
                                                         ipIdentity->toString().c_str()) == 1
                         : SSL_set1_host(s.ssl, identity.c_str()) == 1;
    if (!ok) {
        return Error{"cannot set the TLS identity to verify: " + opensslErrors()};
    }
    return {};
}

bool Runtime::Impl::tlsReceive(Stream& s, ByteView chunk) {
    if (!s.ssl) {  // the server spoke first, before our ClientHello
        endStream(s, "TLS: unexpected data before the handshake");
        return false;
    }
    if (BIO_write(s.rbio, chunk.data(), int(chunk.size())) != int(chunk.size())) {
        endStream(s, "TLS: BIO_write failed");
        return false;
    }
    if (s.phase == Phase::Handshaking)
        tlsHandshake(s);
    else
        tlsReadApp(s);
    return true;
}

void Runtime::Impl::tlsShutdown(Stream& s) {
    if (!s.ssl) return;
    ERR_clear_error();
    SSL_shutdown(s.ssl);  // queues close_notify
    takeTlsOutput(s);
}

void Runtime::Impl::takeTlsOutput(Stream& s) {
    size_t pending = BIO_ctrl_pending(s.wbio);
    if (pending == 0) return;
    size_t old = s.out.size();
    s.out.resize(old + pending);
    int n = BIO_read(s.wbio, s.out.data() + old, int(pending));
    s.out.resize(old + size_t(std::max(n, 0)));
}

void Runtime::Impl::tlsHandshake(Stream& s) {
    ERR_clear_error();
    int r = SSL_do_handshake(s.ssl);
    int err = SSL_get_error(s.ssl, r);
    std::string why;
    if (r != 1 && err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
        long verify = SSL_get_verify_result(s.ssl);
        why = verify != X509_V_OK ? std::string("certificate verification failed: ") +
                                        X509_verify_cert_error_string(verify)
                                  : opensslErrors();
    }
    takeTlsOutput(s);  // the next flight, or the alert that tells the server why
    flushOut(s);
    if (s.fd < 0) return;
    if (!why.empty()) {
        endStream(s, "TLS handshake: " + why);
        return;
    }
    if (r != 1) return;

    s.phase = Phase::Open;
    s.wasOpen = true;
    spdlog::debug("net: TLS stream -> {} up ({}, {})", s.remote.toString(), SSL_get_version(s.ssl),
                  SSL_get_cipher_name(s.ssl));
    notifyStream(s.owner, s.protocol, s.localIp, s.remote, StreamState::Connected);
    if (s.fd < 0 || s.phase != Phase::Open) return;
    if (!s.pendingPlain.empty()) {
        Bytes plain = std::move(s.pendingPlain);
        s.pendingPlain.clear();
        tlsWrite(s, plain);
        if (s.fd < 0 || s.phase != Phase::Open) return;
    }
    tlsReadApp(s);  // application data that came with the server's last flight
}

void Runtime::Impl::tlsReadApp(Stream& s) {
    while (s.fd >= 0 && s.phase == Phase::Open) {
        ERR_clear_error();
        int n = SSL_read(s.ssl, plainRx.data(), int(plainRx.size()));
        if (n > 0) {
            deliverStreamData(s, ByteView(plainRx.data(), size_t(n)));
            continue;
        }
        int err = SSL_get_error(s.ssl, n);
        std::string why = err == SSL_ERROR_ZERO_RETURN || err == SSL_ERROR_WANT_READ
                              ? std::string()
                              : opensslErrors();
        takeTlsOutput(s);  // e.g. a KeyUpdate answer
        flushOut(s);
        if (s.fd < 0) return;
        if (err == SSL_ERROR_WANT_READ) return;
        if (err == SSL_ERROR_ZERO_RETURN) {
            onPeerClosed(s);
            return;
        }
        endStream(s, "TLS: " + why);
        return;
    }
}

void Runtime::Impl::tlsWrite(Stream& s, ByteView data) {
    ERR_clear_error();
    // A memory BIO takes everything, so SSL_write either writes all of it or fails.
    int n = SSL_write(s.ssl, data.data(), int(data.size()));
    if (n <= 0) {
        endStream(s, "TLS write: " + opensslErrors());
        return;
    }
    takeTlsOutput(s);
    if (!checkBufferLimit(s)) return;
    flushOut(s);
}

}  // namespace tincan::net
