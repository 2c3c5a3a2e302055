// SDP writer: CRLF lines in the order Chromium writes them (JSEP, RFC 8829 §5.2).
#include <iterator>

#include <fmt/format.h>

#include "core/sdp/sdp.hpp"

namespace tincan::sdp {
namespace {

class Writer {
public:
    template <typename... Args>
    void line(fmt::format_string<Args...> format, Args&&... args) {
        fmt::format_to(std::back_inserter(out_), format, std::forward<Args>(args)...);
        out_ += "\r\n";
    }
    void raw(std::string_view attributeLine) {
        if (!attributeLine.starts_with("a=")) out_ += "a=";
        out_ += attributeLine;
        out_ += "\r\n";
    }
    std::string take() { return std::move(out_); }

    void iceOptions(bool trickle, const std::vector<std::string>& options) {
        if (!trickle && options.empty()) return;
        out_ += "a=ice-options:";
        bool first = true;
        if (trickle) {
            out_ += "trickle";
            first = false;
        }
        for (const auto& o : options) {
            if (!first) out_ += ' ';
            out_ += o;
            first = false;
        }
        out_ += "\r\n";
    }
    void fingerprints(const std::optional<Fingerprint>& first,
                      const std::vector<Fingerprint>& more) {
        if (first) line("a=fingerprint:{}", first->toString());
        for (const auto& fp : more) line("a=fingerprint:{}", fp.toString());
    }

private:
    std::string out_;
};

void writeRtcpFb(Writer& w, const RtcpFb& fb) {
    std::string pt =
        fb.payloadType == RtcpFb::kAnyPayloadType ? "*" : std::to_string(fb.payloadType);
    if (fb.parameter.empty())
        w.line("a=rtcp-fb:{} {}", pt, fb.type);
    else
        w.line("a=rtcp-fb:{} {} {}", pt, fb.type, fb.parameter);
}

void writeFmtp(Writer& w, int pt, const std::string& params) {
    if (params.empty())
        w.line("a=fmtp:{}", pt);
    else
        w.line("a=fmtp:{} {}", pt, params);
}

void writeMedia(Writer& w, const MediaSection& m) {
    std::string port = std::to_string(m.port);
    if (m.portCount) port += "/" + std::to_string(*m.portCount);
    w.line("m={} {} {} {}", m.kind, port, m.protocol, fmt::join(m.formats, " "));
    w.line("c={}", m.connection);
    for (const auto& b : m.bandwidths) w.line("b={}", b);

    if (m.iceUfrag) w.line("a=ice-ufrag:{}", *m.iceUfrag);
    if (m.icePwd) w.line("a=ice-pwd:{}", *m.icePwd);
    w.iceOptions(m.iceTrickle, m.iceOptions);
    w.fingerprints(m.fingerprint, m.additionalFingerprints);
    if (m.setup) w.line("a=setup:{}", toString(*m.setup));
    if (!m.mid.empty()) w.line("a=mid:{}", m.mid);
    if (m.bundleOnly) w.line("a=bundle-only");
    // Chromium writes no direction for data channel sections; sendrecv is the default.
    if (m.kind != "application" || m.direction != Direction::SendRecv)
        w.line("a={}", toString(m.direction));
    for (const auto& msid : m.msids) {
        if (msid.trackId.empty())
            w.line("a=msid:{}", msid.streamId);
        else
            w.line("a=msid:{} {}", msid.streamId, msid.trackId);
    }
    if (m.rtcpMux) w.line("a=rtcp-mux");
    if (m.rtcpMuxOnly) w.line("a=rtcp-mux-only");
    if (m.rtcpRsize) w.line("a=rtcp-rsize");

    // Each codec's rtpmap, then its rtcp-fb, then its fmtp; leftovers after.
    for (const auto& r : m.rtpmaps) {
        if (r.channels)
            w.line("a=rtpmap:{} {}/{}/{}", r.payloadType, r.encoding, r.clockRate, *r.channels);
        else
            w.line("a=rtpmap:{} {}/{}", r.payloadType, r.encoding, r.clockRate);
        for (const auto& fb : m.rtcpFb)
            if (fb.payloadType == r.payloadType) writeRtcpFb(w, fb);
        if (auto it = m.fmtp.find(r.payloadType); it != m.fmtp.end())
            writeFmtp(w, it->first, it->second);
    }
    for (const auto& fb : m.rtcpFb)
        if (!m.findRtpMap(fb.payloadType)) writeRtcpFb(w, fb);
    for (const auto& [pt, params] : m.fmtp)
        if (!m.findRtpMap(pt)) writeFmtp(w, pt, params);

    for (const auto& e : m.extmaps) {
        std::string id = std::to_string(e.id);
        if (e.direction) id += std::string("/") + toString(*e.direction);
        if (e.attributes.empty())
            w.line("a=extmap:{} {}", id, e.uri);
        else
            w.line("a=extmap:{} {} {}", id, e.uri, e.attributes);
    }
    for (const auto& g : m.ssrcGroups)
        w.line("a=ssrc-group:{} {}", g.semantics, fmt::join(g.ssrcs, " "));
    for (const auto& s : m.ssrcs) {
        if (s.value.empty())
            w.line("a=ssrc:{} {}", s.ssrc, s.attribute);
        else
            w.line("a=ssrc:{} {}:{}", s.ssrc, s.attribute, s.value);
    }
    if (m.sctpPort) w.line("a=sctp-port:{}", *m.sctpPort);
    if (m.maxMessageSize) w.line("a=max-message-size:{}", *m.maxMessageSize);
    if (m.sackEvery) w.line("a=x-tincan-sack-every:{}", *m.sackEvery);
    for (const auto& c : m.candidates) w.line("a={}", c.toSdp());
    if (m.endOfCandidates) w.line("a=end-of-candidates");
    for (const auto& a : m.extraAttributes) w.raw(a);
}

}  // namespace

std::string serialize(const SessionDescription& d) {
    Writer w;
    w.line("v=0");
    w.line("o={} {} {} IN {} {}", d.originUsername, d.sessionId, d.sessionVersion,
           d.originAddressType, d.originAddress);
    w.line("s={}", d.sessionName);
    if (d.connection) w.line("c={}", *d.connection);
    for (const auto& b : d.bandwidths) w.line("b={}", b);
    w.line("t={} {}", d.startTime, d.stopTime);
    if (!d.bundleGroup.empty()) w.line("a=group:BUNDLE {}", fmt::join(d.bundleGroup, " "));
    if (d.extmapAllowMixed) w.line("a=extmap-allow-mixed");
    if (d.msidSemantic) {
        if (d.msidSemantic->empty())
            w.line("a=msid-semantic:");
        else
            w.line("a=msid-semantic: {}", *d.msidSemantic);
    }
    if (d.iceLite) w.line("a=ice-lite");
    if (d.sessionIce && !d.sessionIce->ufrag.empty()) w.line("a=ice-ufrag:{}", d.sessionIce->ufrag);
    if (d.sessionIce && !d.sessionIce->pwd.empty()) w.line("a=ice-pwd:{}", d.sessionIce->pwd);
    w.iceOptions(d.iceTrickle, d.iceOptions);
    w.fingerprints(d.sessionFingerprint, d.additionalSessionFingerprints);
    if (d.sessionSetup) w.line("a=setup:{}", toString(*d.sessionSetup));
    for (const auto& a : d.extraSessionAttributes) w.raw(a);
    for (const auto& m : d.media) writeMedia(w, m);
    return w.take();
}

}  // namespace tincan::sdp
