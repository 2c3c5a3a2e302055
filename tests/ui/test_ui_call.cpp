// Two call windows in one process join one room through the embedded signaling server,
// connect, see each other's test pattern (painted, not blank, framesDecoded in the stats),
// turn the camera off and on and mute, chat both ways, send a file through the UI path (offer,
// Accept clicked on the receiving side, progress, sha-256), and show the nominated pair and the
// path in words in the diagnostics panel. Screenshots of each step go to $TINCAN_SCREENSHOTS.
#include <QApplication>
#include <QClipboard>
#include <QCryptographicHash>
#include <QDir>
#include <QDockWidget>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QMimeData>
#include <QPushButton>
#include <QRandomGenerator>
#include <QScrollArea>
#include <QScrollBar>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QUrl>

#include <algorithm>

#include "tests/ui/two_windows.hpp"
#include "ui/bridge/local_signal_server.hpp"
#include "ui/diagnostics/diagnostics_panel.hpp"
#include "ui/diagnostics/timeline.hpp"
#include "ui/widgets/chat_panel.hpp"
#include "ui/widgets/transfer_list.hpp"
#include "ui/widgets/video_view.hpp"
#include "ui/windows/call_window.hpp"

using namespace tincan;
using namespace tincan::ui;

using tincan::ui::test::sha256Of;
using tincan::ui::test::shot;

// The test pattern after VP8 and RGB conversion: black and white code cells on top, coloured
// moving bars below. A blank, grey or single-colour picture fails.
static bool looksLikeTheTestPattern(const QImage& image) {
    if (image.width() < 100 || image.height() < 80) return false;
    qint64 black = 0, white = 0, coloured = 0, total = 0;
    for (int y = 0; y < image.height(); y += 2)
        for (int x = 0; x < image.width(); x += 2) {
            const QColor c = image.pixelColor(x, y);
            const int lo = std::min({c.red(), c.green(), c.blue()});
            const int hi = std::max({c.red(), c.green(), c.blue()});
            black += hi < 50;
            white += lo > 200;
            coloured += hi - lo > 60;
            ++total;
        }
    qInfo("pattern check: %lld%% black, %lld%% white, %lld%% coloured", 100 * black / total,
          100 * white / total, 100 * coloured / total);
    return black * 50 > total && white * 50 > total && coloured * 5 > total;
}

static quint64 framesDecoded(const CallWindow& w) {
    if (const StatsReport* r = w.diagnostics()->latest())
        for (const auto& in : r->inboundRtp)
            if (in.kind == "video") return in.framesDecoded.value_or(0);
    return 0;
}

static quint64 framesEncoded(const CallWindow& w) {
    if (const StatsReport* r = w.diagnostics()->latest())
        for (const auto& out : r->outboundRtp)
            if (out.kind == "video") return out.framesEncoded.value_or(0);
    return 0;
}

class TestUiCall : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    LocalSignalServer server_;
    std::unique_ptr<CallWindow> alice_, bob_;

private slots:
    void initTestCase() {
        QSignalSpy ready(&server_, &LocalSignalServer::ready);
        server_.start(LocalSignalServer::Scope::ThisComputer);  // the embedded server
        QVERIFY(ready.wait(10000));
    }

    void joinAndConnect() {
        test::TwoWindows windows(dir_, "ui-test-room", server_.url());
        alice_ = std::move(windows.alice);
        bob_ = std::move(windows.bob);
        CallConfig config = windows.config;
        alice_->start(config);
        QTRY_COMPARE_WITH_TIMEOUT(alice_->status().phase(), CallPhase::Waiting, 10000);
        QCOMPARE(alice_->headlineText(), QString("Waiting for the other person to join"));
        bob_->start(config);
        QTRY_COMPARE_WITH_TIMEOUT(alice_->status().phase(), CallPhase::Connected, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(bob_->status().phase(), CallPhase::Connected, 20000);
        QTRY_VERIFY_WITH_TIMEOUT(
            alice_->headlineText().startsWith("Connected — Direct (same network)"), 5000);
    }

    void videoBothWays() {
        // Each side paints the other's test pattern, decoded from VP8 that crossed the call.
        for (auto* w : {alice_.get(), bob_.get()}) {
            QTRY_VERIFY_WITH_TIMEOUT(w->remoteVideo()->framesPainted() > 20, 15000);
            QTRY_VERIFY_WITH_TIMEOUT(w->selfVideo()->framesPainted() > 5, 5000);
            QVERIFY(
                w->findChild<QLabel*>("mediaNote")->text().contains("Sending the test pattern"));
            const QImage picture = w->remoteVideo()->grab(w->remoteVideo()->frameRect()).toImage();
            QVERIFY2(looksLikeTheTestPattern(picture), qPrintable(w->windowTitle()));
        }
        shot(alice_.get(), "call-video.png");
        // The decoder's counters reach getStats() (inbound-rtp), each way.
        for (auto* w : {alice_.get(), bob_.get()})
            QTRY_VERIFY_WITH_TIMEOUT(framesDecoded(*w) > 0, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(
            alice_->diagnostics()->mediaText().contains("frames decoded here") &&
                alice_->diagnostics()->remoteFramesDecoded().value_or(0) > 0,
            5000);
    }

    void cameraOffAndMute() {
        auto button = [](CallWindow* w, const QString& text) {
            for (auto* b : w->findChildren<QPushButton*>())
                if (b->text() == text) return b;
            return static_cast<QPushButton*>(nullptr);
        };
        QPushButton* camera = button(alice_.get(), "Camera off (V)");
        QVERIFY(camera);
        QTest::mouseClick(camera, Qt::LeftButton);
        QVERIFY(!alice_->cameraOn());
        QCOMPARE(camera->text(), QString("Camera on (V)"));
        QVERIFY(!alice_->selfVideo()->hasFrame());
        // Bob hears it over the data channel and stops showing the last frame.
        QTRY_VERIFY_WITH_TIMEOUT(!bob_->remoteVideo()->hasFrame(), 3000);
        QCOMPARE(bob_->remoteVideo()->placeholder(), QString("Camera off"));
        // Nothing is encoded any more: framesEncoded stands still across two stats ticks.
        QTest::qWait(1200);
        const quint64 encoded = framesEncoded(*alice_);
        const quint64 received = bob_->remoteVideo()->framesReceived();
        QTest::qWait(2200);
        QCOMPARE(framesEncoded(*alice_), encoded);
        QCOMPARE(bob_->remoteVideo()->framesReceived(), received);
        shot(bob_.get(), "remote-camera-off.png");
        QTest::mouseClick(camera, Qt::LeftButton);
        QVERIFY(alice_->cameraOn());
        QTRY_VERIFY_WITH_TIMEOUT(bob_->remoteVideo()->framesReceived() > received + 10, 5000);
        QVERIFY(bob_->remoteVideo()->hasFrame());

        QPushButton* mute = button(bob_.get(), "Mute (M)");
        QVERIFY(mute);
        QTest::mouseClick(mute, Qt::LeftButton);
        QVERIFY(bob_->muted());
        QVERIFY(bob_->findChild<QLabel*>("mediaNote")->text().contains("Muted"));
        QTRY_VERIFY_WITH_TIMEOUT(
            alice_->findChild<QLabel*>("mediaNote")->text().contains("The other person is muted"),
            3000);
        QTest::mouseClick(mute, Qt::LeftButton);
        QTRY_VERIFY_WITH_TIMEOUT(!alice_->findChild<QLabel*>("mediaNote")->text().contains("muted"),
                                 3000);
    }

    void chatBothWays() {
        QTRY_VERIFY_WITH_TIMEOUT(alice_->chat()->input()->isEnabled(), 10000);
        QTRY_VERIFY_WITH_TIMEOUT(bob_->chat()->input()->isEnabled(), 10000);
        QTest::keyClicks(alice_->chat()->input(), "hello from alice");
        QTest::keyClick(alice_->chat()->input(), Qt::Key_Return);
        QTRY_VERIFY_WITH_TIMEOUT(bob_->chat()->transcript().contains("Them: hello from alice"),
                                 5000);
        bob_->sendChat("hi alice");
        QTRY_VERIFY_WITH_TIMEOUT(alice_->chat()->transcript().contains("Them: hi alice"), 5000);
        QVERIFY(alice_->chat()->transcript().contains("You: hello from alice"));
    }

    void sendFileThroughTheWindow() {
        QString path = dir_.filePath("report.bin");
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly));
        QByteArray bytes(600 * 1024 + 17, '\0');
        for (auto& c : bytes) c = char(QRandomGenerator::global()->bounded(256));
        f.write(bytes);
        f.close();
        QSignalSpy done(bob_.get(), &CallWindow::transferFinished);
        QSignalSpy sent(alice_.get(), &CallWindow::transferFinished);
        // Dropped on Alice's window, as a person would.
        QMimeData mime;
        mime.setUrls({QUrl::fromLocalFile(path)});
        QDropEvent drop(QPointF(100, 100), Qt::CopyAction, &mime, Qt::LeftButton, Qt::NoModifier);
        // Straight to the window's event handler: QApplication routes a Drop only to the
        // target of a platform drag, and offscreen there is none.
        static_cast<QObject*>(alice_.get())->event(&drop);
        QCOMPARE(alice_->transferList()->rowCount(), 1);
        // Bob's row asks; he clicks Accept.
        QTRY_COMPARE_WITH_TIMEOUT(bob_->transferList()->rowCount(), 1, 5000);
        QPushButton* accept = nullptr;
        for (auto* b : bob_->transferList()->findChildren<QPushButton*>())
            if (b->text() == "Accept" && b->isVisible()) accept = b;
        QVERIFY(accept);
        shot(bob_.get(), "incoming-file.png");
        QTest::mouseClick(accept, Qt::LeftButton);
        QVERIFY(done.wait(20000));
        QString stored = done.at(0).at(1).toString();
        QString sha = done.at(0).at(2).toString();
        QCOMPARE(QFileInfo(stored).absolutePath(), QDir(dir_.filePath("bob")).absolutePath());
        QCOMPARE(sha256Of(stored), sha256Of(path));
        QCOMPARE(sha.toLatin1(), sha256Of(path));
        QTRY_COMPARE_WITH_TIMEOUT(sent.count(), 1, 5000);
        QVERIFY(bob_->transferList()->statusText(1).contains(sha));
        // All 64 digits are shown, wrapping inside the panel (no horizontal scrolling), the
        // full value in the tooltip, and a button copies it.
        auto* hash = bob_->transferList()->findChild<QLabel*>("sha256");
        QVERIFY(hash && hash->isVisible());
        QCOMPARE(QString(hash->text()).remove(' '), sha);
        QVERIFY(hash->toolTip().contains(sha));
        auto* scroll =
            qobject_cast<QScrollArea*>(bob_->transferList()->parentWidget()->parentWidget());
        QVERIFY(scroll);
        QTRY_VERIFY(!scroll->horizontalScrollBar()->isVisible());
        QVERIFY(hash->mapTo(scroll->viewport(), QPoint(hash->width(), 0)).x() <=
                scroll->viewport()->width());
        auto* copy = bob_->transferList()->findChild<QPushButton*>("copySha256");
        QVERIFY(copy && copy->isVisible());
        QApplication::clipboard()->clear();
        QTest::mouseClick(copy, Qt::LeftButton);
        QCOMPARE(QApplication::clipboard()->text(), sha);
        shot(bob_.get(), "file-transfer.png");
    }

    void diagnosticsShowTheNominatedPair() {
        auto* dock = alice_->findChild<QDockWidget*>("diagnosticsDock");
        QVERIFY(dock);
        dock->show();
        auto* diag = alice_->diagnostics();
        QTRY_VERIFY_WITH_TIMEOUT(diag->latest() && diag->latest()->selectedPair(), 5000);
        QCOMPARE(diag->pathText(), QString("Direct (same network)"));
        const QString pair = diag->pairText();
        QVERIFY2(pair.startsWith("host udp 127.0.0.1:") || pair.startsWith("host udp [::1]:"),
                 qPrintable(pair));
        QVERIFY2(pair.contains(" ↔ host udp "), qPrintable(pair));
        auto* path = diag->findChild<QLabel*>("pathLabel");
        QCOMPARE(path->text(), QString("Direct (same network)"));
        // The pairs table: the selected pair first, in bold, nominated.
        auto* pairs = qobject_cast<QTableView*>(diag->tabs()->widget(2));
        QVERIFY(pairs);
        auto* model = pairs->model();
        QVERIFY(model->rowCount() >= 1);
        QVERIFY(model->data(model->index(0, 2)).toString().contains("(selected)"));
        QCOMPARE(model->data(model->index(0, 3)).toString(), QString("yes"));
        QVERIFY(model->data(model->index(0, 0), Qt::FontRole).value<QFont>().bold());
        QVERIFY(diag->whyText().join(' ').contains("same network"));
        QVERIFY(diag->timeline()->timeToConnectedMs().has_value());
        // Two more ticks so the graphs have lines.
        QTest::qWait(2200);
        shot(alice_.get(), "call-window.png");
        for (int tab : {0, 2, 3, 4}) {
            diag->tabs()->setCurrentIndex(tab);
            shot(dock, QString("diagnostics-%1.png").arg(tab));
        }
        QByteArray dump = diag->exportJson(true);
        QVERIFY2(
            !dump.contains("127.0.0.1"),
            dump.mid(std::max<qsizetype>(0, dump.indexOf("127.0.0.1") - 300), 400).constData());
        QVERIFY(diag->exportJson(false).contains("127.0.0.1"));
        QVERIFY(diag->reportText(false).contains("Direct (same network)"));
    }

    void hangUpEndsBothSides() {
        alice_->hangUp();
        QCOMPARE(alice_->headlineText(), QString("Call ended"));
        QTRY_COMPARE_WITH_TIMEOUT(bob_->status().phase(), CallPhase::Ended, 10000);
        QVERIFY(bob_->status().detail().contains("hung up"));
    }

    void cleanupTestCase() {
        alice_.reset();
        bob_.reset();
        server_.stop();
    }
};

QTEST_MAIN(TestUiCall)
#include "test_ui_call.moc"
