// The embedded signaling server (tincan-signal's code in the app's process): the start window
// runs it when no server is configured, the room link names the address and port it listens
// on (the LAN address when this computer has one), a busy port and a missing LAN are said in
// words, and a configured server turns it off.
#include <QDir>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTcpSocket>
#include <QTemporaryDir>
#include <QTest>
#include <QThread>
#include <QWebSocket>

#include "ui/bridge/local_signal_server.hpp"
#include "ui/models/room.hpp"
#include "ui/windows/start_window.hpp"

using namespace tincan::ui;

namespace {

// True when a WebSocket upgrade to `url` completes: something speaking WebSocket listens there.
bool webSocketOpens(const QString& url) {
    QWebSocket socket;
    QSignalSpy connected(&socket, &QWebSocket::connected);
    socket.open(QUrl(url));
    const bool ok = connected.wait(5000);
    socket.close();
    return ok;
}

bool tcpConnects(const QString& host, quint16 port) {
    QTcpSocket socket;
    socket.connectToHost(host, port);
    return socket.waitForConnected(2000);
}

}  // namespace

class TestUiEmbeddedServer : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void linkNamesTheEmbeddedServer() {
        QSettings store(dir_.filePath("lan.ini"), QSettings::IniFormat);
        StartWindow start(store);
        start.setEmbeddedServer(LocalSignalServer::Scope::Lan, 0);
        LocalSignalServer* server = start.embeddedServer();
        QVERIFY(server);
        QTRY_VERIFY_WITH_TIMEOUT(server->isReady(), 5000);
        const QString lan = LocalSignalServer::lanAddress();
        if (lan.isEmpty()) {
            QCOMPARE(server->host(), QString("127.0.0.1"));
            QVERIFY(server->noticeText().contains("on no network"));
            QVERIFY(start.serverText().contains("on no network"));
        } else {
            QCOMPARE(server->host(), lan);
            QVERIFY(server->noticeText().isEmpty());
            QVERIFY(start.serverText().contains("people on this network can join"));
        }
        QVERIFY(server->port() != 0);
        start.createRoom();
        const auto room = parseRoom(start.shownLink());
        QVERIFY2(room, qPrintable(start.shownLink()));
        QCOMPARE(room->server, QString("ws://%1:%2").arg(server->host()).arg(server->port()));
        QVERIFY(start.serverText().contains(room->server));
        // And it is really there, speaking WebSocket, at the address the link gives.
        QVERIFY(webSocketOpens(room->signalingUrl()));
    }

    void busyPortIsSaidAndAnotherTaken() {
        QTcpServer squatter;
        QVERIFY(squatter.listen(QHostAddress("127.0.0.1"), 0));
        const quint16 busy = squatter.serverPort();
        QSettings store(dir_.filePath("busy.ini"), QSettings::IniFormat);
        StartWindow start(store);
        start.setEmbeddedServer(LocalSignalServer::Scope::ThisComputer, busy);
        LocalSignalServer* server = start.embeddedServer();
        QTRY_VERIFY_WITH_TIMEOUT(server->isReady(), 5000);
        QVERIFY(server->port() != busy);
        QVERIFY2(server->noticeText().contains(
                     QString("Port %1 on 127.0.0.1 is already in use").arg(busy)),
                 qPrintable(server->noticeText()));
        QVERIFY(start.serverText().contains("already in use"));
        QVERIFY(start.serverText().contains("this computer only"));
        start.createRoom();
        if (QString dir = qEnvironmentVariable("TINCAN_SCREENSHOTS"); !dir.isEmpty()) {
            QDir().mkpath(dir);
            QVERIFY(start.grab().save(dir + "/start-window-port-busy.png"));
        }
        QVERIFY(webSocketOpens(server->url() + "/room"));
    }

    void listenFailureIsSaidInTheWindow() {
        // 192.0.2.1 (TEST-NET-1) is not this computer's: listening there fails at once.
        LocalSignalServer server;
        QSignalSpy failed(&server, &LocalSignalServer::failed);
        QSignalSpy ready(&server, &LocalSignalServer::ready);
        server.startOn("192.0.2.1", 0);
        QVERIFY(failed.wait(5000));
        QCOMPARE(ready.count(), 0);
        const QString why = failed.at(0).at(0).toString();
        QVERIFY2(why.contains("no longer has the address 192.0.2.1"), qPrintable(why));
    }

    void configuredServerTurnsItOff() {
        QSettings store(dir_.filePath("configured.ini"), QSettings::IniFormat);
        AppSettings settings = AppSettings::load(store);
        settings.downloadFolder = dir_.path();
        settings.signalingServer = "wss://signal.example.org:8443";
        QVERIFY(settings.save(store));
        StartWindow start(store);
        start.setEmbeddedServer(LocalSignalServer::Scope::ThisComputer, 0);
        QCOMPARE(start.embeddedServer(), nullptr);
        start.createRoom();
        QCOMPARE(parseRoom(start.shownLink())->server, QString("wss://signal.example.org:8443"));
        QVERIFY(start.serverText().contains("Signaling server: wss://signal.example.org:8443"));

        // Cleared: the embedded one starts, and new links name it.
        settings.signalingServer.clear();
        QVERIFY(settings.save(store));
        start.reloadSettings();
        QVERIFY(start.embeddedServer());
        QTRY_VERIFY_WITH_TIMEOUT(start.embeddedServer()->isReady(), 5000);
        const quint16 port = start.embeddedServer()->port();
        start.createRoom();
        QCOMPARE(parseRoom(start.shownLink())->server, QString("ws://127.0.0.1:%1").arg(port));

        // Set again: the embedded one stops listening.
        settings.signalingServer = "ws://192.0.2.7:8765";
        QVERIFY(settings.save(store));
        start.reloadSettings();
        QCOMPARE(start.embeddedServer(), nullptr);
        QVERIFY(!tcpConnects("127.0.0.1", port));
        start.createRoom();
        QCOMPARE(parseRoom(start.shownLink())->server, QString("ws://192.0.2.7:8765"));
    }

    void runsOffTheUiThread() {
        LocalSignalServer server;
        QSignalSpy ready(&server, &LocalSignalServer::ready);
        server.start(LocalSignalServer::Scope::ThisComputer, 0);
        QVERIFY(ready.wait(5000));
        QVERIFY(server.serverThread());
        QVERIFY(server.serverThread() != QThread::currentThread());
        QVERIFY(server.serverThread()->isRunning());
        server.stop();
        QVERIFY(!tcpConnects("127.0.0.1",
                             quint16(ready.at(0).at(0).toString().section(':', -1).toUInt())));
    }
};

QTEST_MAIN(TestUiEmbeddedServer)
#include "test_ui_embedded_server.moc"
