// The audio and video half of jsep::Negotiator: transceivers (wishes), the codecs Tincan takes
// out of an offer, the media m-sections we write, and the agreed sections for the media
// transport.
#include <algorithm>
#include <cctype>
#include <set>

#include "core/pc/jsep.hpp"

namespace tincan::pc::jsep {

namespace {

// RFC 8285 URIs Tincan uses (ids as in Chromium's offers, so that answers to us look alike).
constexpr const char* kMidUri = "urn:ietf:params:rtp-hdrext:sdes:mid";
constexpr const char* kAbsSendTimeUri =
    "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time";
constexpr const char* kTransportCcUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
constexpr const char* kRtpProtocol = "UDP/TLS/RTP/SAVPF";  // RFC 5764 §8, JSEP §5.1.2

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(uint8_t(x)) == std::tolower(uint8_t(y));
           });
}

bool supportedExtension(const std::string& uri) {
    return uri == kMidUri || uri == kAbsSendTimeUri || uri == kTransportCcUri;
}

bool supportedFeedback(const sdp::RtcpFb& fb, SectionKind kind) {
    if (fb.type == "transport-cc") return fb.parameter.empty();
    if (kind == SectionKind::Audio) return false;
    if (fb.type == "nack") return fb.parameter.empty() || fb.parameter == "pli";
    if (fb.type == "ccm") return fb.parameter == "fir";
    return fb.type == "goog-remb" && fb.parameter.empty();
}

bool sends(sdp::Direction d) {
    return d == sdp::Direction::SendRecv || d == sdp::Direction::SendOnly;
}
bool receives(sdp::Direction d) {
    return d == sdp::Direction::SendRecv || d == sdp::Direction::RecvOnly;
}
sdp::Direction makeDirection(bool send, bool recv) {
    if (send && recv) return sdp::Direction::SendRecv;
    if (send) return sdp::Direction::SendOnly;
    if (recv) return sdp::Direction::RecvOnly;
    return sdp::Direction::Inactive;
}

// RFC 7587 §6.1, as our receiver's wishes: in-band FEC (the sender adds redundancy we use on
// loss) and DTX (the sender may go near-silent in silence; the playout buffer conceals the gap).
constexpr const char* kOpusFmtp = "minptime=10;useinbandfec=1;usedtx=1";

// What we offer when no offer tells us the numbers.
CodecChoice ourCodec(SectionKind kind) {
    CodecChoice c;
    if (kind == SectionKind::Audio) {
        c.codec = sdp::RtpMap{111, "opus", 48000, 2};
        c.fmtp = kOpusFmtp;
        c.feedback = {{111, "transport-cc", ""}};
    } else {
        c.codec = sdp::RtpMap{96, "VP8", 90000, std::nullopt};
        c.rtxPayloadType = 97;
        c.feedback = {{96, "goog-remb", ""},
                      {96, "transport-cc", ""},
                      {96, "ccm", "fir"},
                      {96, "nack", ""},
                      {96, "nack", "pli"}};
    }
    return c;
}

std::vector<sdp::ExtMap> ourExtensions() {
    return {{1, kMidUri, std::nullopt, {}},
            {2, kAbsSendTimeUri, std::nullopt, {}},
            {3, kTransportCcUri, std::nullopt, {}}};
}

}  // namespace

sdp::Direction reverse(sdp::Direction d) {
    if (d == sdp::Direction::SendOnly) return sdp::Direction::RecvOnly;
    if (d == sdp::Direction::RecvOnly) return sdp::Direction::SendOnly;
    return d;
}

sdp::Direction answerDirection(sdp::Direction wanted, sdp::Direction offered) {
    return makeDirection(sends(wanted) && receives(offered), receives(wanted) && sends(offered));
}

// RFC 7741 §6.1 / RFC 7587 §7: VP8 at 90 kHz, Opus at 48 kHz stereo; the first in the
// section's format order wins (the offerer's preference, RFC 3264 §6.1).
std::optional<CodecChoice> chooseCodec(const sdp::MediaSection& m, SectionKind kind) {
    if (kind != SectionKind::Audio && kind != SectionKind::Video) return std::nullopt;
    if (m.protocol.find("RTP/") == std::string::npos) return std::nullopt;
    const sdp::RtpMap* chosen = nullptr;
    for (const auto& f : m.formats) {
        int pt = std::atoi(f.c_str());
        const sdp::RtpMap* r = m.findRtpMap(pt);
        if (!r) continue;
        bool ok = kind == SectionKind::Video
                      ? iequals(r->encoding, "VP8") && r->clockRate == 90000
                      : iequals(r->encoding, "opus") && r->clockRate == 48000;
        if (ok) {
            chosen = r;
            break;
        }
    }
    if (!chosen) return std::nullopt;
    CodecChoice c;
    c.codec = *chosen;
    if (auto it = m.fmtp.find(chosen->payloadType); it != m.fmtp.end())
        c.fmtp = c.remoteFmtp = it->second;
    if (kind == SectionKind::Audio) c.fmtp = kOpusFmtp;
    for (const auto& r : m.rtpmaps) {
        if (!iequals(r.encoding, "rtx")) continue;
        auto it = m.fmtp.find(r.payloadType);
        if (it != m.fmtp.end() && it->second == "apt=" + std::to_string(chosen->payloadType)) {
            c.rtxPayloadType = r.payloadType;
            break;
        }
    }
    for (const auto& fb : m.rtcpFb)
        if ((fb.payloadType == chosen->payloadType ||
             fb.payloadType == sdp::RtcpFb::kAnyPayloadType) &&
            supportedFeedback(fb, kind))
            c.feedback.push_back({chosen->payloadType, fb.type, fb.parameter});
    return c;
}

MediaWish* Negotiator::findWish(int id) {
    for (auto& w : wishes_)
        if (w.id == id) return &w;
    return nullptr;
}

const MediaWish* Negotiator::findWish(int id) const {
    for (const auto& w : wishes_)
        if (w.id == id) return &w;
    return nullptr;
}

uint32_t Negotiator::nextSsrc() {
    return ssrcSource_ ? ssrcSource_() : ++ssrcCounter_;
}

int Negotiator::addMediaWish(MediaWish wish) {
    if (!wish.ssrc) wish.ssrc = nextSsrc();
    if (!wish.rtxSsrc && wish.kind == SectionKind::Video) wish.rtxSsrc = nextSsrc();
    // W3C addTrack: reuse a transceiver made for the peer's offer that has never sent.
    for (auto& w : wishes_) {
        if (!w.fromRemote || w.kind != wish.kind || sends(w.direction)) continue;
        w.fromRemote = false;
        w.direction = wish.direction;
        w.streamId = wish.streamId;
        w.trackId = wish.trackId;
        return w.id;
    }
    wishes_.push_back(std::move(wish));
    return wishes_.back().id;
}

bool Negotiator::setWishDirection(int id, sdp::Direction direction) {
    MediaWish* w = findWish(id);
    if (!w || w->direction == direction) return false;
    w->direction = direction;
    return true;
}

sdp::MediaSection Negotiator::mediaSection(const Section& s, const LocalParams& local,
                                           sdp::Setup setup, bool answer) const {
    const MediaWish* w = s.wish ? findWish(*s.wish) : nullptr;
    sdp::MediaSection m;
    m.kind = toString(s.kind);
    m.protocol = s.remote ? s.remote->protocol : kRtpProtocol;
    m.mid = s.mid;
    m.connection = "IN IP4 0.0.0.0";
    m.iceUfrag = local.ice.ufrag;
    m.icePwd = local.ice.pwd;
    m.iceTrickle = true;
    m.fingerprint = local.fingerprint;
    m.setup = setup;
    m.rtcpMux = true;
    // The peer's last description of this section holds the agreed (or offered) codec, under
    // its numbers: answers and re-offers keep them. A new section offers ours.
    std::optional<CodecChoice> codec = s.remote ? chooseCodec(*s.remote, s.kind) : std::nullopt;
    if (!codec) codec = ourCodec(s.kind);
    m.rtcpRsize = !answer || (s.remote && s.remote->rtcpRsize);
    m.formats = {std::to_string(codec->codec.payloadType)};
    m.rtpmaps = {codec->codec};
    if (!codec->fmtp.empty()) m.fmtp[codec->codec.payloadType] = codec->fmtp;
    m.rtcpFb = codec->feedback;
    if (codec->rtxPayloadType) {
        int rtx = *codec->rtxPayloadType;
        m.formats.push_back(std::to_string(rtx));
        m.rtpmaps.push_back({rtx, "rtx", 90000, std::nullopt});
        m.fmtp[rtx] = "apt=" + std::to_string(codec->codec.payloadType);
    }
    if (s.remote) {  // the offer's ids, or the agreed ones in a re-offer (RFC 8285 §6)
        for (const auto& e : s.remote->extmaps)
            if (supportedExtension(e.uri)) m.extmaps.push_back({e.id, e.uri, std::nullopt, {}});
    } else {
        m.extmaps = ourExtensions();
    }
    sdp::Direction dir = w ? w->direction : sdp::Direction::RecvOnly;
    if (answer && s.remote) dir = answerDirection(dir, s.remote->direction);
    m.direction = dir;
    if (w && sends(dir)) {
        std::string trackId = w->trackId.empty() ? "track-" + std::to_string(w->ssrc) : w->trackId;
        m.msids.push_back({w->streamId, trackId});
        m.ssrcs.push_back({w->ssrc, "cname", local.cname});
        m.ssrcs.push_back({w->ssrc, "msid", w->streamId + " " + trackId});
        if (codec->rtxPayloadType && w->rtxSsrc) {
            m.ssrcGroups.push_back({"FID", {w->ssrc, w->rtxSsrc}});
            m.ssrcs.push_back({w->rtxSsrc, "cname", local.cname});
            m.ssrcs.push_back({w->rtxSsrc, "msid", w->streamId + " " + trackId});
        }
    }
    return m;
}

std::vector<NegotiatedMedia> Negotiator::negotiatedMedia() const {
    std::vector<NegotiatedMedia> out;
    for (const auto& s : agreed_) {
        if (s.rejected || !s.wish || !s.remote) continue;
        if (s.kind != SectionKind::Audio && s.kind != SectionKind::Video) continue;
        const MediaWish* w = findWish(*s.wish);
        auto codec = chooseCodec(*s.remote, s.kind);
        if (!w || !codec) continue;
        NegotiatedMedia n;
        n.wish = w->id;
        n.current = s.current.value_or(sdp::Direction::Inactive);
        auto& c = n.config;
        c.mid = s.mid;
        c.kind = s.kind == SectionKind::Audio ? MediaKind::Audio : MediaKind::Video;
        c.send = sends(n.current);
        c.recv = receives(n.current);
        c.codec.name = codec->codec.encoding;
        c.codec.clockRate = codec->codec.clockRate;
        c.codec.channels = codec->codec.channels.value_or(0);
        c.codec.payloadType = codec->codec.payloadType;
        // The encoder follows the peer's parameters (RFC 7587 §7: usedtx, useinbandfec, stereo
        // are the receiver's wishes).
        c.codec.fmtp = codec->remoteFmtp;
        c.rtxPayloadType = codec->rtxPayloadType;
        c.localSsrc = w->ssrc;
        c.localRtxSsrc = codec->rtxPayloadType ? w->rtxSsrc : 0;
        const auto& r = *s.remote;
        std::set<uint32_t> rtx;
        for (const auto& g : r.ssrcGroups) {
            if (g.semantics == "FID" && g.ssrcs.size() == 2) {
                c.remoteRtxToMedia[g.ssrcs[1]] = g.ssrcs[0];
                rtx.insert(g.ssrcs[1]);
            }
        }
        for (const auto& a : r.ssrcs)
            if (!rtx.count(a.ssrc) && std::find(c.remoteSsrcs.begin(), c.remoteSsrcs.end(),
                                                a.ssrc) == c.remoteSsrcs.end())
                c.remoteSsrcs.push_back(a.ssrc);
        c.remotePayloadTypes = {codec->codec.payloadType};
        if (codec->rtxPayloadType)
            c.remoteRtxPayloadTypes[*codec->rtxPayloadType] = codec->codec.payloadType;
        for (const auto& fb : codec->feedback) {
            if (fb.type == "nack" && fb.parameter.empty()) c.nack = true;
            if (fb.type == "nack" && fb.parameter == "pli") c.pli = true;
            if (fb.type == "ccm" && fb.parameter == "fir") c.fir = true;
        }
        out.push_back(std::move(n));
    }
    return out;
}

// The bundle's extension ids and feedback: RFC 8843 §9.1 makes an id mean one URI across the
// bundle, so the first agreed media section's numbers hold for all.
void fillBundleMediaConfig(const std::vector<Section>& agreed, MediaConfig& config) {
    for (const auto& s : agreed) {
        if (s.rejected || !s.remote ||
            (s.kind != SectionKind::Audio && s.kind != SectionKind::Video))
            continue;
        for (const auto& e : s.remote->extmaps) {
            if (e.id < 1 || e.id > 255) continue;
            if (e.uri == kMidUri && !config.midExtensionId) config.midExtensionId = uint8_t(e.id);
            if (e.uri == kAbsSendTimeUri && !config.absSendTimeExtensionId)
                config.absSendTimeExtensionId = uint8_t(e.id);
            if (e.uri == kTransportCcUri && !config.transportCcExtensionId)
                config.transportCcExtensionId = uint8_t(e.id);
        }
        auto codec = chooseCodec(*s.remote, s.kind);
        if (codec)
            for (const auto& fb : codec->feedback)
                if (fb.type == "transport-cc") config.transportCc = true;
        config.reducedSizeRtcp = config.reducedSizeRtcp || s.remote->rtcpRsize;
    }
    if (!config.transportCcExtensionId) config.transportCc = false;
}

}  // namespace tincan::pc::jsep
