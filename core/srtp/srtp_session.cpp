#include "core/srtp/srtp_session.hpp"

#include <srtp2/srtp.h>

#include <cstring>
#include <mutex>

namespace tincan::srtp {
namespace {

// RFC 3711 §3.4: SRTCP adds a 4-byte E+index word before the tag.
constexpr size_t kMaxRtcpTrailer = SRTP_MAX_TRAILER_LEN + 4;
constexpr size_t kMinRtpSize = 12;
constexpr size_t kMinRtcpSize = 8;

Result<void> initLibrary() {
    static std::once_flag once;
    static srtp_err_status_t status = srtp_err_status_ok;
    std::call_once(once, [] {
        status = srtp_init();
        if (status != srtp_err_status_ok) return;
        // Debian's libsrtp2 uses NSS for its ciphers: every cipher opens an NSS context, and
        // closing the last one shuts NSS down and unloads its modules, so the next session would
        // load and initialise NSS again (milliseconds, and what made the fuzzer run 150 inputs a
        // second). One session kept for the life of the process keeps NSS loaded.
        static srtp_t keepAlive = nullptr;
        uint8_t material[SRTP_MAX_KEY_LEN] = {1};
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof policy);
        srtp_crypto_policy_set_rtp_default(&policy.rtp);
        srtp_crypto_policy_set_rtcp_default(&policy.rtcp);
        policy.ssrc.type = ssrc_any_inbound;
        policy.key = material;
        if (srtp_create(&keepAlive, &policy) != srtp_err_status_ok) keepAlive = nullptr;
    });
    if (status != srtp_err_status_ok)
        return Error{"srtp_init failed: " + std::to_string(int(status))};
    return {};
}

struct ProfileInfo {
    size_t keyLen;
    size_t saltLen;
    void (*setRtp)(srtp_crypto_policy_t*);
    void (*setRtcp)(srtp_crypto_policy_t*);
};

// RFC 5764 §4.1.2 and RFC 7714 §14.2: the cipher and lengths per DTLS-SRTP profile. For
// AES_CM_128_HMAC_SHA1_32 the RTCP tag stays 80 bits (RFC 5764 §4.1.2).
std::optional<ProfileInfo> profileInfo(uint16_t profile) {
    switch (profile) {
        case dtls::kSrtpAes128CmSha1_80:
            return ProfileInfo{16, 14, srtp_crypto_policy_set_rtp_default,
                               srtp_crypto_policy_set_rtcp_default};
        case dtls::kSrtpAes128CmSha1_32:
            return ProfileInfo{16, 14, srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32,
                               srtp_crypto_policy_set_rtcp_default};
        case dtls::kSrtpAeadAes128Gcm:
            return ProfileInfo{16, 12, srtp_crypto_policy_set_aes_gcm_128_16_auth,
                               srtp_crypto_policy_set_aes_gcm_128_16_auth};
        case dtls::kSrtpAeadAes256Gcm:
            return ProfileInfo{32, 12, srtp_crypto_policy_set_aes_gcm_256_16_auth,
                               srtp_crypto_policy_set_aes_gcm_256_16_auth};
        default:
            return std::nullopt;
    }
}

}  // namespace

struct SrtpSession::Contexts {
    srtp_t outbound = nullptr;
    srtp_t inbound = nullptr;
    ~Contexts() {
        if (outbound) srtp_dealloc(outbound);
        if (inbound) srtp_dealloc(inbound);
    }
};

void SrtpSession::prepare() {
    (void)initLibrary();  // a failure is reported by create()
}

SrtpSession::SrtpSession(uint16_t profile, std::unique_ptr<Contexts> contexts)
    : profile_(profile), ctx_(std::move(contexts)) {}

SrtpSession::~SrtpSession() = default;

Result<std::unique_ptr<SrtpSession>> SrtpSession::create(const dtls::SrtpKeyingMaterial& keys,
                                                         dtls::Role localRole, Config config) {
    if (auto init = initLibrary(); !init) return init.error();
    auto info = profileInfo(keys.profile);
    if (!info) return Error{"unsupported SRTP profile " + std::to_string(keys.profile)};
    for (const Bytes* k : {&keys.clientKey, &keys.serverKey})
        if (k->size() != info->keyLen)
            return Error{"SRTP master key length does not match the profile"};
    for (const Bytes* s : {&keys.clientSalt, &keys.serverSalt})
        if (s->size() != info->saltLen)
            return Error{"SRTP master salt length does not match the profile"};

    const bool client = localRole == dtls::Role::Client;
    auto contexts = std::make_unique<Contexts>();
    auto make = [&](const Bytes& key, const Bytes& salt, srtp_ssrc_type_t direction,
                    srtp_t* out) -> Result<void> {
        // libsrtp takes the master key followed by the master salt in one buffer.
        uint8_t material[SRTP_MAX_KEY_LEN] = {};
        std::memcpy(material, key.data(), key.size());
        std::memcpy(material + key.size(), salt.data(), salt.size());
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof policy);
        info->setRtp(&policy.rtp);
        info->setRtcp(&policy.rtcp);
        policy.ssrc.type = direction;
        policy.key = material;
        policy.window_size = config.replayWindow;
        // Plain (non-RTX) retransmissions resend the same sequence number.
        policy.allow_repeat_tx = 1;
        policy.next = nullptr;
        srtp_err_status_t st = srtp_create(out, &policy);
        std::memset(material, 0, sizeof material);
        if (st != srtp_err_status_ok)
            return Error{"srtp_create failed: " + std::to_string(int(st))};
        return {};
    };
    if (auto r = make(client ? keys.clientKey : keys.serverKey,
                      client ? keys.clientSalt : keys.serverSalt, ssrc_any_outbound,
                      &contexts->outbound);
        !r)
        return r.error();
    if (auto r =
            make(client ? keys.serverKey : keys.clientKey,
                 client ? keys.serverSalt : keys.clientSalt, ssrc_any_inbound, &contexts->inbound);
        !r)
        return r.error();
    return std::unique_ptr<SrtpSession>(new SrtpSession(keys.profile, std::move(contexts)));
}

void SrtpSession::countFailure(int status) {
    switch (status) {
        case srtp_err_status_replay_fail:
        case srtp_err_status_replay_old:
            ++stats_.replayDropped;
            break;
        case srtp_err_status_auth_fail:
            ++stats_.authFailed;
            break;
        default:
            ++stats_.otherDropped;
            break;
    }
}

bool SrtpSession::protectRtp(Bytes& packet) {
    if (packet.size() < kMinRtpSize) {
        ++stats_.otherDropped;
        return false;
    }
    int len = int(packet.size());
    packet.resize(packet.size() + SRTP_MAX_TRAILER_LEN);
    srtp_err_status_t st = srtp_protect(ctx_->outbound, packet.data(), &len);
    if (st != srtp_err_status_ok) {
        packet.resize(packet.size() - SRTP_MAX_TRAILER_LEN);
        countFailure(st);
        return false;
    }
    packet.resize(size_t(len));
    ++stats_.rtpProtected;
    return true;
}

bool SrtpSession::protectRtcp(Bytes& packet) {
    if (packet.size() < kMinRtcpSize) {
        ++stats_.otherDropped;
        return false;
    }
    int len = int(packet.size());
    packet.resize(packet.size() + kMaxRtcpTrailer);
    srtp_err_status_t st = srtp_protect_rtcp(ctx_->outbound, packet.data(), &len);
    if (st != srtp_err_status_ok) {
        packet.resize(packet.size() - kMaxRtcpTrailer);
        countFailure(st);
        return false;
    }
    packet.resize(size_t(len));
    ++stats_.rtcpProtected;
    return true;
}

std::optional<size_t> SrtpSession::unprotectRtp(std::span<uint8_t> packet) {
    if (packet.size() < kMinRtpSize) {
        ++stats_.otherDropped;
        return std::nullopt;
    }
    int len = int(packet.size());
    srtp_err_status_t st = srtp_unprotect(ctx_->inbound, packet.data(), &len);
    if (st != srtp_err_status_ok) {
        countFailure(st);
        return std::nullopt;
    }
    ++stats_.rtpUnprotected;
    return size_t(len);
}

std::optional<size_t> SrtpSession::unprotectRtcp(std::span<uint8_t> packet) {
    if (packet.size() < kMinRtcpSize) {
        ++stats_.otherDropped;
        return std::nullopt;
    }
    int len = int(packet.size());
    srtp_err_status_t st = srtp_unprotect_rtcp(ctx_->inbound, packet.data(), &len);
    if (st != srtp_err_status_ok) {
        countFailure(st);
        return std::nullopt;
    }
    ++stats_.rtcpUnprotected;
    return size_t(len);
}

bool SrtpSession::unprotectRtpInto(ByteView packet, Bytes& out) {
    out.assign(packet.begin(), packet.end());
    auto n = unprotectRtp(out);
    out.resize(n.value_or(0));
    return n.has_value();
}

bool SrtpSession::unprotectRtcpInto(ByteView packet, Bytes& out) {
    out.assign(packet.begin(), packet.end());
    auto n = unprotectRtcp(out);
    out.resize(n.value_or(0));
    return n.has_value();
}

}  // namespace tincan::srtp
