// The UI's pure logic: room codes and links, the quality hysteresis, the path in words, the
// "why this path" sentences, the address stripping of the exports.
#include <QJsonDocument>
#include <QJsonObject>
#include <QTest>

#include <cstdlib>
#include <vector>

#include "ui/bridge/i420_image.hpp"
#include "ui/diagnostics/path_words.hpp"
#include "ui/diagnostics/webrtc_dump.hpp"
#include "ui/models/call_quality.hpp"
#include "ui/models/room.hpp"

using namespace tincan;
using namespace tincan::ui;

class TestUiModels : public QObject {
    Q_OBJECT
private slots:
    void roomCodes() {
        QString code = newRoomCode();
        QCOMPARE(code.size(), 7);
        QCOMPARE(code[3], QChar('-'));
        QVERIFY(parseRoom(code));
        QCOMPARE(parseRoom(code)->code, code);
        QVERIFY(parseRoom(code)->server.isEmpty());
    }
    void roomLinksRoundTrip() {
        RoomAddress room{"abc-def", "ws://192.0.2.1:8765"};
        auto parsed = parseRoom(room.link());
        QVERIFY(parsed);
        QCOMPARE(parsed->code, room.code);
        QCOMPARE(parsed->server, room.server);
        QCOMPARE(parsed->signalingUrl(), QString("ws://192.0.2.1:8765/abc-def"));
        auto ws = parseRoom("ws://127.0.0.1:9/room_1");
        QVERIFY(ws);
        QCOMPARE(ws->code, QString("room_1"));
        QCOMPARE(ws->server, QString("ws://127.0.0.1:9"));
    }
    void badRoomsRefused() {
        QVERIFY(!parseRoom("has space"));
        QVERIFY(!parseRoom("tincan://join/bad room"));
        QVERIFY(!parseRoom("tincan://join/ok?server=http://x"));
        QVERIFY(!parseRoom("http://example.org/room"));
        QVERIFY(!parseRoom("ws://host:1/room?x=1"));
        QVERIFY(!parseRoom(QString(65, 'a')));
    }
    void qualityNeedsThreeSamplesToChange() {
        CallQuality q;
        QualitySample bad;
        bad.rttMs = 900;
        QCOMPARE(q.update(bad), Quality::Good);
        QCOMPARE(q.update(bad), Quality::Good);
        QCOMPARE(q.update(bad), Quality::Poor);
        QVERIFY(q.reason().contains("900"));
        QualitySample good;
        good.rttMs = 20;
        // One good sample between bad ones does not flip it back.
        QCOMPARE(q.update(good), Quality::Poor);
        QCOMPARE(q.update(bad), Quality::Poor);
        QCOMPARE(q.update(good), Quality::Poor);
        QCOMPARE(q.update(good), Quality::Poor);
        QCOMPARE(q.update(good), Quality::Good);
        QualitySample stalled;
        stalled.stalled = true;
        for (int i = 0; i < 3; ++i) q.update(stalled);
        QCOMPARE(q.level(), Quality::Poor);
        QVERIFY(q.reason().contains("nothing arrived"));
    }
    void pathWords() {
        CandidatePair pair;
        pair.path = PathType::Lan;
        QCOMPARE(pathInWords(pair), QString("Direct (same network)"));
        pair.path = PathType::Direct;
        pair.local.type = CandidateType::ServerReflexive;
        QCOMPARE(pathInWords(pair), QString("Direct (hole-punched through NAT)"));
        pair.path = PathType::Relay;
        pair.local.type = CandidateType::Relayed;
        pair.relayProtocol = TransportProtocol::Tcp;
        pair.local.url = "turn:turn.example.org:3478?transport=tcp";
        QCOMPARE(
            pathInWords(pair),
            QString("Relayed via TURN over TCP — server turn:turn.example.org:3478?transport=tcp"));
    }
    void whyThisPathExplainsFailuresAndSymmetricNat() {
        StatsReport r;
        r.candidates = {
            {"L1", true, "host", "udp", "10.0.0.2", 5000, 2130706431, "1", {}, {}},
            {"L2",
             true,
             "srflx",
             "udp",
             "198.51.100.7",
             40001,
             1694498815,
             "2",
             {},
             std::string("stun:a:3478")},
            {"L3",
             true,
             "srflx",
             "udp",
             "198.51.100.7",
             40017,
             1694498815,
             "3",
             {},
             std::string("stun:b:3478")},
            {"L4", true, "relay", "udp", "203.0.113.9", 50000, 16777215, "4", std::string("udp"),
             std::string("turn:t:3478")},
            {"R1", false, "srflx", "udp", "192.0.2.44", 6000, 1694498815, "9", {}, {}},
        };
        CandidatePairStats failed;
        failed.id = "P1";
        failed.localCandidateId = "L2";
        failed.remoteCandidateId = "R1";
        failed.state = "failed";
        failed.requestsSent = 7;
        CandidatePairStats relay;
        relay.id = "P2";
        relay.localCandidateId = "L4";
        relay.remoteCandidateId = "R1";
        relay.state = "succeeded";
        relay.selected = relay.nominated = true;
        relay.requestsSent = 2;
        relay.responsesReceived = 2;
        r.candidatePairs = {failed, relay};
        r.transport = TransportStats{};
        r.transport->selectedCandidatePairId = "P2";
        QString text = whyThisPath(r, false).join('\n');
        QVERIFY2(text.contains("no response after 7 checks"), qPrintable(text));
        QVERIFY2(text.contains("symmetric"), qPrintable(text));
        QVERIFY2(text.contains("relay was used because no direct pair answered"), qPrintable(text));
        QVERIFY2(text.contains("← selected"), qPrintable(text));
        QString advice = failureAdvice(r, false);
        QVERIFY2(advice.contains("no TURN server is configured: add one in Settings"),
                 qPrintable(advice));
    }
    void stripAddressesInExports() {
        QString s = stripAddresses("host 192.168.1.20:5000 and fe80::1:2 and 2001:db8::7");
        QVERIFY2(!s.contains("192.168"), qPrintable(s));
        QVERIFY2(!s.contains("2001:db8"), qPrintable(s));
        QVERIFY2(!s.contains("fe80"), qPrintable(s));
        QCOMPARE(stripAddresses("[::1]:5000"), QString("[x:x::x]:5000"));
        // A certificate fingerprint is no address.
        const QString fp =
            "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:"
            "23:45:67:89";
        QCOMPARE(stripAddresses(fp), fp);
        StatsReport r;
        r.timestampMs = 1.7e12;
        r.candidates = {{"L1", true, "host", "udp", "10.1.2.3", 5000, 1, "1", {}, {}}};
        DumpInput in;
        in.history = {r, r};
        in.stripAddresses = true;
        QByteArray dump = webrtcInternalsDump(in);
        QVERIFY(!dump.contains("10.1.2.3"));
        auto doc = QJsonDocument::fromJson(dump);
        QVERIFY(doc.isObject());
        auto pc = doc.object()["PeerConnections"].toObject()["1-1"].toObject();
        QVERIFY(pc.contains("updateLog"));
        auto series = pc["stats"].toObject()["L1-address"].toObject();
        QCOMPARE(series["statsType"].toString(), QString("local-candidate"));
        QCOMPARE(series["values"].toString(), QString(R"(["x.x.x.x","x.x.x.x"])"));
        in.stripAddresses = false;
        QVERIFY(webrtcInternalsDump(in).contains("10.1.2.3"));
    }
    void i420ToRgb() {
        // 4x2 pixels, BT.601 video range: white, black, red, blue in the left-to-right 2x2 blocks
        // (chroma is per 2x2).
        const int w = 8, h = 2;
        std::vector<uint8_t> y(w * h), u(w / 2), v(w / 2);
        const uint8_t ys[4] = {235, 16, 81, 41}, us[4] = {128, 128, 90, 240},
                      vs[4] = {128, 128, 240, 110};
        for (int block = 0; block < 4; ++block) {
            for (int r = 0; r < 2; ++r)
                for (int c = 0; c < 2; ++c) y[size_t(r * w + block * 2 + c)] = ys[block];
            u[size_t(block)] = us[block];
            v[size_t(block)] = vs[block];
        }
        tincan::media::I420View view;
        view.width = w;
        view.height = h;
        view.y = y.data();
        view.u = u.data();
        view.v = v.data();
        view.strideY = w;
        view.strideU = view.strideV = w / 2;
        QImage image = i420ToImage(view);
        QCOMPARE(image.size(), QSize(8, 2));
        auto near = [](QColor got, QColor want) {
            return std::abs(got.red() - want.red()) <= 3 &&
                   std::abs(got.green() - want.green()) <= 3 &&
                   std::abs(got.blue() - want.blue()) <= 3;
        };
        QVERIFY(near(image.pixelColor(0, 0), QColor(255, 255, 255)));
        QVERIFY(near(image.pixelColor(3, 1), QColor(0, 0, 0)));
        QVERIFY(near(image.pixelColor(4, 0), QColor(255, 0, 0)));
        QVERIFY(near(image.pixelColor(7, 1), QColor(0, 0, 255)));
        // Fitted to a view: the aspect ratio kept, the same colours in the same places.
        QImage half = i420ToImage(view, QSize(4, 4));
        QCOMPARE(half.size(), QSize(4, 1));
        QVERIFY(near(half.pixelColor(0, 0), QColor(255, 255, 255)));
        QVERIFY(near(half.pixelColor(2, 0), QColor(255, 0, 0)));
        QVERIFY(near(half.pixelColor(3, 0), QColor(0, 0, 255)));
        QImage twice = i420ToImage(view, QSize(100, 4));
        QCOMPARE(twice.size(), QSize(16, 4));
        QVERIFY(near(twice.pixelColor(9, 3), QColor(255, 0, 0)));
        QVERIFY(near(twice.pixelColor(15, 0), QColor(0, 0, 255)));
        // Malformed views give no image rather than reading out of bounds.
        view.strideU = 1;
        QVERIFY(i420ToImage(view).isNull());
        view.strideU = w / 2;
        view.v = nullptr;
        QVERIFY(i420ToImage(view).isNull());
    }
};

QTEST_MAIN(TestUiModels)
#include "test_ui_models.moc"
