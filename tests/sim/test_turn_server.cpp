// SimTurnServer driven with hand-built STUN messages (RFC 8656), over UDP and TCP, through a NAT.
#include <gtest/gtest.h>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "tests/sim/framing.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/probe.hpp"
#include "tests/sim/turn_server.hpp"

using namespace tincan;
using namespace tincan::sim;
namespace attr = stun::attr;
using stun::Message;
using stun::Method;

namespace {

const IpAddress kNatIp = ip("198.51.100.1");
const Endpoint kClient = ep("192.0.2.10:5000");
const Endpoint kTurn = ep("203.0.113.3:3478");
const Endpoint kPeer = ep("203.0.113.60:7000");

TurnServerConfig serverConfig() {
    TurnServerConfig c;
    c.realm = "sim.example.org";
    c.users = {{"alice", "secret"}, {"bob", "hunter2"}};
    c.nonceLifetime = 3600s;
    return c;
}

// A TURN client built by hand on top of a ProbeMachine.
class RawTurn {
public:
    explicit RawTurn(TransportProtocol proto, TurnServerConfig config = serverConfig())
        : server(std::move(config)), proto_(proto) {
        nat = net.addNat(kNatIp, NatConfig::cone());
        net.addHost("client", {kClient.ip}, nat, &client);
        net.addHost("turn", {kTurn.ip}, std::nullopt, &server);
        net.addHost("peer", {kPeer.ip}, std::nullopt, &peer);
    }

    Endpoint local() const {
        return proto_ == TransportProtocol::Udp ? kClient : Endpoint{kClient.ip, 0};
    }

    void sendRaw(Bytes bytes) { client.send(Packet{proto_, local(), kTurn, std::move(bytes)}); }

    // Adds USERNAME, REALM and NONCE and signs with the long-term key.
    void sendSigned(Message m, const std::string& user = "alice",
                    const std::string& password = "secret") {
        m.addString(attr::Username, user);
        m.addString(attr::Realm, realm);
        m.addString(attr::Nonce, nonce);
        stun::Integrity integrity{stun::longTermKey(user, realm, password), false};
        sendRaw(m.encode(&integrity, true));
    }

    // Frames received from the server since the last call.
    std::vector<Bytes> frames() {
        std::vector<Bytes> out;
        for (; seen_ < client.received.size(); ++seen_) {
            const auto& r = client.received[seen_];
            if (r.protocol == TransportProtocol::Udp) {
                out.push_back(r.data);
                continue;
            }
            framer_.push(r.data);
            while (auto f = framer_.next()) out.push_back(*f);
        }
        return out;
    }

    // Sends `m` (signed unless told otherwise) and returns the response to it.
    std::optional<Message> transact(Message m, bool sign = true) {
        auto tid = m.transactionId();
        if (sign)
            sendSigned(std::move(m));
        else
            sendRaw(m.encode(nullptr, true));
        net.runFor(500ms);
        std::optional<Message> res;
        for (const auto& f : frames())
            if (auto msg = stun::tryParse(f); msg && msg->transactionId() == tid) res = msg;
        return res;
    }

    Message allocateRequest() {
        Message m = Message::request(Method::Allocate, random);
        m.addRequestedTransport();
        return m;
    }

    // 401 dance, then a successful Allocate; returns the relayed address.
    Endpoint allocate() {
        auto challenge = transact(allocateRequest(), false);
        EXPECT_TRUE(challenge && challenge->isError());
        realm = challenge->getString(attr::Realm).value_or("");
        nonce = challenge->getString(attr::Nonce).value_or("");
        auto res = transact(allocateRequest());
        EXPECT_TRUE(res && res->isSuccess());
        return res ? res->getXorAddress(attr::XorRelayedAddress).value_or(Endpoint{}) : Endpoint{};
    }

    std::optional<Message> createPermission(const Endpoint& peerEp) {
        Message m = Message::request(Method::CreatePermission, random);
        m.addXorAddress(attr::XorPeerAddress, peerEp);
        return transact(std::move(m));
    }

    std::optional<Message> channelBind(uint16_t channel, const Endpoint& peerEp) {
        Message m = Message::request(Method::ChannelBind, random);
        m.addChannelNumber(channel);
        m.addXorAddress(attr::XorPeerAddress, peerEp);
        return transact(std::move(m));
    }

    void sendIndication(const Endpoint& peerEp, std::string_view text) {
        Message m = Message::indication(Method::Send, random);
        m.addXorAddress(attr::XorPeerAddress, peerEp);
        m.addRaw(attr::Data, asBytes(text));
        sendRaw(m.encode(nullptr, true));
    }

    void sendChannelData(uint16_t channel, std::string_view text) {
        Bytes b;
        appendU16(b, channel);
        appendU16(b, uint16_t(text.size()));
        appendBytes(b, asBytes(text));
        if (proto_ != TransportProtocol::Udp) b.resize((b.size() + 3) & ~size_t(3), 0);
        sendRaw(std::move(b));
    }

    Network net{5};
    Random random{11};
    ProbeMachine client, peer;
    SimTurnServer server;
    RouterId nat{};
    std::string realm, nonce;

private:
    TransportProtocol proto_;
    StreamDeframer framer_;
    size_t seen_ = 0;
};

int code(const std::optional<Message>& m) {
    if (!m || !m->isError()) return 0;
    auto e = m->getErrorCode();
    return e ? e->code : -1;
}

}  // namespace

TEST(SimTurnServer, ChallengesThenAllocatesWithIntegrity) {
    RawTurn t(TransportProtocol::Udp);
    auto challenge = t.transact(t.allocateRequest(), false);
    ASSERT_TRUE(challenge);
    EXPECT_EQ(code(challenge), stun::error::Unauthenticated);
    EXPECT_EQ(challenge->getString(attr::Realm), "sim.example.org");
    ASSERT_TRUE(challenge->getString(attr::Nonce));
    EXPECT_EQ(challenge->verifyIntegrity({}), stun::IntegrityCheck::Missing);
    EXPECT_TRUE(challenge->hasFingerprint());
    t.realm = *challenge->getString(attr::Realm);
    t.nonce = *challenge->getString(attr::Nonce);

    auto res = t.transact(t.allocateRequest());
    ASSERT_TRUE(res);
    ASSERT_TRUE(res->isSuccess()) << code(res);
    EXPECT_EQ(res->verifyIntegrity(stun::longTermKey("alice", t.realm, "secret")),
              stun::IntegrityCheck::Ok);
    EXPECT_TRUE(res->hasFingerprint());
    auto relayed = res->getXorAddress(attr::XorRelayedAddress);
    ASSERT_TRUE(relayed);
    EXPECT_EQ(relayed->ip, kTurn.ip);
    EXPECT_GE(relayed->port, 49152);
    EXPECT_EQ(res->getXorAddress(attr::XorMappedAddress), t.net.natMappings(t.nat).at(0).external);
    EXPECT_EQ(res->getU32(attr::Lifetime), 600u);
    EXPECT_EQ(t.server.allocationCount(), 1u);
    EXPECT_EQ(t.server.stats().allocationsCreated, 1u);
}

TEST(SimTurnServer, WrongCredentialsGet401) {
    RawTurn t(TransportProtocol::Udp);
    auto challenge = t.transact(t.allocateRequest(), false);
    t.realm = challenge->getString(attr::Realm).value_or("");
    t.nonce = challenge->getString(attr::Nonce).value_or("");

    auto tid1 = t.allocateRequest();
    auto id1 = tid1.transactionId();
    t.sendSigned(std::move(tid1), "alice", "wrong");
    auto tid2 = t.allocateRequest();
    auto id2 = tid2.transactionId();
    t.sendSigned(std::move(tid2), "mallory", "secret");
    t.net.runFor(500ms);
    int seen = 0;
    for (const auto& f : t.frames()) {
        auto m = stun::tryParse(f);
        ASSERT_TRUE(m);
        if (m->transactionId() != id1 && m->transactionId() != id2) continue;
        ++seen;
        EXPECT_EQ(m->getErrorCode()->code, stun::error::Unauthenticated);
    }
    EXPECT_EQ(seen, 2);
    EXPECT_EQ(t.server.allocationCount(), 0u);

    // Missing NONCE with integrity: 400.
    Message bare = t.allocateRequest();
    bare.addString(attr::Username, "alice");
    stun::Integrity integrity{stun::longTermKey("alice", t.realm, "secret"), false};
    t.sendRaw(bare.encode(&integrity, true));
    t.net.runFor(500ms);
    auto frames = t.frames();
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(stun::tryParse(frames[0])->getErrorCode()->code, stun::error::BadRequest);
}

TEST(SimTurnServer, StaleNonceAfterItsLifetime) {
    TurnServerConfig config = serverConfig();
    config.nonceLifetime = 60s;
    RawTurn t(TransportProtocol::Udp, config);
    t.allocate();
    t.net.runFor(61s);
    auto stale = t.createPermission(kPeer);
    EXPECT_EQ(code(stale), stun::error::StaleNonce);
    ASSERT_TRUE(stale->getString(attr::Nonce));
    EXPECT_NE(*stale->getString(attr::Nonce), t.nonce);
    EXPECT_EQ(stale->getString(attr::Realm), "sim.example.org");
    t.nonce = *stale->getString(attr::Nonce);
    auto ok = t.createPermission(kPeer);
    ASSERT_TRUE(ok);
    EXPECT_TRUE(ok->isSuccess());
    EXPECT_EQ(t.server.stats().staleNonces, 1u);
}

TEST(SimTurnServer, RetransmittedAllocateGetsTheSameAnswerOtherwiseMismatch) {
    RawTurn t(TransportProtocol::Udp);
    auto challenge = t.transact(t.allocateRequest(), false);
    t.realm = challenge->getString(attr::Realm).value_or("");
    t.nonce = challenge->getString(attr::Nonce).value_or("");
    Message req = t.allocateRequest();
    auto first = t.transact(req);
    auto again = t.transact(req);  // same transaction id
    ASSERT_TRUE(first && again);
    EXPECT_TRUE(again->isSuccess());
    EXPECT_EQ(first->getXorAddress(attr::XorRelayedAddress),
              again->getXorAddress(attr::XorRelayedAddress));
    EXPECT_EQ(code(t.transact(t.allocateRequest())), stun::error::AllocationMismatch);
    EXPECT_EQ(t.server.allocationCount(), 1u);
}

TEST(SimTurnServer, RejectsBadAllocateRequests) {
    RawTurn t(TransportProtocol::Udp);
    auto challenge = t.transact(t.allocateRequest(), false);
    t.realm = challenge->getString(attr::Realm).value_or("");
    t.nonce = challenge->getString(attr::Nonce).value_or("");

    EXPECT_EQ(code(t.transact(Message::request(Method::Allocate, t.random))),
              stun::error::BadRequest);
    Message tcp = Message::request(Method::Allocate, t.random);
    tcp.addRequestedTransport(6);
    EXPECT_EQ(code(t.transact(std::move(tcp))), stun::error::UnsupportedTransportProtocol);
    Message v6 = t.allocateRequest();
    v6.addU32(attr::RequestedAddressFamily, 0x02000000);
    EXPECT_EQ(code(t.transact(std::move(v6))), stun::error::AddressFamilyNotSupported);
    // No allocation yet: the other methods get 437.
    EXPECT_EQ(code(t.createPermission(kPeer)), stun::error::AllocationMismatch);
    EXPECT_EQ(t.server.allocationCount(), 0u);
}

TEST(SimTurnServer, PermissionGuardsTheRelayBothWays) {
    RawTurn t(TransportProtocol::Udp);
    const Endpoint relayed = t.allocate();

    // Before any permission: neither direction gets through.
    t.peer.sendUdp(kPeer, relayed, "too early");
    t.sendIndication(kPeer, "too early");
    t.net.runFor(500ms);
    EXPECT_TRUE(t.peer.received.empty());
    EXPECT_TRUE(t.frames().empty());
    EXPECT_EQ(t.server.stats().droppedNoPermission, 2u);

    auto perm = t.createPermission(kPeer);
    ASSERT_TRUE(perm && perm->isSuccess());
    EXPECT_EQ(perm->verifyIntegrity(stun::longTermKey("alice", t.realm, "secret")),
              stun::IntegrityCheck::Ok);
    EXPECT_TRUE(t.server.hasPermission(relayed, kPeer.ip, t.net.now()));

    t.sendIndication(kPeer, "hello peer");
    t.net.runFor(500ms);
    ASSERT_EQ(t.peer.received.size(), 1u);
    EXPECT_EQ(t.peer.received[0].text(), "hello peer");
    EXPECT_EQ(t.peer.received[0].remote, relayed);
    EXPECT_EQ(t.peer.received[0].local, kPeer);

    t.peer.sendUdp(kPeer, relayed, "hello client");
    t.net.runFor(500ms);
    auto frames = t.frames();
    ASSERT_EQ(frames.size(), 1u);
    auto data = stun::tryParse(frames[0]);
    ASSERT_TRUE(data);
    EXPECT_TRUE(data->isIndication());
    EXPECT_EQ(data->method(), Method::Data);
    EXPECT_EQ(data->getXorAddress(attr::XorPeerAddress), kPeer);
    ASSERT_TRUE(data->find(attr::Data));
    EXPECT_EQ(asString(data->find(attr::Data)->value), "hello client");

    // A permission is per IP: another port of the peer is fine, another IP is not.
    t.peer.sendUdp(ep("203.0.113.60:7001"), relayed, "other port");
    t.net.runFor(500ms);
    EXPECT_EQ(t.frames().size(), 1u);
    EXPECT_EQ(t.server.stats().relayedToPeer, 1u);
    EXPECT_EQ(t.server.stats().relayedToClient, 2u);
}

TEST(SimTurnServer, ChannelDataBothWays) {
    RawTurn t(TransportProtocol::Udp);
    const Endpoint relayed = t.allocate();
    auto bound = t.channelBind(0x4001, kPeer);
    ASSERT_TRUE(bound && bound->isSuccess()) << code(bound);
    EXPECT_EQ(code(t.channelBind(0x3FFF, kPeer)), stun::error::BadRequest);
    EXPECT_EQ(code(t.channelBind(0x4002, kPeer)), stun::error::BadRequest);  // peer already bound

    t.sendChannelData(0x4001, "via channel");
    t.sendChannelData(0x4002, "unbound channel");
    t.net.runFor(500ms);
    ASSERT_EQ(t.peer.received.size(), 1u);
    EXPECT_EQ(t.peer.received[0].text(), "via channel");
    EXPECT_EQ(t.peer.received[0].remote, relayed);

    t.peer.sendUdp(kPeer, relayed, "back");
    t.net.runFor(500ms);
    auto frames = t.frames();
    ASSERT_EQ(frames.size(), 1u);
    ASSERT_EQ(frames[0].size(), 8u);  // no padding over UDP
    EXPECT_EQ(readU16(frames[0].data()), 0x4001);
    EXPECT_EQ(readU16(frames[0].data() + 2), 4);
    EXPECT_EQ(asString(ByteView(frames[0]).subspan(4)), "back");
    EXPECT_EQ(t.server.stats().channelsBound, 1u);
}

TEST(SimTurnServer, PermissionsExpireAfterFiveMinutes) {
    RawTurn t(TransportProtocol::Udp);
    NatConfig patient = NatConfig::cone();
    patient.udpMappingTimeout = 3600s;  // keep the client's NAT out of the picture
    t.net.setNatConfig(t.nat, patient);
    const Endpoint relayed = t.allocate();
    ASSERT_TRUE(t.createPermission(kPeer)->isSuccess());
    t.net.runFor(299s);
    t.peer.sendUdp(kPeer, relayed, "still permitted");
    t.net.runFor(1s);
    EXPECT_EQ(t.frames().size(), 1u);
    t.net.runFor(1s);
    t.peer.sendUdp(kPeer, relayed, "expired");
    t.net.runFor(1s);
    EXPECT_TRUE(t.frames().empty());
    EXPECT_EQ(t.server.stats().droppedNoPermission, 1u);
}

TEST(SimTurnServer, RefreshZeroDeletesAndUnrefreshedAllocationsExpire) {
    TurnServerConfig config = serverConfig();
    config.defaultLifetime = 60s;
    RawTurn t(TransportProtocol::Udp, config);
    t.allocate();
    Message refresh = Message::request(Method::Refresh, t.random);
    refresh.addU32(attr::Lifetime, 120);
    auto res = t.transact(std::move(refresh));
    ASSERT_TRUE(res && res->isSuccess());
    EXPECT_EQ(res->getU32(attr::Lifetime), 120u);

    Message remove = Message::request(Method::Refresh, t.random);
    remove.addU32(attr::Lifetime, 0);
    res = t.transact(std::move(remove));
    ASSERT_TRUE(res && res->isSuccess());
    EXPECT_EQ(res->getU32(attr::Lifetime), 0u);
    EXPECT_EQ(t.server.allocationCount(), 0u);
    EXPECT_EQ(code(t.transact(Message::request(Method::Refresh, t.random))),
              stun::error::AllocationMismatch);

    // A fresh allocation, never refreshed, is gone after its lifetime.
    auto again = t.transact(t.allocateRequest());
    ASSERT_TRUE(again && again->isSuccess());
    EXPECT_EQ(t.server.allocationCount(), 1u);
    t.net.runFor(59s);
    EXPECT_EQ(t.server.allocationCount(), 1u);
    t.net.runFor(1s);
    EXPECT_EQ(t.server.allocationCount(), 0u);
    EXPECT_EQ(t.server.stats().allocationsExpired, 1u);
    EXPECT_EQ(t.server.stats().allocationsDeleted, 1u);
}

TEST(SimTurnServer, OverTcpThroughANat) {
    RawTurn t(TransportProtocol::Tcp);
    const Endpoint relayed = t.allocate();
    ASSERT_EQ(t.client.states.size(), 1u);
    EXPECT_EQ(t.client.states[0].state, StreamState::Connected);
    ASSERT_TRUE(t.channelBind(0x4000, kPeer)->isSuccess());
    ASSERT_TRUE(t.createPermission(ep("203.0.113.61:1"))->isSuccess());

    // Odd sizes, so that the stream padding matters; many writes, so that chunks merge/split.
    for (int i = 0; i < 20; ++i)
        t.sendChannelData(0x4000, std::string(size_t(i + 1), char('a' + i)));
    t.sendIndication(kPeer, "indication");
    t.net.runFor(1s);
    ASSERT_EQ(t.peer.received.size(), 21u);
    for (int i = 0; i < 20; ++i)
        EXPECT_EQ(t.peer.received[size_t(i)].text(), std::string(size_t(i + 1), char('a' + i)));
    EXPECT_EQ(t.peer.received[20].text(), "indication");

    for (int i = 0; i < 5; ++i) t.peer.sendUdp(kPeer, relayed, std::string(size_t(i + 1), 'z'));
    t.net.runFor(1s);
    auto frames = t.frames();
    ASSERT_EQ(frames.size(), 5u);
    for (size_t i = 0; i < frames.size(); ++i) {
        EXPECT_EQ(readU16(frames[i].data()), 0x4000);
        EXPECT_EQ(asString(ByteView(frames[i]).subspan(4)), std::string(i + 1, 'z'));
    }
    EXPECT_EQ(t.server.stats().malformed, 0u);
    EXPECT_EQ(t.server.stats().relayedToClientBytes, 15u);
}

TEST(SimTurnServer, AnswersBindingWithoutAuthentication) {
    RawTurn t(TransportProtocol::Udp);
    auto res = t.transact(Message::request(Method::Binding, t.random), false);
    ASSERT_TRUE(res && res->isSuccess());
    EXPECT_EQ(res->getXorAddress(attr::XorMappedAddress), t.net.natMappings(t.nat).at(0).external);
}
