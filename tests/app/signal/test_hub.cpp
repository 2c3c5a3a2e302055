// The signaling Hub without sockets: feed it events, check exactly what it wants done.
#include <QTest>

#include <string>
#include <vector>

#include "signal/hub.hpp"

using namespace tincan::signaling;

namespace {

struct Drained {
    std::vector<SendText> sends;
    std::vector<ClosePeer> closes;
    std::vector<RoomChange> changes;
    std::vector<Rejected> rejections;
};

Drained drain(Hub& hub) {
    Drained d;
    while (auto out = hub.poll()) {
        if (auto* s = std::get_if<SendText>(&*out)) d.sends.push_back(*s);
        if (auto* c = std::get_if<ClosePeer>(&*out)) d.closes.push_back(*c);
        if (auto* r = std::get_if<RoomChange>(&*out)) d.changes.push_back(*r);
        if (auto* r = std::get_if<Rejected>(&*out)) d.rejections.push_back(*r);
    }
    return d;
}

std::vector<std::string> textsTo(const Drained& d, PeerId peer) {
    std::vector<std::string> texts;
    for (const auto& s : d.sends)
        if (s.to == peer) texts.push_back(s.text);
    return texts;
}

using Texts = std::vector<std::string>;

}  // namespace

class TestHub : public QObject {
    Q_OBJECT

private slots:
    void roomNames() {
        QVERIFY(isValidRoomName("a"));
        QVERIFY(isValidRoomName("Room_42-x"));
        QVERIFY(isValidRoomName(std::string(64, 'z')));
        QVERIFY(!isValidRoomName(""));
        QVERIFY(!isValidRoomName(std::string(65, 'z')));
        QVERIFY(!isValidRoomName("a/b"));
        QVERIFY(!isValidRoomName("a b"));
        QVERIFY(!isValidRoomName("%20"));
        QVERIFY(!isValidRoomName("a.b"));
        QVERIFY(!isValidRoomName("caf\xc3\xa9"));
    }

    void messageCheck() {
        QCOMPARE(relayableMessageType(R"({"type":"offer","sdp":"v=0"})"), std::string("offer"));
        QCOMPARE(relayableMessageType(R"(  {"x":{"type":1},"type":""} )"), std::string(""));
        QCOMPARE(relayableMessageType(R"({"type":"x","type":"bye"})"), std::string("bye"));
        QCOMPARE(relayableMessageType(R"({"type":"bye","type":7})"), std::nullopt);  // last wins
        QCOMPARE(relayableMessageType(R"({"a":{"type":"nested"}})"), std::nullopt);
        QCOMPARE(relayableMessageType(R"({"type":["offer"]})"), std::nullopt);
        QCOMPARE(relayableMessageType(R"({"type":null})"), std::nullopt);
        QCOMPARE(relayableMessageType(R"([{"type":"offer"}])"), std::nullopt);
        QCOMPARE(relayableMessageType(R"("type")"), std::nullopt);
        QCOMPARE(relayableMessageType(R"({"type":"offer"} x)"), std::nullopt);
        QCOMPARE(relayableMessageType(R"({"type":"offer")"), std::nullopt);
        QCOMPARE(relayableMessageType("hello"), std::nullopt);
        QCOMPARE(relayableMessageType(""), std::nullopt);
    }

    void deepNestingIsNotRecursed() {
        const std::size_t depth = 200000;
        std::string text =
            R"({"type":"x","a":)" + std::string(depth, '[') + std::string(depth, ']') + "}";
        QCOMPARE(relayableMessageType(text), std::string("x"));
        text.pop_back();
        QCOMPARE(relayableMessageType(text), std::nullopt);
    }

    void welcomeAndPeerJoined() {
        Hub hub;
        hub.handleOpen(1, "/r");
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 1), Texts{R"({"type":"welcome","peers":0})"});
        QCOMPARE(d.changes.size(), std::size_t{1});
        QCOMPARE(d.changes[0].peers, std::size_t{1});

        hub.handleOpen(2, "/r");
        d = drain(hub);
        QCOMPARE(textsTo(d, 2), Texts{R"({"type":"welcome","peers":1})"});
        QCOMPARE(textsTo(d, 1), Texts{R"({"type":"peer-joined"})"});
        QVERIFY(d.closes.empty());
        QCOMPARE(hub.roomCount(), std::size_t{1});
    }

    void relayIsVerbatimAndAloneIsDropped() {
        Hub hub;
        hub.handleOpen(1, "/r");
        hub.handleText(1, R"({"type":"candidate","candidate":null})");
        auto d = drain(hub);
        QVERIFY(d.closes.empty());
        QCOMPARE(d.sends.size(), std::size_t{1});  // the welcome only
        QCOMPARE(hub.droppedWhileAlone(), std::uint64_t{1});

        hub.handleOpen(2, "/r");
        drain(hub);
        const std::string odd = "{ \"sdp\" : \"v=0\\r\\n\", \"type\":\"offer\" ,\"n\":1.50}\n";
        hub.handleText(2, odd);
        d = drain(hub);
        QCOMPARE(textsTo(d, 1), Texts{odd});
        QVERIFY(textsTo(d, 2).empty());
    }

    void thirdPeerIsRefused() {
        Hub hub;
        hub.handleOpen(1, "/r");
        hub.handleOpen(2, "/r");
        drain(hub);
        hub.handleOpen(3, "/r");
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 3), Texts{R"({"type":"error","reason":"room full"})"});
        QCOMPARE(d.closes.size(), std::size_t{1});
        QCOMPARE(d.closes[0].peer, PeerId{3});
        QCOMPARE(d.closes[0].code, CloseCode::PolicyViolation);
        QVERIFY(textsTo(d, 1).empty() && textsTo(d, 2).empty());
        hub.handleClosed(3);  // the refused socket going away changes nothing
        QVERIFY(drain(hub).sends.empty());
        QCOMPARE(hub.peerCount(), std::size_t{2});
    }

    void badPaths() {
        Hub hub;
        // A query or a fragment is not part of a room name (SIGNALING.md): refused, not stripped.
        const char* paths[] = {"",    "/",      "r",   "/a/b", "/%20", "/a%2Fb",
                               "//r", "/r?x=1", "/r?", "/r#f", "/r#",  "/?r"};
        PeerId peer = 1;
        for (const char* path : paths) {
            hub.handleOpen(peer, path);
            auto d = drain(hub);
            QCOMPARE(textsTo(d, peer), Texts{R"({"type":"error","reason":"bad room"})"});
            QCOMPARE(d.closes.size(), std::size_t{1});
            ++peer;
        }
        QCOMPARE(hub.roomCount(), std::size_t{0});
    }

    void byeIsRelayedThenPeerLeft() {
        Hub hub;
        hub.handleOpen(1, "/r");
        hub.handleOpen(2, "/r");
        drain(hub);
        hub.handleText(1, R"({"type":"bye"})");
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 2), (Texts{R"({"type":"bye"})", R"({"type":"peer-left"})"}));
        QCOMPARE(d.closes.size(), std::size_t{1});
        QCOMPARE(d.closes[0].peer, PeerId{1});
        QCOMPARE(d.closes[0].code, CloseCode::Normal);
        hub.handleClosed(1);
        QVERIFY(drain(hub).sends.empty());  // no second peer-left

        hub.handleOpen(3, "/r");  // the slot is free again
        d = drain(hub);
        QCOMPARE(textsTo(d, 3), Texts{R"({"type":"welcome","peers":1})"});
        QCOMPARE(textsTo(d, 2), Texts{R"({"type":"peer-joined"})"});
    }

    void badMessageClosesOnlyTheSender() {
        Hub hub;
        hub.handleOpen(1, "/r");
        hub.handleOpen(2, "/r");
        drain(hub);
        hub.handleText(1, R"({"no":"type"})");
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 1), Texts{R"({"type":"error","reason":"bad message"})"});
        QCOMPARE(textsTo(d, 2), Texts{R"({"type":"peer-left"})"});
        QCOMPARE(d.rejections.size(), std::size_t{1});
        QCOMPARE(d.rejections[0].room, std::string("r"));
        hub.handleText(1, R"({"type":"late"})");  // still in flight when the close went out
        QVERIFY(drain(hub).sends.empty());

        hub.handleOpen(3, "/r");
        drain(hub);
        hub.handleBinary(3);
        d = drain(hub);
        QCOMPARE(textsTo(d, 3), Texts{R"({"type":"error","reason":"bad message"})"});
        QCOMPARE(textsTo(d, 2), Texts{R"({"type":"peer-left"})"});
    }

    void sizeLimit() {
        Hub hub;
        hub.handleOpen(1, "/r");
        hub.handleOpen(2, "/r");
        drain(hub);
        std::string text = "{\"type\":\"x\",\"p\":\"";  // not a raw string: moc 6.4 misreads it
        text += std::string(kMaxMessageBytes - text.size() - 2, 'a') + "\"}";
        QCOMPARE(text.size(), kMaxMessageBytes);
        hub.handleText(1, text);
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 2), Texts{text});
        text.insert(text.size() - 2, "a");
        hub.handleText(1, text);
        d = drain(hub);
        QCOMPARE(textsTo(d, 1), Texts{R"({"type":"error","reason":"too large"})"});
        QCOMPARE(d.closes.at(0).code, CloseCode::MessageTooBig);
    }

    void maxRooms() {
        Hub hub(HubConfig{1});
        hub.handleOpen(1, "/a");
        hub.handleOpen(2, "/a");
        hub.handleOpen(3, "/b");
        auto d = drain(hub);
        QCOMPARE(textsTo(d, 3), Texts{R"({"type":"error","reason":"server full"})"});
        hub.handleClosed(1);
        hub.handleClosed(2);
        drain(hub);
        QCOMPARE(hub.roomCount(), std::size_t{0});
        hub.handleOpen(4, "/b");
        QCOMPARE(textsTo(drain(hub), 4), Texts{R"({"type":"welcome","peers":0})"});
    }

    void closeAll() {
        Hub hub;
        hub.handleOpen(1, "/a");
        hub.handleOpen(2, "/a");
        hub.handleOpen(3, "/b");
        drain(hub);
        hub.closeAll();
        auto d = drain(hub);
        QVERIFY(d.sends.empty());
        QCOMPARE(d.closes.size(), std::size_t{3});
        for (const auto& c : d.closes) QCOMPARE(c.code, CloseCode::GoingAway);
        QCOMPARE(hub.roomCount(), std::size_t{0});
        QCOMPARE(hub.peerCount(), std::size_t{0});
    }
};

QTEST_GUILESS_MAIN(TestHub)
#include "test_hub.moc"
