#include "tests/sim/network.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace tincan::sim {

namespace {

// Events at one virtual instant before the run is declared stuck (two machines answering each
// other over zero-delay links forever, say).
constexpr uint64_t kMaxEventsPerInstant = 2'000'000;
constexpr uint64_t kMaxTransmitsPerDrain = 1'000'000;

uint32_t index(HostId id) {
    return uint32_t(id) - 1;
}
uint32_t index(RouterId id) {
    return uint32_t(id) - 1;
}

TransportProtocol natProtocol(TransportProtocol p) {
    return p == TransportProtocol::Udp ? TransportProtocol::Udp : TransportProtocol::Tcp;
}

}  // namespace

IpAddress ip(std::string_view text) {
    auto a = IpAddress::parse(text);
    if (!a) throw std::invalid_argument("not an IP address: " + std::string(text));
    return *a;
}

Endpoint ep(std::string_view text) {
    auto e = Endpoint::parse(text);
    if (!e) throw std::invalid_argument("not an endpoint: " + std::string(text));
    return *e;
}

NatConfig NatConfig::cone() {
    return NatConfig{};
}

NatConfig NatConfig::fullCone() {
    NatConfig c;
    c.filtering = Filtering::EndpointIndependent;
    return c;
}

NatConfig NatConfig::restrictedCone() {
    NatConfig c;
    c.filtering = Filtering::AddressDependent;
    return c;
}

NatConfig NatConfig::symmetric() {
    NatConfig c;
    c.mapping = Mapping::AddressAndPortDependent;
    c.filtering = Filtering::AddressAndPortDependent;
    c.preservePort = false;
    return c;
}

NatConfig NatConfig::udpBlocked() {
    NatConfig c;
    c.blockUdp = true;
    return c;
}

const char* toString(DropReason r) {
    switch (r) {
        case DropReason::Loss:
            return "loss";
        case DropReason::Filtered:
            return "filtered";
        case DropReason::NoRoute:
            return "no-route";
        case DropReason::NoSocket:
            return "no-socket";
        case DropReason::BadSource:
            return "bad-source";
        case DropReason::Blackhole:
            return "blackhole";
    }
    return "?";
}

// ---------------------------------------------------------------------------------------------
// Internal structures

struct Network::Transit {
    TransportProtocol proto = TransportProtocol::Udp;
    HostId from{};
    Endpoint src;  // as on the wire at the current hop
    Endpoint dst;
    Bytes data;
};

struct Network::Event {
    enum class Kind : uint8_t { RouterOut = 1, RouterIn, Deliver, StreamData, StreamState };
    Timestamp at;
    uint64_t seq = 0;
    Kind kind = Kind::Deliver;
    uint32_t target = 0;  // router id, host id or stream id
    Transit transit;
    bool up = false;  // StreamData: client → server
    StreamState state = StreamState::Connected;
};

struct Network::Host {
    std::string name;
    std::vector<IpAddress> ips;
    std::optional<RouterId> behind;
    SansIoMachine* machine = nullptr;
    std::function<void()> onActivity;
    LinkConfig link;
    bool partitioned = false;
    HostStats stats;
    uint16_t nextEphemeral = 49152;
    Timestamp busyAt{};
    uint32_t busyCount = 0;

    bool owns(const IpAddress& a) const {
        return std::find(ips.begin(), ips.end(), a) != ips.end();
    }
};

struct Network::NatEntry {
    TransportProtocol proto = TransportProtocol::Udp;
    Endpoint internal;
    Endpoint destination;
    uint16_t externalPort = 0;
    // Who the inside has sent to through this mapping: what filtering lets back in.
    std::set<IpAddress> contactedIps;
    std::set<Endpoint> contactedEndpoints;
    Timestamp lastOutbound{};
};

struct Network::Router {
    IpAddress publicIp;
    NatConfig config;
    LinkConfig wan;
    std::map<IpAddress, HostId> lan;
    std::map<std::pair<uint8_t, uint16_t>, NatEntry> byExternal;
    std::map<std::tuple<uint8_t, Endpoint, Endpoint>, uint16_t> byInternal;
};

struct Network::Stream {
    enum class Phase : uint8_t { Connecting = 1, Open, Failing, Dead };
    struct Direction {
        std::deque<std::pair<Timestamp, Bytes>> queue;
        Timestamp last{};
    };

    uint32_t id = 0;
    TransportProtocol proto = TransportProtocol::Tcp;
    HostId client{};
    HostId server{};
    Endpoint clientLocal;     // {ip, 0}: how the client machine names the stream
    Endpoint clientInternal;  // {ip, ephemeral port}
    Endpoint clientPublic;    // as the server sees it
    Endpoint serverEp;
    std::vector<LinkRef> path;
    std::optional<RouterId> via;
    Phase phase = Phase::Connecting;
    bool endNotified = false;
    Timestamp openAt{};
    Direction up, down;
};

struct Network::StreamRoute {
    HostId server{};
    Endpoint clientPublic;
    std::vector<LinkRef> path;
    std::optional<RouterId> via;
};

namespace {
struct Later {
    template <typename E>
    bool operator()(const E& a, const E& b) const {
        return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
};
}  // namespace

// ---------------------------------------------------------------------------------------------
// Topology

Network::Network(uint64_t seed) : rng_(seed) {}
Network::~Network() = default;

Network::Host& Network::host(HostId id) {
    if (index(id) >= hosts_.size()) throw SimError("unknown host id");
    return *hosts_[index(id)];
}
const Network::Host& Network::host(HostId id) const {
    if (index(id) >= hosts_.size()) throw SimError("unknown host id");
    return *hosts_[index(id)];
}
Network::Router& Network::router(RouterId id) {
    if (index(id) >= routers_.size()) throw SimError("unknown router id");
    return *routers_[index(id)];
}
const Network::Router& Network::router(RouterId id) const {
    if (index(id) >= routers_.size()) throw SimError("unknown router id");
    return *routers_[index(id)];
}
const LinkConfig& Network::linkOf(LinkRef ref) const {
    return ref.first ? routers_[ref.second]->wan : hosts_[ref.second]->link;
}

RouterId Network::addNat(IpAddress publicIp, NatConfig config) {
    if (internetHosts_.count(publicIp) || routerByIp_.count(publicIp))
        throw SimError("address already in use on the internet: " + publicIp.toString());
    auto r = std::make_unique<Router>();
    r->publicIp = publicIp;
    r->config = config;
    r->wan = defaultLink_;
    routers_.push_back(std::move(r));
    RouterId id{uint32_t(routers_.size())};
    routerByIp_[publicIp] = id;
    return id;
}

HostId Network::addHost(std::string name, std::vector<IpAddress> ips,
                        std::optional<RouterId> behind, SansIoMachine* machine,
                        std::function<void()> onActivity) {
    if (ips.empty()) throw SimError("host " + name + " has no address");
    if (behind) router(*behind);  // validates the id
    auto h = std::make_unique<Host>();
    h->name = std::move(name);
    h->ips = std::move(ips);
    h->behind = behind;
    h->link = defaultLink_;
    h->nextEphemeral = uint16_t(49152 + nextRandom() % 8192);
    HostId id{uint32_t(hosts_.size() + 1)};
    for (const auto& a : h->ips) {
        if (auto rid = natFor(*h, a)) {
            if (!router(*rid).lan.emplace(a, id).second)
                throw SimError("address already in use on the LAN: " + a.toString());
        } else {
            if (internetHosts_.count(a) || routerByIp_.count(a))
                throw SimError("address already in use on the internet: " + a.toString());
            internetHosts_[a] = id;
        }
    }
    hosts_.push_back(std::move(h));
    if (machine) attach(id, machine, std::move(onActivity));
    return id;
}

void Network::attach(HostId id, SansIoMachine* machine, std::function<void()> onActivity) {
    Host& h = host(id);
    h.machine = machine;
    h.onActivity = std::move(onActivity);
    if (machine) drainHost(id);
}

void Network::drain(HostId id) {
    drainHost(id);
}

std::optional<RouterId> Network::natFor(const Host& h, const IpAddress& local) const {
    if (h.behind && router(*h.behind).publicIp.family() == local.family()) return h.behind;
    return std::nullopt;
}

bool Network::blackholed(const IpAddress& a) const {
    return !blackholes_.empty() && blackholes_.count(a) != 0;
}

void Network::setLink(HostId id, const LinkConfig& link) {
    host(id).link = link;
}
void Network::setLink(RouterId id, const LinkConfig& wan) {
    router(id).wan = wan;
}
void Network::setLoss(HostId id, double loss) {
    host(id).link.loss = loss;
}
void Network::setLoss(RouterId id, double loss) {
    router(id).wan.loss = loss;
}
void Network::setDelay(HostId id, Duration delay, Duration jitter) {
    host(id).link.delay = delay;
    host(id).link.jitter = jitter;
}
void Network::setDelay(RouterId id, Duration delay, Duration jitter) {
    router(id).wan.delay = delay;
    router(id).wan.jitter = jitter;
}

void Network::partition(HostId id, bool isolated) {
    host(id).partitioned = isolated;
    if (!isolated) return;
    for (auto& [sid, s] : streams_)
        if (s->client == id || s->server == id) killStream(*s);
}

void Network::blackhole(const IpAddress& address, bool on) {
    if (!on) {
        blackholes_.erase(address);
        return;
    }
    blackholes_[address] = 1;
    for (auto& [sid, s] : streams_)
        if (s->clientInternal.ip == address || s->clientPublic.ip == address ||
            s->serverEp.ip == address)
            killStream(*s);
}

void Network::clearNatMappings(RouterId id) {
    Router& r = router(id);
    r.byExternal.clear();
    r.byInternal.clear();
    for (auto& [sid, s] : streams_)
        if (s->via == id) killStream(*s);
}

void Network::setNatConfig(RouterId id, const NatConfig& config) {
    router(id).config = config;
}

const HostStats& Network::stats(HostId id) const {
    return host(id).stats;
}

HostStats Network::totals() const {
    HostStats t;
    for (const auto& h : hosts_) {
        const HostStats& s = h->stats;
        t.sent += s.sent;
        t.bytesSent += s.bytesSent;
        t.delivered += s.delivered;
        t.bytesDelivered += s.bytesDelivered;
        t.droppedLoss += s.droppedLoss;
        t.droppedFiltered += s.droppedFiltered;
        t.droppedNoRoute += s.droppedNoRoute;
        t.droppedNoSocket += s.droppedNoSocket;
        t.droppedBadSource += s.droppedBadSource;
        t.droppedBlackhole += s.droppedBlackhole;
    }
    return t;
}

const std::string& Network::name(HostId id) const {
    return host(id).name;
}
const std::vector<IpAddress>& Network::ips(HostId id) const {
    return host(id).ips;
}
IpAddress Network::publicIp(RouterId id) const {
    return router(id).publicIp;
}

std::vector<NatMapping> Network::natMappings(RouterId id) const {
    const Router& r = router(id);
    std::vector<NatMapping> out;
    for (const auto& [key, e] : r.byExternal) {
        if (natExpired(r, e)) continue;
        out.push_back(
            NatMapping{e.proto, e.internal, Endpoint{r.publicIp, e.externalPort}, e.destination});
    }
    return out;
}

std::string Network::describe(const TapEvent& e) const {
    std::string who = host(e.from).name;
    if (e.to) who += " -> " + host(*e.to).name;
    return fmt::format("+{:.6f}s {} {} -> {} {}B {} {}",
                       std::chrono::duration<double>(e.at - epoch()).count(), toString(e.protocol),
                       e.source.toString(), e.destination.toString(), e.data.size(), who,
                       e.delivered ? "delivered" : toString(e.reason));
}

// ---------------------------------------------------------------------------------------------
// Randomness and links

uint64_t Network::nextRandom() {
    ++rngDraws_;
    return rng_();
}

double Network::uniform() {
    return double(nextRandom() >> 11) * 0x1.0p-53;
}

Duration Network::sampleDelay(const LinkConfig& link) {
    Duration d = link.delay;
    if (link.jitter > Duration::zero())
        d += Duration(int64_t(nextRandom() % uint64_t(link.jitter.count() + 1)));
    return d;
}

bool Network::cross(const LinkConfig& link, Duration& delay) {
    if (link.loss > 0 && uniform() < link.loss) return false;
    delay += sampleDelay(link);
    return true;
}

// ---------------------------------------------------------------------------------------------
// Event loop

void Network::schedule(Event&& e) {
    e.seq = seq_++;
    queue_.push_back(std::move(e));
    std::push_heap(queue_.begin(), queue_.end(), Later{});
}

void Network::checkNotRunning(const char* what) const {
    if (running_) throw SimError(std::string(what) + " called from inside the simulation");
}

void Network::pump(HostId id) {
    Host& h = host(id);
    uint64_t n = 0;
    while (h.machine) {
        auto p = h.machine->pollTransmit();
        if (!p) break;
        if (++n > kMaxTransmitsPerDrain)
            throw SimError("host " + h.name + " never stops transmitting");
        send(id, std::move(*p));
    }
}

void Network::drainHost(HostId id) {
    pump(id);
    Host& h = host(id);
    if (h.machine && h.onActivity) {
        h.onActivity();
        pump(id);
    }
}

bool Network::step(Timestamp limit) {
    std::optional<Timestamp> best;
    if (!queue_.empty()) best = queue_.front().at;
    size_t timer = hosts_.size();
    for (size_t i = 0; i < hosts_.size(); ++i) {
        Host& h = *hosts_[i];
        if (!h.machine) continue;
        auto t = h.machine->pollTimeout();
        if (!t) continue;
        Timestamp at = std::max(*t, now_);
        // Ties go to packets first, then to timers in host order.
        if (!best || at < *best) {
            best = at;
            timer = i;
        }
    }
    if (!best || *best > limit) return false;
    now_ = *best;
    if (now_ != instant_) {
        instant_ = now_;
        eventsThisInstant_ = 0;
    }
    ++eventsProcessed_;
    if (++eventsThisInstant_ > kMaxEventsPerInstant)
        throw SimError(fmt::format("over {} events at +{:.6f}s: the simulation does not advance",
                                   kMaxEventsPerInstant, toMillis(elapsed()) / 1000));

    if (timer < hosts_.size()) {
        Host& h = *hosts_[timer];
        if (h.busyAt != now_) {
            h.busyAt = now_;
            h.busyCount = 0;
        }
        if (++h.busyCount > busyLimit_)
            throw SimError(fmt::format(
                "host {}: handleTimeout() called {} times at +{:.6f}s and pollTimeout() still "
                "does not move forward",
                h.name, busyLimit_, toMillis(elapsed()) / 1000));
        h.machine->handleTimeout(now_);
        drainHost(HostId(uint32_t(timer + 1)));
        return true;
    }

    std::pop_heap(queue_.begin(), queue_.end(), Later{});
    Event e = std::move(queue_.back());
    queue_.pop_back();
    dispatch(e);
    return true;
}

void Network::dispatch(Event& e) {
    switch (e.kind) {
        case Event::Kind::RouterOut:
            atRouterOutbound(RouterId(e.target), std::move(e.transit));
            break;
        case Event::Kind::RouterIn:
            atRouterInbound(RouterId(e.target), std::move(e.transit));
            break;
        case Event::Kind::Deliver:
            deliver(HostId(e.target), std::move(e.transit));
            break;
        case Event::Kind::StreamData:
            streamDeliver(e.target, e.up);
            break;
        case Event::Kind::StreamState:
            streamState(e.target, e.state);
            break;
    }
}

namespace {
struct RunGuard {
    bool& flag;
    explicit RunGuard(bool& f) : flag(f) { flag = true; }
    ~RunGuard() { flag = false; }
};
}  // namespace

void Network::runFor(Duration d) {
    checkNotRunning("runFor");
    RunGuard guard(running_);
    Timestamp end = now_ + d;
    for (size_t i = 0; i < hosts_.size(); ++i) pump(HostId(uint32_t(i + 1)));
    while (step(end)) {
    }
    now_ = end;
}

bool Network::runUntil(const std::function<bool()>& done, Duration limit) {
    checkNotRunning("runUntil");
    RunGuard guard(running_);
    Timestamp end = now_ + limit;
    for (size_t i = 0; i < hosts_.size(); ++i) pump(HostId(uint32_t(i + 1)));
    while (true) {
        if (done()) return true;
        if (!step(end)) break;
    }
    now_ = end;
    return done();
}

// ---------------------------------------------------------------------------------------------
// Datagrams

void Network::tap(const Transit& t, bool delivered, DropReason reason, std::optional<HostId> to) {
    if (!tap_) return;
    tap_(TapEvent{now_, delivered, reason, t.from, to, t.proto, t.src, t.dst, t.data});
}

void Network::drop(const Transit& t, DropReason reason) {
    HostStats& s = host(t.from).stats;
    switch (reason) {
        case DropReason::Loss:
            ++s.droppedLoss;
            break;
        case DropReason::Filtered:
            ++s.droppedFiltered;
            break;
        case DropReason::NoRoute:
            ++s.droppedNoRoute;
            break;
        case DropReason::NoSocket:
            ++s.droppedNoSocket;
            break;
        case DropReason::BadSource:
            ++s.droppedBadSource;
            break;
        case DropReason::Blackhole:
            ++s.droppedBlackhole;
            break;
    }
    tap(t, false, reason, std::nullopt);
}

void Network::send(HostId from, Packet&& p) {
    Host& h = host(from);
    ++h.stats.sent;
    h.stats.bytesSent += p.data.size();
    if (p.protocol != TransportProtocol::Udp) {
        streamSend(from, std::move(p));
        return;
    }
    Transit t{p.protocol, from, p.local, p.remote, std::move(p.data)};
    if (t.src.port == 0 || !h.owns(t.src.ip)) return drop(t, DropReason::BadSource);
    if (h.partitioned || blackholed(t.src.ip) || blackholed(t.dst.ip))
        return drop(t, DropReason::Blackhole);
    Duration d{};
    if (!cross(h.link, d)) return drop(t, DropReason::Loss);
    if (auto rid = natFor(h, t.src.ip)) {
        Router& r = router(*rid);
        auto it = r.lan.find(t.dst.ip);
        if (it != r.lan.end()) {  // same LAN: switched, no NAT
            if (!cross(host(it->second).link, d)) return drop(t, DropReason::Loss);
            Event e{now_ + d, 0, Event::Kind::Deliver, uint32_t(it->second), std::move(t)};
            schedule(std::move(e));
            return;
        }
        schedule(Event{now_ + d, 0, Event::Kind::RouterOut, uint32_t(*rid), std::move(t)});
        return;
    }
    // A LAN host's globally routable address still goes out through the router, untranslated.
    if (h.behind && !cross(router(*h.behind).wan, d)) return drop(t, DropReason::Loss);
    fromInternetCore(std::move(t), d);
}

// The packet has reached the internet core `delay` from now.
void Network::fromInternetCore(Transit&& t, Duration delay) {
    if (auto it = internetHosts_.find(t.dst.ip); it != internetHosts_.end()) {
        Host& b = host(it->second);
        // A LAN host's globally routable (other-family) address still sits behind the router.
        if (b.behind && !cross(router(*b.behind).wan, delay)) return drop(t, DropReason::Loss);
        if (!cross(b.link, delay)) return drop(t, DropReason::Loss);
        schedule(Event{now_ + delay, 0, Event::Kind::Deliver, uint32_t(it->second), std::move(t)});
        return;
    }
    if (auto it = routerByIp_.find(t.dst.ip); it != routerByIp_.end()) {
        if (!cross(router(it->second).wan, delay)) return drop(t, DropReason::Loss);
        schedule(Event{now_ + delay, 0, Event::Kind::RouterIn, uint32_t(it->second), std::move(t)});
        return;
    }
    drop(t, DropReason::NoRoute);
}

void Network::atRouterOutbound(RouterId rid, Transit&& t) {
    Router& r = router(rid);
    if (r.config.blockUdp) return drop(t, DropReason::Filtered);
    uint16_t port = natOutbound(r, t.proto, t.src, t.dst);
    t.src = Endpoint{r.publicIp, port};
    if (t.dst.ip == r.publicIp) {
        if (!r.config.hairpin) return drop(t, DropReason::Filtered);
        return atRouterInbound(rid, std::move(t));
    }
    Duration d{};
    if (!cross(r.wan, d)) return drop(t, DropReason::Loss);
    fromInternetCore(std::move(t), d);
}

void Network::atRouterInbound(RouterId rid, Transit&& t) {
    Router& r = router(rid);
    auto internal = natInbound(r, t.proto, t.src, t.dst.port);
    if (!internal) return drop(t, DropReason::Filtered);
    auto it = r.lan.find(internal->ip);
    if (it == r.lan.end()) return drop(t, DropReason::NoRoute);
    t.dst = *internal;
    Duration d{};
    if (!cross(host(it->second).link, d)) return drop(t, DropReason::Loss);
    schedule(Event{now_ + d, 0, Event::Kind::Deliver, uint32_t(it->second), std::move(t)});
}

void Network::deliver(HostId to, Transit&& t) {
    Host& b = host(to);
    if (b.partitioned || blackholed(t.dst.ip) || blackholed(t.src.ip))
        return drop(t, DropReason::Blackhole);
    if (!b.machine) return drop(t, DropReason::NoSocket);
    ++b.stats.delivered;
    b.stats.bytesDelivered += t.data.size();
    tap(t, true, DropReason::Loss, to);
    b.machine->handlePacket(now_, PacketView{t.proto, t.dst, t.src, t.data});
    drainHost(to);
}

// ---------------------------------------------------------------------------------------------
// NAT (RFC 4787)

bool Network::natExpired(const Router& r, const NatEntry& e) const {
    return e.proto == TransportProtocol::Udp && now_ - e.lastOutbound >= r.config.udpMappingTimeout;
}

void Network::natErase(Router& r, TransportProtocol proto, uint16_t externalPort) {
    auto it = r.byExternal.find({uint8_t(proto), externalPort});
    if (it == r.byExternal.end()) return;
    r.byInternal.erase({uint8_t(proto), it->second.internal, it->second.destination});
    r.byExternal.erase(it);
}

uint16_t Network::natOutbound(Router& r, TransportProtocol proto, const Endpoint& internal,
                              const Endpoint& remote) {
    proto = natProtocol(proto);
    Endpoint destination;
    destination.ip = IpAddress();
    switch (r.config.mapping) {
        case Mapping::EndpointIndependent:
            break;
        case Mapping::AddressDependent:
            destination = Endpoint{remote.ip, 0};
            break;
        case Mapping::AddressAndPortDependent:
            destination = remote;
            break;
    }
    auto key = std::make_tuple(uint8_t(proto), internal, destination);
    if (auto it = r.byInternal.find(key); it != r.byInternal.end()) {
        NatEntry& e = r.byExternal.at({uint8_t(proto), it->second});
        if (!natExpired(r, e)) {
            e.lastOutbound = now_;
            e.contactedIps.insert(remote.ip);
            e.contactedEndpoints.insert(remote);
            return e.externalPort;
        }
        natErase(r, proto, e.externalPort);
    }

    auto inUse = [&](uint16_t port) {
        auto it = r.byExternal.find({uint8_t(proto), port});
        if (it == r.byExternal.end()) return false;
        if (!natExpired(r, it->second)) return true;
        natErase(r, proto, port);
        return false;
    };
    uint16_t port = 0;
    if (r.config.preservePort && internal.port != 0 && !inUse(internal.port)) port = internal.port;
    for (int tries = 0; port == 0 && tries < 1000; ++tries) {
        auto candidate = uint16_t(1024 + nextRandom() % (65536 - 1024));
        if (!inUse(candidate)) port = candidate;
    }
    if (port == 0) throw SimError("NAT " + r.publicIp.toString() + " ran out of ports");

    NatEntry e;
    e.proto = proto;
    e.internal = internal;
    e.destination = destination;
    e.externalPort = port;
    e.contactedIps.insert(remote.ip);
    e.contactedEndpoints.insert(remote);
    e.lastOutbound = now_;
    r.byExternal.emplace(std::make_pair(uint8_t(proto), port), std::move(e));
    r.byInternal.emplace(key, port);
    return port;
}

std::optional<Endpoint> Network::natInbound(Router& r, TransportProtocol proto,
                                            const Endpoint& remote, uint16_t externalPort) {
    proto = natProtocol(proto);
    auto it = r.byExternal.find({uint8_t(proto), externalPort});
    if (it == r.byExternal.end()) return std::nullopt;
    if (natExpired(r, it->second)) {
        natErase(r, proto, externalPort);
        return std::nullopt;
    }
    const NatEntry& e = it->second;
    switch (r.config.filtering) {
        case Filtering::EndpointIndependent:
            break;
        case Filtering::AddressDependent:
            if (!e.contactedIps.count(remote.ip)) return std::nullopt;
            break;
        case Filtering::AddressAndPortDependent:
            if (!e.contactedEndpoints.count(remote)) return std::nullopt;
            break;
    }
    return e.internal;
}

// ---------------------------------------------------------------------------------------------
// Streams (TCP, TLS)

Duration Network::streamOneWay(const Stream& s) {
    Duration d{};
    for (const auto& ref : s.path) d += sampleDelay(linkOf(ref));
    return d;
}

std::optional<Network::StreamRoute> Network::resolveStream(HostId from, const Endpoint& internal,
                                                           const Endpoint& remote,
                                                           DropReason& why) {
    Host& h = host(from);
    if (h.partitioned || blackholed(internal.ip) || blackholed(remote.ip)) {
        why = DropReason::Blackhole;
        return std::nullopt;
    }
    StreamRoute route;
    route.path.push_back({false, index(from)});
    route.clientPublic = internal;
    if (auto rid = natFor(h, internal.ip)) {
        Router& r = router(*rid);
        if (auto it = r.lan.find(remote.ip); it != r.lan.end()) {
            if (host(it->second).partitioned) {
                why = DropReason::Blackhole;
                return std::nullopt;
            }
            route.server = it->second;
            route.path.push_back({false, index(it->second)});
            return route;
        }
        if (remote.ip == r.publicIp) {  // no port forwarding, so nothing listens there
            why = DropReason::Filtered;
            return std::nullopt;
        }
        uint16_t port = natOutbound(r, TransportProtocol::Tcp, internal, remote);
        route.clientPublic = Endpoint{r.publicIp, port};
        route.via = rid;
        route.path.push_back({true, index(*rid)});
    } else if (h.behind) {
        route.path.push_back({true, index(*h.behind)});
    }
    if (auto it = internetHosts_.find(remote.ip); it != internetHosts_.end()) {
        Host& b = host(it->second);
        if (b.partitioned) {
            why = DropReason::Blackhole;
            return std::nullopt;
        }
        if (b.behind) route.path.push_back({true, index(*b.behind)});
        route.path.push_back({false, index(it->second)});
        route.server = it->second;
        return route;
    }
    // Connections into a NAT would need port forwarding, which is not modelled.
    why = routerByIp_.count(remote.ip) ? DropReason::Filtered : DropReason::NoRoute;
    return std::nullopt;
}

void Network::streamSend(HostId from, Packet&& p) {
    Host& h = host(from);
    const auto proto = uint8_t(p.protocol);
    Transit t{p.protocol, from, p.local, p.remote, std::move(p.data)};

    // The server side answers on a stream it accepted.
    if (auto it = serverStreams_.find({proto, uint32_t(from), t.src, t.dst});
        it != serverStreams_.end()) {
        Stream& s = *streams_.at(it->second);
        if (h.partitioned || blackholed(t.src.ip) || blackholed(t.dst.ip)) {
            killStream(s);
            return drop(t, DropReason::Blackhole);
        }
        streamEnqueue(s, false, std::move(t.data));
        return;
    }
    if (!h.owns(t.src.ip)) return drop(t, DropReason::BadSource);
    if (t.src.port != 0) return drop(t, DropReason::NoRoute);  // a stream that no longer exists

    const Endpoint clientLocal{t.src.ip, 0};
    if (auto it = clientStreams_.find({proto, uint32_t(from), clientLocal, t.dst});
        it != clientStreams_.end()) {
        Stream& s = *streams_.at(it->second);
        if (s.phase == Stream::Phase::Failing) return drop(t, DropReason::NoRoute);
        if (h.partitioned || blackholed(t.src.ip) || blackholed(t.dst.ip)) {
            killStream(s);
            return drop(t, DropReason::Blackhole);
        }
        streamEnqueue(s, true, std::move(t.data));
        return;
    }

    // First write: open the connection.
    auto owned = std::make_unique<Stream>();
    Stream& s = *owned;
    s.id = nextStream_++;
    streams_.emplace(s.id, std::move(owned));
    s.proto = t.proto;
    s.client = from;
    s.clientLocal = clientLocal;
    s.clientInternal = Endpoint{t.src.ip, h.nextEphemeral};
    h.nextEphemeral = h.nextEphemeral == 65535 ? 49152 : uint16_t(h.nextEphemeral + 1);
    s.serverEp = t.dst;
    clientStreams_[{proto, uint32_t(from), clientLocal, t.dst}] = s.id;

    DropReason why = DropReason::NoRoute;
    auto route = resolveStream(from, s.clientInternal, t.dst, why);
    Event state{};
    state.kind = Event::Kind::StreamState;
    state.target = s.id;
    state.state = StreamState::Failed;
    if (!route) {
        s.phase = Stream::Phase::Failing;
        state.at = now_ + connectTimeout_;
        schedule(std::move(state));
        return drop(t, why);
    }
    s.server = route->server;
    s.clientPublic = route->clientPublic;
    s.path = std::move(route->path);
    s.via = route->via;
    Duration rtt = streamOneWay(s) + streamOneWay(s);
    if (!host(s.server).machine) {  // refused: RST after a round trip
        s.phase = Stream::Phase::Failing;
        state.at = now_ + rtt;
        schedule(std::move(state));
        return drop(t, DropReason::NoSocket);
    }
    s.phase = Stream::Phase::Connecting;
    s.openAt = now_ + rtt;
    serverStreams_[{proto, uint32_t(s.server), s.serverEp, s.clientPublic}] = s.id;
    state.at = s.openAt;
    state.state = StreamState::Connected;
    schedule(std::move(state));
    streamEnqueue(s, true, std::move(t.data));
}

void Network::streamEnqueue(Stream& s, bool up, Bytes&& data) {
    if (data.empty()) return;
    Timestamp depart = up ? std::max(now_, s.openAt) : now_;
    Timestamp arrival = depart + streamOneWay(s);
    // Sometimes hold a write back a little, so that it merges with the next ones (Nagle).
    if (chunking_ && uniform() < 0.25) arrival += 1ms;
    Stream::Direction& dir = up ? s.up : s.down;
    arrival = std::max(arrival, dir.last);
    dir.last = arrival;
    dir.queue.emplace_back(arrival, std::move(data));
    Event e{};
    e.at = arrival;
    e.kind = Event::Kind::StreamData;
    e.target = s.id;
    e.up = up;
    schedule(std::move(e));
}

void Network::streamDeliver(uint32_t sid, bool up) {
    Stream& s = *streams_.at(sid);
    if (s.phase != Stream::Phase::Open && s.phase != Stream::Phase::Connecting) return;
    Stream::Direction& dir = up ? s.up : s.down;
    Bytes buf;
    while (!dir.queue.empty() && dir.queue.front().first <= now_) {
        appendBytes(buf, dir.queue.front().second);
        dir.queue.pop_front();
    }
    if (buf.empty()) return;  // already delivered, merged into an earlier event

    const HostId to = up ? s.server : s.client;
    const Endpoint local = up ? s.serverEp : s.clientLocal;
    const Endpoint remote = up ? s.clientPublic : s.serverEp;
    Transit t{s.proto, up ? s.client : s.server, remote, local, {}};

    // Re-chunk at random so that framing bugs show.
    std::vector<size_t> cuts;
    if (chunking_ && buf.size() > 1 && uniform() < 0.5) {
        size_t n = 1 + nextRandom() % 3;
        for (size_t i = 0; i < n; ++i) cuts.push_back(1 + nextRandom() % (buf.size() - 1));
        std::sort(cuts.begin(), cuts.end());
        cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    }
    cuts.push_back(buf.size());
    size_t start = 0;
    for (size_t cut : cuts) {
        Host& b = host(to);
        t.data = Bytes(buf.begin() + ptrdiff_t(start), buf.begin() + ptrdiff_t(cut));
        start = cut;
        if (s.phase == Stream::Phase::Dead) return;
        if (!b.machine) {
            drop(t, DropReason::NoSocket);
            continue;
        }
        ++b.stats.delivered;
        b.stats.bytesDelivered += t.data.size();
        tap(t, true, DropReason::Loss, to);
        b.machine->handlePacket(now_, PacketView{s.proto, local, remote, t.data});
        drainHost(to);
    }
}

void Network::forgetStream(const Stream& s) {
    const auto proto = uint8_t(s.proto);
    if (auto it = clientStreams_.find({proto, uint32_t(s.client), s.clientLocal, s.serverEp});
        it != clientStreams_.end() && it->second == s.id)
        clientStreams_.erase(it);
    if (auto it = serverStreams_.find({proto, uint32_t(s.server), s.serverEp, s.clientPublic});
        it != serverStreams_.end() && it->second == s.id)
        serverStreams_.erase(it);
}

void Network::streamState(uint32_t sid, StreamState state) {
    Stream& s = *streams_.at(sid);
    if (state == StreamState::Connected) {
        if (s.phase != Stream::Phase::Connecting) return;
        s.phase = Stream::Phase::Open;
    } else {
        if (s.endNotified) return;
        s.endNotified = true;
        s.phase = Stream::Phase::Dead;
        forgetStream(s);
    }
    Host& c = host(s.client);
    if (!c.machine) return;
    c.machine->handleStreamState(now_, s.proto, s.clientLocal, s.serverEp, state);
    drainHost(s.client);
}

void Network::killStream(Stream& s) {
    if (s.phase == Stream::Phase::Dead) return;
    bool established = s.phase == Stream::Phase::Open;
    s.phase = Stream::Phase::Dead;
    forgetStream(s);
    s.up.queue.clear();
    s.down.queue.clear();
    Event e{};
    e.at = now_;
    e.kind = Event::Kind::StreamState;
    e.target = s.id;
    e.state = established ? StreamState::Closed : StreamState::Failed;
    schedule(std::move(e));
}

}  // namespace tincan::sim
