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
                     .onMessage = [this](const nlohmann::json& msg) { onSignal(msg); },
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
// counted, never fatal (../shared/SIGNALING.md; W3C allows null sdpMid/sdpMLineIndex).
void Negotiator::onSignal(const nlohmann::json& msg) {
    if (done_) return;
    if (!msg.is_object() || !msg.contains("type") || !msg["type"].is_string())
        return ignore("no string 'type'");
    const std::string type = msg["type"].get<std::string>();
    if (type == "offer" || type == "answer") {
        if (!msg.contains("sdp") || !msg["sdp"].is_string())
            return ignore("'" + type + "' without an sdp string");
        onDescription(type, msg["sdp"].get<std::string>());
    } else if (type == "candidate") {
        onCandidate(msg);
    } else if (type == "bye") {
        if (hooks_.onRemoteHangup) hooks_.onRemoteHangup();
    }
    // Unknown types are ignored (forward compatibility).
}

void Negotiator::onDescription(const std::string& type, const std::string& sdp) {
    if (type == "answer") {
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

void Negotiator::onCandidate(const nlohmann::json& msg) {
    const auto c = msg.contains("candidate") ? msg["candidate"] : nlohmann::json();
    if (!c.is_null() && !c.is_object()) return ignore("'candidate' is neither an object nor null");
    std::optional<IceCandidate> init;
    if (c.is_object()) {
        if (!c.contains("candidate") || !c["candidate"].is_string())
            return ignore("candidate without a string");
        IceCandidate ic;
        ic.candidate = c["candidate"].get<std::string>();
        if (c.contains("sdpMid") && c["sdpMid"].is_string())
            ic.sdpMid = c["sdpMid"].get<std::string>();
        if (c.contains("sdpMLineIndex") && c["sdpMLineIndex"].is_number_integer())
            ic.sdpMLineIndex = c["sdpMLineIndex"].get<int>();
        if (!ic.candidate.empty()) {
            auto parsed = parseCandidate(ic.candidate);
            if (!parsed) return ignore(parsed.message());
            if (hooks_.onRemoteCandidate) hooks_.onRemoteCandidate(*parsed);
            init = std::move(ic);
        }
    }
    if (auto ok = pc_->addIceCandidate(init); !ok)
        spdlog::warn("ignoring a remote candidate: {}", ok.message());
}

}  // namespace tincan::session
