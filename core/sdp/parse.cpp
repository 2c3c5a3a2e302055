// SDP parser (RFC 8866 §5 syntax, RFC 8829 §5.8 JSEP parsing rules).
#include <algorithm>
#include <array>
#include <charconv>
#include <set>

#include <fmt/format.h>

#include "core/sdp/sdp.hpp"
#include "core/sdp/text.hpp"

namespace tincan::sdp {
namespace {

using detail::isTokenChar;
using detail::parseNumber;
using detail::splitSpaces;
using detail::trim;

constexpr size_t kMaxErrorText = 80;

bool isToken(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), isTokenChar);
}

bool isIceChar(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/';
}

// RFC 8839 §5.4: ice-ufrag is 4-256 ice-chars, ice-pwd 22-256.
Result<void> checkIceCredential(std::string_view name, std::string_view value, size_t minLength) {
    if (value.size() < minLength || value.size() > 256 ||
        !std::all_of(value.begin(), value.end(), isIceChar))
        return Error{fmt::format("{} must be {}-256 ice-chars", name, minLength)};
    return {};
}

int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// RFC 8122 §5: fingerprint = hash-func SP 2UHEX *(":" 2UHEX). Lower-case hex is accepted too.
Result<void> parseFingerprint(std::string_view value, Fingerprint& out) {
    value = trim(value);
    size_t space = value.find(' ');
    if (space == std::string_view::npos) return Error{"missing fingerprint digest"};
    std::string_view algorithm = value.substr(0, space);
    std::string_view hex = trim(value.substr(space + 1));
    if (!isToken(algorithm)) return Error{"invalid fingerprint algorithm"};
    if (hex.empty()) return Error{"missing fingerprint digest"};
    out.algorithm.clear();
    for (char c : algorithm)
        out.algorithm.push_back(c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c);
    out.digest.clear();
    if ((hex.size() + 1) % 3 != 0) return Error{"invalid hex digest"};
    for (size_t i = 0; i < hex.size(); i += 3) {
        int hi = hexValue(hex[i]), lo = hexValue(hex[i + 1]);
        if (hi < 0 || lo < 0 || (i + 2 < hex.size() && hex[i + 2] != ':'))
            return Error{"invalid hex digest"};
        out.digest.push_back(uint8_t(hi << 4 | lo));
    }
    if (auto expected = digestLength(out.algorithm); expected && *expected != out.digest.size())
        return Error{fmt::format("{} digest must be {} bytes, got {}", out.algorithm, *expected,
                                 out.digest.size())};
    return {};
}

// Payload types for RTP are 0..127 (RFC 3551 §6; the upper bit is the marker).
std::optional<int> parsePayloadType(std::string_view s) {
    unsigned pt = 0;
    if (!parseNumber(s, pt) || pt > 127) return std::nullopt;
    return int(pt);
}

bool isRtpProtocol(std::string_view proto) {
    return proto.find("RTP") != std::string_view::npos;
}

// proto = token *("/" token), with tokens of letters, digits, "-", "_", ".".
bool validProtocol(std::string_view proto) {
    if (proto.empty()) return false;
    size_t start = 0;
    while (true) {
        size_t slash = proto.find('/', start);
        std::string_view part = proto.substr(
            start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
        if (part.empty()) return false;
        for (char c : part)
            if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.')
                return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

// c=<nettype> <addrtype> <address>, normalised to single spaces.
Result<void> parseConnection(std::string_view value, std::string& out) {
    auto f = splitSpaces(value);
    if (f.size() != 3) return Error{"invalid c= line"};
    if (f[0] != "IN") return Error{fmt::format("unsupported network type '{}'", f[0])};
    if (f[1] != "IP4" && f[1] != "IP6")
        return Error{fmt::format("unsupported address type '{}'", f[1])};
    out = fmt::format("IN {} {}", f[1], f[2]);
    return {};
}

// b=<bwtype>:<bandwidth>
bool validBandwidth(std::string_view value) {
    size_t colon = value.find(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    uint64_t bw = 0;
    return isToken(value.substr(0, colon)) && parseNumber(value.substr(colon + 1), bw);
}

// "SDP line 7 (a=fingerprint:sha-256 ZZ): invalid hex digest": the line number, the line as
// received (cut to 80 characters, control characters shown as '?' so the message stays one
// line) and the reason. Line 0 means the whole description ("SDP: empty SDP").
std::string errorMessage(size_t lineNo, std::string_view line, std::string_view reason) {
    if (lineNo == 0) return fmt::format("SDP: {}", reason);
    if (line.empty()) return fmt::format("SDP line {}: {}", lineNo, reason);
    std::string quoted(line.substr(0, kMaxErrorText));
    for (char& c : quoted)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = '?';
    return fmt::format("SDP line {} ({}): {}", lineNo, quoted, reason);
}

class Parser {
public:
    Result<SessionDescription> run(std::string_view sdp);

private:
    Error fail(std::string_view reason) const {
        return Error{errorMessage(lineNo_, line_, reason)};
    }
    Result<void> sessionLine(char type, std::string_view value);
    Result<void> sessionAttribute(std::string_view name, std::optional<std::string_view> value);
    Result<void> mediaLine(std::string_view value);
    Result<void> mediaAttribute(std::string_view name, std::optional<std::string_view> value);
    Result<void> finishMedia();

    // Shared by both levels: ice-options, which may repeat and accumulate.
    static void addIceOptions(std::string_view value, bool& trickle,
                              std::vector<std::string>& options) {
        for (auto token : splitSpaces(value)) {
            if (token == "trickle")
                trickle = true;
            else
                options.emplace_back(token);
        }
    }

    SessionDescription d_;
    size_t lineNo_ = 0;
    std::string_view line_;
    size_t lastLineNo_ = 0;

    // Session header progress (RFC 8866 §5: v, o, s, [i u e p c b], t, ...).
    enum class Stage : uint8_t { Origin = 1, Name, BeforeTime, AfterTime, Media };
    Stage stage_ = Stage::Origin;
    size_t candidateCount_ = 0;
    std::set<std::string, std::less<>> mids_;
    bool bundleSeen_ = false;
    size_t bundleLineNo_ = 0;
    std::string bundleLine_;

    // Per-section "seen" flags for single-valued attributes.
    struct Seen {
        bool mid = false, ufrag = false, pwd = false, setup = false, direction = false,
             sctpPort = false, maxMessageSize = false, sackEvery = false, connection = false;
        std::array<bool, 128> rtpmap{};
        std::set<int> extmapIds;
    };
    Seen seen_;
    Seen sessionSeen_;
};

Result<SessionDescription> Parser::run(std::string_view sdp) {
    if (sdp.size() > kMaxSdpBytes)
        return Error{errorMessage(0, "", fmt::format("SDP is larger than {} bytes", kMaxSdpBytes))};

    size_t pos = 0;
    while (pos < sdp.size()) {
        size_t nl = sdp.find('\n', pos);
        line_ = sdp.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? sdp.size() : nl + 1;
        ++lineNo_;
        if (!line_.empty() && line_.back() == '\r') line_.remove_suffix(1);

        if (lineNo_ == 1) {
            if (line_ != "v=0") return fail("the first line must be v=0");
            lastLineNo_ = lineNo_;
            continue;
        }
        // A blank line (as after the final CRLF, or between sections in hand-edited SDP).
        if (line_.empty()) continue;
        lastLineNo_ = lineNo_;
        if (line_.find_first_of(std::string_view("\r\0", 2)) != std::string_view::npos)
            return fail("control character inside a line");
        if (line_.size() < 2 || line_[1] != '=' || line_[0] < 'a' || line_[0] > 'z')
            return fail("expected a <type>=<value> line");
        char type = line_[0];
        std::string_view value = line_.substr(2);
        if (std::string_view("vosiuepcbtrzkam").find(type) == std::string_view::npos)
            return fail(fmt::format("unknown line type '{}'", type));

        Result<void> f;
        if (type == 'm') {
            if (stage_ != Stage::AfterTime && stage_ != Stage::Media)
                return fail(stage_ == Stage::Origin ? "missing o= line"
                            : stage_ == Stage::Name ? "missing s= line"
                                                    : "missing t= line");
            f = mediaLine(value);
        } else if (stage_ == Stage::Media) {
            switch (type) {
                case 'a': {
                    size_t colon = value.find(':');
                    if (colon == std::string_view::npos)
                        f = mediaAttribute(value, std::nullopt);
                    else
                        f = mediaAttribute(value.substr(0, colon), value.substr(colon + 1));
                    break;
                }
                case 'c':
                    if (seen_.connection) return fail("duplicate c= line");
                    seen_.connection = true;
                    f = parseConnection(value, d_.media.back().connection);
                    break;
                case 'b':
                    if (!validBandwidth(value)) return fail("invalid b= line");
                    d_.media.back().bandwidths.emplace_back(value);
                    break;
                case 'i':
                case 'k':
                    break;  // media title and encryption key: not used by WebRTC
                default:
                    return fail(fmt::format("unexpected {}= line in a media section", type));
            }
        } else {
            f = sessionLine(type, value);
        }
        if (!f) return fail(f.error().message);
    }

    // End of input: account for what is missing, against the line after the last one.
    line_ = {};
    lineNo_ = lastLineNo_ + 1;
    if (lastLineNo_ == 0) return Error{errorMessage(0, "", "empty SDP")};
    if (stage_ == Stage::Origin) return fail("missing o= line");
    if (stage_ == Stage::Name) return fail("missing s= line");
    if (stage_ == Stage::BeforeTime) return fail("missing t= line");
    if (stage_ == Stage::Media)
        if (auto f = finishMedia(); !f) return fail(f.error().message);

    // RFC 8843 §7: every mid in the BUNDLE group names an m-section.
    for (const auto& mid : d_.bundleGroup) {
        if (!mids_.count(mid)) {
            lineNo_ = bundleLineNo_;
            line_ = bundleLine_;
            return fail(fmt::format("BUNDLE group names unknown mid '{}'", mid));
        }
    }
    return std::move(d_);
}

Result<void> Parser::sessionLine(char type, std::string_view value) {
    switch (type) {
        case 'o': {
            if (stage_ != Stage::Origin) return Error{"unexpected o= line"};
            auto f = splitSpaces(value);
            if (f.size() != 6) return Error{"o= needs 6 fields"};
            if (!parseNumber(f[1], d_.sessionId)) return Error{"invalid session id"};
            if (!parseNumber(f[2], d_.sessionVersion)) return Error{"invalid session version"};
            if (f[3] != "IN") return Error{fmt::format("unsupported network type '{}'", f[3])};
            if (f[4] != "IP4" && f[4] != "IP6")
                return Error{fmt::format("unsupported address type '{}'", f[4])};
            d_.originUsername = std::string(f[0]);
            d_.originAddressType = std::string(f[4]);
            d_.originAddress = std::string(f[5]);
            stage_ = Stage::Name;
            return {};
        }
        case 's':
            if (stage_ == Stage::Origin) return Error{"missing o= line"};
            if (stage_ != Stage::Name) return Error{"unexpected s= line"};
            d_.sessionName = std::string(value);
            stage_ = Stage::BeforeTime;
            return {};
        case 'v':
            return Error{"unexpected v= line"};
        default:
            break;
    }
    if (stage_ == Stage::Origin) return Error{"missing o= line"};
    if (stage_ == Stage::Name) return Error{"missing s= line"};
    switch (type) {
        case 't': {
            if (stage_ == Stage::BeforeTime) {
                auto f = splitSpaces(value);
                if (f.size() != 2 || !parseNumber(f[0], d_.startTime) ||
                    !parseNumber(f[1], d_.stopTime))
                    return Error{"invalid t= line"};
                stage_ = Stage::AfterTime;
            }
            // Further t= lines (more active periods) mean nothing to WebRTC.
            return {};
        }
        case 'c': {
            if (sessionSeen_.connection) return Error{"duplicate c= line"};
            sessionSeen_.connection = true;
            d_.connection.emplace();
            return parseConnection(value, *d_.connection);
        }
        case 'b':
            if (!validBandwidth(value)) return Error{"invalid b= line"};
            d_.bandwidths.emplace_back(value);
            return {};
        case 'i':
        case 'u':
        case 'e':
        case 'p':
            return {};  // informational, not used by WebRTC
        default:
            break;
    }
    if (stage_ == Stage::BeforeTime) return Error{"missing t= line"};
    switch (type) {
        case 'r':
        case 'z':
        case 'k':
            return {};
        case 'a': {
            size_t colon = value.find(':');
            if (colon == std::string_view::npos) return sessionAttribute(value, std::nullopt);
            return sessionAttribute(value.substr(0, colon), value.substr(colon + 1));
        }
        default:
            return Error{fmt::format("unexpected {}= line", type)};
    }
}

Result<void> Parser::sessionAttribute(std::string_view name,
                                      std::optional<std::string_view> value) {
    auto keep = [&]() -> Result<void> {
        d_.extraSessionAttributes.emplace_back(line_);
        return {};
    };
    if (!value) {
        if (name == "ice-lite") {
            d_.iceLite = true;
            return {};
        }
        if (name == "extmap-allow-mixed") {
            d_.extmapAllowMixed = true;
            return {};
        }
        if (name == "msid-semantic" && !d_.msidSemantic) {
            d_.msidSemantic.emplace();
            return {};
        }
        return keep();
    }
    if (name == "group") {
        auto f = splitSpaces(*value);
        // Only the first BUNDLE group with members is modelled; an empty one is kept verbatim.
        if (f.size() < 2 || f[0] != "BUNDLE" || bundleSeen_) return keep();
        std::set<std::string_view> unique;
        for (size_t i = 1; i < f.size(); ++i) {
            if (!isToken(f[i])) return Error{fmt::format("invalid mid '{}' in BUNDLE group", f[i])};
            if (!unique.insert(f[i]).second)
                return Error{fmt::format("duplicate mid '{}' in BUNDLE group", f[i])};
            d_.bundleGroup.emplace_back(f[i]);
        }
        bundleSeen_ = true;
        bundleLineNo_ = lineNo_;
        bundleLine_ = std::string(line_.substr(0, kMaxErrorText));
        return {};
    }
    if (name == "msid-semantic") {
        if (d_.msidSemantic) return keep();
        d_.msidSemantic = std::string(trim(*value));
        return {};
    }
    if (name == "ice-ufrag" || name == "ice-pwd") {
        bool ufrag = name == "ice-ufrag";
        bool& seen = ufrag ? sessionSeen_.ufrag : sessionSeen_.pwd;
        if (seen) return Error{fmt::format("duplicate a={}", name)};
        seen = true;
        if (auto f = checkIceCredential(name, *value, ufrag ? 4 : 22); !f) return f;
        if (!d_.sessionIce) d_.sessionIce.emplace();
        (ufrag ? d_.sessionIce->ufrag : d_.sessionIce->pwd) = std::string(*value);
        return {};
    }
    if (name == "ice-options") {
        addIceOptions(*value, d_.iceTrickle, d_.iceOptions);
        return {};
    }
    if (name == "fingerprint") {
        Fingerprint fp;
        if (auto f = parseFingerprint(*value, fp); !f) return f;
        if (!d_.sessionFingerprint)
            d_.sessionFingerprint = std::move(fp);
        else
            d_.additionalSessionFingerprints.push_back(std::move(fp));
        return {};
    }
    if (name == "setup") {
        if (sessionSeen_.setup) return Error{"duplicate a=setup"};
        sessionSeen_.setup = true;
        d_.sessionSetup = parseSetup(*value);
        if (!d_.sessionSetup) return Error{fmt::format("invalid setup value '{}'", *value)};
        return {};
    }
    return keep();
}

Result<void> Parser::mediaLine(std::string_view value) {
    if (stage_ == Stage::Media)
        if (auto f = finishMedia(); !f) return f;
    stage_ = Stage::Media;
    if (d_.media.size() >= kMaxMediaSections)
        return Error{fmt::format("too many media sections (max {})", kMaxMediaSections)};
    seen_ = Seen{};

    auto f = splitSpaces(value);
    if (f.size() < 4) return Error{"m= needs a media type, port, protocol and formats"};
    MediaSection m;
    m.formats.clear();
    if (!isToken(f[0])) return Error{fmt::format("invalid media type '{}'", f[0])};
    m.kind = std::string(f[0]);
    std::string_view port = f[1];
    if (size_t slash = port.find('/'); slash != std::string_view::npos) {
        uint16_t count = 0;
        if (!parseNumber(port.substr(slash + 1), count) || count == 0)
            return Error{fmt::format("invalid port '{}'", port)};
        m.portCount = count;
        port = port.substr(0, slash);
    }
    if (!parseNumber(port, m.port)) return Error{fmt::format("invalid port '{}'", port)};
    if (!validProtocol(f[2])) return Error{fmt::format("invalid protocol '{}'", f[2])};
    m.protocol = std::string(f[2]);
    bool rtp = isRtpProtocol(m.protocol);
    for (size_t i = 3; i < f.size(); ++i) {
        if (rtp ? !parsePayloadType(f[i]) : !isToken(f[i]))
            return Error{fmt::format("invalid {} '{}'", rtp ? "payload type" : "format", f[i])};
        m.formats.emplace_back(f[i]);
    }
    d_.media.push_back(std::move(m));
    return {};
}

Result<void> Parser::mediaAttribute(std::string_view name, std::optional<std::string_view> value) {
    MediaSection& m = d_.media.back();
    auto keep = [&]() -> Result<void> {
        m.extraAttributes.emplace_back(line_);
        return {};
    };
    auto once = [&](bool& seen) -> Result<void> {
        if (seen) return Error{fmt::format("duplicate a={}", name)};
        seen = true;
        return {};
    };

    if (!value) {
        if (auto dir = parseDirection(name)) {
            if (seen_.direction) return Error{"more than one direction attribute"};
            seen_.direction = true;
            m.direction = *dir;
        } else if (name == "rtcp-mux") {
            m.rtcpMux = true;
        } else if (name == "rtcp-mux-only") {
            m.rtcpMuxOnly = true;
        } else if (name == "rtcp-rsize") {
            m.rtcpRsize = true;
        } else if (name == "end-of-candidates") {
            m.endOfCandidates = true;
        } else if (name == "bundle-only") {
            m.bundleOnly = true;
        } else if (name == "mid" || name == "ice-ufrag" || name == "ice-pwd" ||
                   name == "candidate" || name == "fingerprint" || name == "setup" ||
                   name == "sctp-port" || name == "max-message-size" || name == "rtpmap" ||
                   name == "rtcp-fb" || name == "extmap" || name == "ssrc" ||
                   name == "ssrc-group" || name == "msid") {
            return Error{fmt::format("a={} needs a value", name)};
        } else {
            return keep();
        }
        return {};
    }
    std::string_view v = *value;

    if (name == "candidate") {
        if (++candidateCount_ > kMaxCandidates)
            return Error{fmt::format("too many candidates (max {})", kMaxCandidates)};
        auto r = ice::parseCandidate(v);
        if (!r) return r.error();
        m.candidates.push_back(std::move(r).value());
        return {};
    }
    if (name == "mid") {
        if (auto f = once(seen_.mid); !f) return f;
        if (!isToken(v)) return Error{fmt::format("invalid mid '{}'", v)};
        if (!mids_.insert(std::string(v)).second)
            return Error{fmt::format("duplicate mid '{}'", v)};
        m.mid = std::string(v);
        return {};
    }
    if (name == "ice-ufrag") {
        if (auto f = once(seen_.ufrag); !f) return f;
        if (auto f = checkIceCredential(name, v, 4); !f) return f;
        m.iceUfrag = std::string(v);
        return {};
    }
    if (name == "ice-pwd") {
        if (auto f = once(seen_.pwd); !f) return f;
        if (auto f = checkIceCredential(name, v, 22); !f) return f;
        m.icePwd = std::string(v);
        return {};
    }
    if (name == "ice-options") {
        addIceOptions(v, m.iceTrickle, m.iceOptions);
        return {};
    }
    if (name == "fingerprint") {
        Fingerprint fp;
        if (auto f = parseFingerprint(v, fp); !f) return f;
        if (!m.fingerprint)
            m.fingerprint = std::move(fp);
        else
            m.additionalFingerprints.push_back(std::move(fp));
        return {};
    }
    if (name == "setup") {
        if (auto f = once(seen_.setup); !f) return f;
        m.setup = parseSetup(v);
        if (!m.setup) return Error{fmt::format("invalid setup value '{}'", v)};
        return {};
    }
    if (name == "sctp-port") {  // RFC 8841 §5.2
        if (auto f = once(seen_.sctpPort); !f) return f;
        uint16_t port = 0;
        if (!parseNumber(v, port) || port == 0)
            return Error{fmt::format("invalid sctp-port '{}'", v)};
        m.sctpPort = port;
        return {};
    }
    if (name == "max-message-size") {  // RFC 8841 §6.2
        if (auto f = once(seen_.maxMessageSize); !f) return f;
        uint32_t size = 0;
        if (!parseNumber(v, size)) return Error{fmt::format("invalid max-message-size '{}'", v)};
        m.maxMessageSize = size;
        return {};
    }
    if (name == "x-tincan-sack-every") {  // ours; a value we do not model is kept, unused
        uint8_t every = 0;
        if (!parseNumber(v, every) || every < 2 || seen_.sackEvery) return keep();
        seen_.sackEvery = true;
        m.sackEvery = every;
        return {};
    }
    if (name == "rtpmap") {  // RFC 8866 §6.6
        size_t space = v.find(' ');
        auto pt = parsePayloadType(v.substr(0, space));
        if (!pt) return Error{"invalid rtpmap payload type"};
        if (seen_.rtpmap[size_t(*pt)])
            return Error{fmt::format("duplicate a=rtpmap for payload type {}", *pt)};
        seen_.rtpmap[size_t(*pt)] = true;
        if (space == std::string_view::npos) return Error{"invalid rtpmap"};
        std::string_view rest = trim(v.substr(space + 1));
        std::vector<std::string_view> parts;
        size_t start = 0;
        while (parts.size() < 4) {
            size_t slash = rest.find('/', start);
            parts.push_back(rest.substr(
                start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
            if (slash == std::string_view::npos) break;
            start = slash + 1;
        }
        RtpMap map;
        map.payloadType = *pt;
        if (parts.size() < 2 || parts.size() > 3 || !isToken(parts[0]) ||
            !parseNumber(parts[1], map.clockRate))
            return Error{"invalid rtpmap"};
        map.encoding = std::string(parts[0]);
        if (parts.size() == 3) {
            uint16_t channels = 0;
            if (!parseNumber(parts[2], channels)) return Error{"invalid rtpmap channels"};
            map.channels = channels;
        }
        m.rtpmaps.push_back(std::move(map));
        return {};
    }
    if (name == "fmtp") {
        size_t space = v.find(' ');
        std::string_view format = v.substr(0, space);
        if (format.empty() ||
            !std::all_of(format.begin(), format.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return keep();  // e.g. the pre-RFC 8841 a=fmtp:webrtc-datachannel
        auto pt = parsePayloadType(format);
        if (!pt) return Error{fmt::format("invalid fmtp payload type '{}'", format)};
        std::string params;
        if (space != std::string_view::npos) {
            std::string_view rest = v.substr(space);
            params = std::string(rest.substr(std::min(rest.find_first_not_of(' '), rest.size())));
        }
        if (!m.fmtp.emplace(*pt, std::move(params)).second)
            return Error{fmt::format("duplicate a=fmtp for payload type {}", *pt)};
        return {};
    }
    if (name == "rtcp-fb") {  // RFC 4585 §4.2
        auto f = splitSpaces(v);
        if (f.empty()) return Error{"invalid rtcp-fb"};
        RtcpFb fb;
        if (f[0] != "*") {
            auto pt = parsePayloadType(f[0]);
            if (!pt) return Error{fmt::format("invalid rtcp-fb payload type '{}'", f[0])};
            fb.payloadType = *pt;
        }
        if (f.size() < 2) return Error{"missing rtcp-fb type"};
        fb.type = std::string(f[1]);
        // The parameter is the rest of the line after the type, spacing inside kept.
        size_t after = size_t(f[1].data() + f[1].size() - v.data());
        std::string_view rest = v.substr(after);
        fb.parameter = std::string(rest.substr(std::min(rest.find_first_not_of(' '), rest.size())));
        m.rtcpFb.push_back(std::move(fb));
        return {};
    }
    if (name == "extmap") {  // RFC 8285 §8
        auto f = splitSpaces(v);
        if (f.empty()) return Error{"invalid extmap"};
        ExtMap ext;
        std::string_view id = f[0];
        if (size_t slash = id.find('/'); slash != std::string_view::npos) {
            ext.direction = parseDirection(id.substr(slash + 1));
            if (!ext.direction)
                return Error{fmt::format("invalid extmap direction '{}'", id.substr(slash + 1))};
            id = id.substr(0, slash);
        }
        uint16_t number = 0;
        if (!parseNumber(id, number) || number == 0 || (number > 255 && number < 4096) ||
            number > 4351)
            return Error{fmt::format("invalid extmap id '{}'", id)};
        ext.id = number;
        if (!seen_.extmapIds.insert(ext.id).second)
            return Error{fmt::format("duplicate extmap id {}", ext.id)};
        if (f.size() < 2) return Error{"missing extmap URI"};
        ext.uri = std::string(f[1]);
        size_t after = size_t(f[1].data() + f[1].size() - v.data());
        std::string_view rest = v.substr(after);
        ext.attributes =
            std::string(rest.substr(std::min(rest.find_first_not_of(' '), rest.size())));
        m.extmaps.push_back(std::move(ext));
        return {};
    }
    if (name == "ssrc") {  // RFC 5576 §4.1
        size_t space = v.find(' ');
        SsrcAttribute s;
        if (!parseNumber(v.substr(0, space), s.ssrc)) return Error{"invalid ssrc"};
        std::string_view rest =
            space == std::string_view::npos ? std::string_view{} : v.substr(space);
        rest = rest.substr(std::min(rest.find_first_not_of(' '), rest.size()));
        size_t colon = rest.find(':');
        s.attribute = std::string(rest.substr(0, colon));
        if (s.attribute.empty()) return Error{"missing ssrc attribute"};
        if (colon != std::string_view::npos) s.value = std::string(rest.substr(colon + 1));
        m.ssrcs.push_back(std::move(s));
        return {};
    }
    if (name == "ssrc-group") {  // RFC 5576 §4.2
        auto f = splitSpaces(v);
        if (f.size() < 2 || !isToken(f[0])) return Error{"invalid ssrc-group"};
        SsrcGroup g;
        g.semantics = std::string(f[0]);
        for (size_t i = 1; i < f.size(); ++i) {
            uint32_t ssrc = 0;
            if (!parseNumber(f[i], ssrc)) return Error{fmt::format("invalid ssrc '{}'", f[i])};
            g.ssrcs.push_back(ssrc);
        }
        m.ssrcGroups.push_back(std::move(g));
        return {};
    }
    if (name == "msid") {  // RFC 8830 §2
        auto f = splitSpaces(v);
        if (f.empty() || f.size() > 2) return Error{"invalid msid"};
        m.msids.push_back(Msid{std::string(f[0]), f.size() > 1 ? std::string(f[1]) : ""});
        return {};
    }
    return keep();
}

// Called when a media section is complete.
Result<void> Parser::finishMedia() {
    MediaSection& m = d_.media.back();
    // Group rtcp-fb by codec in rtpmap order, as serialize() writes them.
    std::array<size_t, 128> rank;
    rank.fill(m.rtpmaps.size());
    for (size_t i = 0; i < m.rtpmaps.size(); ++i) rank[size_t(m.rtpmaps[i].payloadType)] = i;
    auto key = [&](const RtcpFb& fb) {
        return fb.payloadType < 0 ? m.rtpmaps.size() : rank[size_t(fb.payloadType)];
    };
    std::stable_sort(m.rtcpFb.begin(), m.rtcpFb.end(),
                     [&](const RtcpFb& a, const RtcpFb& b) { return key(a) < key(b); });
    return {};
}

}  // namespace

Result<SessionDescription> parse(std::string_view sdp) {
    return Parser{}.run(sdp);
}

}  // namespace tincan::sdp
