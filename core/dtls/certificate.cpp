#include "core/dtls/certificate.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>

#include "core/common/random.hpp"

namespace tincan::dtls {

namespace {

// RFC 8122 §5 names (RFC 3279/4055). md2/md5 are deliberately absent: too weak to verify with.
const EVP_MD* digestFor(std::string_view algorithm) {
    if (algorithm == "sha-256") return EVP_sha256();
    if (algorithm == "sha-1") return EVP_sha1();
    if (algorithm == "sha-224") return EVP_sha224();
    if (algorithm == "sha-384") return EVP_sha384();
    if (algorithm == "sha-512") return EVP_sha512();
    return nullptr;
}

std::string drainErrors(std::string_view what) {
    std::string out(what);
    char buf[256];
    bool first = true;
    while (unsigned long e = ERR_get_error()) {
        ERR_error_string_n(e, buf, sizeof buf);
        out += first ? ": " : "; ";
        out += buf;
        first = false;
    }
    return out;
}

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

struct BnFree {
    void operator()(BIGNUM* b) const { BN_free(b); }
};

// Refuses to prompt on the terminal for a passphrase (OpenSSL's default for encrypted keys).
int noPassphrase(char*, int, int, void*) {
    return -1;
}

}  // namespace

void Certificate::X509Deleter::operator()(X509* x) const {
    X509_free(x);
}
void Certificate::KeyDeleter::operator()(EVP_PKEY* k) const {
    EVP_PKEY_free(k);
}

Certificate::Certificate(std::unique_ptr<X509, X509Deleter> cert,
                         std::unique_ptr<EVP_PKEY, KeyDeleter> key)
    : cert_(std::move(cert)), key_(std::move(key)) {}

Certificate::~Certificate() = default;

std::shared_ptr<Certificate> Certificate::generate() {
    ERR_clear_error();
    std::unique_ptr<EVP_PKEY, KeyDeleter> key(EVP_EC_gen("P-256"));
    std::unique_ptr<X509, X509Deleter> cert(X509_new());
    std::unique_ptr<BIGNUM, BnFree> serial(BN_new());
    if (!key || !cert || !serial) {
        ERR_clear_error();
        return nullptr;
    }
    Random random;
    uint8_t cnBytes[8];
    random.fill(cnBytes);
    std::string cn = "tincan-" + toHex(cnBytes);

    X509* x = cert.get();
    X509_NAME* name = X509_get_subject_name(x);
    bool ok = X509_set_version(x, X509_VERSION_3) == 1 &&
              BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) == 1 &&
              BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x)) != nullptr &&
              X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                         reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                         0) == 1 &&
              X509_set_issuer_name(x, name) == 1 &&
              X509_gmtime_adj(X509_getm_notBefore(x), -24L * 3600) != nullptr &&
              X509_gmtime_adj(X509_getm_notAfter(x), 30L * 24 * 3600) != nullptr &&
              X509_set_pubkey(x, key.get()) == 1 && X509_sign(x, key.get(), EVP_sha256()) > 0;
    ERR_clear_error();
    if (!ok) return nullptr;
    return std::shared_ptr<Certificate>(new Certificate(std::move(cert), std::move(key)));
}

std::string Certificate::toPem() const {
    ERR_clear_error();
    BioPtr bio(BIO_new(BIO_s_mem()));
    if (!bio || PEM_write_bio_X509(bio.get(), cert_.get()) != 1 ||
        PEM_write_bio_PrivateKey(bio.get(), key_.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
            1) {
        ERR_clear_error();
        return {};
    }
    char* data = nullptr;
    long n = BIO_get_mem_data(bio.get(), &data);
    return n > 0 ? std::string(data, size_t(n)) : std::string();
}

Result<std::shared_ptr<Certificate>> Certificate::fromPem(std::string_view pem) {
    auto fail = [&](std::string_view what) -> Result<std::shared_ptr<Certificate>> {
        return Error{drainErrors(what)};
    };
    ERR_clear_error();
    if (pem.size() > 1 << 20) return fail("PEM text too large");
    // A fresh read-only BIO for each object: the readers skip PEM blocks of other types.
    BioPtr certBio(BIO_new_mem_buf(pem.data(), int(pem.size())));
    BioPtr keyBio(BIO_new_mem_buf(pem.data(), int(pem.size())));
    if (!certBio || !keyBio) return fail("BIO_new_mem_buf");
    std::unique_ptr<X509, X509Deleter> cert(
        PEM_read_bio_X509(certBio.get(), nullptr, noPassphrase, nullptr));
    if (!cert) return fail("no readable CERTIFICATE in the PEM text");
    std::unique_ptr<EVP_PKEY, KeyDeleter> key(
        PEM_read_bio_PrivateKey(keyBio.get(), nullptr, noPassphrase, nullptr));
    if (!key) return fail("no readable (unencrypted) PRIVATE KEY in the PEM text");
    if (X509_check_private_key(cert.get(), key.get()) != 1)
        return fail("the private key does not belong to the certificate");
    ERR_clear_error();
    return std::shared_ptr<Certificate>(new Certificate(std::move(cert), std::move(key)));
}

std::optional<sdp::Fingerprint> fingerprintOf(const X509* cert, std::string_view algorithm) {
    const EVP_MD* md = digestFor(algorithm);
    if (!md || !cert) return std::nullopt;
    unsigned char buf[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (X509_digest(cert, md, buf, &n) != 1) {
        ERR_clear_error();
        return std::nullopt;
    }
    return sdp::Fingerprint{std::string(algorithm), Bytes(buf, buf + n)};
}

sdp::Fingerprint Certificate::fingerprint(std::string_view algorithm) const {
    if (auto fp = fingerprintOf(cert_.get(), algorithm)) return std::move(*fp);
    return sdp::Fingerprint{std::string(algorithm), {}};
}

std::chrono::system_clock::time_point Certificate::notAfter() const {
    std::tm tm{};
    if (ASN1_TIME_to_tm(X509_get0_notAfter(cert_.get()), &tm) != 1) {
        ERR_clear_error();
        return {};
    }
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace tincan::dtls
