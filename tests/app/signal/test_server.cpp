// The signaling server over real WebSockets on 127.0.0.1: an in-process SignalServer on a free
// port and QWebSocket clients speaking SIGNALING.md to it.
#include <QElapsedTimer>
#include <QTcpSocket>
#include <QTest>
#include <QWebSocket>

#include <algorithm>
#include <deque>
#include <memory>
#include <vector>

#include "signal/server.hpp"
#include "tests/app/signal/wait.hpp"

using namespace tincan::signaling;

namespace {

constexpr int kWaitMs = 1500;

// A test peer: collects every text frame and how the socket ended.
class Client {
public:
    explicit Client(const QUrl& url) {
        QObject::connect(&socket_, &QWebSocket::textMessageReceived,
                         [this](const QString& text) { texts_.push_back(text); });
        QObject::connect(&socket_, &QWebSocket::binaryMessageReceived,
                         [this](const QByteArray&) { ++binaries_; });
        QObject::connect(&socket_, &QWebSocket::disconnected, [this] { closed_ = true; });
        // A 2 MiB test message goes out whole; the server must refuse it.
        socket_.setOutgoingFrameSize(4 * 1024 * 1024);
        socket_.open(url);
    }

    QWebSocket& socket() { return socket_; }
    bool closed() const { return closed_; }
    int closeCode() const { return socket_.closeCode(); }
    int binaries() const { return binaries_; }
    std::size_t pending() const { return texts_.size(); }

    // The next text frame, or a null QString after kWaitMs.
    QString next() {
        if (!waitUntil([this] { return !texts_.empty(); }, kWaitMs)) return {};
        QString text = texts_.front();
        texts_.pop_front();
        return text;
    }
    bool waitClosed() {
        return waitUntil([this] { return closed_; }, kWaitMs);
    }
    void send(const QString& text) { socket_.sendTextMessage(text); }

private:
    QWebSocket socket_;
    std::deque<QString> texts_;
    int binaries_ = 0;
    bool closed_ = false;
};

const QString kWelcome0 = R"({"type":"welcome","peers":0})";
const QString kWelcome1 = R"({"type":"welcome","peers":1})";
const QString kPeerJoined = R"({"type":"peer-joined"})";
const QString kPeerLeft = R"({"type":"peer-left"})";

QString errorFrame(const char* reason) {
    return QStringLiteral(R"({"type":"error","reason":"%1"})").arg(QLatin1String(reason));
}

// A valid relayable message of exactly `bytes` UTF-8 bytes.
QString messageOfSize(int bytes) {
    const QString head = QStringLiteral(R"({"type":"blob","data":")");
    const QString tail = QStringLiteral("\"}");
    return head + QString(bytes - head.size() - tail.size(), QLatin1Char('x')) + tail;
}

// A raw TCP connection to the server from `source` (any address in 127/8 works on Linux), which
// sends whatever the test writes and nothing else.
std::unique_ptr<QTcpSocket> rawConnection(std::uint16_t port, const char* source = "127.0.0.1") {
    auto socket = std::make_unique<QTcpSocket>();
    if (!socket->bind(QHostAddress(QLatin1String(source)), 0)) return nullptr;
    socket->connectToHost(QHostAddress::LocalHost, port);
    if (!socket->waitForConnected(kWaitMs)) return nullptr;
    return socket;
}

bool isClosed(const QTcpSocket& socket) {
    return socket.state() == QAbstractSocket::UnconnectedState;
}

const char* const kUpgradeTail =
    " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";

}  // namespace

class TestServer : public QObject {
    Q_OBJECT

private:
    std::unique_ptr<SignalServer> server_;

    QUrl url(const QString& room) const {
        return QUrl(QStringLiteral("ws://127.0.0.1:%1/%2").arg(server_->port()).arg(room));
    }
    std::unique_ptr<Client> join(const QString& room) {
        return std::make_unique<Client>(url(room));
    }
    // Two peers in `room`, past their welcome / peer-joined frames.
    std::pair<std::unique_ptr<Client>, std::unique_ptr<Client>> pair(const QString& room) {
        auto first = join(room);
        if (first->next() != kWelcome0) return {};
        auto second = join(room);
        if (second->next() != kWelcome1 || first->next() != kPeerJoined) return {};
        return {std::move(first), std::move(second)};
    }
    void startServer(ServerConfig config = {}) {
        server_ = std::make_unique<SignalServer>(config);
        std::string error;
        QVERIFY2(server_->listen(QHostAddress::LocalHost, 0, error), error.c_str());
        QVERIFY(server_->port() != 0);
    }

private slots:
    void init() { startServer(); }
    void cleanup() { server_.reset(); }

    void welcomeCountsAndPeerJoined() {
        auto a = join("room1");
        QCOMPARE(a->next(), kWelcome0);
        auto b = join("room1");
        QCOMPARE(b->next(), kWelcome1);
        QCOMPARE(a->next(), kPeerJoined);
        QTest::qWait(50);
        QCOMPARE(a->pending(), std::size_t{0});
        QCOMPARE(b->pending(), std::size_t{0});
    }

    void relayIsVerbatimBothWays() {
        auto [a, b] = pair("verbatim");
        QVERIFY(a && b);
        // Odd spacing, key order, escapes and non-ASCII must come through byte for byte.
        const QString offer = QString::fromUtf8(
            "{ \"sdp\" :\"v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\n\",\n\t\"type\":\"offer\" ,"
            "\"x\":[1.50,-0e0,\"caf\xc3\xa9 \\u00e9 \xf0\x9f\x98\x80\"]}  ");
        b->send(offer);
        const QString got = a->next();
        QCOMPARE(got.toUtf8(), offer.toUtf8());
        const QString answer = R"({"type":"answer","sdp":"v=0"})";
        a->send(answer);
        QCOMPARE(b->next().toUtf8(), answer.toUtf8());
        const QString candidate =
            R"({"type":"candidate","candidate":{"candidate":"candidate:1 1 udp 2122260223 192.0.2.7 50123 typ host","sdpMid":"0","sdpMLineIndex":0}})";
        b->send(candidate);
        b->send(R"({"type":"candidate","candidate":null})");
        b->send(R"({"type":"unknown-future-type"})");
        QCOMPARE(a->next(), candidate);
        QCOMPARE(a->next(), QString(R"({"type":"candidate","candidate":null})"));
        QCOMPARE(a->next(), QString(R"({"type":"unknown-future-type"})"));
    }

    void relayLargeMessages() {
        auto [a, b] = pair("large");
        QVERIFY(a && b);
        const QString big = messageOfSize(200 * 1024);
        a->send(big);
        QCOMPARE(b->next().toUtf8(), big.toUtf8());
        const QString limit = messageOfSize(256 * 1024);  // exactly the limit still passes
        b->send(limit);
        QCOMPARE(a->next().toUtf8(), limit.toUtf8());
        QVERIFY(!a->closed() && !b->closed());
    }

    void peerLeftOnClose() {
        auto [a, b] = pair("leave");
        QVERIFY(a && b);
        b->socket().close();
        QCOMPARE(a->next(), kPeerLeft);
        auto c = join("leave");  // the slot is free again
        QCOMPARE(c->next(), kWelcome1);
        QCOMPARE(a->next(), kPeerJoined);
    }

    void byeIsRelayedThenPeerLeft() {
        auto [a, b] = pair("bye");
        QVERIFY(a && b);
        b->send(R"({"type":"bye"})");
        QCOMPARE(a->next(), QString(R"({"type":"bye"})"));
        QCOMPARE(a->next(), kPeerLeft);
        QVERIFY(b->waitClosed());
        QCOMPARE(b->closeCode(), int(QWebSocketProtocol::CloseCodeNormal));
        QCOMPARE(b->pending(), std::size_t{0});
        auto c = join("bye");
        QCOMPARE(c->next(), kWelcome1);
        QCOMPARE(a->next(), kPeerJoined);
        QTest::qWait(50);
        QCOMPARE(a->pending(), std::size_t{0});  // exactly one peer-left
    }

    void messagesWhileAloneAreDropped() {
        auto a = join("alone");
        QCOMPARE(a->next(), kWelcome0);
        a->send(R"({"type":"candidate","candidate":null})");
        QVERIFY(waitUntil([&] { return server_->hub().droppedWhileAlone() == 1; }, kWaitMs));
        QVERIFY(!a->closed());
        auto b = join("alone");
        QCOMPARE(b->next(), kWelcome1);
        QCOMPARE(a->next(), kPeerJoined);
        a->send(R"({"type":"after"})");
        QCOMPARE(b->next(), QString(R"({"type":"after"})"));
        QTest::qWait(50);
        QCOMPARE(b->pending(), std::size_t{0});
    }

    void thirdPeerGetsRoomFull() {
        auto [a, b] = pair("full");
        QVERIFY(a && b);
        auto c = join("full");
        QCOMPARE(c->next(), errorFrame("room full"));
        QVERIFY(c->waitClosed());
        QCOMPARE(c->closeCode(), int(QWebSocketProtocol::CloseCodePolicyViolated));
        a->send(R"({"type":"still-here"})");
        QCOMPARE(b->next(), QString(R"({"type":"still-here"})"));
        QCOMPARE(a->pending(), std::size_t{0});
    }

    void badRoomNames_data() {
        QTest::addColumn<QString>("path");
        QTest::newRow("empty") << QString();
        QTest::newRow("65 chars") << QString(65, QLatin1Char('a'));
        QTest::newRow("slash") << QStringLiteral("a/b");
        QTest::newRow("percent-20") << QStringLiteral("%20");
        QTest::newRow("dot") << QStringLiteral("a.b");
        QTest::newRow("trailing slash") << QStringLiteral("room/");
    }
    void badRoomNames() {
        QFETCH(QString, path);
        Client c(QUrl(QStringLiteral("ws://127.0.0.1:%1/").arg(server_->port()) + path));
        QCOMPARE(c.next(), errorFrame("bad room"));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.pending(), std::size_t{0});
        QCOMPARE(server_->hub().roomCount(), std::size_t{0});
    }

    void longestRoomNameIsFine() {
        auto a = join(QString(64, QLatin1Char('Z')));
        QCOMPARE(a->next(), kWelcome0);
    }

    void badMessages_data() {
        QTest::addColumn<QString>("text");
        QTest::addColumn<bool>("binary");
        QTest::newRow("not json") << QStringLiteral("hello") << false;
        QTest::newRow("array") << QStringLiteral(R"([{"type":"offer"}])") << false;
        QTest::newRow("no type") << QStringLiteral(R"({"sdp":"v=0"})") << false;
        QTest::newRow("type not a string") << QStringLiteral(R"({"type":1})") << false;
        QTest::newRow("truncated") << QStringLiteral(R"({"type":"offer")") << false;
        QTest::newRow("binary") << QStringLiteral(R"({"type":"offer"})") << true;
    }
    void badMessages() {
        QFETCH(QString, text);
        QFETCH(bool, binary);
        auto [a, b] = pair("bad");
        QVERIFY(a && b);
        if (binary)
            a->socket().sendBinaryMessage(text.toUtf8());
        else
            a->send(text);
        QCOMPARE(a->next(), errorFrame("bad message"));
        QVERIFY(a->waitClosed());
        QCOMPARE(b->next(), kPeerLeft);  // the bad frame itself is never relayed
        QCOMPARE(b->pending(), std::size_t{0});
        QVERIFY(!b->closed());
    }

    void tooLarge() {
        auto [a, b] = pair("big");
        QVERIFY(a && b);
        a->send(messageOfSize(256 * 1024 + 1));
        QCOMPARE(a->next(), errorFrame("too large"));
        QVERIFY(a->waitClosed());
        QCOMPARE(a->closeCode(), int(QWebSocketProtocol::CloseCodeTooMuchData));
        QCOMPARE(b->next(), kPeerLeft);
        QCOMPARE(b->pending(), std::size_t{0});
    }

    void hugeFrameIsRefusedCleanly() {
        auto [a, b] = pair("huge");
        QVERIFY(a && b);
        a->send(messageOfSize(2 * 1024 * 1024));  // above what Qt is allowed to buffer
        QVERIFY(a->waitClosed());
        QCOMPARE(a->closeCode(), int(QWebSocketProtocol::CloseCodeTooMuchData));
        QCOMPARE(b->next(), kPeerLeft);
        auto c = join("huge");  // and the server carries on
        QCOMPARE(c->next(), kWelcome1);
    }

    void misbehavingRoomDoesNotDisturbAnother() {
        auto [y1, y2] = pair("roomY");
        QVERIFY(y1 && y2);
        auto [x1, x2] = pair("roomX");
        QVERIFY(x1 && x2);
        auto x3 = join("roomX");  // room full
        auto z = join("roomZ");
        QCOMPARE(z->next(), kWelcome0);
        x1->send(QStringLiteral("garbage"));
        x2->socket().sendBinaryMessage(QByteArray(16, '\0'));
        z->send(messageOfSize(300 * 1024));
        y1->send(R"({"type":"offer","sdp":"v=0"})");
        QCOMPARE(y2->next(), QString(R"({"type":"offer","sdp":"v=0"})"));
        y2->send(R"({"type":"answer","sdp":"v=0"})");
        QCOMPARE(y1->next(), QString(R"({"type":"answer","sdp":"v=0"})"));
        QVERIFY(x1->waitClosed() && x2->waitClosed() && x3->waitClosed() && z->waitClosed());
        QTest::qWait(50);
        QVERIFY(!y1->closed() && !y2->closed());
        QCOMPARE(y1->pending(), std::size_t{0});
        QCOMPARE(y2->pending(), std::size_t{0});
    }

    void maxRoomsIsEnforced() {
        startServer(ServerConfig{HubConfig{1}});
        auto a = join("one");
        QCOMPARE(a->next(), kWelcome0);
        auto b = join("two");
        QCOMPARE(b->next(), errorFrame("server full"));
        QVERIFY(b->waitClosed());
        auto c = join("one");  // an existing room still takes its second peer
        QCOMPARE(c->next(), kWelcome1);
    }

    void peerThatDoesNotReadIsDropped() {
        auto a = join("slow");
        QCOMPARE(a->next(), kWelcome0);
        // A raw client that completes the handshake and then never reads.
        QTcpSocket slow;
        slow.setReadBufferSize(1024);
        slow.connectToHost(QHostAddress::LocalHost, server_->port());
        QVERIFY(slow.waitForConnected(kWaitMs));
        slow.write(
            "GET /slow HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n");
        QCOMPARE(a->next(), kPeerJoined);
        const QString chunk = messageOfSize(256 * 1024);
        for (int i = 0; i < 100; ++i) a->send(chunk);  // 25 MiB, far past the backlog limit
        // Moving 25 MiB takes a while under the sanitizers: a longer bound than next()'s.
        QVERIFY(waitUntil([&] { return a->pending() > 0; }, 10000));
        QCOMPARE(a->next(), kPeerLeft);
        QVERIFY(!a->closed());
        QCOMPARE(server_->connectionCount(), std::size_t{1});  // the slow one is gone
    }

    // SIGNALING.md: the room is the whole path; a query string or a fragment is a bad room.
    void queryOrFragmentIsBadRoom_data() {
        QTest::addColumn<QString>("suffix");
        QTest::newRow("query") << QStringLiteral("?x=1");
        QTest::newRow("query only room") << QStringLiteral("?room=q");
    }
    void queryOrFragmentIsBadRoom() {
        QFETCH(QString, suffix);
        Client c(QUrl(QStringLiteral("ws://127.0.0.1:%1/q").arg(server_->port()) + suffix));
        QCOMPARE(c.next(), errorFrame("bad room"));
        QVERIFY(c.waitClosed());
        QCOMPARE(c.closeCode(), int(QWebSocketProtocol::CloseCodePolicyViolated));
        QCOMPARE(server_->hub().roomCount(), std::size_t{0});
        auto a = join("q");  // the same room without the query is fine
        QCOMPARE(a->next(), kWelcome0);
    }

    void rawQueryOrFragmentIsBadRoom_data() {
        QTest::addColumn<QByteArray>("target");
        QTest::newRow("fragment") << QByteArray("/q#frag");
        QTest::newRow("empty query") << QByteArray("/q?");
        QTest::newRow("empty fragment") << QByteArray("/q#");
    }
    void rawQueryOrFragmentIsBadRoom() {
        // Clients drop fragments and empty queries before sending; a raw request can keep them.
        QFETCH(QByteArray, target);
        auto raw = rawConnection(server_->port());
        QVERIFY(raw);
        raw->write("GET " + target + kUpgradeTail);
        QByteArray got;
        QVERIFY(waitUntil(
            [&] {
                got += raw->readAll();
                return got.contains("bad room") || isClosed(*raw);
            },
            kWaitMs));
        QVERIFY2(got.contains(R"({"type":"error","reason":"bad room"})"), got.constData());
        QCOMPARE(server_->hub().roomCount(), std::size_t{0});
    }

    // Connections that never complete the upgrade are closed after the handshake timeout:
    // silent ones, a slowloris sending half a request, one sending the request a byte at a time.
    void handshakeTimeoutClosesStragglers() {
        startServer(ServerConfig{HubConfig{}, /*handshakeTimeoutMs=*/400, 64});
        std::vector<std::unique_ptr<QTcpSocket>> stragglers;
        for (int i = 0; i < 5; ++i) stragglers.push_back(rawConnection(server_->port()));
        stragglers.push_back(rawConnection(server_->port()));
        stragglers.back()->write("GET /half HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: webs");
        auto drip = rawConnection(server_->port());
        stragglers.push_back(nullptr);  // keeps the indices below apart from `drip`
        for (const auto& s : stragglers)
            if (s) QVERIFY(s->state() == QAbstractSocket::ConnectedState);
        QVERIFY(drip);
        QVERIFY(waitUntil([&] { return server_->pendingCount() == 7; }, kWaitMs));

        // A pair that does upgrade is unaffected, before and after the timeout.
        auto [a, b] = pair("timely");
        QVERIFY(a && b);
        const QByteArray request = QByteArray("GET /drip") + kUpgradeTail;
        QElapsedTimer clock;
        clock.start();
        int sent = 0;
        QVERIFY(waitUntil(
            [&] {
                if (sent < request.size() && clock.elapsed() > sent * 40)
                    drip->write(request.mid(sent++, 1));
                return std::all_of(stragglers.begin(), stragglers.end(),
                                   [](const auto& s) { return !s || isClosed(*s); }) &&
                       isClosed(*drip);
            },
            3 * kWaitMs));
        QVERIFY(clock.elapsed() >= 300);  // not before the timeout (less a little scheduling)
        QCOMPARE(server_->stats().handshakeTimeouts, std::uint64_t{7});
        QCOMPARE(server_->pendingCount(), std::size_t{0});
        a->send(R"({"type":"still-here"})");
        QCOMPARE(b->next(), QString(R"({"type":"still-here"})"));
        QVERIFY(!a->closed() && !b->closed());
        QCOMPARE(server_->stats().upgraded, std::uint64_t{2});
    }

    // One address holds at most maxConnectionsPerAddress connections, upgraded or not; others
    // are unaffected.
    void perAddressLimit() {
        startServer(ServerConfig{HubConfig{}, 10000, /*maxConnectionsPerAddress=*/3});
        std::vector<std::unique_ptr<QTcpSocket>> flood;
        for (int i = 0; i < 6; ++i) {
            flood.push_back(rawConnection(server_->port(), "127.0.0.2"));
            QVERIFY(flood.back());
        }
        QVERIFY(waitUntil(
            [&] {
                return std::count_if(flood.begin(), flood.end(),
                                     [](const auto& s) { return isClosed(*s); }) == 3;
            },
            kWaitMs));
        QCOMPARE(server_->stats().refusedPerAddress, std::uint64_t{3});
        QCOMPARE(server_->pendingCount(), std::size_t{3});
        for (int i = 0; i < 3; ++i) QVERIFY(!isClosed(*flood[std::size_t(i)]));

        // 127.0.0.1 is another address: a pair joins, and a room elsewhere works.
        auto [a, b] = pair("limited");
        QVERIFY(a && b);
        auto c = join("other");
        QCOMPARE(c->next(), kWelcome0);
        // Upgraded sockets count too: a fourth from 127.0.0.1 is closed before its upgrade.
        auto d = join("fourth");
        QVERIFY(d->waitClosed());
        QCOMPARE(d->pending(), std::size_t{0});
        QCOMPARE(server_->stats().refusedPerAddress, std::uint64_t{4});
        // A slot freed is a slot again.
        flood.front()->abort();
        QVERIFY(waitUntil([&] { return server_->pendingCount() == 2; }, kWaitMs));
        auto again = rawConnection(server_->port(), "127.0.0.2");
        QVERIFY(again);
        QVERIFY(waitUntil([&] { return server_->pendingCount() == 3; }, kWaitMs));
        QCOMPARE(server_->stats().refusedPerAddress, std::uint64_t{4});
        a->send(R"({"type":"ok"})");
        QCOMPARE(b->next(), QString(R"({"type":"ok"})"));
    }

    void shutdownClosesEveryone() {
        auto [a, b] = pair("end");
        QVERIFY(a && b);
        bool done = false;
        server_->shutdown([&] { done = true; });
        QVERIFY(a->waitClosed() && b->waitClosed());
        QCOMPARE(a->closeCode(), int(QWebSocketProtocol::CloseCodeGoingAway));
        QVERIFY(waitUntil([&] { return done; }, kWaitMs));
        QCOMPARE(a->pending(), std::size_t{0});  // no peer-left on shutdown
    }
};

QTEST_GUILESS_MAIN(TestServer)
#include "test_server.moc"
