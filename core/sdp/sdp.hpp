// Session descriptions as WebRTC stacks exchange them: RFC 8866 syntax, used the JSEP way
// (RFC 8829), with the ICE (RFC 8839), DTLS (RFC 8122/8842), SCTP (RFC 8841), BUNDLE
// (RFC 8843) and rtcp-mux-only (RFC 8858) attributes parsed into fields. Everything else a
// browser sends (a=rtcp, a=rid, a=simulcast, a=ptime, a=sctpmap, ...) is kept verbatim, so
// that a description can be parsed, changed and written out again without losing it.
//
// parse() accepts what Chromium, Firefox and aiortc produce (CRLF or bare LF) and rejects
// malformed input with the line and the reason; it never crashes or hangs on any input.
// serialize() writes CRLF in the order Chromium uses, and parse(serialize(d)) == d for every
// parsed d (tests/fuzz/fuzz_sdp.cpp checks it) and for built models whose rtcpFb is grouped by
// codec in rtpmap order.
//
// Not kept: candidate extension attributes other than raddr/rport/tcptype (Chromium's
// generation, network-id, network-cost; ice::Candidate has no place for them), i=/u=/e=/p=/
// r=/z=/k= lines, and any t= line after the first. Unmodelled a= lines move after the
// modelled ones of their section.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/ice/candidate.hpp"
#include "tincan/result.hpp"

namespace tincan::sdp {

// Limits on what parse() accepts; browsers stay far below them.
inline constexpr size_t kMaxSdpBytes = 256 * 1024;
inline constexpr size_t kMaxMediaSections = 64;
inline constexpr size_t kMaxCandidates = 1000;  // over the whole description

// RFC 8842 §5.1 / RFC 4145 a=setup. Zero is never a valid enum value (STYLE.md).
enum class Setup : uint8_t { ActPass = 1, Active, Passive, HoldConn };
const char* toString(Setup s);  // "actpass", "active", "passive", "holdconn"
std::optional<Setup> parseSetup(std::string_view s);

// RFC 8866 §6.7 media direction.
enum class Direction : uint8_t { SendRecv = 1, SendOnly, RecvOnly, Inactive };
const char* toString(Direction d);  // "sendrecv", ...
std::optional<Direction> parseDirection(std::string_view s);

// RFC 8122 §5 a=fingerprint. The algorithm is kept in lower case ("sha-256"); unknown
// algorithms are kept too, but for md5, md2 and sha-1/224/256/384/512 the digest length is
// checked.
struct Fingerprint {
    std::string algorithm;
    Bytes digest;

    // "sha-256 AB:CD:..." (the attribute value; upper-case hex as browsers write it).
    std::string toString() const;
    bool operator==(const Fingerprint&) const = default;
};
// The digest length in bytes for a known hash function name (lower case), else nullopt.
std::optional<size_t> digestLength(std::string_view algorithm);

struct IceParams {
    std::string ufrag;
    std::string pwd;
    bool operator==(const IceParams&) const = default;
};

// a=rtpmap:<pt> <encoding>/<clock>[/<channels>]
struct RtpMap {
    int payloadType = 0;  // 0..127
    std::string encoding;
    uint32_t clockRate = 0;
    std::optional<uint16_t> channels;
    bool operator==(const RtpMap&) const = default;
};

// a=rtcp-fb:<pt|*> <type> [<parameter>] (RFC 4585 §4.2), e.g. "nack pli", "ccm fir".
struct RtcpFb {
    static constexpr int kAnyPayloadType = -1;  // "*"
    int payloadType = kAnyPayloadType;
    std::string type;       // "nack", "ccm", "goog-remb", "transport-cc", ...
    std::string parameter;  // "pli", "fir", ... or empty
    bool operator==(const RtcpFb&) const = default;
};

// a=extmap:<id>[/<direction>] <uri> [<extension attributes>] (RFC 8285 §8)
struct ExtMap {
    int id = 0;  // 1..255, or 4096..4351 (RFC 5285)
    std::string uri;
    std::optional<Direction> direction;
    std::string attributes;
    bool operator==(const ExtMap&) const = default;
};

// a=ssrc:<ssrc> <attribute>[:<value>] (RFC 5576 §4.1), e.g. "cname:x", "msid:stream track".
struct SsrcAttribute {
    uint32_t ssrc = 0;
    std::string attribute;
    std::string value;
    bool operator==(const SsrcAttribute&) const = default;
};

// a=ssrc-group:<semantics> <ssrc>... (RFC 5576 §4.2), e.g. "FID 1 2".
struct SsrcGroup {
    std::string semantics;
    std::vector<uint32_t> ssrcs;
    bool operator==(const SsrcGroup&) const = default;
};

// a=msid:<stream id> [<track id>] (RFC 8830 §2)
struct Msid {
    std::string streamId;  // "-" for a track in no stream
    std::string trackId;   // may be empty
    bool operator==(const Msid&) const = default;
};

struct MediaSection {
    std::string kind = "application";   // "audio", "video", "application", ...
    uint16_t port = 9;                  // 9 is the JSEP discard port; 0 rejects the section
    std::optional<uint16_t> portCount;  // m=<kind> <port>/<count>, almost never used
    std::string protocol = "UDP/DTLS/SCTP";
    std::vector<std::string> formats{"webrtc-datachannel"};  // payload types for RTP
    std::string connection = "IN IP4 0.0.0.0";               // the c= value
    std::vector<std::string> bandwidths;                     // b= values, "AS:30"

    std::string mid;
    bool bundleOnly = false;  // RFC 8843 §6

    std::optional<std::string> iceUfrag;
    std::optional<std::string> icePwd;
    bool iceTrickle = false;              // a=ice-options:trickle
    std::vector<std::string> iceOptions;  // other ice-options tokens, in order
    std::optional<Fingerprint> fingerprint;
    std::vector<Fingerprint> additionalFingerprints;  // RFC 8122 allows several
    std::optional<Setup> setup;
    std::vector<ice::Candidate> candidates;
    bool endOfCandidates = false;

    // RFC 8841. A legacy "DTLS/SCTP 5000" section carries its port in `formats` and an
    // a=sctpmap in `extraAttributes`; see sctpPortOrDefault().
    std::optional<uint16_t> sctpPort;
    std::optional<uint32_t> maxMessageSize;
    // Tincan's extension a=x-tincan-sack-every:N (docs/BENCHMARKS.md, "Fewer SACKs between
    // Tincan peers"): the writer, as an SCTP data sender, is content with one SACK per N packets
    // (RFC 9260 §6.2 asks for one per two). Other stacks ignore the unknown attribute. A value
    // outside 2..255 is not modelled: it stays in extraAttributes and means nothing.
    std::optional<uint8_t> sackEvery;

    Direction direction = Direction::SendRecv;
    bool rtcpMux = false;
    bool rtcpMuxOnly = false;
    bool rtcpRsize = false;
    // RTP parameters. rtcpFb is kept grouped by codec in rtpmap order (the order serialize()
    // writes it); parse() sorts it that way, stably.
    std::vector<RtpMap> rtpmaps;
    std::map<int, std::string> fmtp;  // payload type -> parameters
    std::vector<RtcpFb> rtcpFb;
    std::vector<ExtMap> extmaps;
    std::vector<SsrcAttribute> ssrcs;
    std::vector<SsrcGroup> ssrcGroups;
    std::vector<Msid> msids;

    // Unknown or unmodelled a= lines, verbatim ("a=rtcp:9 IN IP4 0.0.0.0"), in their original
    // order; serialize() writes them after the modelled ones (adding "a=" if it is missing).
    std::vector<std::string> extraAttributes;

    // Port 0 rejects a section, unless it is bundle-only (RFC 8843 §7.3).
    bool rejected() const { return port == 0 && !bundleOnly; }
    bool isDataChannel() const { return kind == "application" && protocol.ends_with("SCTP"); }
    // a=sctp-port, else the legacy format number, else the RFC 8841 §5.1 default 5000.
    uint16_t sctpPortOrDefault() const;
    // a=max-message-size, else the RFC 8841 §6.1 default 64 KiB (0 means no limit).
    uint32_t maxMessageSizeOrDefault() const { return maxMessageSize.value_or(65536); }
    const RtpMap* findRtpMap(int payloadType) const;

    bool operator==(const MediaSection& other) const;
};

struct SessionDescription {
    // o=<username> <sess-id> <sess-version> IN <addrtype> <address>
    std::string originUsername = "-";
    uint64_t sessionId = 0;
    uint64_t sessionVersion = 0;
    std::string originAddressType = "IP4";
    std::string originAddress = "127.0.0.1";
    std::string sessionName = "-";  // s=
    uint64_t startTime = 0;         // t=
    uint64_t stopTime = 0;
    std::optional<std::string> connection;  // session-level c= value
    std::vector<std::string> bandwidths;    // session-level b= values

    std::vector<std::string> bundleGroup;     // mids of the first non-empty a=group:BUNDLE
    bool extmapAllowMixed = false;            // RFC 8285 §6
    std::optional<std::string> msidSemantic;  // "WMS", "WMS *", "WMS stream1"

    bool iceLite = false;
    std::optional<IceParams> sessionIce;  // either may be empty if only one line is present
    bool iceTrickle = false;
    std::vector<std::string> iceOptions;
    std::optional<Fingerprint> sessionFingerprint;
    std::vector<Fingerprint> additionalSessionFingerprints;
    std::optional<Setup> sessionSetup;

    std::vector<MediaSection> media;
    std::vector<std::string> extraSessionAttributes;  // verbatim "a=..." lines, in order

    const MediaSection* findByMid(std::string_view mid) const;
    MediaSection* findByMid(std::string_view mid);

    // Media-level values override session-level ones (RFC 8839 §5.4, RFC 8122 §5).
    std::optional<IceParams> effectiveIce(const MediaSection& m) const;  // needs both
    bool effectiveIceTrickle(const MediaSection& m) const;
    std::optional<Fingerprint> effectiveFingerprint(const MediaSection& m) const;
    std::vector<Fingerprint> effectiveFingerprints(const MediaSection& m) const;
    std::optional<Setup> effectiveSetup(const MediaSection& m) const;

    bool operator==(const SessionDescription& other) const;
};

// An error names the line, quotes it (at most 80 characters) and says why:
// "SDP line 7 (a=fingerprint:sha-256 ZZ): invalid hex digest"; "SDP: empty SDP" when it is not
// about one line.
Result<SessionDescription> parse(std::string_view sdp);
std::string serialize(const SessionDescription& description);

// What Tincan offers and answers: one data channel m-section, bundled, trickling.
struct DataChannelParams {
    std::string mid = "0";
    IceParams ice;
    Fingerprint fingerprint;
    Setup setup = Setup::ActPass;  // Active in an answer (RFC 8842 §5.3)
    uint16_t sctpPort = 5000;
    uint32_t maxMessageSize = 262144;
};
SessionDescription makeDataChannelDescription(uint64_t sessionId, uint64_t sessionVersion,
                                              const DataChannelParams& params);

}  // namespace tincan::sdp
