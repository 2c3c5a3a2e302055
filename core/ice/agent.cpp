#include "core/ice/agent.hpp"

#include <algorithm>
#include <cassert>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/ice/agent_impl.hpp"

namespace tincan::ice {

const char* toString(IceState s) {
    switch (s) {
        case IceState::New:
            return "new";
        case IceState::Checking:
            return "checking";
        case IceState::Connected:
            return "connected";
        case IceState::Completed:
            return "completed";
        case IceState::Disconnected:
            return "disconnected";
        case IceState::Failed:
            return "failed";
        case IceState::Closed:
            return "closed";
    }
    return "?";
}

const char* toString(GatheringState s) {
    switch (s) {
        case GatheringState::New:
            return "new";
        case GatheringState::Gathering:
            return "gathering";
        case GatheringState::Complete:
            return "complete";
    }
    return "?";
}

const char* toString(PathType p) {
    switch (p) {
        case PathType::Lan:
            return "lan";
        case PathType::Direct:
            return "direct";
        case PathType::Relay:
            return "relay";
    }
    return "?";
}

const char* toString(PairState s) {
    switch (s) {
        case PairState::Frozen:
            return "frozen";
        case PairState::Waiting:
            return "waiting";
        case PairState::InProgress:
            return "in-progress";
        case PairState::Succeeded:
            return "succeeded";
        case PairState::Failed:
            return "failed";
    }
    return "?";
}

namespace {

bool sameSubnet(const IpAddress& a, const IpAddress& b) {
    if (a.family() != b.family()) return false;
    auto x = a.bytes(), y = b.bytes();
    size_t n = a.isV4() ? 3 : 8;  // /24 or /64
    return std::equal(x.begin(), x.begin() + long(n), y.begin());
}

}  // namespace

// "lan" is host to host. `local` is the valid pair's local candidate: when our checks came back
// with a mapped address other than the base, a NAT sits in between and it is the
// server- or peer-reflexive candidate of that address, so the path is "direct".
// A peer-reflexive remote with a loopback, link-local or private address on our own subnet is a
// host hidden behind an mDNS name it could not resolve (browsers do that): "lan" too.
PathType classifyPath(const Candidate& local, const Candidate& remote) {
    if (local.type == CandidateType::Relayed || remote.type == CandidateType::Relayed)
        return PathType::Relay;
    if (local.type == CandidateType::Host && remote.type == CandidateType::Host)
        return PathType::Lan;
    if (local.type == CandidateType::Host && remote.type == CandidateType::PeerReflexive) {
        const IpAddress& r = remote.address.ip;
        if (r.isLoopback() || r.isLinkLocal() || (r.isPrivate() && sameSubnet(r, local.base.ip)))
            return PathType::Lan;
    }
    return PathType::Direct;
}

Agent::Impl::Impl(AgentConfig c, Random& r)
    : config(std::move(c)), random(r), role(config.role), tieBreaker(r.next64()) {
    current = newSession();
}

std::unique_ptr<Agent::Impl::Session> Agent::Impl::newSession() {
    auto s = std::make_unique<Session>();
    if (config.localCredentials && !current) {
        s->local = *config.localCredentials;
    } else {
        // RFC 8445 §5.3: at least 24 bits of randomness in ufrag, 128 in pwd.
        s->local = Credentials{random.iceChars(8), random.iceChars(24)};
    }
    return s;
}

void Agent::Impl::setState(IceState s) {
    if (state == s || state == IceState::Closed) return;
    spdlog::debug("ice: state {} -> {}", toString(state), toString(s));
    state = s;
    events.emplace_back(event::StateChanged{s});
}

void Agent::Impl::fail(std::string reason) {
    if (state == IceState::Failed || state == IceState::Closed) return;
    failure = std::move(reason);
    spdlog::debug("ice: failed: {}", failure);
    setState(IceState::Failed);
    selected.reset();
    consentNext.reset();
}

void Agent::Impl::setGathering(GatheringState g) {
    if (gathering == g) return;
    gathering = g;
    events.emplace_back(event::GatheringStateChanged{g});
}

// The public API.

Agent::Agent(AgentConfig config, Random& random)
    : impl_(std::make_unique<Impl>(std::move(config), random)) {}

Agent::~Agent() = default;

void Agent::addHostBase(const Endpoint& base) {
    auto& I = *impl_;
    if (std::find(I.bases.begin(), I.bases.end(), base) != I.bases.end()) return;
    I.bases.push_back(base);
}

void Agent::startGathering(Timestamp now) {
    auto& I = *impl_;
    if (I.started) return;
    I.started = true;
    I.setGathering(GatheringState::Gathering);
    for (const auto& b : std::vector<Endpoint>(I.bases)) I.startBase(now, b);
    I.updateGathering();
}

const Credentials& Agent::localCredentials() const {
    return impl_->current->local;
}
Role Agent::role() const {
    return impl_->role;
}
void Agent::setRole(Role role) {
    impl_->role = role;
    impl_->recomputePriorities();
}
uint64_t Agent::tieBreaker() const {
    return impl_->tieBreaker;
}
IceState Agent::state() const {
    return impl_->state;
}
GatheringState Agent::gatheringState() const {
    return impl_->gathering;
}
std::string Agent::failureReason() const {
    return impl_->failure;
}

void Agent::setRemoteCredentials(Timestamp now, const Credentials& remote) {
    auto& I = *impl_;
    if (I.current->remote &&
        (I.current->remote->ufrag != remote.ufrag || I.current->remote->pwd != remote.pwd)) {
        // The remote restarted ICE (RFC 8445 §9): so do we.
        restart(now);
    }
    I.current->remote = remote;
    I.updateSelection(now);
    I.scheduleChecks(now);
}

Result<void> Agent::addRemoteCandidate(Timestamp now, std::string_view sdp) {
    auto parsed = parseCandidate(sdp);
    if (!parsed) return parsed.error();
    addRemoteCandidate(now, *parsed);
    return {};
}

void Agent::addRemoteCandidate(Timestamp now, const Candidate& candidate) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    if (candidate.component != 1 || candidate.transport != TransportProtocol::Udp) return;
    if (candidate.isMdns()) {
        for (const auto& p : I.pendingMdns)
            if (p.hostname == candidate.hostname && p.address.port == candidate.address.port)
                return;
        I.pendingMdns.push_back(candidate);
        I.events.emplace_back(event::MdnsQuery{candidate.hostname});
        return;
    }
    Impl::Session& s = *I.current;
    for (auto& r : s.remotes) {
        if (r.address == candidate.address) {
            // A signaled candidate we had learned as peer-reflexive: adopt its real type
            // (RFC 8838 §11.4), keep the pairs.
            if (r.type == CandidateType::PeerReflexive &&
                candidate.type != CandidateType::PeerReflexive) {
                r.type = candidate.type;
                r.foundation = candidate.foundation;
                r.related = candidate.related;
                for (auto& p : s.pairs)
                    if (&s.remotes[p.remote] == &r) p.stats.remote = r;
                if (I.selected && I.selected->session == &s &&
                    &s.remotes[s.pairs[I.selected->pair].remote] == &r)
                    I.events.emplace_back(
                        event::SelectedPairChanged{I.pairInfo(s, s.pairs[I.selected->pair])});
            }
            return;
        }
    }
    if (s.remotes.size() >= kMaxRemoteCandidates) return;
    s.remotes.push_back(candidate);
    size_t ri = s.remotes.size() - 1;
    for (size_t li = 0; li < s.locals.size(); ++li) I.addPair(now, s, li, ri);
    I.updateSelection(now);
    I.scheduleChecks(now);
}

void Agent::endOfRemoteCandidates(Timestamp now) {
    auto& I = *impl_;
    I.current->remoteEndOfCandidates = true;
    I.updateSelection(now);
    I.evaluateFailure(now);
}

void Agent::resolvedMdns(Timestamp now, const std::string& hostname, std::optional<IpAddress> ip) {
    auto& I = *impl_;
    std::vector<Candidate> ready;
    for (auto it = I.pendingMdns.begin(); it != I.pendingMdns.end();) {
        if (it->hostname == hostname) {
            if (ip) {
                Candidate c = *it;
                c.address.ip = *ip;
                c.hostname.clear();
                ready.push_back(c);
            }
            it = I.pendingMdns.erase(it);
        } else {
            ++it;
        }
    }
    for (const auto& c : ready) addRemoteCandidate(now, c);
}

void Agent::restart(Timestamp now) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    spdlog::debug("ice: restart");
    auto fresh = I.newSession();
    // Keep the session that carries data until the new one selects a pair.
    if (I.selected && I.selected->session == I.current.get()) I.previous = std::move(I.current);
    I.current = std::move(fresh);
    I.lastCheckSent.reset();
    if (I.state == IceState::Failed) {
        I.state = IceState::New;
        I.failure.clear();
        I.events.emplace_back(event::StateChanged{IceState::New});
    }
    // Regather: host candidates again, fresh STUN queries, existing relays re-announced.
    I.setGathering(GatheringState::Gathering);
    if (I.config.policy == TransportPolicy::All)
        for (const auto& b : I.bases) I.addLocalCandidate(now, I.hostCandidate(b), true);
    for (const auto& b : std::vector<Endpoint>(I.bases)) {
        if (I.config.policy != TransportPolicy::All) break;
        for (const auto& server : I.config.stunServers)
            if (server.address.ip.family() == b.ip.family()) I.startGatherTx(now, b, server);
    }
    if (I.previous) {
        for (const auto& c : I.previous->locals)
            if (c.type == CandidateType::Relayed || c.type == CandidateType::ServerReflexive)
                I.addLocalCandidate(now, c, true);
    }
    I.updateGathering();
}

void Agent::close(Timestamp now) {
    auto& I = *impl_;
    if (I.state == IceState::Closed) return;
    for (size_t i = 0; i < I.turns.size(); ++i) {
        I.turns[i].client->close(now);
        I.drainTurn(now, i);
    }
    I.selected.reset();
    I.consentNext.reset();
    I.setState(IceState::Closed);
}

bool Agent::send(Timestamp now, ByteView data) {
    auto& I = *impl_;
    if (!I.selected || I.state == IceState::Closed || I.state == IceState::Failed) return false;
    auto& s = *I.selected->session;
    auto& p = s.pairs[I.selected->pair];
    p.noteDataSent(now, data.size());
    const Candidate& l = s.locals[p.local];
    const Endpoint& r = s.remotes[p.remote].address;
    if (l.type == CandidateType::Relayed) {
        auto idx = I.turnIndexFor(l);
        if (!idx) return false;
        bool ok = I.turns[*idx].client->sendTo(now, r, data);
        I.flushTurn(*idx);
        return ok;
    }
    I.transmits.push_back(
        Packet{TransportProtocol::Udp, l.base, r, Bytes(data.begin(), data.end())});
    return true;
}

void Agent::setDataHandler(std::function<void(ByteView)> handler) {
    impl_->dataHandler = std::move(handler);
}

std::optional<CandidatePairInfo> Agent::selectedPair() const {
    auto& I = *impl_;
    if (!I.selected) return std::nullopt;
    return I.pairInfo(*I.selected->session, I.selected->session->pairs[I.selected->pair]);
}

AgentStats Agent::stats() const {
    auto& I = *impl_;
    AgentStats st;
    const Impl::Session& s = *I.current;
    for (const auto& c : s.locals)
        if (c.type != CandidateType::PeerReflexive) st.localCandidates.push_back(c);
    st.remoteCandidates = s.remotes;
    for (const Impl::Session* sess : {I.previous.get(), I.current.get()}) {
        if (!sess) continue;
        for (size_t i = 0; i < sess->pairs.size(); ++i) {
            const auto& p = sess->pairs[i];
            bool selected = I.selected && I.selected->session == sess && I.selected->pair == i;
            st.pairs.push_back(
                p.snapshot(sess->locals[p.local], sess->remotes[p.remote], selected));
        }
    }
    st.stunMalformedDropped = I.malformed;
    st.stunUnauthorized = I.unauthorized;
    st.dataDroppedUnknownSource = I.unknownSource;
    st.roleConflicts = I.roleConflicts;
    return st;
}

void Agent::handlePacket(Timestamp now, const PacketView& packet) {
    impl_->handlePacket(now, packet);
}

void Agent::handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                              const Endpoint& remote, StreamState state) {
    impl_->handleStreamState(now, protocol, local, remote, state);
}

void Agent::handleTimeout(Timestamp now) {
    impl_->handleTimeout(now);
}

std::optional<Packet> Agent::pollTransmit() {
    auto& q = impl_->transmits;
    if (q.empty()) return std::nullopt;
    Packet p = std::move(q.front());
    q.pop_front();
    return p;
}

std::optional<Timestamp> Agent::pollTimeout() {
    return impl_->pollTimeout();
}

std::optional<Event> Agent::pollEvent() {
    auto& q = impl_->events;
    if (q.empty()) return std::nullopt;
    Event e = std::move(q.front());
    q.pop_front();
    return e;
}

}  // namespace tincan::ice
