#include "session/negotiator.hpp"

#include <spdlog/spdlog.h>

namespace tincan::session {

Negotiator::Negotiator(QUrl url, std::shared_ptr<PeerConnection> pc, Hooks hooks, QObject* parent)
    : QObject(parent),
      pc_(std::move(pc)),
      hooks_(std::move(hooks)),
      signaling_(std::move(url),
                 SignalingClient::Callbacks{
                     .onWelcome =
                         [this](int peers) {
                             if (hooks_.onJoined) hooks_.onJoined(peers);
                             if (joinedOnce_) return;  // back after a drop: the call goes on
                             joinedOnce_ = true;
                             polite_ = peers == 0;  // SIGNALING.md: the first in the room is polite
                             if (peers >= 1 && pc_->signalingState() == SignalingState::Stable &&
                                 !pc_->remoteDescription())
                                 makeOffer();
                         },
                     .onPeerJoined =
                         [this] {
                             if (hooks_.onPeerJoined) hooks_.onPeerJoined();
                         },
                     .onPeerLeft =
                         [this] {
                             if (hooks_.onPeerLeft) hooks_.onPeerLeft();
                             // A peer whose signaling socket dropped may still be in the call:
                             // only one that never connected, or whose connection is gone, left.
                             if (pc_->connectionState() != PeerConnectionState::Connected &&
                                 hooks_.onRemoteHangup)
                                 hooks_.onRemoteHangup();
                         },
                     .onMessage = [this](const signal::Message& msg) { onSignal(msg); },
                     .onError = [this](const std::string& e) { fail(e); },
                     .onReconnecting =
                         [this](const std::string& why) {
                             if (hooks_.onReconnecting) hooks_.onReconnecting(why);
                         },
                 },
                 this) {
    signaling_.setReconnect(true);
}

void Negotiator::start() {
    signaling_.open();
}

void Negotiator::hangup() {
    if (closed_) return;
    closed_ = done_ = true;
    signaling_.close();
}

void Negotiator::fail(const std::string& why) {
    if (done_) return;
    done_ = true;
    if (hooks_.onError) hooks_.onError(why);
}

void Negotiator::send(const nlohmann::json& msg) {
    if (!done_) signaling_.send(msg);
}

void Negotiator::ignore(const std::string& why) {
    ignoredSignals_++;
    spdlog::warn("signaling: ignored a message: {}", why);
}

void Negotiator::sendLocalCandidate(const std::optional<IceCandidate>& c) {
    if (!c) return send({{"type", "candidate"}, {"candidate", nullptr}});
    send({{"type", "candidate"},
          {"candidate",
           {{"candidate", c->candidate},
            {"sdpMid", c->sdpMid},
            {"sdpMLineIndex", c->sdpMLineIndex}}}});
}

void Negotiator::makeOffer() {
    auto offer = pc_->createOffer();
    if (!offer) return fail("cannot create an offer: " + offer.message());
    if (auto ok = pc_->setLocalDescription(*offer); !ok)
        return fail("cannot apply our offer: " + ok.message());
    send({{"type", "offer"}, {"sdp", offer->sdp}});
}

// What the other peer relays is untrusted input: a message of the wrong shape is ignored and
// counted, never fatal (../shared/SIGNALING.md; signal_message.hpp decodes it).
void Negotiator::onSignal(const signal::Message& msg) {
    if (done_) return;
    if (const auto* bad = std::get_if<signal::Malformed>(&msg)) return ignore(bad->why);
    if (const auto* d = std::get_if<signal::Description>(&msg))
        return onDescription(d->type, d->sdp);
    if (const auto* c = std::get_if<signal::Candidate>(&msg)) return onCandidate(*c);
    if (std::holds_alternative<signal::Bye>(msg) && hooks_.onRemoteHangup) hooks_.onRemoteHangup();
    // Unknown types are ignored (forward compatibility).
}

void Negotiator::onDescription(SdpType type, const std::string& sdp) {
    if (type == SdpType::Answer) {
        if (pc_->signalingState() != SignalingState::HaveLocalOffer)
            return;  // stale: glare already resolved
        if (auto ok = pc_->setRemoteDescription({SdpType::Answer, sdp}); !ok)
            return fail("bad remote answer: " + ok.message());
        return;
    }
    // Perfect negotiation: in glare the impolite side keeps its offer, the polite side rolls
    // its own back (setRemoteDescription does the implicit rollback).
    bool glare = pc_->signalingState() != SignalingState::Stable;
    if (glare && !polite_) {
        spdlog::info("signaling: ignoring a colliding offer (impolite peer)");
        return;
    }
    if (auto ok = pc_->setRemoteDescription({SdpType::Offer, sdp}); !ok)
        return fail("bad remote offer: " + ok.message());
    auto answer = pc_->createAnswer();
    if (!answer) return fail("cannot answer: " + answer.message());
    if (auto ok = pc_->setLocalDescription(*answer); !ok)
        return fail("cannot apply our answer: " + ok.message());
    send({{"type", "answer"}, {"sdp", answer->sdp}});
}

void Negotiator::onCandidate(const signal::Candidate& c) {
    if (c.candidate) {
        auto parsed = parseCandidate(c.candidate->candidate);
        if (!parsed) return ignore(parsed.message());
        if (hooks_.onRemoteCandidate) hooks_.onRemoteCandidate(*parsed);
    }
    if (auto ok = pc_->addIceCandidate(c.candidate); !ok)
        spdlog::warn("ignoring a remote candidate: {}", ok.message());
}

}  // namespace tincan::session
