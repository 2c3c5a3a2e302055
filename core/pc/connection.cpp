#include "core/pc/connection.hpp"

#include <spdlog/spdlog.h>

namespace tincan::pc {

const char* toString(ConnectionState s) {
    switch (s) {
        case ConnectionState::New:
            return "new";
        case ConnectionState::Connecting:
            return "connecting";
        case ConnectionState::Connected:
            return "connected";
        case ConnectionState::Disconnected:
            return "disconnected";
        case ConnectionState::Failed:
            return "failed";
        case ConnectionState::Closed:
            return "closed";
    }
    return "?";
}

namespace {
constexpr size_t kMaxEarlyDtls = 32;

struct Nested {
    explicit Nested(int& depth) : depth_(depth) { ++depth_; }
    ~Nested() { --depth_; }
    int& depth_;
};
}  // namespace

Connection::Connection(ConnectionConfig config, Random& random)
    : config_(std::move(config)), agent_(config_.ice, random), random_(random) {
    if (!config_.certificate) config_.certificate = dtls::Certificate::generate();
    sctp::SctpTransport::prepare();  // not on the first association's path (DTLS up -> SCTP INIT)
    srtp::SrtpSession::prepare();    // nor libsrtp's self-tests between DTLS and the first frame
    agent_.setDataHandler([this](ByteView data) { onIceData(data); });
}

Connection::~Connection() = default;

// RFC 7983 §7: the first byte tells DTLS (20..63) from RTP/RTCP (128..191); STUN (0..3) never
// gets here, the agent keeps it.
void Connection::onIceData(ByteView data) {
    uint8_t b = data[0];
    if (b >= 20 && b <= 63) {
        if (dtls_ && dtlsStarted_) {
            dtls_->handleIncoming(now_, data);
        } else if (earlyDtls_.size() < kMaxEarlyDtls) {
            earlyDtls_.emplace_back(data.begin(), data.end());
            stats_.earlyDtlsBuffered++;
        }
    } else if (b >= 128 && b <= 191) {
        if (media_)
            media_->handleIncoming(now_, data);
        else
            stats_.rtpDropped++;
    } else {
        stats_.unknownDropped++;
    }
}

void Connection::setDtlsParameters(Timestamp now, dtls::Role role,
                                   std::vector<sdp::Fingerprint> remote) {
    if (dtls_ || closed_) return;
    now_ = now;
    dtls::DtlsConfig cfg;
    cfg.role = role;
    cfg.remoteFingerprints = std::move(remote);
    dtls_ = std::make_unique<dtls::DtlsTransport>(config_.certificate, cfg);
    dtls_->setDataHandler([this](ByteView data) {
        if (sctp_) sctp_->handleIncoming(now_, data);
    });
    maybeStartDtls(now);
    pump(now);
}

void Connection::setSctpParameters(Timestamp now, RemoteSctp remote) {
    if (remoteSctp_ || closed_) return;
    remoteSctp_ = remote;
    maybeStartSctp(now);
    pump(now);
}

void Connection::configureMedia(Timestamp now, MediaConfig config) {
    if (closed_) return;
    now_ = now;
    if (!media_) media_ = std::make_unique<MediaTransport>(random_, config_.wallClockOffsetUs);
    media_->configure(now, std::move(config));
    if (srtp_) media_->handleSrtpKeys(now, srtp_->keys, srtp_->role);
    if (depth_ == 0) pump(now);
}

void Connection::maybeStartDtls(Timestamp now) {
    if (!dtls_ || dtlsStarted_ || closed_ || !agent_.selectedPair()) return;
    dtlsStarted_ = true;
    dtls_->start(now);
    while (!earlyDtls_.empty()) {
        Bytes d = std::move(earlyDtls_.front());
        earlyDtls_.pop_front();
        dtls_->handleIncoming(now, d);
    }
}

void Connection::maybeStartSctp(Timestamp now) {
    if (sctpStarted_ || closed_ || !remoteSctp_ || !dtls_ ||
        dtls_->state() != dtls::State::Connected)
        return;
    sctp::SctpConfig cfg;
    cfg.localPort = config_.localSctpPort;
    cfg.remotePort = remoteSctp_->port;
    cfg.localMaxMessageSize = config_.localMaxMessageSize;
    cfg.remoteMaxMessageSize = remoteSctp_->maxMessageSize;
    cfg.sackEvery = remoteSctp_->sackEvery;
    cfg.dtlsClient = dtls_->role() == dtls::Role::Client;
    sctp_ = std::make_unique<sctp::SctpTransport>(cfg);
    sctpStarted_ = true;
    sctp_->start(now);
}

// Moves bytes down the stack and events up until nothing moves.
void Connection::pump(Timestamp now) {
    now_ = now;
    Nested nested(depth_);
    for (int round = 0; round < 64; ++round) {
        bool moved = false;
        while (auto ev = agent_.pollEvent()) {
            moved = true;
            if (auto* s = std::get_if<ice::event::StateChanged>(&*ev)) iceState_ = s->state;
            bool selected = std::holds_alternative<ice::event::SelectedPairChanged>(*ev);
            events_.emplace_back(std::move(*ev));
            if (selected) maybeStartDtls(now);
        }
        if (dtls_) {
            while (auto out = dtls_->pollOutgoing()) {
                moved = true;
                agent_.send(now, *out);
            }
            while (auto ev = dtls_->pollEvent()) {
                moved = true;
                if (auto* k = std::get_if<dtls::event::SrtpReady>(&*ev)) {
                    srtp_ = event::SrtpReady{k->keys, dtls_->role()};
                    events_.emplace_back(*srtp_);
                    if (media_) media_->handleSrtpKeys(now, k->keys, dtls_->role());
                } else if (auto* s = std::get_if<dtls::event::StateChanged>(&*ev)) {
                    dtlsState_ = s->state;
                    spdlog::debug("pc: DTLS {}{}{}", int(s->state), s->reason.empty() ? "" : ": ",
                                  s->reason);
                    events_.emplace_back(event::DtlsStateChanged{s->state, s->reason});
                    if (s->state == dtls::State::Connected) maybeStartSctp(now);
                }
            }
        }
        if (media_) {
            while (auto out = media_->pollOutgoing()) {
                moved = true;
                if (agent_.selectedPair() && !closed_) agent_.send(now, *out);
            }
            while (auto ev = media_->pollEvent()) {
                moved = true;
                events_.emplace_back(std::move(*ev));
            }
        }
        if (sctp_) {
            // SCTP's events and messages stay in it until pollEvent() (one ordered route).
            while (auto out = sctp_->pollOutgoing()) {
                moved = true;
                if (dtls_) dtls_->send(*out);
            }
        }
        updateState();
        if (!moved) break;
    }
}

void Connection::updateState() {
    ConnectionState s;
    if (closed_) {
        s = ConnectionState::Closed;
    } else if (iceState_ == ice::IceState::Failed || dtlsState_ == dtls::State::Failed) {
        s = ConnectionState::Failed;
    } else if (iceState_ == ice::IceState::Disconnected) {
        s = ConnectionState::Disconnected;
    } else if ((iceState_ == ice::IceState::Connected || iceState_ == ice::IceState::Completed) &&
               dtlsState_ == dtls::State::Connected) {
        s = ConnectionState::Connected;
    } else if (iceState_ == ice::IceState::New && dtlsState_ == dtls::State::New) {
        s = ConnectionState::New;
    } else if (dtlsState_ == dtls::State::Closed) {
        s = ConnectionState::Closed;
    } else {
        s = ConnectionState::Connecting;
    }
    if (s != state_) {
        state_ = s;
        events_.emplace_back(event::ConnectionStateChanged{s});
    }
}

void Connection::close(Timestamp now) {
    if (closed_) return;
    if (sctp_) sctp_->shutdown(now);
    pump(now);
    if (dtls_) dtls_->close(now);
    pump(now);
    agent_.close(now);
    closed_ = true;
    pump(now);
}

void Connection::update(Timestamp now) {
    if (depth_ == 0) pump(now);
}

void Connection::handlePacket(Timestamp now, const PacketView& packet) {
    now_ = now;
    Nested nested(depth_);
    agent_.handlePacket(now, packet);
    pump(now);
}

void Connection::handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                                   const Endpoint& remote, StreamState state) {
    now_ = now;
    Nested nested(depth_);
    agent_.handleStreamState(now, protocol, local, remote, state);
    pump(now);
}

void Connection::handleTimeout(Timestamp now) {
    now_ = now;
    Nested nested(depth_);
    if (auto t = agent_.pollTimeout(); t && *t <= now) agent_.handleTimeout(now);
    if (dtls_) {
        if (auto t = dtls_->pollTimeout(); t && *t <= now) dtls_->handleTimeout(now);
    }
    if (sctp_) {
        if (auto t = sctp_->pollTimeout(); t && *t <= now) sctp_->handleTimeout(now);
    }
    if (media_) {
        if (auto t = media_->pollTimeout(); t && *t <= now) media_->handleTimeout(now);
    }
    pump(now);
}

std::optional<Packet> Connection::pollTransmit() {
    // Draining events read from SCTP, which may have queued SACKs, window updates or replies
    // (an echo): move them down before the runtime takes what is ready.
    if (depth_ == 0 && sctp_) pump(now_);
    return agent_.pollTransmit();
}

std::optional<Timestamp> Connection::pollTimeout() {
    std::optional<Timestamp> t = agent_.pollTimeout();
    auto consider = [&](std::optional<Timestamp> c) {
        if (c && (!t || *c < *t)) t = c;
    };
    if (dtls_ && dtlsStarted_) consider(dtls_->pollTimeout());
    if (sctp_) consider(sctp_->pollTimeout());
    if (media_ && !closed_) consider(media_->pollTimeout());
    return t;
}

std::optional<Event> Connection::pollEvent() {
    if (!events_.empty()) {
        Event e = std::move(events_.front());
        events_.pop_front();
        return e;
    }
    if (!sctp_) return std::nullopt;
    auto ev = sctp_->pollEvent();
    if (!ev) return std::nullopt;
    if (std::holds_alternative<sctp::event::AssociationUp>(*ev)) {
        sctpUp_ = true;
        events_.emplace_back(std::move(*ev));
        return Event{event::SctpReady{}};
    }
    return Event{std::move(*ev)};
}

}  // namespace tincan::pc
