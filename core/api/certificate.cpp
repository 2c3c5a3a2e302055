#include "tincan/certificate.hpp"

#include "core/dtls/certificate.hpp"

namespace tincan {

Result<std::shared_ptr<Certificate>> Certificate::generate() {
    auto cert = dtls::Certificate::generate();
    if (!cert) return Error{"cannot generate a DTLS certificate (OpenSSL failed)"};
    return std::make_shared<Certificate>(std::move(cert));
}

Result<std::shared_ptr<Certificate>> Certificate::fromPem(const std::string& pem) {
    auto cert = dtls::Certificate::fromPem(pem);
    if (!cert) return Error{"bad certificate: " + cert.message()};
    return std::make_shared<Certificate>(std::move(*cert));
}

std::string Certificate::toPem() const {
    return impl_->toPem();
}

std::string Certificate::fingerprint() const {
    return impl_->fingerprint("sha-256").toString();
}

}  // namespace tincan
