// Offer/answer for PeerConnection: the signaling state machine (W3C) around jsep::Negotiator,
// which owns the m-sections; and the ICE candidates going both ways.
#include <spdlog/spdlog.h>

#include "core/api/convert.hpp"
#include "core/pc/peer_connection.hpp"

namespace tincan::pc {

namespace {

Result<sdp::SessionDescription> parseSdp(const std::string& text, const char* which) {
    auto parsed = sdp::parse(text);
    if (!parsed) return Error{std::string(which) + ": " + parsed.error().message};
    return parsed;
}

}  // namespace

void PeerConnection::setSignalingState(SignalingState s) {
    if (signalingState_.exchange(s) != s && callbacks_.onSignalingState)
        callbacks_.onSignalingState(s);
}

jsep::LocalParams PeerConnection::localParams() const {
    const auto& agent = connection_->ice();
    jsep::LocalParams p;
    p.ice = sdp::IceParams{agent.localCredentials().ufrag, agent.localCredentials().pwd};
    p.fingerprint = connection_->certificate()->fingerprint("sha-256");
    p.maxMessageSize = uint32_t(config_.maxMessageSize);
    p.sackEvery = config_.sackEvery;
    // Candidates gathered so far, so that peers that do not trickle (aiortc) have them.
    if (gatheredUfrag_ == agent.localCredentials().ufrag) {
        p.candidates = gathered_;
        p.endOfCandidates = gatheringComplete_;
    }
    return p;
}

Result<SessionDescription> PeerConnection::buildDescription(bool offer) {
    if (offer) {
        auto d = negotiator_.createOffer(localParams(), sessionId_, sessionVersion_++);
        return SessionDescription{SdpType::Offer, sdp::serialize(d)};
    }
    // RFC 8842 §5.3: answer actpass with active (we are the DTLS client).
    auto setup =
        remote_ && remote_->setup == sdp::Setup::Active ? sdp::Setup::Passive : sdp::Setup::Active;
    auto d = negotiator_.createAnswer(localParams(), setup, sessionId_, sessionVersion_++);
    if (!d) return d.error();
    return SessionDescription{SdpType::Answer, sdp::serialize(*d)};
}

Result<SessionDescription> PeerConnection::createOffer() {
    return onLoop([this]() -> Result<SessionDescription> {
        if (closed_) return Error{"the peer connection is closed"};
        if (signalingState_ == SignalingState::HaveRemoteOffer)
            return Error{"cannot create an offer in have-remote-offer (answer first)"};
        if (restartPending_) {
            restartPending_ = false;
            connection_->ice().restart(runtime_.now());
            connection_->update(runtime_.now());
            gatheringComplete_ = false;
            endAnnounced_ = false;
        }
        return buildDescription(true);
    });
}

Result<SessionDescription> PeerConnection::createAnswer() {
    return onLoop([this]() -> Result<SessionDescription> {
        if (signalingState_ != SignalingState::HaveRemoteOffer)
            return Error{std::string("cannot create an answer without a remote offer (state ") +
                         toString(signalingState_.load()) + ")"};
        return buildDescription(false);
    });
}

Result<void> PeerConnection::setLocalDescription(const SessionDescription& input) {
    return onLoop([this, input]() -> Result<void> {
        if (closed_) return Error{"the peer connection is closed"};
        SessionDescription d = input;
        if (d.type == SdpType::Rollback) {
            if (signalingState_ != SignalingState::HaveLocalOffer)
                return Error{"nothing to roll back"};
            negotiator_.rollback();
            pendingLocal_.reset();
            setSignalingState(SignalingState::Stable);
            return {};
        }
        if (d.sdp.empty()) {
            // Implicit description (W3C setLocalDescription() without arguments).
            auto made = buildDescription(signalingState_ != SignalingState::HaveRemoteOffer);
            if (!made) return made.error();
            d = *made;
        }
        auto desc = parseSdp(d.sdp, "local description");
        if (!desc) return desc.error();
        if (d.type == SdpType::Offer) {
            if (signalingState_ == SignalingState::HaveRemoteOffer)
                return Error{"cannot set a local offer in have-remote-offer"};
            if (auto ok = negotiator_.setLocalOffer(*desc); !ok) return ok;
            pendingLocal_ = d;
            setSignalingState(SignalingState::HaveLocalOffer);
        } else {
            if (signalingState_ != SignalingState::HaveRemoteOffer)
                return Error{"cannot set a local answer without a remote offer"};
            const sdp::MediaSection* tag = nullptr;
            for (const auto& m : desc->media)
                if (!m.rejected()) {
                    tag = &m;
                    break;
                }
            auto setup = tag ? desc->effectiveSetup(*tag) : std::nullopt;
            if (!setup || (*setup != sdp::Setup::Active && *setup != sdp::Setup::Passive))
                return Error{"local answer must have a=setup:active or passive"};
            if (auto ok = negotiator_.setLocalAnswer(*desc); !ok) return ok;
            {
                std::lock_guard lock(mutex_);
                localDescription_ = d;
                remoteDescription_ = pendingRemote_;
            }
            pendingRemote_.reset();
            connection_->setDtlsParameters(
                runtime_.now(),
                *setup == sdp::Setup::Active ? dtls::Role::Client : dtls::Role::Server,
                remote_->fingerprints);
            applyTransport();
            applyMedia();
            setSignalingState(SignalingState::Stable);
        }
        if (!localSet_) {
            localSet_ = true;
            for (const auto& c : unannounced_) emitCandidate(c);
            unannounced_.clear();
        }
        announceCandidates();
        runtime_.post([] {});  // drain the machine (DTLS may start now)
        return {};
    });
}

// The agreed data section, if any, starts SCTP (once DTLS is up).
void PeerConnection::applyTransport() {
    if (remote_ && remote_->sctpPort) {
        remoteMaxMessageSize_ = remote_->maxMessageSize;
        connection_->setSctpParameters(
            runtime_.now(), {*remote_->sctpPort, remote_->maxMessageSize, remote_->sackEvery});
    }
}

Result<void> PeerConnection::applyRemoteParams(const jsep::RemoteParams& params, bool isOffer) {
    Timestamp now = runtime_.now();
    auto& agent = connection_->ice();
    if (isOffer && !remoteSet_)
        agent.setRole(params.iceLite ? ice::Role::Controlling : ice::Role::Controlled);
    remote_ = params;
    agent.setRemoteCredentials(now, ice::Credentials{params.ice.ufrag, params.ice.pwd});
    for (const auto& c : params.candidates) agent.addRemoteCandidate(now, c);
    if (params.endOfCandidates) agent.endOfRemoteCandidates(now);
    if (!remoteSet_) {
        remoteSet_ = true;
        auto early = std::move(earlyRemoteCandidates_);
        earlyRemoteCandidates_.clear();
        for (const auto& c : early) {
            if (!c || c->candidate.empty()) {
                agent.endOfRemoteCandidates(now);
            } else if (auto r = agent.addRemoteCandidate(now, c->candidate); !r) {
                spdlog::warn("pc: ignoring a remote candidate: {}", r.error().message);
            }
        }
    }
    connection_->update(now);
    return {};
}

Result<void> PeerConnection::setRemoteDescription(const SessionDescription& d) {
    return onLoop([this, d]() -> Result<void> {
        if (closed_) return Error{"the peer connection is closed"};
        if (d.type == SdpType::Rollback) {
            if (signalingState_ != SignalingState::HaveRemoteOffer)
                return Error{"nothing to roll back"};
            negotiator_.rollback();
            pendingRemote_.reset();
            setSignalingState(SignalingState::Stable);
            return {};
        }
        auto desc = parseSdp(d.sdp, "remote description");
        if (!desc) return desc.error();
        if (d.type == SdpType::Offer) {
            auto params = negotiator_.setRemoteOffer(*desc);  // rolls our own offer back, if any
            if (!params) return params.error();
            if (signalingState_ == SignalingState::HaveLocalOffer) {
                // Implicit rollback of our own offer (the polite side of perfect negotiation).
                pendingLocal_.reset();
                setSignalingState(SignalingState::Stable);
            }
            if (auto ok = applyRemoteParams(*params, true); !ok) return ok;
            pendingRemote_ = d;
            setSignalingState(SignalingState::HaveRemoteOffer);
            announceRemoteTracks();
        } else {
            if (signalingState_ != SignalingState::HaveLocalOffer)
                return Error{std::string("cannot apply a remote answer in state ") +
                             toString(signalingState_.load())};
            auto params = negotiator_.setRemoteAnswer(*desc);
            if (!params) return params.error();
            if (auto ok = applyRemoteParams(*params, false); !ok) return ok;
            {
                std::lock_guard lock(mutex_);
                localDescription_ = pendingLocal_;
                remoteDescription_ = d;
            }
            pendingLocal_.reset();
            connection_->setDtlsParameters(
                runtime_.now(),
                params->setup == sdp::Setup::Active ? dtls::Role::Server : dtls::Role::Client,
                params->fingerprints);
            applyTransport();
            applyMedia();
            setSignalingState(SignalingState::Stable);
        }
        runtime_.post([] {});
        return {};
    });
}

Result<void> PeerConnection::addIceCandidate(const std::optional<IceCandidate>& c) {
    if (c && !c->candidate.empty()) {
        auto parsed = ice::parseCandidate(c->candidate);
        if (!parsed) return Error{"bad candidate: " + parsed.error().message};
    }
    return onLoop([this, c]() -> Result<void> {
        if (!remoteSet_) {
            if (earlyRemoteCandidates_.size() < 1000) earlyRemoteCandidates_.push_back(c);
            return {};
        }
        auto& agent = connection_->ice();
        if (!c || c->candidate.empty()) {
            agent.endOfRemoteCandidates(runtime_.now());
            connection_->update(runtime_.now());
            return {};
        }
        auto added = agent.addRemoteCandidate(runtime_.now(), c->candidate);
        connection_->update(runtime_.now());
        if (!added) return Error{"bad candidate: " + added.error().message};
        return {};
    });
}

void PeerConnection::announceCandidates() {
    if (gatheringComplete_ && localSet_ && !endAnnounced_ && callbacks_.onIceCandidate) {
        endAnnounced_ = true;
        callbacks_.onIceCandidate(std::nullopt);
    }
}

void PeerConnection::emitCandidate(const ice::Candidate& c) {
    if (callbacks_.onLocalCandidate) callbacks_.onLocalCandidate(api::toPublic(c));
    if (callbacks_.onIceCandidate)
        callbacks_.onIceCandidate(
            IceCandidate{c.toSdp(), negotiator_.transportMid(), negotiator_.transportIndex()});
}

void PeerConnection::restartIce() {
    onLoop([this] { restartPending_ = true; });
    if (callbacks_.onNegotiationNeeded)
        runtime_.post([weak = weak_from_this()] {
            if (auto self = weak.lock(); self && self->callbacks_.onNegotiationNeeded)
                self->callbacks_.onNegotiationNeeded();
        });
}

}  // namespace tincan::pc
