// SimStunServer: Binding through NATs over UDP and TCP, and RFC 5780 behaviour discovery.
#include <gtest/gtest.h>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "tests/sim/framing.hpp"
#include "tests/sim/network.hpp"
#include "tests/sim/probe.hpp"
#include "tests/sim/stun_server.hpp"

using namespace tincan;
using namespace tincan::sim;
namespace attr = stun::attr;

namespace {

const IpAddress kNatIp = ip("198.51.100.1");
const Endpoint kClient = ep("192.0.2.10:5000");
const Endpoint kPrimary = ep("203.0.113.1:3478");
const Endpoint kAlternate = ep("203.0.113.2:3479");

stun::Message binding(Random& random) {
    return stun::Message::request(stun::Method::Binding, random);
}

std::vector<stun::Message> responses(const ProbeMachine& m) {
    std::vector<stun::Message> out;
    StreamDeframer framer;
    for (const auto& r : m.received) {
        if (r.protocol == TransportProtocol::Udp) {
            if (auto msg = stun::tryParse(r.data)) out.push_back(*msg);
            continue;
        }
        framer.push(r.data);
        while (auto frame = framer.next())
            if (auto msg = stun::tryParse(*frame)) out.push_back(*msg);
    }
    return out;
}

}  // namespace

TEST(SimStunServer, BindingThroughANatReportsThePublicMapping) {
    Network net;
    Random random(1);
    ProbeMachine client;
    SimStunServer server;
    RouterId nat = net.addNat(kNatIp, NatConfig::symmetric());
    net.addHost("client", {kClient.ip}, nat, &client);
    net.addHost("stun", {kPrimary.ip}, std::nullopt, &server);

    stun::Message req = binding(random);
    client.send(Packet{TransportProtocol::Udp, kClient, kPrimary, req.encode(nullptr, true)});
    net.runFor(1s);

    auto res = responses(client);
    ASSERT_EQ(res.size(), 1u);
    EXPECT_TRUE(res[0].isSuccess());
    EXPECT_EQ(res[0].transactionId(), req.transactionId());
    EXPECT_TRUE(res[0].hasFingerprint());
    const Endpoint mapped = net.natMappings(nat).at(0).external;
    EXPECT_EQ(mapped.ip, kNatIp);
    EXPECT_EQ(res[0].getXorAddress(attr::XorMappedAddress), mapped);
    EXPECT_EQ(res[0].getAddress(attr::MappedAddress), mapped);
    EXPECT_EQ(res[0].getString(attr::Software), "tincan-sim-stun");
    EXPECT_FALSE(res[0].has(attr::OtherAddress));
    EXPECT_EQ(client.received[0].remote, kPrimary);
    EXPECT_EQ(server.stats().successResponses, 1u);
}

TEST(SimStunServer, BindingOverTcpIsFramedAcrossChunks) {
    Network net(3);
    Random random(1);
    ProbeMachine client;
    SimStunServer server;
    RouterId nat = net.addNat(kNatIp, NatConfig::cone());
    net.addHost("client", {kClient.ip}, nat, &client);
    net.addHost("stun", {kPrimary.ip}, std::nullopt, &server);

    std::vector<stun::TransactionId> ids;
    for (int i = 0; i < 10; ++i) {
        stun::Message req = binding(random);
        ids.push_back(req.transactionId());
        client.send(Packet{TransportProtocol::Tcp, Endpoint{kClient.ip, 0}, kPrimary,
                           req.encode(nullptr, true)});
    }
    net.runFor(1s);
    auto res = responses(client);
    ASSERT_EQ(res.size(), 10u);
    const Endpoint mapped = net.natMappings(nat).at(0).external;
    for (size_t i = 0; i < res.size(); ++i) {
        EXPECT_EQ(res[i].transactionId(), ids[i]);
        EXPECT_EQ(res[i].getXorAddress(attr::XorMappedAddress), mapped);
    }
    EXPECT_EQ(server.stats().requests, 10u);
    EXPECT_EQ(server.stats().malformed, 0u);
}

TEST(SimStunServer, Rfc5780ChangeRequestIsAnsweredFromTheOtherAddress) {
    Network net;
    Random random(1);
    ProbeMachine client;
    SimStunServer server(kPrimary.ip, kAlternate.ip, kPrimary.port, kAlternate.port);
    const Endpoint c = ep("203.0.113.50:6000");  // on the internet: sees everything
    net.addHost("client", {c.ip}, std::nullopt, &client);
    net.addHost("stun", {kPrimary.ip, kAlternate.ip}, std::nullopt, &server);

    struct Case {
        bool changeIp, changePort;
        Endpoint expectedFrom;
    };
    const Case cases[] = {
        {false, false, kPrimary},
        {false, true, Endpoint{kPrimary.ip, kAlternate.port}},
        {true, false, Endpoint{kAlternate.ip, kPrimary.port}},
        {true, true, kAlternate},
    };
    for (const auto& k : cases) {
        client.received.clear();
        stun::Message req = binding(random);
        req.addChangeRequest(k.changeIp, k.changePort);
        client.send(Packet{TransportProtocol::Udp, c, kPrimary, req.encode(nullptr, true)});
        net.runFor(1s);
        ASSERT_EQ(client.received.size(), 1u);
        EXPECT_EQ(client.received[0].remote, k.expectedFrom);
        auto res = responses(client);
        ASSERT_EQ(res.size(), 1u);
        EXPECT_TRUE(res[0].isSuccess());
        EXPECT_EQ(res[0].getAddress(attr::ResponseOrigin), k.expectedFrom);
        EXPECT_EQ(res[0].getAddress(attr::OtherAddress), kAlternate);
        EXPECT_EQ(res[0].getXorAddress(attr::XorMappedAddress), c);
    }
}

TEST(SimStunServer, Rfc5780RevealsTheNatFiltering) {
    // RFC 5780 §4.4: a change-IP-and-port answer only gets through endpoint-independent filtering.
    for (auto [config, expectThrough] :
         {std::pair{NatConfig::fullCone(), true}, std::pair{NatConfig::restrictedCone(), false},
          std::pair{NatConfig::cone(), false}}) {
        Network net;
        Random random(1);
        ProbeMachine client;
        SimStunServer server(kPrimary.ip, kAlternate.ip, kPrimary.port, kAlternate.port);
        RouterId nat = net.addNat(kNatIp, config);
        net.addHost("client", {kClient.ip}, nat, &client);
        net.addHost("stun", {kPrimary.ip, kAlternate.ip}, std::nullopt, &server);
        stun::Message req = binding(random);
        req.addChangeRequest(true, true);
        client.send(Packet{TransportProtocol::Udp, kClient, kPrimary, req.encode(nullptr, true)});
        net.runFor(1s);
        EXPECT_EQ(client.received.size(), expectThrough ? 1u : 0u);
    }
}

TEST(SimStunServer, ResponsePortRedirectsTheAnswer) {
    Network net;
    Random random(1);
    ProbeMachine client;
    SimStunServer server(kPrimary.ip, kAlternate.ip, kPrimary.port, kAlternate.port);
    const Endpoint c = ep("203.0.113.50:6000");
    net.addHost("client", {c.ip}, std::nullopt, &client);
    net.addHost("stun", {kPrimary.ip, kAlternate.ip}, std::nullopt, &server);
    stun::Message req = binding(random);
    req.addU32(attr::ResponsePort, uint32_t(7000) << 16);
    client.send(Packet{TransportProtocol::Udp, c, kPrimary, req.encode(nullptr, true)});
    net.runFor(1s);
    ASSERT_EQ(client.received.size(), 1u);
    EXPECT_EQ(client.received[0].local, ep("203.0.113.50:7000"));
}

TEST(SimStunServer, PlainServerRejectsChangeRequestAndOtherMethods) {
    Network net;
    Random random(1);
    ProbeMachine client;
    SimStunServer server;
    const Endpoint c = ep("203.0.113.50:6000");
    net.addHost("client", {c.ip}, std::nullopt, &client);
    net.addHost("stun", {kPrimary.ip}, std::nullopt, &server);

    stun::Message change = binding(random);
    change.addChangeRequest(true, false);
    client.send(Packet{TransportProtocol::Udp, c, kPrimary, change.encode(nullptr, true)});
    stun::Message allocate = stun::Message::request(stun::Method::Allocate, random);
    client.send(Packet{TransportProtocol::Udp, c, kPrimary, allocate.encode(nullptr, true)});
    stun::Message unknown = binding(random);
    unknown.addRaw(0x7777, Bytes{1, 2, 3, 4});
    client.send(Packet{TransportProtocol::Udp, c, kPrimary, unknown.encode(nullptr, true)});
    client.send(Packet{TransportProtocol::Udp, c, kPrimary, Bytes{1, 2, 3}});
    net.runFor(1s);

    auto res = responses(client);
    ASSERT_EQ(res.size(), 3u);
    EXPECT_EQ(res[0].getErrorCode()->code, stun::error::UnknownAttribute);
    EXPECT_EQ(res[0].getUnknownAttributes(), std::vector<uint16_t>{attr::ChangeRequest});
    EXPECT_EQ(res[1].getErrorCode()->code, stun::error::BadRequest);
    EXPECT_EQ(res[2].getErrorCode()->code, stun::error::UnknownAttribute);
    EXPECT_EQ(res[2].getUnknownAttributes(), std::vector<uint16_t>{0x7777});
    EXPECT_EQ(server.stats().malformed, 1u);
}
