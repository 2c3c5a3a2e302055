// Deterministic network simulator in virtual time.
//
// Hosts run sans-IO machines (core/common/sansio.hpp); the simulator carries their packets over
// links with delay, jitter and loss, through NAT routers with the mapping and filtering
// behaviours of RFC 4787, and models TCP/TLS streams (reliable, in order, re-chunked). Time only
// moves when the simulator moves it, so a minute of two ICE agents talking takes milliseconds,
// and one seed always gives the same timeline.
//
// Topology: the "internet" holds hosts with public addresses (use 203.0.113.0/24 for servers,
// 198.51.100.0/24 for NAT public addresses, 2001:db8::/32 for IPv6) and NAT routers. A router
// has one public IP and a LAN (e.g. 192.0.2.0/25 behind one router, 192.0.2.128/25 behind
// another; two LANs may also reuse the same private addresses). A host behind a router reaches
// the internet through it for addresses of the router's family; its addresses of the other
// family (typically IPv6) are globally routable, without NAT.
//
// Delays: a packet crosses the sender's access link, then (leaving a LAN) the router's WAN link,
// then the WAN link of the destination's router if any, then the receiver's access link. Each
// link adds `delay` plus a uniform [0, jitter] and loses the packet with probability `loss`.
// NAT translation and filtering happen when the packet reaches the router, in virtual time.
//
//   sim::Network net(seed);
//   auto natA = net.addNat(sim::ip("198.51.100.1"), sim::NatConfig::cone());
//   auto a = net.addHost("alice", {sim::ip("192.0.2.10")}, natA, &agentA,
//                        [&] { while (auto e = agentA.pollEvent()) eventsA.push_back(*e); });
//   net.addHost("stun", {sim::ip("203.0.113.1")}, std::nullopt, &stunServer);
//   ASSERT_TRUE(net.runUntil([&] { return connected(eventsA); }, 30s));
//
// After poking a machine from the test (agentA.send(...)), call net.drain(a) — or just run:
// runFor/runUntil drain every machine first.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"
#include "core/common/sansio.hpp"
#include "core/common/time.hpp"

namespace tincan::sim {

// Ids are handed out from 1 by Network::addHost / addNat.
enum class HostId : uint32_t {};
enum class RouterId : uint32_t {};

// Parses "203.0.113.1" / "203.0.113.1:3478"; throws std::invalid_argument on bad input.
IpAddress ip(std::string_view text);
Endpoint ep(std::string_view text);

// A broken invariant of the simulation (a machine spinning on its timeout, runFor() called from
// inside a callback, an address used twice).
struct SimError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// RFC 4787 §4.1.
enum class Mapping : uint8_t {
    EndpointIndependent = 1,
    AddressDependent = 2,
    AddressAndPortDependent = 3,  // "symmetric"
};
// RFC 4787 §5.
enum class Filtering : uint8_t {
    EndpointIndependent = 1,      // full cone
    AddressDependent = 2,         // restricted cone
    AddressAndPortDependent = 3,  // port-restricted cone
};

struct NatConfig {
    Mapping mapping = Mapping::EndpointIndependent;
    Filtering filtering = Filtering::AddressAndPortDependent;
    bool blockUdp = false;     // UDP never leaves the LAN; TCP/TLS still do
    bool hairpin = false;      // LAN → own public address is looped back (RFC 4787 REQ-9)
    bool preservePort = true;  // keep the internal port when it is free, like Linux masquerade
    Duration udpMappingTimeout = 120s;  // refreshed by outbound traffic (RFC 4787 REQ-6)

    static NatConfig cone();            // EIM + port-restricted filtering: Linux masquerade
    static NatConfig fullCone();        // EIM + endpoint-independent filtering
    static NatConfig restrictedCone();  // EIM + address-dependent filtering
    static NatConfig symmetric();       // APDM + APDF, a fresh random port per destination
    static NatConfig udpBlocked();      // cone, but only TCP/TLS get out
};

struct LinkConfig {
    Duration delay = 5ms;   // one way
    Duration jitter = 0ms;  // uniform extra delay in [0, jitter] per packet (UDP may reorder)
    double loss = 0.0;      // probability of losing a datagram, each way (streams never lose)
};

enum class DropReason : uint8_t {
    Loss = 1,       // a lossy link
    Filtered = 2,   // NAT filtering, blockUdp, no hairpin, no mapping
    NoRoute = 3,    // nobody owns the destination address; stream data without a stream
    NoSocket = 4,   // the destination host has no machine attached
    BadSource = 5,  // `local` is not one of the sender's addresses (or port 0 for UDP)
    Blackhole = 6,  // partition() / blackhole()
};
const char* toString(DropReason r);

// Per host. Drops are counted on the sending host, deliveries on the receiving one.
struct HostStats {
    uint64_t sent = 0;  // datagrams and stream writes handed to the network
    uint64_t bytesSent = 0;
    uint64_t delivered = 0;  // datagrams and stream chunks handed to this host's machine
    uint64_t bytesDelivered = 0;
    uint64_t droppedLoss = 0;
    uint64_t droppedFiltered = 0;
    uint64_t droppedNoRoute = 0;
    uint64_t droppedNoSocket = 0;
    uint64_t droppedBadSource = 0;
    uint64_t droppedBlackhole = 0;
    uint64_t dropped() const {
        return droppedLoss + droppedFiltered + droppedNoRoute + droppedNoSocket + droppedBadSource +
               droppedBlackhole;
    }
    bool operator==(const HostStats&) const = default;
};

// A live NAT binding as seen from outside.
struct NatMapping {
    TransportProtocol protocol = TransportProtocol::Udp;  // Tcp stands for TCP and TLS
    Endpoint internal;
    Endpoint external;
    // The destination the mapping is tied to: unspecified for EIM, {ip, 0} for ADM.
    Endpoint destination;
};

// One packet delivered to or dropped by the network (for tests that inspect traffic).
struct TapEvent {
    Timestamp at;
    bool delivered = false;
    DropReason reason = DropReason::Loss;  // when !delivered
    HostId from{};
    std::optional<HostId> to;  // when delivered
    TransportProtocol protocol = TransportProtocol::Udp;
    Endpoint source;       // as seen where it was delivered or dropped
    Endpoint destination;  // likewise (after NAT translation when delivered)
    ByteView data;
};
using Tap = std::function<void(const TapEvent&)>;

class Network {
public:
    explicit Network(uint64_t seed = 1);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    // Every run starts at this instant (not the clock's epoch, to keep clear of edge cases).
    static Timestamp epoch() { return Timestamp{} + 1000s; }
    Timestamp now() const { return now_; }
    Duration elapsed() const { return now_ - epoch(); }

    // ---- topology
    // Applies to hosts and routers added afterwards.
    void setDefaultLink(const LinkConfig& link) { defaultLink_ = link; }
    RouterId addNat(IpAddress publicIp, NatConfig config = NatConfig::cone());
    // `ips` are the host's addresses (several allowed, e.g. IPv4 and IPv6). Any port on them is
    // implicitly bound. `onActivity` runs after the machine was fed and drained: drain its
    // protocol events there. A host without a machine drops what it receives (NoSocket).
    HostId addHost(std::string name, std::vector<IpAddress> ips,
                   std::optional<RouterId> behind = std::nullopt, SansIoMachine* machine = nullptr,
                   std::function<void()> onActivity = {});
    // Sets (or replaces, or with nullptr removes) the host's machine, then drains it.
    void attach(HostId host, SansIoMachine* machine, std::function<void()> onActivity = {});
    // Sends what the machine has queued and runs onActivity. Call after poking a machine from
    // outside the run loop (the loop also drains every machine when runFor/runUntil start).
    void drain(HostId host);

    // ---- links and faults: link changes apply to packets sent from now on; partition() and
    // blackhole() also catch packets already in flight, and NAT changes apply when they arrive.
    void setLink(HostId host, const LinkConfig& link);
    void setLink(RouterId router, const LinkConfig& wan);
    void setLoss(HostId host, double loss);
    void setLoss(RouterId router, double loss);
    void setDelay(HostId host, Duration delay, Duration jitter = 0ms);
    void setDelay(RouterId router, Duration delay, Duration jitter = 0ms);
    // Drops everything to and from the host (its streams close) until called with false.
    void partition(HostId host, bool isolated = true);
    // Drops everything to and from the address (its streams close) until called with false.
    void blackhole(const IpAddress& address, bool on = true);
    // NAT reboot: every mapping is forgotten; streams through the router close.
    void clearNatMappings(RouterId router);
    void setNatConfig(RouterId router, const NatConfig& config);
    // Streams: re-chunk delivered data at random (on by default), and how long a connection to
    // an unreachable address takes to fail (a refused one fails after one round trip).
    void setStreamChunking(bool on) { chunking_ = on; }
    void setConnectTimeout(Duration d) { connectTimeout_ = d; }
    // handleTimeout() calls one machine may take at one virtual instant before the run stops with
    // SimError (a machine whose pollTimeout() never moves forward).
    void setBusyLoopLimit(uint32_t calls) { busyLimit_ = calls; }
    void setTap(Tap tap) { tap_ = std::move(tap); }
    // "+1.025000s udp 198.51.100.1:5000 -> 192.0.2.10:5000 48B alice -> bob delivered".
    std::string describe(const TapEvent& e) const;

    // ---- running
    // Processes every event up to now()+d, then sets now() to exactly now()+d.
    void runFor(Duration d);
    // Runs until done() (checked before every event) or until `limit` of virtual time passed;
    // returns done(). On success now() is the instant done() became true.
    bool runUntil(const std::function<bool()>& done, Duration limit);

    // ---- inspection
    const HostStats& stats(HostId host) const;
    HostStats totals() const;
    const std::string& name(HostId host) const;
    const std::vector<IpAddress>& ips(HostId host) const;
    IpAddress publicIp(RouterId router) const;
    std::vector<NatMapping> natMappings(RouterId router) const;  // live ones, ordered
    uint64_t eventsProcessed() const { return eventsProcessed_; }
    uint64_t rngDraws() const { return rngDraws_; }

private:
    struct Host;
    struct Router;
    struct Stream;
    struct Event;
    struct Transit;
    struct NatEntry;
    struct StreamRoute;
    using LinkRef = std::pair<bool, uint32_t>;  // (isRouter, index)

    Host& host(HostId id);
    const Host& host(HostId id) const;
    Router& router(RouterId id);
    const Router& router(RouterId id) const;
    const LinkConfig& linkOf(LinkRef ref) const;

    double uniform();
    uint64_t nextRandom();
    bool cross(const LinkConfig& link, Duration& delay);
    Duration sampleDelay(const LinkConfig& link);

    void schedule(Event&& e);
    bool step(Timestamp limit);
    void dispatch(Event& e);
    void pump(HostId id);
    void drainHost(HostId id);
    void checkNotRunning(const char* what) const;

    // Datagrams.
    void send(HostId from, Packet&& p);
    void drop(const Transit& t, DropReason reason);
    void fromInternetCore(Transit&& t, Duration delay);
    void atRouterOutbound(RouterId r, Transit&& t);
    void atRouterInbound(RouterId r, Transit&& t);
    void deliver(HostId to, Transit&& t);
    std::optional<RouterId> natFor(const Host& h, const IpAddress& local) const;
    bool blackholed(const IpAddress& a) const;

    // NAT tables.
    uint16_t natOutbound(Router& r, TransportProtocol proto, const Endpoint& internal,
                         const Endpoint& remote);
    std::optional<Endpoint> natInbound(Router& r, TransportProtocol proto, const Endpoint& remote,
                                       uint16_t externalPort);
    bool natExpired(const Router& r, const NatEntry& e) const;
    void natErase(Router& r, TransportProtocol proto, uint16_t externalPort);

    // Streams.
    void streamSend(HostId from, Packet&& p);
    std::optional<StreamRoute> resolveStream(HostId from, const Endpoint& internal,
                                             const Endpoint& remote, DropReason& why);
    void streamEnqueue(Stream& s, bool up, Bytes&& data);
    void streamDeliver(uint32_t sid, bool up);
    void streamState(uint32_t sid, StreamState state);
    void killStream(Stream& s);
    void forgetStream(const Stream& s);
    Duration streamOneWay(const Stream& s);

    void tap(const Transit& t, bool delivered, DropReason reason, std::optional<HostId> to);

    std::mt19937_64 rng_;
    uint64_t rngDraws_ = 0;
    Timestamp now_ = epoch();
    LinkConfig defaultLink_;
    bool chunking_ = true;
    Duration connectTimeout_ = 3s;
    uint32_t busyLimit_ = 10000;
    Tap tap_;

    std::vector<std::unique_ptr<Host>> hosts_;
    std::vector<std::unique_ptr<Router>> routers_;
    std::map<IpAddress, HostId> internetHosts_;
    std::map<IpAddress, RouterId> routerByIp_;
    std::map<IpAddress, int> blackholes_;

    std::vector<Event> queue_;  // a min-heap on (at, seq)
    uint64_t seq_ = 0;
    uint64_t eventsProcessed_ = 0;
    bool running_ = false;
    Timestamp instant_{};
    uint64_t eventsThisInstant_ = 0;

    std::map<uint32_t, std::unique_ptr<Stream>> streams_;
    uint32_t nextStream_ = 1;
    // (protocol, host, local, remote) → stream; the client's local has port 0.
    using StreamKey = std::tuple<uint8_t, uint32_t, Endpoint, Endpoint>;
    std::map<StreamKey, uint32_t> clientStreams_;
    std::map<StreamKey, uint32_t> serverStreams_;
};

}  // namespace tincan::sim
