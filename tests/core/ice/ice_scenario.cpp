#include "tests/core/ice/ice_scenario.hpp"

#include <algorithm>
#include <stdexcept>

namespace tincan::icetest {

const char* toString(Nat n) {
    switch (n) {
        case Nat::None:
            return "public";
        case Nat::FullCone:
            return "full-cone";
        case Nat::RestrictedCone:
            return "restricted-cone";
        case Nat::Cone:
            return "port-restricted-cone";
        case Nat::Symmetric:
            return "symmetric";
        case Nat::UdpBlocked:
            return "udp-blocked";
    }
    return "?";
}

std::optional<sim::NatConfig> natConfig(Nat n) {
    switch (n) {
        case Nat::None:
            return std::nullopt;
        case Nat::FullCone:
            return sim::NatConfig::fullCone();
        case Nat::RestrictedCone:
            return sim::NatConfig::restrictedCone();
        case Nat::Cone:
            return sim::NatConfig::cone();
        case Nat::Symmetric:
            return sim::NatConfig::symmetric();
        case Nat::UdpBlocked:
            return sim::NatConfig::udpBlocked();
    }
    return std::nullopt;
}

// Signaling is modelled as a machine with no sockets: it only owns timers, so that messages
// arrive after a delay in virtual time.
struct Scenario::SignalMachine : SansIoMachine {
    std::vector<std::pair<Timestamp, std::function<void()>>> queue;
    void handlePacket(Timestamp, const PacketView&) override {}
    void handleTimeout(Timestamp now) override {
        // Run everything due, in order; callbacks may queue more.
        while (true) {
            auto it = std::min_element(queue.begin(), queue.end(),
                                       [](auto& x, auto& y) { return x.first < y.first; });
            if (it == queue.end() || it->first > now) break;
            auto fn = std::move(it->second);
            queue.erase(it);
            fn();
        }
    }
    std::optional<Packet> pollTransmit() override { return std::nullopt; }
    std::optional<Timestamp> pollTimeout() override {
        std::optional<Timestamp> t;
        for (auto& [at, fn] : queue)
            if (!t || at < *t) t = at;
        return t;
    }
};

Scenario::Scenario(const ScenarioOptions& options) : net(options.seed), options_(options) {
    sim::LinkConfig wan{options.wanDelay, 0ms, options.loss};
    sim::LinkConfig lan{options.lanDelay, 0ms, 0.0};

    // Servers on the internet.
    net.setDefaultLink(sim::LinkConfig{1ms, 0ms, 0.0});
    stun = std::make_unique<sim::SimStunServer>(sim::ip(kStunIp), sim::ip(kStunIp2));
    stunHost = net.addHost("stun", {sim::ip(kStunIp), sim::ip(kStunIp2)}, std::nullopt, stun.get());
    if (options.stunUnreachable) net.blackhole(sim::ip(kStunIp));
    sim::TurnServerConfig tc;
    tc.users["alice"] = "secret";
    tc.seed = options.seed;
    turn = std::make_unique<sim::SimTurnServer>(tc);
    turnHost = net.addHost("turn", {sim::ip(kTurnIp)}, std::nullopt, turn.get());

    signaling_ = std::make_unique<SignalMachine>();
    net.addHost("signaling", {sim::ip("198.51.100.200")}, std::nullopt, signaling_.get());

    auto makeRouter = [&](Nat nat, const char* publicIp) -> std::optional<sim::RouterId> {
        auto cfg = natConfig(nat);
        if (!cfg) return std::nullopt;
        net.setDefaultLink(wan);
        return net.addNat(sim::ip(publicIp), *cfg);
    };
    routerA = makeRouter(options.natA, kRouterAIp);
    routerB = options.sameLan ? routerA : makeRouter(options.natB, kRouterBIp);

    net.setDefaultLink(routerA ? lan : wan);
    setUp(a, "alice", routerA ? kHostAIp : kRouterAIp, routerA, options.policyA,
          ice::Role::Controlling, options.seed * 2 + 1);
    const char* ipB = options.sameLan ? kHostBSameLanIp : (routerB ? kHostBIp : kRouterBIp);
    net.setDefaultLink(routerB ? lan : wan);
    setUp(b, "bob", ipB, routerB, options.policyB, ice::Role::Controlled, options.seed * 2 + 2);
}

Scenario::~Scenario() = default;

void Scenario::setUp(ScenarioPeer& p, const char* name, const char* ip,
                     std::optional<sim::RouterId> router, ice::TransportPolicy policy,
                     ice::Role role, uint64_t seed) {
    ice::AgentConfig cfg;
    cfg.role = role;
    cfg.policy = policy;
    if (options_.useStun) cfg.stunServers.push_back({Endpoint{sim::ip(kStunIp), 3478}, "stun:sim"});
    if (options_.useTurnUdp)
        cfg.turnServers.push_back({Endpoint{sim::ip(kTurnIp), 3478}, TransportProtocol::Udp,
                                   "alice", "secret", "turn:sim"});
    if (options_.useTurnTcp)
        cfg.turnServers.push_back({Endpoint{sim::ip(kTurnIp), 3478}, TransportProtocol::Tcp,
                                   "alice", "secret", "turn:sim?transport=tcp"});
    p.name = name;
    p.random = std::make_unique<Random>(seed);
    p.agent = std::make_unique<ice::Agent>(cfg, *p.random);
    p.agent->addHostBase(Endpoint{sim::ip(ip), 5000});
    ScenarioPeer& other = &p == &a ? b : a;
    p.host = net.addHost(name, {sim::ip(ip)}, router, p.agent.get(),
                         [this, &p, &other] { drain(p, other); });
}

void Scenario::signal(std::function<void()> fn) {
    signaling_->queue.emplace_back(net.now() + options_.signalingDelay, std::move(fn));
}

void Scenario::drain(ScenarioPeer& self, ScenarioPeer& other) {
    while (auto ev = self.agent->pollEvent()) {
        if (auto* c = std::get_if<ice::event::LocalCandidate>(&*ev)) {
            std::string line = c->candidate.toSdp();
            signal([this, &other, line] {
                // The agent's own candidates always parse; also built without gtest (bench_ice).
                if (auto added = other.agent->addRemoteCandidate(net.now(), line); !added)
                    throw std::runtime_error("candidate refused: " + added.error().message);
                net.drain(other.host);
            });
        } else if (auto* s = std::get_if<ice::event::StateChanged>(&*ev)) {
            self.states.push_back(s->state);
            if ((s->state == ice::IceState::Connected || s->state == ice::IceState::Completed) &&
                !self.connectedAt)
                self.connectedAt = net.now();
        } else if (auto* sel = std::get_if<ice::event::SelectedPairChanged>(&*ev)) {
            self.selections.push_back(sel->pair);
        } else if (auto* d = std::get_if<ice::event::Data>(&*ev)) {
            self.received.push_back(d->data);
        }
    }
}

void Scenario::start() {
    startedAt_ = net.now();
    for (ScenarioPeer* p : {&a, &b}) {
        ScenarioPeer* other = p == &a ? &b : &a;
        auto creds = p->agent->localCredentials();
        signal([this, other, creds] {
            other->agent->setRemoteCredentials(net.now(), creds);
            net.drain(other->host);
        });
        p->agent->startGathering(net.now());
        net.drain(p->host);
    }
}

bool Scenario::bothConnected() const {
    auto ok = [](const ScenarioPeer& p) {
        auto s = p.agent->state();
        return s == ice::IceState::Connected || s == ice::IceState::Completed;
    };
    return ok(a) && ok(b);
}

bool Scenario::runUntilConnected(Duration limit) {
    return net.runUntil([this] { return bothConnected(); }, limit);
}

std::optional<Duration> Scenario::connectTime() const {
    if (!a.connectedAt || !b.connectedAt) return std::nullopt;
    return std::max(*a.connectedAt, *b.connectedAt) - startedAt_;
}

bool Scenario::exchangeData(Duration limit) {
    size_t ra = a.received.size(), rb = b.received.size();
    // 0x17: a DTLS application-data record type, as real traffic would start.
    Bytes fromA{0x17, 0xfe, 0xfd, 'a'}, fromB{0x17, 0xfe, 0xfd, 'b'};
    if (!a.agent->send(net.now(), fromA) || !b.agent->send(net.now(), fromB)) return false;
    net.drain(a.host);
    net.drain(b.host);
    return net.runUntil([&] { return a.received.size() > ra && b.received.size() > rb; }, limit) &&
           a.received.back() == fromB && b.received.back() == fromA;
}

void Scenario::restartBoth() {
    a.agent->restart(net.now());
    auto ca = a.agent->localCredentials();
    net.drain(a.host);
    signal([this, ca] {
        b.agent->setRemoteCredentials(net.now(), ca);  // B restarts too (new remote ufrag)
        net.drain(b.host);
        auto cb = b.agent->localCredentials();
        signal([this, cb] {
            a.agent->setRemoteCredentials(net.now(), cb);
            net.drain(a.host);
        });
    });
}

}  // namespace tincan::icetest
