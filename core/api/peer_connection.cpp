// tincan::PeerConnection: the public facade over pc::PeerConnection.
#include "tincan/peer_connection.hpp"

#include <algorithm>

#include "core/api/ice_servers.hpp"
#include "core/dtls/certificate.hpp"
#include "core/pc/peer_connection.hpp"
#include "core/sdp/sdp.hpp"

namespace tincan {

const char* toString(SdpType t) {
    switch (t) {
        case SdpType::Offer:
            return "offer";
        case SdpType::Answer:
            return "answer";
        case SdpType::Rollback:
            return "rollback";
    }
    return "?";
}

Result<SdpType> parseSdpType(const std::string& text) {
    if (text == "offer") return SdpType::Offer;
    if (text == "answer") return SdpType::Answer;
    if (text == "rollback") return SdpType::Rollback;
    return Error{"unknown session description type '" + text + "' (offer, answer or rollback)"};
}

const char* toString(SignalingState s) {
    switch (s) {
        case SignalingState::Stable:
            return "stable";
        case SignalingState::HaveLocalOffer:
            return "have-local-offer";
        case SignalingState::HaveRemoteOffer:
            return "have-remote-offer";
        case SignalingState::Closed:
            return "closed";
    }
    return "?";
}

const char* toString(IceConnectionState s) {
    switch (s) {
        case IceConnectionState::New:
            return "new";
        case IceConnectionState::Checking:
            return "checking";
        case IceConnectionState::Connected:
            return "connected";
        case IceConnectionState::Completed:
            return "completed";
        case IceConnectionState::Disconnected:
            return "disconnected";
        case IceConnectionState::Failed:
            return "failed";
        case IceConnectionState::Closed:
            return "closed";
    }
    return "?";
}

const char* toString(IceGatheringState s) {
    switch (s) {
        case IceGatheringState::New:
            return "new";
        case IceGatheringState::Gathering:
            return "gathering";
        case IceGatheringState::Complete:
            return "complete";
    }
    return "?";
}

const char* toString(PeerConnectionState s) {
    switch (s) {
        case PeerConnectionState::New:
            return "new";
        case PeerConnectionState::Connecting:
            return "connecting";
        case PeerConnectionState::Connected:
            return "connected";
        case PeerConnectionState::Disconnected:
            return "disconnected";
        case PeerConnectionState::Failed:
            return "failed";
        case PeerConnectionState::Closed:
            return "closed";
    }
    return "?";
}

const char* toString(DtlsState s) {
    switch (s) {
        case DtlsState::New:
            return "new";
        case DtlsState::Connecting:
            return "connecting";
        case DtlsState::Connected:
            return "connected";
        case DtlsState::Closed:
            return "closed";
        case DtlsState::Failed:
            return "failed";
    }
    return "?";
}

const char* toString(MediaKind k) {
    return k == MediaKind::Audio ? "audio" : "video";
}

// Same values as the SDP model's (RFC 8866 §6.7): one spelling of the attribute names.
const char* toString(Direction d) {
    return sdp::toString(sdp::Direction(uint8_t(d)));
}
static_assert(uint8_t(sdp::Direction::Inactive) == uint8_t(Direction::Inactive));

namespace api {

// The parts of a public configuration every connection type shares: servers, interfaces.
Result<void> configureIce(const std::vector<IceServer>& servers, const std::string& tlsCaFile,
                          IceTransportPolicy policy, const std::vector<std::string>& interfaces,
                          bool allowLoopback, ice::AgentConfig& agent, net::HostPolicy& hosts,
                          net::Runtime& runtime) {
    agent.policy = policy == IceTransportPolicy::Relay ? ice::TransportPolicy::Relay
                                                       : ice::TransportPolicy::All;
    hosts.includeLoopback = allowLoopback;
    hosts.onlyInterfaces = interfaces;
    return resolveIceServers(servers, tlsCaFile, agent, runtime);
}

}  // namespace api

PeerConnection::PeerConnection(std::shared_ptr<pc::PeerConnection> impl) : impl_(std::move(impl)) {}

PeerConnection::~PeerConnection() {
    if (impl_) impl_->close();
}

Result<std::shared_ptr<PeerConnection>> PeerConnection::create(Configuration config,
                                                               PeerConnectionCallbacks callbacks) {
    auto thread = config.networkThread ? config.networkThread : NetworkThread::shared();
    pc::Config pcConfig;
    if (auto ok = api::configureIce(config.iceServers, config.tlsCaFile, config.iceTransportPolicy,
                                    config.interfaces, config.allowLoopback, pcConfig.ice,
                                    pcConfig.hostPolicy, thread->runtime());
        !ok)
        return ok.error();
    if (config.certificate) pcConfig.certificate = config.certificate->impl();
    pcConfig.maxMessageSize = config.maxMessageSize;
    pcConfig.sackEvery =
        uint8_t(std::clamp<unsigned>(config.dataChannelSackEvery, 2, sctp::kMaxSackEvery));
    pcConfig.runtimeOwner = thread;  // the thread outlives every connection on it
    auto impl =
        pc::PeerConnection::create(thread->runtime(), std::move(pcConfig), std::move(callbacks));
    if (!impl) return impl.error();
    return std::shared_ptr<PeerConnection>(new PeerConnection(std::move(*impl)));
}

Result<SessionDescription> PeerConnection::createOffer() {
    return impl_->createOffer();
}
Result<SessionDescription> PeerConnection::createAnswer() {
    return impl_->createAnswer();
}
Result<void> PeerConnection::setLocalDescription(const SessionDescription& d) {
    return impl_->setLocalDescription(d);
}
Result<void> PeerConnection::setRemoteDescription(const SessionDescription& d) {
    return impl_->setRemoteDescription(d);
}
Result<void> PeerConnection::addIceCandidate(const std::optional<IceCandidate>& c) {
    return impl_->addIceCandidate(c);
}
Result<std::shared_ptr<DataChannel>> PeerConnection::createDataChannel(
    const std::string& label, const DataChannelInit& init) {
    return impl_->createDataChannel(label, init);
}
void PeerConnection::restartIce() {
    impl_->restartIce();
}
void PeerConnection::close() {
    impl_->close();
}
SignalingState PeerConnection::signalingState() const {
    return impl_->signalingState();
}
PeerConnectionState PeerConnection::connectionState() const {
    return impl_->connectionState();
}
std::optional<SessionDescription> PeerConnection::localDescription() const {
    return impl_->localDescription();
}
std::optional<SessionDescription> PeerConnection::remoteDescription() const {
    return impl_->remoteDescription();
}
std::optional<CandidatePair> PeerConnection::selectedPair() const {
    return impl_->selectedPair();
}
Result<std::shared_ptr<Track>> PeerConnection::addTrack(MediaKind kind, const TrackInit& init) {
    return impl_->addTrack(kind, init);
}

Result<void> PeerConnection::removeTrack(const std::shared_ptr<Track>& track) {
    auto mine = impl_->tracks();
    if (!track || std::find(mine.begin(), mine.end(), track) == mine.end())
        return Error{"removeTrack: not a track of this connection"};
    Direction d = track->direction();
    if (d == Direction::SendRecv)
        track->setDirection(Direction::RecvOnly);
    else if (d == Direction::SendOnly)
        track->setDirection(Direction::Inactive);
    return {};
}

std::vector<std::shared_ptr<Track>> PeerConnection::tracks() const {
    return impl_->tracks();
}

std::vector<TransceiverInfo> PeerConnection::transceivers() const {
    return impl_->transceivers();
}
size_t PeerConnection::remoteMaxMessageSize() const {
    return impl_->remoteMaxMessageSize();
}
StatsReport PeerConnection::getStats() const {
    return impl_->getStats();
}

}  // namespace tincan
