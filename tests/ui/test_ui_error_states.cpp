// The error states render in words: an unreachable signaling server, ICE failing with no TURN
// server (the advice says to add one), a bad room link on the start window.
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QTest>

#include "ui/windows/call_window.hpp"
#include "ui/windows/start_window.hpp"

using namespace tincan;
using namespace tincan::ui;

static void shot(QWidget& w, const QString& name) {
    QString dir = qEnvironmentVariable("TINCAN_SCREENSHOTS");
    if (dir.isEmpty()) return;
    QDir().mkpath(dir);
    QVERIFY(w.grab().save(dir + "/" + name));
}

class TestUiErrorStates : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

private slots:
    void unreachableSignalingServer() {
        // A port nobody listens on: bind one, then free it.
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        quint16 port = probe.serverPort();
        probe.close();
        AppSettings settings;
        settings.downloadFolder = dir_.path();
        CallWindow w(settings, RoomAddress{"room-1", QString("ws://127.0.0.1:%1").arg(port)});
        w.show();
        CallConfig config;
        config.allowLoopback = true;
        config.interfaces = {"lo"};
        w.start(config);
        QTRY_COMPARE_WITH_TIMEOUT(w.status().phase(), CallPhase::Failed, 15000);
        QCOMPARE(w.headlineText(), QString("Call failed"));
        QVERIFY2(w.status().detail().contains("cannot reach signaling server"),
                 qPrintable(w.status().detail()));
        auto detail = w.findChildren<QLabel*>();
        bool shown = false;
        for (auto* l : detail)
            shown =
                shown || (l->isVisible() && l->text().contains("cannot reach signaling server"));
        QVERIFY(shown);
        shot(w, "error-signaling.png");
    }

    void iceFailureSaysWhatToTry() {
        AppSettings settings;
        settings.downloadFolder = dir_.path();
        CallWindow w(settings, RoomAddress{"room-2", "ws://127.0.0.1:9"});
        w.show();
        // What the bridge reports when ICE gives up (no PeerConnection needed to render it).
        emit w.bridge()->joined(1);
        emit w.bridge()->iceStateChanged(IceConnectionState::Checking);
        QVERIFY(w.headlineText().startsWith("Connecting"));
        emit w.bridge()->iceStateChanged(IceConnectionState::Failed);
        QCOMPARE(w.status().phase(), CallPhase::Failed);
        QString detail = w.status().detail();
        QVERIFY2(detail.contains("ICE failed"), qPrintable(detail));
        QVERIFY2(detail.contains("add one in Settings"), qPrintable(detail));
        shot(w, "error-ice.png");
    }

    void reconnectingAndRemoteHangupInWords() {
        CallStatus s;
        s.joined(1);
        s.connection(PeerConnectionState::Connected);
        s.selectedPath("Direct (same network)");
        QCOMPARE(s.headline(), QString("Connected — Direct (same network)"));
        s.ice(IceConnectionState::Disconnected);
        QVERIFY(s.headline().startsWith("Reconnecting"));
        s.ice(IceConnectionState::Connected);
        QCOMPARE(s.phase(), CallPhase::Connected);
        s.signalingLost("connection refused");
        QVERIFY(s.detail().contains("signaling server is unreachable"));
        s.ended("The other person hung up.");
        QCOMPARE(s.headline(), QString("Call ended"));
        QCOMPARE(s.detail(), QString("The other person hung up."));
    }

    void badRoomLinkOnStartWindow() {
        QSettings store(dir_.filePath("s.ini"), QSettings::IniFormat);
        StartWindow w(store);
        w.setLocalServer("ws://127.0.0.1:8765");
        w.show();
        QSignalSpy joins(&w, &StartWindow::joinRequested);
        w.joinField()->setText("not a room!");
        QTest::keyClick(w.joinField(), Qt::Key_Return);
        QCOMPARE(joins.count(), 0);
        bool shown = false;
        for (auto* l : w.findChildren<QLabel*>())
            shown = shown || (l->isVisible() && l->text().contains("neither a room code"));
        QVERIFY(shown);
        w.createRoom();
        QVERIFY(w.shownLink().startsWith("tincan://join/"));
        QVERIFY(w.shownLink().contains("server=ws%3A%2F%2F127.0.0.1%3A8765"));
        w.joinField()->setText(w.shownLink());
        QTest::keyClick(w.joinField(), Qt::Key_Return);
        QCOMPARE(joins.count(), 1);
        shot(w, "start-window.png");
    }
};

QTEST_MAIN(TestUiErrorStates)
#include "test_ui_error_states.moc"
