// A DTLS identity: a key pair and the self-signed X.509 certificate WebRTC peers present to
// each other. Nobody checks it against a CA; the peer trusts it only because its digest matches
// the a=fingerprint in our SDP (RFC 8827 §6.5, RFC 8122 §5).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/sdp/sdp.hpp"
#include "tincan/result.hpp"

// OpenSSL's own typedefs (openssl/types.h), repeated so this header needs no OpenSSL include.
typedef struct x509_st X509;
typedef struct evp_pkey_st EVP_PKEY;

namespace tincan::dtls {

class Certificate {
public:
    // A fresh ECDSA P-256 key and a self-signed certificate for it: random 64-bit serial,
    // random CN, valid from a day ago (clock skew) for 30 days. nullptr only if OpenSSL fails.
    static std::shared_ptr<Certificate> generate();

    // PEM of the certificate followed by the unencrypted PKCS#8 private key, so that an app can
    // keep one identity across runs (the fingerprint stays the same).
    std::string toPem() const;
    // Reads a certificate and its private key (any order, in one text; other PEM blocks are
    // skipped). Fails if either is missing or malformed or they do not match.
    static Result<std::shared_ptr<Certificate>> fromPem(std::string_view pem);

    // RFC 8122 §5 fingerprint: "sha-1", "sha-224", "sha-256", "sha-384" or "sha-512". For any
    // other algorithm the digest is empty.
    sdp::Fingerprint fingerprint(std::string_view algorithm = "sha-256") const;

    // The end of the validity period (an app persisting the identity regenerates it before).
    std::chrono::system_clock::time_point notAfter() const;

    // The OpenSSL objects, owned by this Certificate (used by DtlsTransport).
    X509* x509() const { return cert_.get(); }
    EVP_PKEY* privateKey() const { return key_.get(); }

    ~Certificate();
    Certificate(const Certificate&) = delete;
    Certificate& operator=(const Certificate&) = delete;

private:
    struct X509Deleter {
        void operator()(X509* x) const;
    };
    struct KeyDeleter {
        void operator()(EVP_PKEY* k) const;
    };
    Certificate(std::unique_ptr<X509, X509Deleter> cert, std::unique_ptr<EVP_PKEY, KeyDeleter> key);

    std::unique_ptr<X509, X509Deleter> cert_;
    std::unique_ptr<EVP_PKEY, KeyDeleter> key_;
};

// The RFC 8122 fingerprint of any certificate (the peer's, in DtlsTransport); nullopt for an
// unsupported algorithm (see Certificate::fingerprint) or if OpenSSL fails.
std::optional<sdp::Fingerprint> fingerprintOf(const X509* cert, std::string_view algorithm);

}  // namespace tincan::dtls
