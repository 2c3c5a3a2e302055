// TurnClient against a scripted TURN server built from the STUN codec: no sockets, no clock.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "core/turn/turn_client.hpp"

using namespace tincan;
using namespace tincan::turn;
namespace attr = tincan::stun::attr;
using stun::Message;
using stun::Method;

namespace {

const Endpoint kServer{IpAddress::v4(192, 0, 2, 1), 3478};
const Endpoint kRelayed{IpAddress::v4(192, 0, 2, 1), 50000};
const Endpoint kMapped{IpAddress::v4(203, 0, 113, 9), 40000};
const Endpoint kPeer{IpAddress::v4(198, 51, 100, 20), 6000};
const Endpoint kPeer2{IpAddress::v4(198, 51, 100, 20), 6001};  // same IP, other port
constexpr const char* kUser = "alice";
constexpr const char* kPass = "s3cret-Pa55";
constexpr const char* kRealm = "tincan.test";

Bytes bytesOf(std::string_view s) {
    return Bytes(s.begin(), s.end());
}

// A TURN server reduced to what the client can observe: it answers requests with correct
// long-term integrity, and can be told to misbehave.
struct ScriptedServer {
    std::string realm = kRealm;
    std::string nonce = "nonce-1";
    std::string password = kPass;
    stun::PasswordAlgorithm algorithm = stun::PasswordAlgorithm::Md5;
    uint32_t lifetime = 600;
    std::vector<Message> requests;  // every request seen, in order

    Bytes key() const { return stun::longTermKey(kUser, realm, password, algorithm); }

    Bytes signedReply(const Message& m) const {
        stun::Integrity in{key(), false};
        return m.encode(&in, true);
    }
    Bytes unauthenticated(const Message& req) const {
        Message r = Message::errorResponse(req, 401, "Unauthorized");
        r.addString(attr::Nonce, nonce);
        r.addString(attr::Realm, realm);
        return r.encode(nullptr, true);
    }
    Bytes staleNonce(const Message& req) const {
        Message r = Message::errorResponse(req, 438, "Stale Nonce");
        r.addString(attr::Nonce, nonce);
        r.addString(attr::Realm, realm);
        return r.encode(nullptr, true);
    }
    Bytes error(const Message& req, int code, std::string_view reason) const {
        return signedReply(Message::errorResponse(req, code, reason));
    }
    Bytes success(const Message& req) const {
        Message r = Message::successResponse(req);
        switch (req.method()) {
            case Method::Allocate:
                r.addXorAddress(attr::XorRelayedAddress, kRelayed);
                r.addXorAddress(attr::XorMappedAddress, kMapped);
                r.addU32(attr::Lifetime, lifetime);
                break;
            case Method::Refresh:
                r.addU32(attr::Lifetime,
                         req.getU32(attr::Lifetime).value_or(lifetime) == 0 ? 0 : lifetime);
                break;
            default:
                break;
        }
        return signedReply(r);
    }
    bool authenticatedOk(const Message& req) const {
        return req.getString(attr::Username) == std::string(kUser) &&
               req.getString(attr::Realm) == realm &&
               req.verifyIntegrity(key()) == stun::IntegrityCheck::Ok;
    }
    // What a correct server answers.
    Bytes answer(const Message& req) const {
        // (The codec keeps MESSAGE-INTEGRITY out of the attribute list; ask the verifier.)
        if (req.verifyIntegrity(key()) == stun::IntegrityCheck::Missing)
            return unauthenticated(req);
        if (!authenticatedOk(req)) return error(req, 401, "Unauthorized");
        if (req.getString(attr::Nonce) != nonce) return staleNonce(req);
        return success(req);
    }
};

// Drives one client against the scripted server on a virtual clock.
struct Harness {
    Random random{42};
    Timestamp now = Timestamp{} + 3600s;
    ScriptedServer server;
    TurnClient client;
    std::vector<Bytes> toPeers;  // non-request output: Send indications and ChannelData
    std::vector<Event> events;

    explicit Harness(TransportProtocol transport = TransportProtocol::Udp,
                     std::string password = kPass, size_t maxQueued = 64)
        : client(makeConfig(transport, std::move(password), maxQueued), random) {}

    static ServerConfig makeConfig(TransportProtocol transport, std::string password,
                                   size_t maxQueued) {
        ServerConfig c;
        c.server = kServer;
        c.transport = transport;
        c.username = kUser;
        c.password = std::move(password);
        c.maxQueuedPerPeer = maxQueued;
        return c;
    }

    // Everything the client wants sent, parsed if it is STUN.
    std::vector<Bytes> drain() {
        std::vector<Bytes> out;
        while (auto b = client.pollOutgoing()) out.push_back(std::move(*b));
        return out;
    }
    std::vector<Message> drainRequests() {
        std::vector<Message> reqs;
        for (auto& b : drain()) {
            auto m = stun::tryParse(b);
            if (m && m->isRequest()) {
                server.requests.push_back(*m);
                reqs.push_back(*m);
            } else {
                toPeers.push_back(std::move(b));
            }
        }
        return reqs;
    }
    void deliver(ByteView b) { client.handleIncoming(now, b); }
    void collectEvents() {
        while (auto e = client.pollEvent()) events.push_back(std::move(*e));
    }
    template <class T>
    std::vector<T> eventsOf() {
        collectEvents();
        std::vector<T> out;
        for (auto& e : events)
            if (auto* p = std::get_if<T>(&e)) out.push_back(*p);
        return out;
    }
    // Lets the scripted server answer everything until the client is quiet.
    void exchange() {
        for (int round = 0; round < 50; ++round) {
            auto reqs = drainRequests();
            if (reqs.empty()) return;
            for (auto& r : reqs) deliver(server.answer(r));
        }
        FAIL() << "client never went quiet";
    }
    void allocate() {
        client.start(now);
        exchange();
        ASSERT_EQ(client.state(), State::Allocated);
        ASSERT_EQ(eventsOf<event::Allocated>().size(), 1u);
    }
    // Moves the clock to `t`, firing every timeout on the way (no answers).
    void advanceTo(Timestamp t) {
        while (true) {
            auto due = client.pollTimeout();
            if (!due || *due > t) break;
            now = std::max(now, *due);
            client.handleTimeout(now);
        }
        now = t;
        client.handleTimeout(now);
    }
    // As advanceTo, but the server answers along the way.
    void runTo(Timestamp t) {
        while (true) {
            exchange();
            auto due = client.pollTimeout();
            if (!due || *due > t) break;
            now = std::max(now, *due);
            client.handleTimeout(now);
        }
        now = t;
        client.handleTimeout(now);
        exchange();
    }
};

Message requestOf(const std::vector<Message>& reqs, Method m) {
    for (auto& r : reqs)
        if (r.method() == m) return r;
    ADD_FAILURE() << "no " << stun::toString(m) << " request";
    return {};
}

}  // namespace

// --- allocation and authentication -------------------------------------------------------

TEST(TurnClient, AllocateRunsTheLongTermAuthDance) {
    Harness h;
    h.client.start(h.now);
    EXPECT_EQ(h.client.state(), State::Allocating);

    auto first = h.drainRequests();
    ASSERT_EQ(first.size(), 1u);
    const Message& a1 = first[0];
    EXPECT_EQ(a1.method(), Method::Allocate);
    EXPECT_EQ(a1.getRequestedTransport(), 17);
    EXPECT_EQ(a1.getU32(attr::Lifetime), 600u);
    EXPECT_FALSE(a1.has(attr::Username));
    EXPECT_EQ(a1.verifyIntegrity(Bytes{1}), stun::IntegrityCheck::Missing);
    EXPECT_TRUE(a1.hasFingerprint());

    h.deliver(h.server.unauthenticated(a1));
    auto second = h.drainRequests();
    ASSERT_EQ(second.size(), 1u);
    const Message& a2 = second[0];
    EXPECT_EQ(a2.method(), Method::Allocate);
    EXPECT_NE(a2.transactionId(), a1.transactionId());
    EXPECT_EQ(a2.getString(attr::Username), kUser);
    EXPECT_EQ(a2.getString(attr::Realm), kRealm);
    EXPECT_EQ(a2.getString(attr::Nonce), "nonce-1");
    EXPECT_EQ(a2.getRequestedTransport(), 17);
    EXPECT_FALSE(a2.has(attr::PasswordAlgorithm));  // legacy server: plain MD5
    EXPECT_EQ(a2.verifyIntegrity(stun::longTermKey(kUser, kRealm, kPass)),
              stun::IntegrityCheck::Ok);

    h.deliver(h.server.success(a2));
    EXPECT_EQ(h.client.state(), State::Allocated);
    auto alloc = h.eventsOf<event::Allocated>();
    ASSERT_EQ(alloc.size(), 1u);
    EXPECT_EQ(alloc[0].relayed, kRelayed);
    EXPECT_EQ(alloc[0].mapped, kMapped);
    EXPECT_EQ(alloc[0].lifetime, 600s);
    EXPECT_EQ(h.client.relayedAddress(), kRelayed);
    EXPECT_EQ(h.client.mappedAddress(), kMapped);
    EXPECT_EQ(h.client.stats().requestsSent, 2u);
    EXPECT_EQ(h.client.stats().responsesReceived, 2u);
}

TEST(TurnClient, UsesSha256WhenTheNonceCookieOffersIt) {
    Harness h;
    // RFC 8489 §9.2: "obMatJos2" + base64 of the 24-bit feature set, bit 0 = password algorithms.
    h.server.nonce = "obMatJos2gAAAabcdef";
    h.server.algorithm = stun::PasswordAlgorithm::Sha256;
    h.client.start(h.now);
    auto first = h.drainRequests();
    ASSERT_EQ(first.size(), 1u);
    Message r = Message::errorResponse(first[0], 401, "Unauthorized");
    r.addString(attr::Nonce, h.server.nonce);
    r.addString(attr::Realm, kRealm);
    Bytes algs{0, 2, 0, 0, 0, 1, 0, 0};  // SHA-256, MD5
    r.addRaw(attr::PasswordAlgorithms, algs);
    h.deliver(r.encode(nullptr, true));

    auto second = h.drainRequests();
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].getPasswordAlgorithm(), uint16_t(stun::PasswordAlgorithm::Sha256));
    ASSERT_TRUE(second[0].find(attr::PasswordAlgorithms));
    EXPECT_EQ(second[0].find(attr::PasswordAlgorithms)->value, algs);
    EXPECT_EQ(second[0].verifyIntegrity(h.server.key()), stun::IntegrityCheck::Ok);
    h.deliver(h.server.success(second[0]));
    EXPECT_EQ(h.client.state(), State::Allocated);
}

TEST(TurnClient, NonceCookieWithoutAlgorithmListIsABidDown) {
    Harness h;
    h.server.nonce = "obMatJos2gAAAabcdef";
    h.client.start(h.now);
    auto first = h.drainRequests();
    h.deliver(h.server.unauthenticated(first.at(0)));  // no PASSWORD-ALGORITHMS
    EXPECT_TRUE(h.drainRequests().empty());
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 401);
}

TEST(TurnClient, StaleNonceIsRetriedOnceWithANewTransaction) {
    Harness h;
    h.client.start(h.now);
    h.deliver(h.server.unauthenticated(h.drainRequests().at(0)));
    Message a2 = h.drainRequests().at(0);

    h.server.nonce = "nonce-2";
    h.deliver(h.server.staleNonce(a2));
    auto retry = h.drainRequests();
    ASSERT_EQ(retry.size(), 1u);
    EXPECT_NE(retry[0].transactionId(), a2.transactionId());
    EXPECT_EQ(retry[0].getString(attr::Nonce), "nonce-2");
    EXPECT_EQ(retry[0].verifyIntegrity(h.server.key()), stun::IntegrityCheck::Ok);
    h.deliver(h.server.answer(retry[0]));
    EXPECT_EQ(h.client.state(), State::Allocated);

    // Later requests (CreatePermission here) carry the new nonce and also survive a 438.
    h.server.nonce = "nonce-3";
    h.client.createPermission(h.now, kPeer.ip);
    auto cp = h.drainRequests();
    ASSERT_EQ(cp.size(), 1u);
    EXPECT_EQ(cp[0].getString(attr::Nonce), "nonce-2");
    h.deliver(h.server.answer(cp[0]));  // 438
    auto cp2 = h.drainRequests();
    ASSERT_EQ(cp2.size(), 1u);
    EXPECT_EQ(cp2[0].method(), Method::CreatePermission);
    EXPECT_EQ(cp2[0].getString(attr::Nonce), "nonce-3");
    h.deliver(h.server.answer(cp2[0]));
    EXPECT_TRUE(h.client.hasPermission(kPeer.ip));
}

TEST(TurnClient, SecondStaleNonceFails) {
    Harness h;
    h.client.start(h.now);
    h.deliver(h.server.unauthenticated(h.drainRequests().at(0)));
    Message a2 = h.drainRequests().at(0);
    h.server.nonce = "nonce-2";
    h.deliver(h.server.staleNonce(a2));
    Message a3 = h.drainRequests().at(0);
    h.server.nonce = "nonce-3";
    h.deliver(h.server.staleNonce(a3));
    EXPECT_TRUE(h.drainRequests().empty());
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 438);
    EXPECT_EQ(h.client.state(), State::Failed);
}

TEST(TurnClient, WrongPasswordFailsWith401AndNeverLeaksTheSecret) {
    std::ostringstream log;
    auto previous = spdlog::default_logger();
    auto capture = std::make_shared<spdlog::logger>(
        "capture", std::make_shared<spdlog::sinks::ostream_sink_mt>(log));
    capture->set_level(spdlog::level::trace);
    spdlog::set_default_logger(capture);

    const std::string wrong = "Wr0ng-Pa55word";
    Harness h(TransportProtocol::Udp, wrong);
    h.exchange();  // nothing yet
    h.client.start(h.now);
    h.exchange();
    spdlog::set_default_logger(previous);

    EXPECT_EQ(h.client.state(), State::Failed);
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 401);
    EXPECT_NE(failed[0].reason.find("401"), std::string::npos) << failed[0].reason;
    const std::string keyHex = toHex(stun::longTermKey(kUser, kRealm, wrong));
    EXPECT_EQ(failed[0].reason.find(wrong), std::string::npos);
    EXPECT_EQ(failed[0].reason.find(keyHex), std::string::npos);
    EXPECT_FALSE(log.str().empty());  // debug logging was on
    EXPECT_EQ(log.str().find(wrong), std::string::npos);
    EXPECT_EQ(log.str().find(keyHex), std::string::npos);
}

TEST(TurnClient, AllocateErrorsFailWithTheirCode) {
    struct Case {
        int code;
        const char* expectInReason;
    };
    for (Case c : {Case{441, "441"}, Case{437, "5-tuple"}, Case{486, "quota"},
                   Case{508, "capacity"}, Case{300, "203.0.113.50:3478"}}) {
        Harness h;
        h.client.start(h.now);
        h.deliver(h.server.unauthenticated(h.drainRequests().at(0)));
        Message a2 = h.drainRequests().at(0);
        Message err = Message::errorResponse(a2, c.code, "Nope");
        if (c.code == 300)
            err.addAddress(attr::AlternateServer, Endpoint{IpAddress::v4(203, 0, 113, 50), 3478});
        h.deliver(h.server.signedReply(err));
        auto failed = h.eventsOf<event::Failed>();
        ASSERT_EQ(failed.size(), 1u) << c.code;
        EXPECT_EQ(failed[0].code, c.code);
        EXPECT_NE(failed[0].reason.find(c.expectInReason), std::string::npos) << failed[0].reason;
        EXPECT_EQ(failed[0].reason.find(kPass), std::string::npos);
    }
}

TEST(TurnClient, UnauthenticatedSuccessIsDropped) {
    Harness h;
    h.client.start(h.now);
    h.deliver(h.server.unauthenticated(h.drainRequests().at(0)));
    Message a2 = h.drainRequests().at(0);

    Message forged = Message::successResponse(a2);
    forged.addXorAddress(attr::XorRelayedAddress, Endpoint{IpAddress::v4(6, 6, 6, 6), 666});
    h.deliver(forged.encode(nullptr, true));  // no integrity at all
    stun::Integrity wrongKey{stun::longTermKey(kUser, kRealm, "guess"), false};
    h.deliver(forged.encode(&wrongKey, true));  // wrong key
    EXPECT_EQ(h.client.state(), State::Allocating);
    EXPECT_EQ(h.client.stats().integrityFailures, 2u);

    // An error a server cannot authenticate is also not a way to forge success; a signed
    // error with the wrong key is dropped too.
    h.deliver(Message::errorResponse(a2, 486, "forged").encode(&wrongKey, true));
    EXPECT_EQ(h.client.state(), State::Allocating);
    EXPECT_EQ(h.client.stats().integrityFailures, 3u);

    h.deliver(h.server.success(a2));
    EXPECT_EQ(h.client.state(), State::Allocated);
    EXPECT_EQ(h.client.relayedAddress(), kRelayed);
}

// --- retransmission and timeouts -------------------------------------------------------------

TEST(TurnClient, UdpRetransmitsAt0_0p5_1p5_3p5AndTimesOut) {
    Harness h;
    Timestamp t0 = h.now;
    h.client.start(t0);
    std::vector<double> sendTimes;
    Bytes firstWire;
    auto collect = [&] {
        for (auto& b : h.drain()) {
            if (firstWire.empty()) firstWire = b;
            EXPECT_EQ(b, firstWire);  // the same bytes, same transaction
            sendTimes.push_back(toMillis(h.now - t0) / 1000.0);
        }
    };
    collect();
    while (auto due = h.client.pollTimeout()) {
        h.now = *due;
        h.client.handleTimeout(h.now);
        collect();
        if (h.client.state() == State::Failed) break;
    }
    EXPECT_EQ(sendTimes, (std::vector<double>{0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5}));
    EXPECT_EQ(h.client.state(), State::Failed);
    EXPECT_DOUBLE_EQ(toMillis(h.now - t0), 39500.0);
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 0);
    EXPECT_EQ(failed[0].reason.rfind("no answer from TURN server", 0), 0u) << failed[0].reason;
    EXPECT_EQ(h.client.stats().retransmissions, 6u);
    EXPECT_FALSE(h.client.pollTimeout());
}

TEST(TurnClient, TcpSendsOnceAndTimesOut) {
    Harness h(TransportProtocol::Tcp);
    Timestamp t0 = h.now;
    h.client.start(t0);
    EXPECT_EQ(h.drain().size(), 1u);
    int sends = 0;
    while (auto due = h.client.pollTimeout()) {
        h.now = *due;
        h.client.handleTimeout(h.now);
        sends += int(h.drain().size());
    }
    EXPECT_EQ(sends, 0);
    EXPECT_DOUBLE_EQ(toMillis(h.now - t0), 39500.0);
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 0);
    EXPECT_EQ(failed[0].reason.rfind("no answer from TURN server", 0), 0u);
}

TEST(TurnClient, LateRetransmittedResponseIsIgnored) {
    Harness h;
    h.client.start(h.now);
    Message a1 = h.drainRequests().at(0);
    h.deliver(h.server.unauthenticated(a1));
    h.deliver(h.server.unauthenticated(a1));  // duplicate answer to a retransmission
    EXPECT_EQ(h.client.stats().unmatchedResponses, 1u);
    EXPECT_EQ(h.drainRequests().size(), 1u);  // only one authenticated Allocate
}

// --- refresh ---------------------------------------------------------------------------------

TEST(TurnClient, RefreshesAMinuteBeforeExpiry) {
    Harness h;
    h.allocate();
    Timestamp t0 = h.now;
    EXPECT_EQ(h.client.pollTimeout(), t0 + 540s);
    h.advanceTo(t0 + 539s);
    EXPECT_TRUE(h.drainRequests().empty());
    h.advanceTo(t0 + 540s);
    auto reqs = h.drainRequests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method(), Method::Refresh);
    EXPECT_EQ(reqs[0].getU32(attr::Lifetime), 600u);
    EXPECT_TRUE(h.server.authenticatedOk(reqs[0]));
    h.deliver(h.server.answer(reqs[0]));
    EXPECT_EQ(h.client.pollTimeout(), t0 + 1080s);
    h.runTo(t0 + 3600s);
    EXPECT_EQ(h.client.state(), State::Allocated);
    EXPECT_EQ(h.server.requests.size(), 2u + 6u);  // 2 Allocates, a Refresh every 540 s
}

TEST(TurnClient, ShortLifetimeRefreshesAtHalf) {
    Harness h;
    h.server.lifetime = 100;
    h.allocate();
    Timestamp t0 = h.now;
    EXPECT_EQ(h.client.pollTimeout(), t0 + 50s);
    h.advanceTo(t0 + 50s);
    EXPECT_EQ(requestOf(h.drainRequests(), Method::Refresh).getU32(attr::Lifetime), 600u);
}

TEST(TurnClient, UnansweredRefreshesEndInExpiry) {
    Harness h;
    h.allocate();
    Timestamp t0 = h.now;
    h.advanceTo(t0 + 600s);
    EXPECT_EQ(h.client.state(), State::Failed);
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_NE(failed[0].reason.find("expired"), std::string::npos) << failed[0].reason;
}

TEST(TurnClient, RefreshGetting437Fails) {
    Harness h;
    h.allocate();
    h.advanceTo(h.now + 540s);
    Message r = requestOf(h.drainRequests(), Method::Refresh);
    h.deliver(h.server.error(r, 437, "Allocation Mismatch"));
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 437);
}

// --- permissions, channels, data -------------------------------------------------------------

TEST(TurnClient, DataWaitsForThePermissionThenSendIndicationThenChannelData) {
    Harness h;
    h.allocate();
    ASSERT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("one")));
    ASSERT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("two")));
    auto reqs = h.drainRequests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method(), Method::CreatePermission);
    EXPECT_EQ(reqs[0].getXorAddress(attr::XorPeerAddress)->ip, kPeer.ip);
    EXPECT_TRUE(h.server.authenticatedOk(reqs[0]));
    EXPECT_TRUE(h.toPeers.empty());  // nothing before the permission
    EXPECT_FALSE(h.client.hasPermission(kPeer.ip));

    h.deliver(h.server.answer(reqs[0]));
    EXPECT_TRUE(h.client.hasPermission(kPeer.ip));
    auto bind = h.drainRequests();
    ASSERT_EQ(bind.size(), 1u);
    EXPECT_EQ(bind[0].method(), Method::ChannelBind);
    EXPECT_EQ(bind[0].getChannelNumber(), 0x4000);
    EXPECT_EQ(bind[0].getXorAddress(attr::XorPeerAddress), kPeer);
    ASSERT_EQ(h.toPeers.size(), 2u);
    for (size_t i = 0; i < 2; ++i) {
        auto ind = stun::tryParse(h.toPeers[i]);
        ASSERT_TRUE(ind);
        EXPECT_TRUE(ind->isIndication());
        EXPECT_EQ(ind->method(), Method::Send);
        EXPECT_EQ(ind->getXorAddress(attr::XorPeerAddress), kPeer);
        EXPECT_EQ(ind->find(attr::Data)->value, bytesOf(i == 0 ? "one" : "two"));
    }
    h.toPeers.clear();

    // Until the bind is confirmed: still Send indications.
    ASSERT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("three")));
    h.drainRequests();
    ASSERT_EQ(h.toPeers.size(), 1u);
    EXPECT_TRUE(stun::looksLikeStun(h.toPeers[0]));
    h.toPeers.clear();

    h.deliver(h.server.answer(bind[0]));
    EXPECT_EQ(h.client.boundChannel(kPeer), 0x4000);
    ASSERT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("four!")));
    h.drainRequests();
    ASSERT_EQ(h.toPeers.size(), 1u);
    auto cd = parseChannelData(h.toPeers[0]);
    ASSERT_TRUE(cd);
    EXPECT_EQ(cd->channel, 0x4000);
    EXPECT_EQ(Bytes(cd->payload.begin(), cd->payload.end()), bytesOf("four!"));
    EXPECT_EQ(h.toPeers[0].size(), 4u + 5u);  // not padded over UDP

    // Another port on the same IP: no new permission, its own channel.
    h.toPeers.clear();
    ASSERT_TRUE(h.client.sendTo(h.now, kPeer2, bytesOf("five")));
    auto more = h.drainRequests();
    ASSERT_EQ(more.size(), 1u);
    EXPECT_EQ(more[0].method(), Method::ChannelBind);
    EXPECT_EQ(more[0].getChannelNumber(), 0x4001);
    EXPECT_EQ(h.toPeers.size(), 1u);
    EXPECT_EQ(h.client.stats().sendIndicationsSent, 4u);
    EXPECT_EQ(h.client.stats().channelDataSent, 1u);
    EXPECT_EQ(h.client.stats().peerBytesSent, 3u + 3u + 5u + 5u + 4u);
}

TEST(TurnClient, PermissionsAndChannelsAreRefreshed) {
    Harness h;
    h.allocate();
    Timestamp t0 = h.now;
    h.client.sendTo(h.now, kPeer, bytesOf("x"));
    h.exchange();
    ASSERT_EQ(h.client.boundChannel(kPeer), 0x4000);
    h.server.requests.clear();
    h.runTo(t0 + 1200s);
    int perms = 0, binds = 0, refreshes = 0;
    for (auto& r : h.server.requests) {
        perms += r.method() == Method::CreatePermission;
        binds += r.method() == Method::ChannelBind;
        refreshes += r.method() == Method::Refresh;
    }
    EXPECT_EQ(perms, 5);  // every 240 s
    EXPECT_EQ(binds, 2);  // every 540 s
    EXPECT_EQ(refreshes, 2);
    for (auto& r : h.server.requests) {
        if (r.method() == Method::ChannelBind) {
            EXPECT_EQ(r.getChannelNumber(), 0x4000);
        }
    }
    EXPECT_EQ(h.client.boundChannel(kPeer), 0x4000);
    EXPECT_TRUE(h.client.hasPermission(kPeer.ip));
}

TEST(TurnClient, QueueIsBoundedAndDropsOldest) {
    Harness h(TransportProtocol::Udp, kPass, 4);
    h.allocate();
    for (int i = 0; i < 6; ++i)
        ASSERT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("m" + std::to_string(i))));
    EXPECT_EQ(h.client.stats().queueDropped, 2u);
    auto reqs = h.drainRequests();
    h.deliver(h.server.answer(requestOf(reqs, Method::CreatePermission)));
    h.drainRequests();
    ASSERT_EQ(h.toPeers.size(), 4u);
    for (int i = 0; i < 4; ++i)
        EXPECT_EQ(stun::tryParse(h.toPeers[size_t(i)])->find(attr::Data)->value,
                  bytesOf("m" + std::to_string(i + 2)));
}

TEST(TurnClient, ForbiddenPermissionReportsAndDropsItsQueue) {
    Harness h;
    h.allocate();
    h.client.sendTo(h.now, kPeer, bytesOf("a"));
    h.client.sendTo(h.now, kPeer, bytesOf("b"));
    Message cp = requestOf(h.drainRequests(), Method::CreatePermission);
    h.deliver(h.server.error(cp, 403, "Forbidden IP"));
    auto pf = h.eventsOf<event::PermissionFailed>();
    ASSERT_EQ(pf.size(), 1u);
    EXPECT_EQ(pf[0].peer, kPeer.ip);
    EXPECT_EQ(pf[0].code, 403);
    EXPECT_EQ(h.client.stats().queueDropped, 2u);
    EXPECT_EQ(h.client.state(), State::Allocated);  // the allocation is fine
    EXPECT_FALSE(h.client.sendTo(h.now, kPeer, bytesOf("c")));
    // An explicit createPermission() tries again.
    h.client.createPermission(h.now, kPeer.ip);
    h.exchange();
    EXPECT_TRUE(h.client.hasPermission(kPeer.ip));
}

TEST(TurnClient, PermissionRequestedWhileAllocatingIsSentOnceAllocated) {
    Harness h;
    h.client.start(h.now);
    h.client.createPermission(h.now, kPeer.ip);
    auto first = h.drainRequests();
    ASSERT_EQ(first.size(), 1u);  // only the Allocate
    h.deliver(h.server.answer(first[0]));
    h.exchange();
    h.deliver(h.server.unauthenticated(first[0]));  // stale duplicate: ignored
    EXPECT_TRUE(h.client.hasPermission(kPeer.ip));
}

TEST(TurnClient, PeersOfTheOtherFamilyAreNotAskedFor) {
    Harness h;
    auto v6 = IpAddress::parse("2001:db8::7");
    h.client.start(h.now);
    h.client.createPermission(h.now, *v6);  // before we know the relay's family
    h.client.createPermission(h.now, kPeer.ip);
    h.exchange();
    h.client.createPermission(h.now, *v6);  // after
    h.drainRequests();
    int perms = 0;
    for (auto& r : h.server.requests) {
        if (r.method() == Method::CreatePermission) {
            ++perms;
            EXPECT_EQ(r.getXorAddress(attr::XorPeerAddress)->ip, kPeer.ip);
        }
    }
    EXPECT_EQ(perms, 1);
    EXPECT_TRUE(h.eventsOf<event::PermissionFailed>().empty());
}

TEST(TurnClient, SendToIsRefusedWhenNotAllocatedOrWrongFamily) {
    Harness h;
    EXPECT_FALSE(h.client.sendTo(h.now, kPeer, bytesOf("x")));
    h.allocate();
    auto v6 = Endpoint::parse("[2001:db8::1]:5000");
    EXPECT_FALSE(h.client.sendTo(h.now, *v6, bytesOf("x")));
    EXPECT_TRUE(h.client.sendTo(h.now, kPeer, bytesOf("x")));
}

TEST(TurnClient, InboundDataIndicationAndChannelDataBecomePeerData) {
    Harness h;
    h.allocate();
    Random r(9);
    Message ind = Message::indication(Method::Data, r);
    ind.addXorAddress(attr::XorPeerAddress, kPeer);
    ind.addRaw(attr::Data, bytesOf("hello from peer"));
    h.deliver(ind.encode(nullptr, true));
    auto pd = h.eventsOf<event::PeerData>();
    ASSERT_EQ(pd.size(), 1u);
    EXPECT_EQ(pd[0].peer, kPeer);
    EXPECT_EQ(pd[0].data, bytesOf("hello from peer"));

    // ChannelData on a channel we never bound: dropped and counted.
    h.deliver(encodeChannelData(0x4000, bytesOf("who?"), false));
    EXPECT_EQ(h.client.stats().unknownChannelDropped, 1u);

    h.client.sendTo(h.now, kPeer, bytesOf("x"));
    h.exchange();
    ASSERT_EQ(h.client.boundChannel(kPeer), 0x4000);
    h.deliver(encodeChannelData(0x4000, bytesOf("via channel"), false));
    h.deliver(encodeChannelData(0x4000, bytesOf("padded"), true));  // padding allowed on UDP
    h.events.clear();
    h.collectEvents();
    pd = h.eventsOf<event::PeerData>();
    ASSERT_EQ(pd.size(), 2u);
    EXPECT_EQ(pd[0].peer, kPeer);
    EXPECT_EQ(pd[0].data, bytesOf("via channel"));
    EXPECT_EQ(pd[1].data, bytesOf("padded"));
    EXPECT_EQ(h.client.stats().dataIndicationsReceived, 1u);
    EXPECT_EQ(h.client.stats().channelDataReceived, 2u);
    EXPECT_EQ(h.client.stats().peerBytesReceived, 15u + 11u + 6u);
}

TEST(TurnClient, MalformedInputIsCountedNeverFatal) {
    Harness h;
    h.allocate();
    Random r(3);
    uint64_t before = h.client.stats().malformedDropped;
    h.deliver(bytesOf("GET / HTTP/1.1\r\n\r\n"));        // not STUN nor ChannelData
    h.deliver(Bytes{0x40, 0x00, 0x00, 0x10, 1, 2});      // ChannelData too short
    h.deliver(Bytes{0x40, 0x00});                        // 2 bytes
    Message ind = Message::indication(Method::Data, r);  // Data without DATA
    ind.addXorAddress(attr::XorPeerAddress, kPeer);
    h.deliver(ind.encode(nullptr, true));
    Bytes broken = ind.encode(nullptr, true);
    broken.back() ^= 1;  // bad FINGERPRINT
    h.deliver(broken);
    Message req = Message::request(Method::Binding, r);  // servers don't send requests
    h.deliver(req.encode());
    EXPECT_EQ(h.client.stats().malformedDropped, before + 6);

    // Mutations of a valid response and random junk: never a crash.
    h.advanceTo(h.now + 540s);
    Message refresh = requestOf(h.drainRequests(), Method::Refresh);
    Bytes good = h.server.answer(refresh);
    for (size_t i = 0; i < good.size(); ++i)
        for (uint8_t bit : {0x01, 0x80}) {
            Bytes m = good;
            m[i] ^= bit;
            h.deliver(m);
        }
    for (size_t n = 0; n < good.size(); ++n) h.deliver(ByteView(good).first(n));
    for (int i = 0; i < 2000; ++i) {
        Bytes junk(r.next32() % 64);
        r.fill(junk);
        if (!junk.empty() && i % 2) junk[0] = uint8_t(0x40 | (junk[0] & 0x0F));
        h.deliver(junk);
    }
    EXPECT_EQ(h.client.state(), State::Allocated);
    h.deliver(good);
    EXPECT_EQ(h.client.stats().responsesReceived, 3u);  // 2 Allocates, Refresh
}

// --- streams ---------------------------------------------------------------------------------

TEST(StreamFramer, SplitsAtEveryByteBoundaryAndManyFramesPerChunk) {
    Random r(5);
    Message m = Message::request(Method::Binding, r);
    m.addString(attr::Software, "framer test");
    Bytes stun = m.encode(nullptr, true);
    Bytes cd1 = encodeChannelData(0x4001, bytesOf("abcde"), true);  // padded to 12
    Bytes cd2 = encodeChannelData(0x4FFF, {}, true);
    Bytes stream;
    for (auto* f : {&stun, &cd1, &stun, &cd2, &cd1}) appendBytes(stream, *f);
    const std::vector<Bytes> expected{stun, cd1, stun, cd2, cd1};
    ASSERT_EQ(cd1.size(), 12u);

    for (size_t cut = 0; cut <= stream.size(); ++cut) {
        StreamFramer f;
        std::vector<Bytes> got;
        f.push(ByteView(stream).first(cut));
        while (auto x = f.pop()) got.push_back(*x);
        f.push(ByteView(stream).subspan(cut));
        while (auto x = f.pop()) got.push_back(*x);
        EXPECT_FALSE(f.broken()) << cut;
        EXPECT_EQ(got, expected) << "cut at " << cut;
    }
    // One byte at a time.
    StreamFramer f;
    std::vector<Bytes> got;
    for (uint8_t b : stream) {
        f.push(ByteView(&b, 1));
        while (auto x = f.pop()) got.push_back(*x);
    }
    EXPECT_EQ(got, expected);
    EXPECT_FALSE(f.pop());
}

TEST(StreamFramer, GarbageBreaksTheStream) {
    // (Text starting with '@'..'O' would pass for ChannelData: 0x40-0x4F is a channel.)
    for (Bytes garbage : {bytesOf("<html><body>"), Bytes{0x80, 0, 0, 0}, Bytes{0xff},
                          Bytes{0x00, 0x01, 0x00, 0x03},                             // length % 4
                          Bytes{0x00, 0x01, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef}}) {  // cookie
        StreamFramer f;
        Bytes ok = encodeChannelData(0x4000, bytesOf("fine"), true);
        f.push(ok);
        f.push(garbage);
        EXPECT_TRUE(f.broken());
        // What came before the garbage is still whole.
        EXPECT_EQ(f.pop(), ok);
        EXPECT_FALSE(f.pop());
    }
}

TEST(TurnClient, TcpFramesPadsChannelDataAndFailsOnGarbage) {
    Harness h(TransportProtocol::Tcp);
    h.client.start(h.now);
    // Answers arrive split into odd chunks, and two at once.
    auto feed = [&](const Bytes& b) {
        for (size_t i = 0; i < b.size(); i += 7)
            h.deliver(ByteView(b).subspan(i, std::min<size_t>(7, b.size() - i)));
    };
    feed(h.server.answer(h.drainRequests().at(0)));
    feed(h.server.answer(h.drainRequests().at(0)));
    ASSERT_EQ(h.client.state(), State::Allocated);
    h.client.sendTo(h.now, kPeer, bytesOf("x"));
    Bytes both;
    auto cp = h.drainRequests();
    appendBytes(both, h.server.answer(cp.at(0)));
    h.deliver(both);
    auto bind = h.drainRequests();
    Bytes two = h.server.answer(bind.at(0));
    appendBytes(two, encodeChannelData(0x4000, bytesOf("abc"), true));  // right behind it
    h.deliver(two);
    auto pd = h.eventsOf<event::PeerData>();
    ASSERT_EQ(pd.size(), 1u);
    EXPECT_EQ(pd[0].data, bytesOf("abc"));

    h.toPeers.clear();
    h.client.sendTo(h.now, kPeer, bytesOf("12345"));
    h.drainRequests();
    ASSERT_EQ(h.toPeers.size(), 1u);
    EXPECT_EQ(h.toPeers[0].size(), 12u);  // 4 + 5, padded to 12 (RFC 8656 §12.5)

    h.deliver(bytesOf("\xff garbage"));
    EXPECT_EQ(h.client.state(), State::Failed);
    EXPECT_EQ(h.eventsOf<event::Failed>().size(), 1u);
}

TEST(TurnClient, StreamClosingFailsTheAllocation) {
    Harness h(TransportProtocol::Tcp);
    h.allocate();
    h.client.handleStreamState(h.now, StreamState::Closed);
    auto failed = h.eventsOf<event::Failed>();
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].code, 0);
    EXPECT_EQ(h.client.state(), State::Failed);
    EXPECT_FALSE(h.client.pollTimeout());

    Harness h2(TransportProtocol::Tls);
    h2.client.start(h2.now);
    h2.client.handleStreamState(h2.now, StreamState::Failed);
    EXPECT_EQ(h2.eventsOf<event::Failed>().size(), 1u);
}

// --- close -----------------------------------------------------------------------------------

TEST(TurnClient, CloseSendsLifetimeZeroThenClosed) {
    Harness h;
    h.allocate();
    h.client.close(h.now);
    EXPECT_EQ(h.client.state(), State::Closing);
    auto reqs = h.drainRequests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].method(), Method::Refresh);
    EXPECT_EQ(reqs[0].getU32(attr::Lifetime), 0u);
    EXPECT_TRUE(h.server.authenticatedOk(reqs[0]));
    EXPECT_TRUE(h.eventsOf<event::Closed>().empty());
    h.deliver(h.server.answer(reqs[0]));
    EXPECT_EQ(h.client.state(), State::Closed);
    EXPECT_EQ(h.eventsOf<event::Closed>().size(), 1u);
    EXPECT_FALSE(h.client.sendTo(h.now, kPeer, bytesOf("x")));
}

TEST(TurnClient, CloseWithoutAnswerStillCloses) {
    Harness h;
    h.allocate();
    Timestamp t0 = h.now;
    h.client.close(h.now);
    h.drain();
    while (auto due = h.client.pollTimeout()) {
        h.now = *due;
        h.client.handleTimeout(h.now);
    }
    EXPECT_EQ(h.client.state(), State::Closed);
    EXPECT_EQ(h.eventsOf<event::Closed>().size(), 1u);
    EXPECT_LE(h.now - t0, 5s);
}

TEST(TurnClient, CloseBeforeAllocationIsImmediate) {
    Harness h;
    h.client.close(h.now);
    EXPECT_EQ(h.client.state(), State::Closed);
    EXPECT_EQ(h.eventsOf<event::Closed>().size(), 1u);
    EXPECT_TRUE(h.drain().empty());

    Harness h2;
    h2.client.start(h2.now);
    h2.drain();
    h2.client.close(h2.now);
    EXPECT_EQ(h2.client.state(), State::Closed);
    EXPECT_TRUE(h2.drain().empty());
    EXPECT_FALSE(h2.client.pollTimeout());
}

TEST(TurnClient, SurvivesBeingMoved) {
    Harness h;
    h.client.start(h.now);
    TurnClient moved(std::move(h.client));
    auto a1 = stun::tryParse(*moved.pollOutgoing());
    moved.handleIncoming(h.now, h.server.answer(*a1));
    auto a2 = stun::tryParse(*moved.pollOutgoing());
    moved.handleIncoming(h.now, h.server.answer(*a2));
    EXPECT_EQ(moved.state(), State::Allocated);
    EXPECT_EQ(moved.relayedAddress(), kRelayed);
}

// --- REST credentials ----------------------------------------------------------------------

TEST(TurnRestCredentials, MatchesOpensslCli) {
    // echo -n "1700000000:alice" | openssl dgst -sha1 -hmac "n0t-s0-s3cret" -binary | base64
    Credentials c = restCredentials("n0t-s0-s3cret", "alice", 1700000000);
    EXPECT_EQ(c.username, "1700000000:alice");
    EXPECT_EQ(c.password, "TH29TZC3af2qQ16lV2MClETjEJw=");
}
