// libFuzzer target for what the other peer relays through the signaling server, read the way
// tincan-cli and the desktop app read it, without their sockets and threads: each text frame
// is decoded (session/signal_message, as SignalingClient::onText), a trickled candidate is
// parsed (as session::Negotiator does), and offers and answers go through the SDP parser and
// JSEP negotiation (core/pc/jsep) in the order PeerConnection applies them, with perfect
// negotiation's rollback in glare. Our side has a data section, an audio and a video
// transceiver, like the desktop app before its first offer.
//
// The input is a script: text frames separated by '\n'. A first frame that is a server welcome
// with one peer makes us the offerer (impolite); otherwise we answer (polite).
//
// Invariants (a broken one traps): decoding never throws; what we write (offers, answers,
// candidates) parses back; an answer mirrors the offer's m-lines in order with the same mids (an
// m-line the offer left without a=mid gets its index); our own answer to an offer JSEP accepted
// is accepted by JSEP; a renegotiation offer after any agreed state is ours to apply.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ice/candidate.hpp"
#include "core/pc/jsep.hpp"
#include "core/sdp/sdp.hpp"
#include "session/signal_message.hpp"

using namespace tincan;
using namespace tincan::pc;
namespace sig = tincan::session::signal;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

jsep::LocalParams localParams() {
    jsep::LocalParams p;
    p.ice = {"fuzz", "fuzzfuzzfuzzfuzzfuzzfuzz"};
    p.fingerprint = sdp::Fingerprint{"sha-256", Bytes(32, 0xAB)};
    return p;
}

sdp::SessionDescription reparse(const sdp::SessionDescription& d) {
    auto again = sdp::parse(sdp::serialize(d));
    check(bool(again));
    return *again;
}

enum class State { Stable, HaveLocalOffer };

struct Session {
    jsep::Negotiator jsep;
    State state = State::Stable;
    bool polite = true;
    uint64_t version = 1;

    Session() {
        jsep.setSsrcSource([n = uint32_t(1000)]() mutable { return ++n; });
        jsep.addDataSection();
        jsep.addMediaWish({.id = 1, .kind = jsep::SectionKind::Audio, .trackId = "a", .ssrc = 11});
        jsep.addMediaWish(
            {.id = 2, .kind = jsep::SectionKind::Video, .trackId = "v", .ssrc = 21, .rtxSsrc = 22});
    }

    void makeOffer() {
        auto offer = reparse(jsep.createOffer(localParams(), 1, version++));
        check(bool(jsep.setLocalOffer(offer)));
        state = State::HaveLocalOffer;
    }

    void exerciseAgreed() {
        (void)jsep.transportMid();
        (void)jsep.transportIndex();
        MediaConfig config;
        jsep::fillBundleMediaConfig(jsep.sections(), config);
        for (const auto& m : jsep.negotiatedMedia()) (void)m.config;
    }

    void onOffer(const std::string& text) {
        auto offer = sdp::parse(text);
        if (!offer) return;  // PeerConnection refuses it; the session goes on
        if (state == State::HaveLocalOffer) {
            if (!polite) return;  // glare: the impolite side keeps its offer
            jsep.rollback();
            state = State::Stable;
        }
        if (!jsep.setRemoteOffer(*offer)) return;
        auto answer = jsep.createAnswer(localParams(), sdp::Setup::Active, 2, version++);
        check(bool(answer));
        auto written = reparse(*answer);
        check(written.media.size() == offer->media.size());
        // An offer's m-line without a=mid gets its index as mid, as libwebrtc fills in missing
        // remote mids; the answer then names it.
        for (size_t i = 0; i < written.media.size(); ++i) {
            const std::string& offered = offer->media[i].mid;
            check(written.media[i].mid == (offered.empty() ? std::to_string(i) : offered));
        }
        check(bool(jsep.setLocalAnswer(written)));
        exerciseAgreed();
        // Renegotiation from whatever was agreed: our next offer is ours to apply.
        makeOffer();
        jsep.rollback();
        state = State::Stable;
    }

    void onAnswer(const std::string& text) {
        if (state != State::HaveLocalOffer) return;  // stale: glare already resolved
        auto answer = sdp::parse(text);
        if (!answer) return;
        if (!jsep.setRemoteAnswer(*answer)) return;
        state = State::Stable;
        exerciseAgreed();
    }
};

void onCandidate(const sig::Candidate& c) {
    if (!c.candidate) return;
    auto parsed = ice::parseCandidate(c.candidate->candidate);
    if (!parsed) return;
    auto again = ice::parseCandidate(parsed->toSdp());
    check(bool(again));
    check(again->toSdp() == parsed->toSdp());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view script(reinterpret_cast<const char*>(data), size);
    Session session;
    bool first = true;
    while (!script.empty()) {
        const size_t end = script.find('\n');
        const std::string_view frame = script.substr(0, end);
        script = end == std::string_view::npos ? std::string_view() : script.substr(end + 1);

        const sig::Message msg = sig::decode(frame);
        if (first) {
            first = false;
            if (const auto* w = std::get_if<sig::Welcome>(&msg); w && w->peers == 1) {
                session.polite = false;
                session.makeOffer();
                continue;
            }
        }
        if (const auto* d = std::get_if<sig::Description>(&msg)) {
            if (d->type == SdpType::Offer)
                session.onOffer(d->sdp);
            else
                session.onAnswer(d->sdp);
        } else if (const auto* c = std::get_if<sig::Candidate>(&msg)) {
            onCandidate(*c);
        } else if (std::holds_alternative<sig::Bye>(msg)) {
            session = Session();  // the call is over; a new one may start in the same room
        }
    }
    return 0;
}
