#include "tests/sim/turn_server.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tincan::sim {

using stun::Message;
namespace attr = stun::attr;
namespace error = stun::error;

namespace {
constexpr uint8_t kUdp = 17;  // REQUESTED-TRANSPORT value (RFC 8656 §18.11)

int64_t seconds(Duration d) {
    return std::chrono::duration_cast<std::chrono::seconds>(d).count();
}
}  // namespace

SimTurnServer::SimTurnServer(TurnServerConfig config)
    : config_(std::move(config)), rng_(config_.seed) {}

std::vector<Endpoint> SimTurnServer::relayedAddresses() const {
    std::vector<Endpoint> out;
    for (const auto& [tuple, a] : allocations_) out.push_back(a.relayed);
    return out;
}

bool SimTurnServer::hasPermission(const Endpoint& relayed, const IpAddress& peer,
                                  Timestamp now) const {
    auto it = byRelayed_.find(relayed);
    if (it == byRelayed_.end()) return false;
    return permitted(allocations_.at(it->second), peer, now);
}

bool SimTurnServer::permitted(const Allocation& a, const IpAddress& peer, Timestamp now) {
    auto it = a.permissions.find(peer);
    return it != a.permissions.end() && it->second > now;
}

std::optional<Packet> SimTurnServer::pollTransmit() {
    if (out_.empty()) return std::nullopt;
    Packet p = std::move(out_.front());
    out_.pop_front();
    return p;
}

std::optional<Timestamp> SimTurnServer::pollTimeout() {
    std::optional<Timestamp> t;
    for (const auto& [tuple, a] : allocations_)
        if (!t || a.expires < *t) t = a.expires;
    return t;
}

void SimTurnServer::handleTimeout(Timestamp now) {
    for (auto it = allocations_.begin(); it != allocations_.end();) {
        auto next = std::next(it);
        if (it->second.expires <= now) {
            ++stats_.allocationsExpired;
            removeAllocation(it);
        }
        it = next;
    }
}

void SimTurnServer::removeAllocation(std::map<FiveTuple, Allocation>::iterator it) {
    byRelayed_.erase(it->second.relayed);
    allocations_.erase(it);
}

SimTurnServer::Allocation* SimTurnServer::findAllocation(Timestamp now, const FiveTuple& tuple) {
    auto it = allocations_.find(tuple);
    if (it == allocations_.end()) return nullptr;
    if (it->second.expires <= now) {
        ++stats_.allocationsExpired;
        removeAllocation(it);
        return nullptr;
    }
    return &it->second;
}

void SimTurnServer::handlePacket(Timestamp now, const PacketView& p) {
    const bool relayPort =
        p.local.port >= config_.relayPortMin && p.local.port <= config_.relayPortMax;
    if (p.protocol == TransportProtocol::Udp) {
        if (auto it = byRelayed_.find(p.local); it != byRelayed_.end()) {
            FiveTuple tuple = it->second;
            if (Allocation* a = findAllocation(now, tuple)) {
                handleFromPeer(now, *a, p.remote, p.data);
                return;
            }
        }
        if (relayPort) {
            ++stats_.droppedNoAllocation;
            return;
        }
        handleFromClient(now, FiveTuple{uint8_t(p.protocol), p.remote, p.local}, p.data);
        return;
    }
    if (relayPort) {
        ++stats_.droppedNoAllocation;
        return;
    }
    auto& framer = streams_[{uint8_t(p.protocol), p.local, p.remote}];
    if (framer.broken()) return;
    framer.push(p.data);
    while (auto frame = framer.next())
        handleFromClient(now, FiveTuple{uint8_t(p.protocol), p.remote, p.local}, *frame);
    if (framer.broken()) ++stats_.malformed;
}

void SimTurnServer::toClient(const FiveTuple& tuple, Bytes data) {
    out_.push_back(Packet{TransportProtocol(std::get<0>(tuple)), std::get<2>(tuple),
                          std::get<1>(tuple), std::move(data)});
}

Bytes SimTurnServer::encode(const Message& m, const Auth* auth) const {
    if (!auth) return m.encode(nullptr, true);
    stun::Integrity integrity{auth->key, false};
    return m.encode(&integrity, true);
}

void SimTurnServer::sendError(const FiveTuple& tuple, const Message& req, int code,
                              std::string_view reason, const Auth* auth) {
    ++stats_.errorResponses;
    Message err = Message::errorResponse(req, code, reason);
    err.addString(attr::Software, config_.software);
    toClient(tuple, encode(err, auth));
}

std::string SimTurnServer::newNonce(Timestamp now) {
    for (auto it = nonces_.begin(); it != nonces_.end();)
        it = it->second <= now ? nonces_.erase(it) : std::next(it);
    std::string nonce = fmt::format("{:016x}", rng_());
    nonces_[nonce] = now + config_.nonceLifetime;
    return nonce;
}

void SimTurnServer::sendChallenge(Timestamp now, const FiveTuple& tuple, const Message& req,
                                  int code) {
    ++stats_.errorResponses;
    ++(code == error::StaleNonce ? stats_.staleNonces : stats_.unauthenticated);
    Message err = Message::errorResponse(
        req, code, code == error::StaleNonce ? "Stale Nonce" : "Unauthenticated");
    err.addString(attr::Realm, config_.realm);
    err.addString(attr::Nonce, newNonce(now));
    err.addString(attr::Software, config_.software);
    toClient(tuple, encode(err, nullptr));
}

void SimTurnServer::handleFromClient(Timestamp now, const FiveTuple& tuple, ByteView frame) {
    if (frame.size() >= 4 && (frame[0] & 0xC0) == 0x40) {  // ChannelData (RFC 8656 §12.4)
        uint16_t channel = readU16(frame.data());
        size_t length = readU16(frame.data() + 2);
        if (channel < 0x4000 || channel > 0x4FFF || 4 + length > frame.size()) {
            ++stats_.malformed;
            return;
        }
        Allocation* a = findAllocation(now, tuple);
        if (!a) {
            ++stats_.droppedNoAllocation;
            return;
        }
        auto ch = a->channels.find(channel);
        if (ch == a->channels.end() || ch->second.expires <= now ||
            !permitted(*a, ch->second.peer.ip, now)) {
            ++stats_.droppedNoPermission;
            return;
        }
        relayToPeer(*a, ch->second.peer, frame.subspan(4, length));
        return;
    }
    auto m = stun::tryParse(frame);
    if (!m) {
        ++stats_.malformed;
        return;
    }
    if (m->isRequest()) return handleRequest(now, tuple, *m);
    if (m->isIndication() && m->method() == stun::Method::Send) return handleSend(now, tuple, *m);
}

void SimTurnServer::handleRequest(Timestamp now, const FiveTuple& tuple, const Message& req) {
    ++stats_.requests;
    if (auto unknown = req.unknownComprehensionRequired(); !unknown.empty()) {
        ++stats_.errorResponses;
        Message err = Message::errorResponse(req, error::UnknownAttribute, "Unknown Attribute");
        err.addUnknownAttributes(unknown);
        err.addString(attr::Software, config_.software);
        return toClient(tuple, encode(err, nullptr));
    }
    if (req.method() == stun::Method::Binding) {
        Message res = Message::successResponse(req);
        res.addXorAddress(attr::XorMappedAddress, std::get<1>(tuple));
        res.addString(attr::Software, config_.software);
        return toClient(tuple, encode(res, nullptr));
    }
    switch (req.method()) {
        case stun::Method::Allocate:
        case stun::Method::Refresh:
        case stun::Method::CreatePermission:
        case stun::Method::ChannelBind:
            break;
        default:
            return sendError(tuple, req, error::BadRequest, "Bad Request", nullptr);
    }

    // Long-term credentials, RFC 8489 §9.2.4.
    // (The codec keeps integrity attributes out of attributes(); verifyIntegrity() finds them.)
    if (req.verifyIntegrity({}) == stun::IntegrityCheck::Missing)
        return sendChallenge(now, tuple, req, error::Unauthenticated);
    auto username = req.getString(attr::Username);
    auto realm = req.getString(attr::Realm);
    auto nonce = req.getString(attr::Nonce);
    if (!username || !realm || !nonce)
        return sendError(tuple, req, error::BadRequest, "Missing USERNAME, REALM or NONCE",
                         nullptr);
    auto n = nonces_.find(*nonce);
    if (n == nonces_.end() || n->second <= now)
        return sendChallenge(now, tuple, req, error::StaleNonce);
    auto user = config_.users.find(*username);
    if (user == config_.users.end() || *realm != config_.realm)
        return sendChallenge(now, tuple, req, error::Unauthenticated);
    Auth auth{*username, stun::longTermKey(*username, *realm, user->second)};
    if (req.verifyIntegrity(auth.key) != stun::IntegrityCheck::Ok)
        return sendChallenge(now, tuple, req, error::Unauthenticated);

    if (req.method() == stun::Method::Allocate) return handleAllocate(now, tuple, req, auth);
    Allocation* a = findAllocation(now, tuple);
    if (!a) return sendError(tuple, req, error::AllocationMismatch, "Allocation Mismatch", &auth);
    if (a->username != auth.username)  // RFC 8656 §5
        return sendError(tuple, req, error::WrongCredentials, "Wrong Credentials", &auth);
    switch (req.method()) {
        case stun::Method::Refresh:
            return handleRefresh(now, *a, req, auth);
        case stun::Method::CreatePermission:
            return handleCreatePermission(now, *a, req, auth);
        case stun::Method::ChannelBind:
            return handleChannelBind(now, *a, req, auth);
        default:
            break;
    }
}

std::optional<Duration> SimTurnServer::requestedLifetime(const Message& m) const {
    auto requested = m.getU32(attr::Lifetime);
    if (requested && *requested == 0) return std::nullopt;
    // RFC 8656 §7.2: min(requested, maximum), but never below the default.
    Duration d = requested ? Duration(std::chrono::seconds(*requested)) : config_.defaultLifetime;
    return std::max(std::min(d, config_.maxLifetime), config_.defaultLifetime);
}

std::optional<uint16_t> SimTurnServer::allocatePort(const IpAddress& relayIp, bool even) {
    const uint32_t span = uint32_t(config_.relayPortMax) - config_.relayPortMin + 1;
    for (int tries = 0; tries < 10000; ++tries) {
        auto port = uint16_t(config_.relayPortMin + rng_() % span);
        if (even) port &= 0xFFFE;
        if (port < config_.relayPortMin) continue;
        if (!byRelayed_.count(Endpoint{relayIp, port})) return port;
    }
    return std::nullopt;
}

// RFC 8656 §7.2.
void SimTurnServer::handleAllocate(Timestamp now, const FiveTuple& tuple, const Message& req,
                                   const Auth& auth) {
    if (Allocation* existing = findAllocation(now, tuple)) {
        if (existing->createdBy == req.transactionId())  // a retransmission
            return toClient(tuple, existing->createdResponse);
        return sendError(tuple, req, error::AllocationMismatch, "Allocation Mismatch", &auth);
    }
    auto transport = req.getRequestedTransport();
    if (!transport)
        return sendError(tuple, req, error::BadRequest, "No REQUESTED-TRANSPORT", &auth);
    if (*transport != kUdp)
        return sendError(tuple, req, error::UnsupportedTransportProtocol,
                         "Unsupported Transport Protocol", &auth);
    if (req.has(attr::ReservationToken))
        return sendError(tuple, req, error::InsufficientCapacity, "No reservations", &auth);

    IpAddress::Family family = IpAddress::Family::V4;
    if (auto f = req.getU32(attr::RequestedAddressFamily)) {
        switch (*f >> 24) {
            case 0x01:
                family = IpAddress::Family::V4;
                break;
            case 0x02:
                family = IpAddress::Family::V6;
                break;
            default:
                return sendError(tuple, req, error::AddressFamilyNotSupported,
                                 "Address Family not Supported", &auth);
        }
    }
    std::optional<IpAddress> relayIp;
    for (const auto& candidate : config_.relayIps)
        if (candidate.family() == family) {
            relayIp = candidate;
            break;
        }
    if (!relayIp && config_.relayIps.empty() && std::get<2>(tuple).ip.family() == family)
        relayIp = std::get<2>(tuple).ip;
    if (!relayIp)
        return sendError(tuple, req, error::AddressFamilyNotSupported,
                         "Address Family not Supported", &auth);
    if (allocations_.size() >= config_.maxAllocations)
        return sendError(tuple, req, error::AllocationQuotaReached, "Allocation Quota Reached",
                         &auth);
    auto port = allocatePort(*relayIp, req.has(attr::EvenPort));
    if (!port)
        return sendError(tuple, req, error::InsufficientCapacity, "Insufficient Capacity", &auth);

    Duration lifetime = requestedLifetime(req).value_or(config_.defaultLifetime);
    Allocation a;
    a.tuple = tuple;
    a.username = auth.username;
    a.key = auth.key;
    a.relayed = Endpoint{*relayIp, *port};
    a.expires = now + lifetime;
    a.createdBy = req.transactionId();

    Message res = Message::successResponse(req);
    res.addXorAddress(attr::XorRelayedAddress, a.relayed);
    res.addU32(attr::Lifetime, uint32_t(seconds(lifetime)));
    res.addXorAddress(attr::XorMappedAddress, std::get<1>(tuple));
    res.addString(attr::Software, config_.software);
    a.createdResponse = encode(res, &auth);
    ++stats_.allocationsCreated;
    byRelayed_[a.relayed] = tuple;
    Bytes bytes = a.createdResponse;
    allocations_[tuple] = std::move(a);
    toClient(tuple, std::move(bytes));
}

// RFC 8656 §8.
void SimTurnServer::handleRefresh(Timestamp now, Allocation& a, const Message& req,
                                  const Auth& auth) {
    FiveTuple tuple = a.tuple;
    auto lifetime = requestedLifetime(req);
    Message res = Message::successResponse(req);
    if (!lifetime) {
        ++stats_.allocationsDeleted;
        removeAllocation(allocations_.find(tuple));
        res.addU32(attr::Lifetime, 0);
    } else {
        a.expires = now + *lifetime;
        res.addU32(attr::Lifetime, uint32_t(seconds(*lifetime)));
    }
    res.addString(attr::Software, config_.software);
    toClient(tuple, encode(res, &auth));
}

std::vector<Endpoint> SimTurnServer::peerAddresses(const Message& m) const {
    std::vector<Endpoint> out;
    for (const auto& at : m.attributes()) {
        if (at.type != attr::XorPeerAddress) continue;
        // The codec decodes the first attribute of a type; decode each one on its own.
        Message one(m.messageClass(), m.method(), m.transactionId());
        one.addRaw(attr::XorPeerAddress, at.value);
        if (auto peer = one.getXorAddress(attr::XorPeerAddress)) out.push_back(*peer);
    }
    return out;
}

// RFC 8656 §10.
void SimTurnServer::handleCreatePermission(Timestamp now, Allocation& a, const Message& req,
                                           const Auth& auth) {
    auto peers = peerAddresses(req);
    if (peers.empty())
        return sendError(a.tuple, req, error::BadRequest, "No XOR-PEER-ADDRESS", &auth);
    for (const auto& peer : peers)
        if (peer.ip.family() != a.relayed.ip.family())
            return sendError(a.tuple, req, error::PeerAddressFamilyMismatch,
                             "Peer Address Family Mismatch", &auth);
    for (const auto& peer : peers) {
        a.permissions[peer.ip] = now + config_.permissionLifetime;
        ++stats_.permissionsCreated;
    }
    Message res = Message::successResponse(req);
    res.addString(attr::Software, config_.software);
    toClient(a.tuple, encode(res, &auth));
}

// RFC 8656 §11.
void SimTurnServer::handleChannelBind(Timestamp now, Allocation& a, const Message& req,
                                      const Auth& auth) {
    auto channel = req.getChannelNumber();
    auto peer = req.getXorAddress(attr::XorPeerAddress);
    if (!channel || !peer || *channel < 0x4000 || *channel > 0x4FFF)
        return sendError(a.tuple, req, error::BadRequest, "Bad CHANNEL-NUMBER or peer", &auth);
    if (peer->ip.family() != a.relayed.ip.family())
        return sendError(a.tuple, req, error::PeerAddressFamilyMismatch,
                         "Peer Address Family Mismatch", &auth);
    if (auto it = a.channels.find(*channel);
        it != a.channels.end() && it->second.peer != *peer && it->second.expires > now)
        return sendError(a.tuple, req, error::BadRequest, "Channel bound to another peer", &auth);
    if (auto it = a.channelByPeer.find(*peer); it != a.channelByPeer.end() &&
                                               it->second != *channel &&
                                               a.channels.at(it->second).expires > now)
        return sendError(a.tuple, req, error::BadRequest, "Peer bound to another channel", &auth);
    if (auto it = a.channels.find(*channel); it != a.channels.end() && it->second.peer != *peer)
        a.channelByPeer.erase(it->second.peer);
    if (auto it = a.channelByPeer.find(*peer);
        it != a.channelByPeer.end() && it->second != *channel)
        a.channels.erase(it->second);
    if (!a.channels.count(*channel)) ++stats_.channelsBound;
    a.channels[*channel] = Channel{*peer, now + config_.channelLifetime};
    a.channelByPeer[*peer] = *channel;
    a.permissions[peer->ip] = now + config_.permissionLifetime;
    Message res = Message::successResponse(req);
    res.addString(attr::Software, config_.software);
    toClient(a.tuple, encode(res, &auth));
}

// RFC 8656 §11.3: no authentication on indications; the permission is what guards the relay.
void SimTurnServer::handleSend(Timestamp now, const FiveTuple& tuple, const Message& ind) {
    Allocation* a = findAllocation(now, tuple);
    if (!a) {
        ++stats_.droppedNoAllocation;
        return;
    }
    auto peer = ind.getXorAddress(attr::XorPeerAddress);
    const stun::Attribute* data = ind.find(attr::Data);
    if (!peer || !data) {
        ++stats_.malformed;
        return;
    }
    if (!permitted(*a, peer->ip, now)) {
        ++stats_.droppedNoPermission;
        return;
    }
    relayToPeer(*a, *peer, data->value);
}

void SimTurnServer::relayToPeer(Allocation& a, const Endpoint& peer, ByteView data) {
    ++stats_.relayedToPeer;
    stats_.relayedToPeerBytes += data.size();
    out_.push_back(
        Packet{TransportProtocol::Udp, a.relayed, peer, Bytes(data.begin(), data.end())});
}

// RFC 8656 §11.5, §12.6.
void SimTurnServer::handleFromPeer(Timestamp now, Allocation& a, const Endpoint& peer,
                                   ByteView data) {
    if (!permitted(a, peer.ip, now)) {
        ++stats_.droppedNoPermission;
        return;
    }
    Bytes frame;
    auto ch = a.channelByPeer.find(peer);
    if (ch != a.channelByPeer.end() && a.channels.at(ch->second).expires > now) {
        appendU16(frame, ch->second);
        appendU16(frame, uint16_t(data.size()));
        appendBytes(frame, data);
        if (std::get<0>(a.tuple) != uint8_t(TransportProtocol::Udp))  // §12.5: pad over streams
            frame.resize((frame.size() + 3) & ~size_t(3), 0);
    } else {
        stun::TransactionId tid;
        for (auto& b : tid) b = uint8_t(rng_());
        Message ind(stun::MessageClass::Indication, stun::Method::Data, tid);
        ind.addXorAddress(attr::XorPeerAddress, peer);
        ind.addRaw(attr::Data, data);
        frame = ind.encode(nullptr, true);
    }
    ++stats_.relayedToClient;
    stats_.relayedToClientBytes += data.size();
    toClient(a.tuple, std::move(frame));
}

}  // namespace tincan::sim
