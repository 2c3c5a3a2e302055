// Two ICE agents behind modelled NATs in the network simulator, with a STUN server and a TURN
// server on the "internet". Shared by the scenario tests and the connect-time benchmark.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/ice/agent.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/stun_server.hpp"
#include "tests/sim/turn_server.hpp"

namespace tincan::icetest {

// Where a peer sits.
enum class Nat : uint8_t { None = 1, FullCone, RestrictedCone, Cone, Symmetric, UdpBlocked };

struct ScenarioOptions {
    Nat natA = Nat::Cone;
    Nat natB = Nat::Cone;
    bool sameLan = false;  // both hosts behind router A
    bool useStun = true;
    bool useTurnUdp = true;
    bool useTurnTcp = true;
    ice::TransportPolicy policyA = ice::TransportPolicy::All;
    ice::TransportPolicy policyB = ice::TransportPolicy::All;
    double loss = 0.0;         // on both routers' WAN links (and hosts on the internet)
    Duration wanDelay = 10ms;  // one way, router to internet core
    Duration lanDelay = 1ms;
    Duration signalingDelay = 20ms;  // candidates and credentials cross the signaling server
    bool stunUnreachable = false;    // the STUN server address is a black hole
    uint64_t seed = 1;
};

// Fixed addresses (documentation ranges only).
inline constexpr const char* kStunIp = "203.0.113.2";
inline constexpr const char* kStunIp2 = "203.0.113.3";
inline constexpr const char* kTurnIp = "198.51.100.1";
inline constexpr const char* kRouterAIp = "203.0.113.10";
inline constexpr const char* kRouterBIp = "203.0.113.20";
inline constexpr const char* kHostAIp = "192.0.2.10";
inline constexpr const char* kHostBIp = "192.0.2.138";
inline constexpr const char* kHostBSameLanIp = "192.0.2.11";

struct ScenarioPeer {
    std::string name;
    std::unique_ptr<Random> random;
    std::unique_ptr<ice::Agent> agent;
    sim::HostId host{};
    std::vector<ice::IceState> states;
    std::vector<ice::CandidatePairInfo> selections;
    std::vector<Bytes> received;
    std::optional<Timestamp> connectedAt;
};

class Scenario {
public:
    explicit Scenario(const ScenarioOptions& options);
    ~Scenario();

    // Starts both agents (credentials exchanged through the signaling delay).
    void start();
    // Runs until both are connected (or `limit` virtual time); true on success.
    bool runUntilConnected(Duration limit = 60s);
    bool runUntil(const std::function<bool()>& done, Duration limit) {
        return net.runUntil(done, limit);
    }
    void runFor(Duration d) { net.runFor(d); }
    bool bothConnected() const;
    // Virtual time from start() to the moment both were connected.
    std::optional<Duration> connectTime() const;

    // Sends a datagram A→B and B→A over the selected pairs and runs until both arrive.
    bool exchangeData(Duration limit = 5s);
    // Both agents restart; the new credentials cross signaling.
    void restartBoth();

    sim::Network net;
    ScenarioPeer a, b;
    std::optional<sim::RouterId> routerA, routerB;
    sim::HostId stunHost{}, turnHost{};
    std::unique_ptr<sim::SimStunServer> stun;
    std::unique_ptr<sim::SimTurnServer> turn;

private:
    void setUp(ScenarioPeer& p, const char* name, const char* ip,
               std::optional<sim::RouterId> router, ice::TransportPolicy policy, ice::Role role,
               uint64_t seed);
    void drain(ScenarioPeer& self, ScenarioPeer& other);
    // Runs `fn` on the other side after the signaling delay.
    void signal(std::function<void()> fn);

    ScenarioOptions options_;
    Timestamp startedAt_{};
    std::vector<std::pair<Timestamp, std::function<void()>>> pendingSignals_;
    struct SignalMachine;
    std::unique_ptr<SignalMachine> signaling_;
};

std::optional<sim::NatConfig> natConfig(Nat n);
const char* toString(Nat n);

}  // namespace tincan::icetest
