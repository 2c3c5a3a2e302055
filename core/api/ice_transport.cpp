// tincan::IceTransport: the public facade over net::IceTransport.
#include "tincan/ice_transport.hpp"

#include "core/api/convert.hpp"
#include "core/net/ice_transport.hpp"
#include "core/pc/stats.hpp"

namespace tincan {

namespace api {
Result<void> configureIce(const std::vector<IceServer>& servers, const std::string& tlsCaFile,
                          IceTransportPolicy policy, const std::vector<std::string>& interfaces,
                          bool allowLoopback, ice::AgentConfig& agent, net::HostPolicy& hosts,
                          net::Runtime& runtime);
}

Result<std::unique_ptr<IceTransport>> IceTransport::create(IceTransportConfig config,
                                                           IceTransportCallbacks cb) {
    std::unique_ptr<IceTransport> out(new IceTransport());
    out->thread_ = config.networkThread ? config.networkThread : NetworkThread::shared();
    net::IceTransportConfig core;
    if (auto ok = api::configureIce(config.iceServers, config.tlsCaFile, config.iceTransportPolicy,
                                    config.interfaces, config.allowLoopback, core.agent,
                                    core.hostPolicy, out->thread_->runtime());
        !ok)
        return ok.error();
    core.agent.role = config.controlling ? ice::Role::Controlling : ice::Role::Controlled;
    out->controlling_ = config.controlling;
    net::IceTransportCallbacks ncb;
    if (cb.onLocalCandidate)
        ncb.onLocalCandidate = [f = cb.onLocalCandidate](const ice::Candidate& c) {
            f(api::toPublic(c));
        };
    if (cb.onGatheringState)
        ncb.onGatheringState = [f = cb.onGatheringState](ice::GatheringState s) {
            f(api::toPublic(s));
        };
    if (cb.onState) ncb.onState = [f = cb.onState](ice::IceState s) { f(api::toPublic(s)); };
    if (cb.onSelectedPair)
        ncb.onSelectedPair = [f = cb.onSelectedPair](const ice::CandidatePairInfo& p) {
            f(api::toPublic(p));
        };
    ncb.onData = std::move(cb.onData);
    out->impl_ = std::make_unique<net::IceTransport>(out->thread_->runtime(), core, std::move(ncb));
    if (auto started = out->impl_->start(); !started)
        return Error{"cannot start ICE: " + started.message()};
    return out;
}

IceTransport::~IceTransport() {
    impl_.reset();
}

IceCredentials IceTransport::localCredentials() const {
    auto c = impl_->localCredentials();
    return {c.ufrag, c.pwd};
}

void IceTransport::setRemoteCredentials(const IceCredentials& remote) {
    impl_->setRemoteCredentials(ice::Credentials{remote.ufrag, remote.pwd});
}

Result<void> IceTransport::addRemoteCandidate(const std::string& candidate) {
    if (auto r = impl_->addRemoteCandidate(candidate); !r)
        return Error{"bad candidate: " + r.error().message};
    return {};
}

void IceTransport::endOfRemoteCandidates() {
    impl_->endOfRemoteCandidates();
}
void IceTransport::send(ByteView data) {
    impl_->send(data);
}
void IceTransport::close() {
    impl_->close();
}
IceConnectionState IceTransport::state() const {
    return api::toPublic(impl_->state());
}

std::optional<CandidatePair> IceTransport::selectedPair() const {
    auto p = impl_->selectedPair();
    if (!p) return std::nullopt;
    return api::toPublic(*p);
}

std::string IceTransport::failureReason() const {
    return impl_->failureReason();
}

StatsReport IceTransport::getStats() const {
    StatsReport report;
    auto stats = impl_->stats();
    pc::addIceStats(report, stats, impl_->state(),
                    controlling_ ? ice::Role::Controlling : ice::Role::Controlled);
    report.transport->foreignPacketsDropped = stats.dataDroppedUnknownSource;
    return report;
}

}  // namespace tincan
