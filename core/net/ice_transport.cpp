#include "core/net/ice_transport.hpp"

#include <spdlog/spdlog.h>

namespace tincan::net {

IceTransport::IceTransport(Runtime& runtime, IceTransportConfig config,
                           IceTransportCallbacks callbacks)
    : runtime_(runtime),
      config_(std::move(config)),
      callbacks_(std::move(callbacks)),
      random_(std::make_unique<Random>()),
      alive_(std::make_shared<bool>(true)) {
    if (!config_.agent.localCredentials)
        config_.agent.localCredentials =
            ice::Credentials{random_->iceChars(8), random_->iceChars(24)};
    localCredentials_ = *config_.agent.localCredentials;
    agent_ = std::make_unique<ice::Agent>(config_.agent, *random_);
    if (callbacks_.onData) agent_->setDataHandler(callbacks_.onData);
}

IceTransport::~IceTransport() {
    *alive_ = false;
    if (id_ != kInvalidMachine) runtime_.detach(id_);
}

Result<std::vector<Endpoint>> bindHostSockets(Runtime& runtime, MachineId machine,
                                              const HostPolicy& policy, uint16_t port) {
    auto interfaces = selectHostInterfaces(listInterfaces(), policy);
    std::vector<Endpoint> bases;
    std::string lastError;
    for (const auto& itf : interfaces) {
        if (auto bound = runtime.openUdp(machine, Endpoint{itf.address, port})) {
            bases.push_back(*bound);
        } else {
            lastError = itf.name + " " + itf.address.toString() + ": " + bound.message();
            spdlog::warn("ice: cannot bind {}", lastError);
        }
    }
    if (bases.empty())
        return Error{interfaces.empty() ? "no usable network interface"
                                        : "could not bind any local address (" + lastError + ")"};
    return bases;
}

Result<void> IceTransport::start() {
    id_ = runtime_.attach(*agent_, [this] { onActivity(); });
    auto bound = bindHostSockets(runtime_, id_, config_.hostPolicy, config_.port);
    if (!bound) return bound.error();
    runtime_.post([this, bases = *bound] {
        for (const auto& b : bases) agent_->addHostBase(b);
        agent_->startGathering(runtime_.now());
    });
    return {};
}

void IceTransport::onActivity() {
    while (auto ev = agent_->pollEvent()) {
        std::visit(
            [&](auto& e) {
                using T = std::decay_t<decltype(e)>;
                if constexpr (std::is_same_v<T, ice::event::LocalCandidate>) {
                    if (callbacks_.onLocalCandidate) callbacks_.onLocalCandidate(e.candidate);
                } else if constexpr (std::is_same_v<T, ice::event::GatheringStateChanged>) {
                    if (callbacks_.onGatheringState) callbacks_.onGatheringState(e.state);
                } else if constexpr (std::is_same_v<T, ice::event::StateChanged>) {
                    if (callbacks_.onState) callbacks_.onState(e.state);
                } else if constexpr (std::is_same_v<T, ice::event::SelectedPairChanged>) {
                    if (callbacks_.onSelectedPair) callbacks_.onSelectedPair(e.pair);
                } else if constexpr (std::is_same_v<T, ice::event::RoleChanged>) {
                    if (callbacks_.onRoleChanged) callbacks_.onRoleChanged(e.role);
                } else if constexpr (std::is_same_v<T, ice::event::MdnsQuery>) {
                    std::string name = e.hostname;
                    std::weak_ptr<bool> alive = alive_;
                    runtime_.resolveMdns(name, [this, name, alive](std::optional<IpAddress> ip) {
                        auto a = alive.lock();
                        if (!a || !*a) return;
                        // Posted so that the runtime drains the agent afterwards.
                        runtime_.post([this, name, ip, alive] {
                            auto still = alive.lock();
                            if (still && *still) agent_->resolvedMdns(runtime_.now(), name, ip);
                        });
                    });
                } else if constexpr (std::is_same_v<T, ice::event::Data>) {
                    if (callbacks_.onData) callbacks_.onData(e.data);
                }
            },
            *ev);
    }
}

ice::Credentials IceTransport::localCredentials() const {
    std::lock_guard lock(mutex_);
    return localCredentials_;
}

void IceTransport::setRemoteCredentials(const ice::Credentials& remote) {
    runtime_.post([this, remote] {
        agent_->setRemoteCredentials(runtime_.now(), remote);
        std::lock_guard lock(mutex_);
        localCredentials_ = agent_->localCredentials();
    });
}

Result<void> IceTransport::addRemoteCandidate(const std::string& sdpCandidate) {
    auto parsed = ice::parseCandidate(sdpCandidate);
    if (!parsed) return parsed.error();
    runtime_.post(
        [this, c = std::move(parsed).value()] { agent_->addRemoteCandidate(runtime_.now(), c); });
    return {};
}

void IceTransport::endOfRemoteCandidates() {
    runtime_.post([this] { agent_->endOfRemoteCandidates(runtime_.now()); });
}

std::future<ice::Credentials> IceTransport::restart() {
    auto promise = std::make_shared<std::promise<ice::Credentials>>();
    auto future = promise->get_future();
    runtime_.post([this, promise] {
        agent_->restart(runtime_.now());
        auto creds = agent_->localCredentials();
        {
            std::lock_guard lock(mutex_);
            localCredentials_ = creds;
        }
        promise->set_value(creds);
    });
    return future;
}

void IceTransport::close() {
    runtime_.post([this] { agent_->close(runtime_.now()); });
}

void IceTransport::send(ByteView data) {
    if (runtime_.onLoopThread()) {
        agent_->send(runtime_.now(), data);
        return;
    }
    runtime_.post(
        [this, copy = Bytes(data.begin(), data.end())] { agent_->send(runtime_.now(), copy); });
}

template <typename T>
T IceTransport::onLoop(std::function<T()> fn) const {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    runtime_.post([fn, promise] { promise->set_value(fn()); });
    return future.get();
}

ice::AgentStats IceTransport::stats() const {
    return onLoop<ice::AgentStats>([this] { return agent_->stats(); });
}

std::optional<ice::CandidatePairInfo> IceTransport::selectedPair() const {
    return onLoop<std::optional<ice::CandidatePairInfo>>([this] { return agent_->selectedPair(); });
}

ice::IceState IceTransport::state() const {
    return onLoop<ice::IceState>([this] { return agent_->state(); });
}

std::string IceTransport::failureReason() const {
    return onLoop<std::string>([this] { return agent_->failureReason(); });
}

}  // namespace tincan::net
