// The SDP model's helpers: enum names, fingerprints, effective values, equality.
#include "core/sdp/sdp.hpp"

#include <fmt/format.h>

#include "core/sdp/text.hpp"

namespace tincan::sdp {

const char* toString(Setup s) {
    switch (s) {
        case Setup::ActPass:
            return "actpass";
        case Setup::Active:
            return "active";
        case Setup::Passive:
            return "passive";
        case Setup::HoldConn:
            return "holdconn";
    }
    return "?";
}

std::optional<Setup> parseSetup(std::string_view s) {
    if (s == "actpass") return Setup::ActPass;
    if (s == "active") return Setup::Active;
    if (s == "passive") return Setup::Passive;
    if (s == "holdconn") return Setup::HoldConn;
    return std::nullopt;
}

const char* toString(Direction d) {
    switch (d) {
        case Direction::SendRecv:
            return "sendrecv";
        case Direction::SendOnly:
            return "sendonly";
        case Direction::RecvOnly:
            return "recvonly";
        case Direction::Inactive:
            return "inactive";
    }
    return "?";
}

std::optional<Direction> parseDirection(std::string_view s) {
    if (s == "sendrecv") return Direction::SendRecv;
    if (s == "sendonly") return Direction::SendOnly;
    if (s == "recvonly") return Direction::RecvOnly;
    if (s == "inactive") return Direction::Inactive;
    return std::nullopt;
}

std::optional<size_t> digestLength(std::string_view algorithm) {
    // RFC 8122 §5 hash function textual names (RFC 3279/4055).
    if (algorithm == "sha-1") return 20;
    if (algorithm == "sha-224") return 28;
    if (algorithm == "sha-256") return 32;
    if (algorithm == "sha-384") return 48;
    if (algorithm == "sha-512") return 64;
    if (algorithm == "md5" || algorithm == "md2") return 16;
    return std::nullopt;
}

std::string Fingerprint::toString() const {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string s = algorithm;
    s.reserve(algorithm.size() + 1 + digest.size() * 3);
    for (size_t i = 0; i < digest.size(); ++i) {
        s.push_back(i == 0 ? ' ' : ':');
        s.push_back(kHex[digest[i] >> 4]);
        s.push_back(kHex[digest[i] & 15]);
    }
    return s;
}

uint16_t MediaSection::sctpPortOrDefault() const {
    if (sctpPort) return *sctpPort;
    uint16_t legacy = 0;
    // draft-ietf-mmusic-sctp-sdp-05, still sent by aiortc: "m=application 9 DTLS/SCTP 5000".
    if (protocol == "DTLS/SCTP" && !formats.empty() && detail::parseNumber(formats[0], legacy) &&
        legacy != 0)
        return legacy;
    return 5000;
}

const RtpMap* MediaSection::findRtpMap(int payloadType) const {
    for (const auto& r : rtpmaps)
        if (r.payloadType == payloadType) return &r;
    return nullptr;
}

namespace {

bool sameCandidate(const ice::Candidate& a, const ice::Candidate& b) {
    return a.foundation == b.foundation && a.component == b.component &&
           a.transport == b.transport && a.priority == b.priority && a.address == b.address &&
           a.hostname == b.hostname && a.type == b.type && a.related == b.related &&
           a.tcpType == b.tcpType && a.base == b.base && a.relayProtocol == b.relayProtocol &&
           a.url == b.url;
}

}  // namespace

bool MediaSection::operator==(const MediaSection& o) const {
    if (candidates.size() != o.candidates.size()) return false;
    for (size_t i = 0; i < candidates.size(); ++i)
        if (!sameCandidate(candidates[i], o.candidates[i])) return false;
    return kind == o.kind && port == o.port && portCount == o.portCount && protocol == o.protocol &&
           formats == o.formats && connection == o.connection && bandwidths == o.bandwidths &&
           mid == o.mid && bundleOnly == o.bundleOnly && iceUfrag == o.iceUfrag &&
           icePwd == o.icePwd && iceTrickle == o.iceTrickle && iceOptions == o.iceOptions &&
           fingerprint == o.fingerprint && additionalFingerprints == o.additionalFingerprints &&
           setup == o.setup && endOfCandidates == o.endOfCandidates && sctpPort == o.sctpPort &&
           maxMessageSize == o.maxMessageSize && sackEvery == o.sackEvery &&
           direction == o.direction && rtcpMux == o.rtcpMux && rtcpMuxOnly == o.rtcpMuxOnly &&
           rtcpRsize == o.rtcpRsize && rtpmaps == o.rtpmaps && fmtp == o.fmtp &&
           rtcpFb == o.rtcpFb && extmaps == o.extmaps && ssrcs == o.ssrcs &&
           ssrcGroups == o.ssrcGroups && msids == o.msids && extraAttributes == o.extraAttributes;
}

bool SessionDescription::operator==(const SessionDescription& o) const {
    return originUsername == o.originUsername && sessionId == o.sessionId &&
           sessionVersion == o.sessionVersion && originAddressType == o.originAddressType &&
           originAddress == o.originAddress && sessionName == o.sessionName &&
           startTime == o.startTime && stopTime == o.stopTime && connection == o.connection &&
           bandwidths == o.bandwidths && bundleGroup == o.bundleGroup &&
           extmapAllowMixed == o.extmapAllowMixed && msidSemantic == o.msidSemantic &&
           iceLite == o.iceLite && sessionIce == o.sessionIce && iceTrickle == o.iceTrickle &&
           iceOptions == o.iceOptions && sessionFingerprint == o.sessionFingerprint &&
           additionalSessionFingerprints == o.additionalSessionFingerprints &&
           sessionSetup == o.sessionSetup && media == o.media &&
           extraSessionAttributes == o.extraSessionAttributes;
}

const MediaSection* SessionDescription::findByMid(std::string_view mid) const {
    for (const auto& m : media)
        if (m.mid == mid) return &m;
    return nullptr;
}

MediaSection* SessionDescription::findByMid(std::string_view mid) {
    for (auto& m : media)
        if (m.mid == mid) return &m;
    return nullptr;
}

std::optional<IceParams> SessionDescription::effectiveIce(const MediaSection& m) const {
    IceParams p;
    if (m.iceUfrag)
        p.ufrag = *m.iceUfrag;
    else if (sessionIce)
        p.ufrag = sessionIce->ufrag;
    if (m.icePwd)
        p.pwd = *m.icePwd;
    else if (sessionIce)
        p.pwd = sessionIce->pwd;
    if (p.ufrag.empty() || p.pwd.empty()) return std::nullopt;
    return p;
}

bool SessionDescription::effectiveIceTrickle(const MediaSection& m) const {
    return m.iceTrickle || iceTrickle;
}

std::optional<Fingerprint> SessionDescription::effectiveFingerprint(const MediaSection& m) const {
    return m.fingerprint ? m.fingerprint : sessionFingerprint;
}

std::vector<Fingerprint> SessionDescription::effectiveFingerprints(const MediaSection& m) const {
    std::vector<Fingerprint> out;
    const auto& first = m.fingerprint ? m.fingerprint : sessionFingerprint;
    const auto& more = m.fingerprint ? m.additionalFingerprints : additionalSessionFingerprints;
    if (first) out.push_back(*first);
    out.insert(out.end(), more.begin(), more.end());
    return out;
}

std::optional<Setup> SessionDescription::effectiveSetup(const MediaSection& m) const {
    return m.setup ? m.setup : sessionSetup;
}

SessionDescription makeDataChannelDescription(uint64_t sessionId, uint64_t sessionVersion,
                                              const DataChannelParams& params) {
    SessionDescription d;
    d.sessionId = sessionId;
    d.sessionVersion = sessionVersion;
    d.bundleGroup = {params.mid};
    MediaSection m;  // m=application 9 UDP/DTLS/SCTP webrtc-datachannel, c=IN IP4 0.0.0.0
    m.mid = params.mid;
    m.iceUfrag = params.ice.ufrag;
    m.icePwd = params.ice.pwd;
    m.iceTrickle = true;
    m.fingerprint = params.fingerprint;
    m.setup = params.setup;
    m.sctpPort = params.sctpPort;
    m.maxMessageSize = params.maxMessageSize;
    d.media.push_back(std::move(m));
    return d;
}

}  // namespace tincan::sdp
