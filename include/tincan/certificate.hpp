// A DTLS identity (key pair and self-signed certificate). Peers trust it because its
// fingerprint matches the one in our session description, not through any CA.
#pragma once

#include <memory>
#include <string>

#include "tincan/result.hpp"

namespace tincan {

namespace dtls {
class Certificate;
}

class Certificate {
public:
    // A fresh ECDSA P-256 identity, valid for 30 days.
    static Result<std::shared_ptr<Certificate>> generate();
    // The text toPem() wrote: keep one identity (and fingerprint) across runs.
    static Result<std::shared_ptr<Certificate>> fromPem(const std::string& pem);
    std::string toPem() const;
    // "sha-256 AB:CD:..." as in a=fingerprint.
    std::string fingerprint() const;

    // Core's certificate, for the layers below the apps.
    const std::shared_ptr<dtls::Certificate>& impl() const { return impl_; }
    explicit Certificate(std::shared_ptr<dtls::Certificate> impl) : impl_(std::move(impl)) {}

private:
    std::shared_ptr<dtls::Certificate> impl_;
};

}  // namespace tincan
