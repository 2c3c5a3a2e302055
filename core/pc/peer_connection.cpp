#include "core/pc/peer_connection.hpp"

#include <future>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/net/ice_transport.hpp"
#include "core/pc/stats.hpp"

namespace tincan::pc {

const char* toString(SignalingState s) {
    switch (s) {
        case SignalingState::Stable: return "stable";
        case SignalingState::HaveLocalOffer: return "have-local-offer";
        case SignalingState::HaveRemoteOffer: return "have-remote-offer";
        case SignalingState::Closed: return "closed";
    }
    return "?";
}

const char* toString(DataChannelState s) {
    switch (s) {
        case DataChannelState::Connecting: return "connecting";
        case DataChannelState::Open: return "open";
        case DataChannelState::Closing: return "closing";
        case DataChannelState::Closed: return "closed";
    }
    return "?";
}

// ==================================================================== DataChannel

DataChannel::DataChannel(std::weak_ptr<PeerConnection> pc, std::string label, DataChannelInit init)
    : pc_(std::move(pc)), label_(std::move(label)), init_(std::move(init)) {}

std::optional<uint16_t> DataChannel::id() const {
    int32_t v = id_.load();
    if (v < 0) return std::nullopt;
    return uint16_t(v);
}

size_t DataChannel::maxMessageSize() const {
    auto pc = pc_.lock();
    return pc ? pc->remoteMaxMessageSize() : 65536;
}

size_t DataChannel::bufferedAmount() const { return buffered_.load() + posted_.load(); }

void DataChannel::setCallbacks(Callbacks callbacks) {
    std::lock_guard lock(callbackMutex_);
    callbacks_ = std::move(callbacks);
}

void DataChannel::fire(const std::function<void(const Callbacks&)>& f) {
    Callbacks copy;
    {
        std::lock_guard lock(callbackMutex_);
        copy = callbacks_;
    }
    f(copy);
}

void DataChannel::setBufferedAmountLowThreshold(size_t bytes) {
    lowThreshold_ = bytes;
    auto pc = pc_.lock();
    if (!pc) return;
    auto self = this;
    pc->runtime_.post([pc, self, bytes] {
        auto id = self->id();
        if (id && pc->connection_->sctp()) pc->connection_->sctp()->setBufferedAmountLowThreshold(*id, bytes);
    });
}

bool DataChannel::send(std::string_view text) { return sendImpl(asBytes(text), false); }
bool DataChannel::sendBinary(ByteView data) { return sendImpl(data, true); }

bool DataChannel::sendImpl(ByteView data, bool binary) {
    auto pc = pc_.lock();
    if (!pc || state_.load() != DataChannelState::Open) return false;
    if (data.size() > pc->remoteMaxMessageSize()) return false;
    if (pc->runtime_.onLoopThread()) return pc->sendOnLoop(*this, data, binary);
    posted_ += data.size();
    size_t n = data.size();
    pc->runtime_.post([pc, this, copy = Bytes(data.begin(), data.end()), binary, n] {
        posted_ -= n;
        pc->sendOnLoop(*this, copy, binary);
    });
    return true;
}

void DataChannel::close() {
    auto pc = pc_.lock();
    if (!pc) return;
    DataChannelState s = state_.load();
    if (s == DataChannelState::Closed || s == DataChannelState::Closing) return;
    state_ = DataChannelState::Closing;
    pc->runtime_.post([pc, this] {
        auto id = this->id();
        if (id && pc->connection_->sctp()) pc->connection_->sctp()->closeChannel(*id);
    });
}

// ==================================================================== PeerConnection

std::shared_ptr<PeerConnection> PeerConnection::create(net::Runtime& runtime, Configuration config,
                                                       PeerConnectionCallbacks callbacks, std::string* error) {
    std::shared_ptr<PeerConnection> pc(new PeerConnection(runtime, std::move(config), std::move(callbacks)));
    if (!pc->start(error)) return nullptr;
    return pc;
}

PeerConnection::PeerConnection(net::Runtime& runtime, Configuration config, PeerConnectionCallbacks callbacks)
    : runtime_(runtime),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      random_(std::make_unique<Random>()),
      alive_(std::make_shared<bool>(true)) {
    sessionId_ = random_->next64() >> 2;  // RFC 8866: fits in 63 bits
    ConnectionConfig cc;
    cc.ice.stunServers = config_.stunServers;
    cc.ice.turnServers = config_.turnServers;
    cc.ice.policy = config_.policy;
    cc.certificate = config_.certificate ? config_.certificate : dtls::Certificate::generate();
    cc.localMaxMessageSize = config_.maxMessageSize;
    connection_ = std::make_unique<Connection>(cc, *random_);
    connection_->setMessageHandler([this](uint16_t id, ByteView data, bool binary) {
        auto it = channels_.find(id);
        if (it == channels_.end()) {
            // The peer may send right behind its DATA_CHANNEL_OPEN (RFC 8832 §6): keep it until
            // the channel has been announced to the application.
            auto& q = earlyMessages_[id];
            if (q.size() < 1024) q.emplace_back(Bytes(data.begin(), data.end()), binary);
            return;
        }
        it->second->fire([&](const DataChannel::Callbacks& cb) {
            if (cb.onMessage) cb.onMessage(data, binary);
        });
    });
}

PeerConnection::~PeerConnection() {
    *alive_ = false;
    if (machine_ != net::kInvalidMachine) runtime_.detach(machine_);
}

bool PeerConnection::start(std::string* error) {
    machine_ = runtime_.attach(*connection_, [this] { onActivity(); });
    auto bases = net::bindHostSockets(runtime_, machine_, config_.hostPolicy, 0, error);
    if (bases.empty()) return false;
    runtime_.post([this, bases] {
        for (const auto& b : bases) connection_->ice().addHostBase(b);
        connection_->ice().startGathering(runtime_.now());
        connection_->update(runtime_.now());  // host candidates are known now: into gathered_
    });
    return true;
}

template <typename F>
auto PeerConnection::onLoop(F&& f) const -> decltype(f()) {
    using R = decltype(f());
    if (runtime_.onLoopThread()) return f();
    auto promise = std::make_shared<std::promise<R>>();
    auto future = promise->get_future();
    const_cast<net::Runtime&>(runtime_).post([&f, promise] {
        if constexpr (std::is_void_v<R>) {
            f();
            promise->set_value();
        } else {
            promise->set_value(f());
        }
    });
    return future.get();
}

// ---------------------------------------------------------------- descriptions

PeerConnection::DescriptionOrError PeerConnection::buildDescription(bool offer) {
    auto& agent = connection_->ice();
    sdp::DataChannelParams params;
    params.mid = mid_;
    params.ice = sdp::IceParams{agent.localCredentials().ufrag, agent.localCredentials().pwd};
    params.fingerprint = connection_->certificate()->fingerprint("sha-256");
    params.maxMessageSize = uint32_t(config_.maxMessageSize);
    if (offer) {
        params.setup = sdp::Setup::ActPass;
    } else {
        // RFC 8842 §5.3: answer actpass with active (we are the DTLS client).
        params.setup = remoteSetup_ == sdp::Setup::Active ? sdp::Setup::Passive : sdp::Setup::Active;
    }
    auto desc = sdp::makeDataChannelDescription(sessionId_, sessionVersion_++, params);
    // Candidates gathered so far, so that peers that do not trickle (aiortc) have them.
    if (!desc.media.empty()) {
        if (gatheredUfrag_ == agent.localCredentials().ufrag) {
            desc.media[0].candidates = gathered_;
            desc.media[0].endOfCandidates = gatheringComplete_;
        }
    }
    return SessionDescriptionInit{offer ? "offer" : "answer", sdp::serialize(desc)};
}

PeerConnection::DescriptionOrError PeerConnection::createOffer() {
    return onLoop([this]() -> DescriptionOrError {
        if (signalingState_ == SignalingState::Closed) return std::string("the peer connection is closed");
        if (signalingState_ == SignalingState::HaveRemoteOffer)
            return std::string("cannot create an offer in have-remote-offer (answer first)");
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

PeerConnection::DescriptionOrError PeerConnection::createAnswer() {
    return onLoop([this]() -> DescriptionOrError {
        if (signalingState_ != SignalingState::HaveRemoteOffer)
            return std::string("cannot create an answer without a remote offer (state ") +
                   toString(signalingState_.load()) + ")";
        return buildDescription(false);
    });
}

void PeerConnection::setSignalingState(SignalingState s) {
    if (signalingState_.exchange(s) != s && callbacks_.onSignalingState) callbacks_.onSignalingState(s);
}

std::optional<std::string> PeerConnection::setLocalDescription(const SessionDescriptionInit& input) {
    return onLoop([this, input]() -> std::optional<std::string> {
        SessionDescriptionInit d = input;
        if (signalingState_ == SignalingState::Closed) return "the peer connection is closed";
        if (d.type == "rollback") {
            if (signalingState_ != SignalingState::HaveLocalOffer) return "nothing to roll back";
            pendingLocal_.reset();
            setSignalingState(SignalingState::Stable);
            return std::nullopt;
        }
        if (d.sdp.empty()) {
            // Implicit description (W3C setLocalDescription() without arguments).
            bool offer = signalingState_ != SignalingState::HaveRemoteOffer;
            auto made = buildDescription(offer);
            if (auto* e = std::get_if<std::string>(&made)) return *e;
            d = std::get<SessionDescriptionInit>(made);
        }
        auto parsed = sdp::parse(d.sdp);
        if (auto* e = std::get_if<sdp::SdpError>(&parsed)) return "local description: " + e->what();
        const auto& desc = std::get<sdp::SessionDescription>(parsed);
        if (d.type == "offer") {
            if (signalingState_ == SignalingState::HaveRemoteOffer)
                return "cannot set a local offer in have-remote-offer";
            pendingLocal_ = d;
            setSignalingState(SignalingState::HaveLocalOffer);
        } else if (d.type == "answer") {
            if (signalingState_ != SignalingState::HaveRemoteOffer)
                return "cannot set a local answer without a remote offer";
            const sdp::MediaSection* m = nullptr;
            for (const auto& s : desc.media)
                if (s.isDataChannel()) m = &s;
            auto setup = m ? desc.effectiveSetup(*m) : std::nullopt;
            if (!setup || (*setup != sdp::Setup::Active && *setup != sdp::Setup::Passive))
                return "local answer must have a=setup:active or passive";
            {
                std::lock_guard lock(descriptionMutex_);
                localDescription_ = d;
                remoteDescription_ = pendingRemote_;
            }
            pendingRemote_.reset();
            connection_->setDtlsParameters(runtime_.now(), *setup == sdp::Setup::Active ? dtls::Role::Client
                                                                                         : dtls::Role::Server,
                                           remoteFingerprints_);
            connection_->setSctpParameters(runtime_.now(), remoteSctpPort_, remoteMaxMessageSize_.load());
            setSignalingState(SignalingState::Stable);
        } else {
            return "unsupported description type '" + d.type + "'";
        }
        if (!localSet_) {
            localSet_ = true;
            for (const auto& c : unannounced_) emitCandidate(c);
            unannounced_.clear();
        }
        if (gatheringComplete_ && !endAnnounced_ && callbacks_.onIceCandidate) {
            endAnnounced_ = true;
            callbacks_.onIceCandidate(std::nullopt);
        }
        runtime_.post([] {});  // drain the machine (DTLS may start now)
        return std::nullopt;
    });
}

std::optional<std::string> PeerConnection::applyRemote(const sdp::SessionDescription& desc, bool isOffer) {
    const sdp::MediaSection* m = nullptr;
    for (const auto& s : desc.media)
        if (s.isDataChannel() && !s.rejected()) {
            m = &s;
            break;
        }
    if (!m) return "the remote description has no data channel section (m=application ... webrtc-datachannel)";
    auto ice = desc.effectiveIce(*m);
    if (!ice) return "the remote description has no a=ice-ufrag/a=ice-pwd";
    auto fingerprints = desc.effectiveFingerprints(*m);
    if (fingerprints.empty()) return "the remote description has no a=fingerprint: refusing an unauthenticated peer";
    auto setup = desc.effectiveSetup(*m);
    if (!isOffer && setup == sdp::Setup::ActPass) return "the remote answer has a=setup:actpass (must be active or passive)";
    remoteSetup_ = setup.value_or(isOffer ? sdp::Setup::ActPass : sdp::Setup::Active);
    remoteFingerprints_ = fingerprints;
    remoteSctpPort_ = m->sctpPortOrDefault();
    remoteMaxMessageSize_ = m->maxMessageSizeOrDefault();
    if (isOffer) mid_ = m->mid;
    Timestamp now = runtime_.now();
    auto& agent = connection_->ice();
    if (isOffer && !remoteSet_) agent.setRole(desc.iceLite ? ice::Role::Controlling : ice::Role::Controlled);
    agent.setRemoteCredentials(now, ice::Credentials{ice->ufrag, ice->pwd});
    for (const auto& c : m->candidates) agent.addRemoteCandidate(now, c);
    if (m->endOfCandidates) agent.endOfRemoteCandidates(now);
    if (!remoteSet_) {
        remoteSet_ = true;
        auto early = std::move(earlyRemoteCandidates_);
        earlyRemoteCandidates_.clear();
        for (const auto& c : early) {
            if (!c || c->candidate.empty()) {
                agent.endOfRemoteCandidates(now);
            } else if (auto err = agent.addRemoteCandidate(now, c->candidate)) {
                spdlog::warn("pc: ignoring a remote candidate: {}", *err);
            }
        }
    }
    connection_->update(now);
    return std::nullopt;
}

std::optional<std::string> PeerConnection::setRemoteDescription(const SessionDescriptionInit& d) {
    return onLoop([this, d]() -> std::optional<std::string> {
        if (signalingState_ == SignalingState::Closed) return "the peer connection is closed";
        if (d.type == "rollback") {
            if (signalingState_ != SignalingState::HaveRemoteOffer) return "nothing to roll back";
            pendingRemote_.reset();
            setSignalingState(SignalingState::Stable);
            return std::nullopt;
        }
        auto parsed = sdp::parse(d.sdp);
        if (auto* e = std::get_if<sdp::SdpError>(&parsed)) return "remote description: " + e->what();
        const auto& desc = std::get<sdp::SessionDescription>(parsed);
        if (d.type == "offer") {
            if (signalingState_ == SignalingState::HaveLocalOffer) {
                // Implicit rollback of our own offer (the polite side of perfect negotiation).
                pendingLocal_.reset();
                setSignalingState(SignalingState::Stable);
            }
            if (auto err = applyRemote(desc, true)) return err;
            pendingRemote_ = d;
            setSignalingState(SignalingState::HaveRemoteOffer);
        } else if (d.type == "answer") {
            if (signalingState_ != SignalingState::HaveLocalOffer)
                return std::string("cannot apply a remote answer in state ") + toString(signalingState_.load());
            if (auto err = applyRemote(desc, false)) return err;
            {
                std::lock_guard lock(descriptionMutex_);
                localDescription_ = pendingLocal_;
                remoteDescription_ = d;
            }
            pendingLocal_.reset();
            connection_->setDtlsParameters(runtime_.now(),
                                           remoteSetup_ == sdp::Setup::Active ? dtls::Role::Server : dtls::Role::Client,
                                           remoteFingerprints_);
            connection_->setSctpParameters(runtime_.now(), remoteSctpPort_, remoteMaxMessageSize_.load());
            setSignalingState(SignalingState::Stable);
        } else {
            return "unsupported description type '" + d.type + "'";
        }
        runtime_.post([] {});
        return std::nullopt;
    });
}

std::optional<std::string> PeerConnection::addIceCandidate(const std::optional<IceCandidateInit>& c) {
    if (c && !c->candidate.empty()) {
        auto parsed = ice::parseCandidate(c->candidate);
        if (auto* e = std::get_if<ice::CandidateParseError>(&parsed)) return "bad candidate: " + e->reason;
    }
    return onLoop([this, c]() -> std::optional<std::string> {
        if (!remoteSet_) {
            if (earlyRemoteCandidates_.size() < 1000) earlyRemoteCandidates_.push_back(c);
            return std::nullopt;
        }
        auto& agent = connection_->ice();
        if (!c || c->candidate.empty()) {
            agent.endOfRemoteCandidates(runtime_.now());
            connection_->update(runtime_.now());
            return std::nullopt;
        }
        auto err = agent.addRemoteCandidate(runtime_.now(), c->candidate);
        connection_->update(runtime_.now());
        return err;
    });
}

void PeerConnection::emitCandidate(const ice::Candidate& c) {
    if (callbacks_.onLocalCandidate) callbacks_.onLocalCandidate(c);
    if (callbacks_.onIceCandidate) callbacks_.onIceCandidate(IceCandidateInit{c.toSdp(), mid_, 0});
}

void PeerConnection::restartIce() {
    onLoop([this] { restartPending_ = true; });
}

void PeerConnection::close() {
    onLoop([this] {
        if (signalingState_ == SignalingState::Closed) return;
        connection_->close(runtime_.now());
        setSignalingState(SignalingState::Closed);
        onActivity();
        closeAllChannels();
    });
}

std::optional<SessionDescriptionInit> PeerConnection::localDescription() const {
    std::lock_guard lock(descriptionMutex_);
    return localDescription_;
}

std::optional<SessionDescriptionInit> PeerConnection::remoteDescription() const {
    std::lock_guard lock(descriptionMutex_);
    return remoteDescription_;
}

std::optional<ice::CandidatePairInfo> PeerConnection::selectedPair() const {
    std::lock_guard lock(descriptionMutex_);
    return selected_;
}

// ---------------------------------------------------------------- data channels

std::shared_ptr<DataChannel> PeerConnection::createDataChannel(const std::string& label, const DataChannelInit& init) {
    std::shared_ptr<DataChannel> ch(new DataChannel(weak_from_this(), label, init));
    onLoop([this, ch] {
        pendingChannels_.push_back(ch);
        if (connection_->sctp()) openPendingChannels();
    });
    return ch;
}

void PeerConnection::openPendingChannels() {
    auto* sctp = connection_->sctp();
    if (!sctp) return;
    auto pending = std::move(pendingChannels_);
    pendingChannels_.clear();
    for (auto& ch : pending) {
        sctp::ChannelInit ci;
        ci.label = ch->label_;
        ci.protocol = ch->init_.protocol;
        ci.ordered = ch->init_.ordered;
        ci.maxRetransmits = ch->init_.maxRetransmits;
        ci.maxPacketLifeTimeMs = ch->init_.maxPacketLifeTime;
        ci.negotiatedId = ch->init_.negotiatedId;
        auto r = sctp->createChannel(ci);
        if (auto* err = std::get_if<std::string>(&r)) {
            spdlog::warn("pc: cannot open data channel '{}': {}", ch->label_, *err);
            ch->state_ = DataChannelState::Closed;
            ch->fire([](const DataChannel::Callbacks& cb) {
                if (cb.onClose) cb.onClose();
            });
            continue;
        }
        uint16_t id = std::get<uint16_t>(r);
        ch->id_ = id;
        channels_[id] = ch;
        if (size_t t = ch->lowThreshold_.load()) sctp->setBufferedAmountLowThreshold(id, t);
    }
}

bool PeerConnection::sendOnLoop(DataChannel& ch, ByteView data, bool binary) {
    auto* sctp = connection_->sctp();
    auto id = ch.id();
    if (!sctp || !id) return false;
    bool ok = sctp->send(*id, data, binary);
    refreshBuffered(ch);
    return ok;
}

void PeerConnection::refreshBuffered(DataChannel& ch) {
    auto* sctp = connection_->sctp();
    auto id = ch.id();
    if (sctp && id) ch.buffered_ = sctp->bufferedAmount(*id);
}

// ---------------------------------------------------------------- events

void PeerConnection::onActivity() {
    while (auto ev = connection_->pollEvent()) {
        if (auto* ie = std::get_if<ice::Event>(&*ev)) {
            if (auto* c = std::get_if<ice::event::LocalCandidate>(ie)) {
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
            } else if (auto* g = std::get_if<ice::event::GatheringStateChanged>(ie)) {
                gatheringComplete_ = g->state == ice::GatheringState::Complete;
                if (callbacks_.onIceGatheringState) callbacks_.onIceGatheringState(g->state);
                if (gatheringComplete_ && localSet_ && !endAnnounced_ && callbacks_.onIceCandidate) {
                    endAnnounced_ = true;
                    callbacks_.onIceCandidate(std::nullopt);
                }
            } else if (auto* s = std::get_if<ice::event::StateChanged>(ie)) {
                if (callbacks_.onIceConnectionState) callbacks_.onIceConnectionState(s->state);
            } else if (auto* sel = std::get_if<ice::event::SelectedPairChanged>(ie)) {
                {
                    std::lock_guard lock(descriptionMutex_);
                    selected_ = sel->pair;
                }
                if (callbacks_.onSelectedPair) callbacks_.onSelectedPair(sel->pair);
            } else if (auto* q = std::get_if<ice::event::MdnsQuery>(ie)) {
                std::string name = q->hostname;
                std::weak_ptr<bool> alive = alive_;
                runtime_.resolveMdns(name, [this, name, alive](std::optional<IpAddress> ip) {
                    auto a = alive.lock();
                    if (!a || !*a) return;
                    runtime_.post([this, name, ip, alive] {
                        auto still = alive.lock();
                        if (still && *still) {
                            connection_->ice().resolvedMdns(runtime_.now(), name, ip);
                            connection_->update(runtime_.now());
                        }
                    });
                });
            }
        } else if (auto* d = std::get_if<event::DtlsStateChanged>(&*ev)) {
            if (callbacks_.onDtlsState) callbacks_.onDtlsState(d->state, d->reason);
        } else if (auto* cs = std::get_if<event::ConnectionStateChanged>(&*ev)) {
            connectionState_ = cs->state;
            if (callbacks_.onConnectionState) callbacks_.onConnectionState(cs->state);
        } else if (std::holds_alternative<event::SctpReady>(*ev)) {
            openPendingChannels();
        } else if (auto* se = std::get_if<sctp::Event>(&*ev)) {
            if (auto* o = std::get_if<sctp::event::ChannelOpened>(se)) {
                std::shared_ptr<DataChannel> ch;
                auto it = channels_.find(o->id);
                if (it != channels_.end()) {
                    ch = it->second;
                } else if (o->remote) {
                    DataChannelInit init;
                    init.protocol = o->protocol;
                    ch.reset(new DataChannel(weak_from_this(), o->label, init));
                    ch->id_ = o->id;
                    channels_[o->id] = ch;
                    ch->state_ = DataChannelState::Open;
                    channelsOpened_++;
                    if (callbacks_.onDataChannel) callbacks_.onDataChannel(ch);
                    ch->fire([](const DataChannel::Callbacks& cb) {
                        if (cb.onOpen) cb.onOpen();
                    });
                    if (auto early = earlyMessages_.find(o->id); early != earlyMessages_.end()) {
                        auto msgs = std::move(early->second);
                        earlyMessages_.erase(early);
                        for (auto& msg : msgs)
                            ch->fire([&msg](const DataChannel::Callbacks& cb) {
                                if (cb.onMessage) cb.onMessage(msg.first, msg.second);
                            });
                    }
                    continue;
                }
                if (ch && ch->state_.load() == DataChannelState::Connecting) {
                    ch->state_ = DataChannelState::Open;
                    channelsOpened_++;
                    ch->fire([](const DataChannel::Callbacks& cb) {
                        if (cb.onOpen) cb.onOpen();
                    });
                }
            } else if (auto* c = std::get_if<sctp::event::ChannelClosed>(se)) {
                auto it = channels_.find(c->id);
                if (it == channels_.end()) continue;
                auto ch = it->second;
                ch->state_ = DataChannelState::Closed;
                closedChannelStats_.push_back(channelStatsJson(c->id, *ch));
                channelsClosed_++;
                channels_.erase(it);
                ch->fire([](const DataChannel::Callbacks& cb) {
                    if (cb.onClose) cb.onClose();
                });
            } else if (auto* low = std::get_if<sctp::event::BufferedAmountLow>(se)) {
                auto it = channels_.find(low->id);
                if (it == channels_.end()) continue;
                auto ch = it->second;
                refreshBuffered(*ch);
                ch->fire([](const DataChannel::Callbacks& cb) {
                    if (cb.onBufferedAmountLow) cb.onBufferedAmountLow();
                });
            } else if (std::holds_alternative<sctp::event::AssociationFailed>(*se) ||
                       std::holds_alternative<sctp::event::AssociationClosed>(*se)) {
                closeAllChannels();
            }
        }
    }
}

// Every channel ends Closed, keeps its stats, and hears onClose.
void PeerConnection::closeAllChannels() {
    auto all = std::move(channels_);
    channels_.clear();
    for (auto& [id, ch] : all) {
        ch->state_ = DataChannelState::Closed;
        closedChannelStats_.push_back(channelStatsJson(id, *ch));
        channelsClosed_++;
        ch->fire([](const DataChannel::Callbacks& cb) {
            if (cb.onClose) cb.onClose();
        });
    }
}

// ---------------------------------------------------------------- stats

nlohmann::json PeerConnection::channelStatsJson(uint16_t id, const DataChannel& ch) {
    nlohmann::json j = {{"id", fmt::format("D{}-{}", id, ch.label_)},
                        {"type", "data-channel"},
                        {"label", ch.label_},
                        {"protocol", ch.init_.protocol},
                        {"dataChannelIdentifier", id},
                        {"state", toString(ch.state_.load())}};
    auto* sctp = connection_->sctp();
    if (auto s = sctp ? sctp->channelStats(id) : std::nullopt) {
        j["messagesSent"] = s->messagesSent;
        j["bytesSent"] = s->bytesSent;
        j["messagesReceived"] = s->messagesReceived;
        j["bytesReceived"] = s->bytesReceived;
    }
    return j;
}

nlohmann::json PeerConnection::getStats() const {
    return onLoop([this] {
        nlohmann::json report = iceStatsReport(connection_->ice().stats(), connection_->ice().state());
        auto* dtls = const_cast<Connection&>(*connection_).dtls();
        for (auto& entry : report) {
            if (entry["type"] != "transport") continue;
            entry["dtlsState"] = dtls ? dtls::toString(dtls->state()) : "new";
            entry["iceRole"] = connection_->ice().role() == ice::Role::Controlling ? "controlling" : "controlled";
            if (dtls && dtls->state() == dtls::State::Connected) {
                entry["tlsVersion"] = dtls->tlsVersion();
                entry["dtlsCipher"] = dtls->cipherSuite();
                entry["dtlsRole"] = dtls->role() == dtls::Role::Client ? "client" : "server";
            }
            entry["localCertificateId"] = "CERT-local";
            if (dtls && dtls->remoteFingerprint()) entry["remoteCertificateId"] = "CERT-remote";
        }
        auto local = connection_->certificate()->fingerprint("sha-256");
        report.push_back({{"id", "CERT-local"},
                          {"type", "certificate"},
                          {"fingerprintAlgorithm", local.algorithm},
                          {"fingerprint", local.toString()}});
        if (dtls && dtls->remoteFingerprint()) {
            auto remote = *dtls->remoteFingerprint();
            report.push_back({{"id", "CERT-remote"},
                              {"type", "certificate"},
                              {"fingerprintAlgorithm", remote.algorithm},
                              {"fingerprint", remote.toString()}});
        }
        for (const auto& [id, ch] : channels_) report.push_back(const_cast<PeerConnection*>(this)->channelStatsJson(id, *ch));
        for (const auto& closed : closedChannelStats_) report.push_back(closed);
        report.push_back({{"id", "P"},
                          {"type", "peer-connection"},
                          {"dataChannelsOpened", channelsOpened_},
                          {"dataChannelsClosed", channelsClosed_}});
        return report;
    });
}

}  // namespace tincan::pc
