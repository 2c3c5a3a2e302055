#include "core/pc/peer_connection.hpp"

#include <spdlog/spdlog.h>

#include "core/api/convert.hpp"
#include "core/net/ice_transport.hpp"

namespace tincan::pc {

Result<std::shared_ptr<PeerConnection>> PeerConnection::create(net::Runtime& runtime, Config config,
                                                               PeerConnectionCallbacks callbacks) {
    std::shared_ptr<PeerConnection> pc(
        new PeerConnection(runtime, std::move(config), std::move(callbacks)));
    if (auto ok = pc->start(); !ok) return ok.error();
    return pc;
}

PeerConnection::PeerConnection(net::Runtime& runtime, Config config,
                               PeerConnectionCallbacks callbacks)
    : runtimeOwner_(config.runtimeOwner),
      runtime_(runtime),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      random_(std::make_unique<Random>()) {
    sessionId_ = random_->next64() >> 2;  // RFC 8866: fits in 63 bits
    ConnectionConfig cc;
    cc.ice = config_.ice;
    cc.certificate = config_.certificate ? config_.certificate : dtls::Certificate::generate();
    cc.localMaxMessageSize = config_.maxMessageSize;
    // The one wall-clock read: RTCP Sender Reports carry NTP time (RFC 3550 §6.4.1).
    auto micros = [](auto d) {
        return std::chrono::duration_cast<std::chrono::microseconds>(d).count();
    };
    cc.wallClockOffsetUs = micros(std::chrono::system_clock::now().time_since_epoch()) -
                           micros(runtime_.now().time_since_epoch());
    connection_ = std::make_unique<Connection>(cc, *random_);
    cname_ = random_->iceChars(16);  // RFC 7022: a random CNAME per connection
    negotiator_.setSsrcSource([this] {
        uint32_t ssrc = 0;
        while (ssrc == 0) ssrc = random_->next32();
        return ssrc;
    });
    // Tincan always negotiates a data section, so that either side can open channels without
    // renegotiating.
    negotiator_.addDataSection();
}

PeerConnection::~PeerConnection() {
    if (machine_ != net::kInvalidMachine) runtime_.detach(machine_);
    // Dropped without close(): the channels still open must not be kept alive by their callbacks.
    for (auto& entry : channels_) releaseCallbacks(*entry.second);
    for (auto& ch : pendingChannels_) releaseCallbacks(*ch);
    for (auto& entry : tracks_) entry.second->releaseCallbacks();
}

Result<void> PeerConnection::start() {
    std::weak_ptr<PeerConnection> weak = weak_from_this();
    machine_ = runtime_.attach(*connection_, [weak] {
        if (auto self = weak.lock()) self->onActivity();
    });
    auto bound = net::bindHostSockets(runtime_, machine_, config_.hostPolicy, 0);
    if (!bound) return bound.error();
    runtime_.post([weak, bases = *bound] {
        auto self = weak.lock();
        if (!self) return;
        auto now = self->runtime_.now();
        for (const auto& b : bases) self->connection_->ice().addHostBase(b);
        self->connection_->ice().startGathering(now);
        self->connection_->update(now);  // host candidates are known now: into gathered_
    });
    return {};
}

void PeerConnection::close() {
    onLoop([this] {
        if (closed_) return;
        closed_ = true;
        connection_->close(runtime_.now());
        setSignalingState(SignalingState::Closed);
        onActivity();
        closeAllChannels();
        endAllTracks();
    });
}

std::optional<SessionDescription> PeerConnection::localDescription() const {
    std::lock_guard lock(mutex_);
    return localDescription_;
}

std::optional<SessionDescription> PeerConnection::remoteDescription() const {
    std::lock_guard lock(mutex_);
    return remoteDescription_;
}

std::optional<CandidatePair> PeerConnection::selectedPair() const {
    std::lock_guard lock(mutex_);
    return selected_;
}

std::vector<TransceiverInfo> PeerConnection::transceivers() const {
    return onLoop([this] {
        std::vector<TransceiverInfo> out;
        for (const auto& s : negotiator_.sections()) {
            if (s.kind != jsep::SectionKind::Audio && s.kind != jsep::SectionKind::Video) continue;
            TransceiverInfo t;
            t.mid = s.mid;
            t.kind = s.kind == jsep::SectionKind::Audio ? MediaKind::Audio : MediaKind::Video;
            t.direction = Direction(uint8_t(s.direction));
            for (const auto& w : negotiator_.wishes())
                if (s.wish && w.id == *s.wish) t.direction = Direction(uint8_t(w.direction));
            if (s.current) t.currentDirection = Direction(uint8_t(*s.current));
            t.stopped = s.rejected;
            out.push_back(std::move(t));
        }
        return out;
    });
}

// ---------------------------------------------------------------- the event route

// Everything the connection has to say, in the order it happened: ICE, DTLS, connection state,
// SCTP events and data-channel messages (whose views stay valid until the next poll).
void PeerConnection::onActivity() {
    while (auto ev = connection_->pollEvent()) {
        if (auto* ie = std::get_if<ice::Event>(&*ev)) {
            onIceEvent(*ie);
        } else if (auto* d = std::get_if<event::DtlsStateChanged>(&*ev)) {
            if (callbacks_.onDtlsState) callbacks_.onDtlsState(api::toPublic(d->state), d->reason);
        } else if (auto* cs = std::get_if<event::ConnectionStateChanged>(&*ev)) {
            connectionState_ = api::toPublic(cs->state);
            if (callbacks_.onConnectionState)
                callbacks_.onConnectionState(api::toPublic(cs->state));
        } else if (std::holds_alternative<event::SctpReady>(*ev)) {
            openPendingChannels();
        } else if (auto* se = std::get_if<sctp::Event>(&*ev)) {
            onSctpEvent(*se);
        } else if (auto* me = std::get_if<MediaEvent>(&*ev)) {
            onMediaEvent(*me);
        } else if (std::holds_alternative<event::SrtpReady>(*ev)) {
            // The connection handed the keys to its MediaTransport: tracks may send.
            markTracksReady();
        }
    }
}

void PeerConnection::onIceEvent(const ice::Event& e) {
    if (auto* c = std::get_if<ice::event::LocalCandidate>(&e)) {
        // After an ICE restart the agent announces the new session's candidates.
        const auto& ufrag = connection_->ice().localCredentials().ufrag;
        if (gatheredUfrag_ != ufrag) {
            gatheredUfrag_ = ufrag;
            gathered_.clear();
        }
        gathered_.push_back(c->candidate);
        if (localSet_)
            emitCandidate(c->candidate);
        else
            unannounced_.push_back(c->candidate);
    } else if (auto* g = std::get_if<ice::event::GatheringStateChanged>(&e)) {
        gatheringComplete_ = g->state == ice::GatheringState::Complete;
        if (callbacks_.onIceGatheringState) callbacks_.onIceGatheringState(api::toPublic(g->state));
        announceCandidates();
    } else if (auto* s = std::get_if<ice::event::StateChanged>(&e)) {
        if (callbacks_.onIceConnectionState)
            callbacks_.onIceConnectionState(api::toPublic(s->state));
    } else if (auto* sel = std::get_if<ice::event::SelectedPairChanged>(&e)) {
        auto pair = api::toPublic(sel->pair);
        {
            std::lock_guard lock(mutex_);
            selected_ = pair;
        }
        if (callbacks_.onSelectedPair) callbacks_.onSelectedPair(pair);
    } else if (auto* q = std::get_if<ice::event::MdnsQuery>(&e)) {
        std::string name = q->hostname;
        std::weak_ptr<PeerConnection> weak = weak_from_this();
        runtime_.resolveMdns(name, [weak, name](std::optional<IpAddress> ip) {
            auto self = weak.lock();
            if (!self) return;
            self->runtime_.post([weak, name, ip] {
                if (auto still = weak.lock()) {
                    still->connection_->ice().resolvedMdns(still->runtime_.now(), name, ip);
                    still->connection_->update(still->runtime_.now());
                }
            });
        });
    }
}

}  // namespace tincan::pc
