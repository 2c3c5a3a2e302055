// Issue 10: a file transfer that stops mid-way (the sender's data channel closes) is resumed
// from its row's Resume button. Two call windows in one process join through the embedded
// signaling server; Bob accepts a 64 MB file, Alice's channel closes once part of it arrived,
// Bob keeps the partial download (never shown as done), Alice presses Resume, and the second
// leg starts at Bob's offset (resumed from > 0) and ends bit-exact, SHA-256 equal.
#include <QCryptographicHash>
#include <QDir>
#include <QElapsedTimer>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTest>

#include "tests/ui/two_windows.hpp"
#include "ui/bridge/local_signal_server.hpp"
#include "ui/widgets/transfer_list.hpp"
#include "ui/windows/call_window.hpp"

using namespace tincan;
using namespace tincan::ui;

using tincan::ui::test::sha256Of;
using tincan::ui::test::shot;

static QPushButton* visibleButton(TransferList* list, const QString& text) {
    for (auto* b : list->findChildren<QPushButton*>())
        if (b->text() == text && b->isVisible()) return b;
    return nullptr;
}

// Bob's partial download: the receiver keeps it as ".NAME.SIZE.tincan-part" (transfer/disk).
static qint64 partialBytes(const QString& folder) {
    const auto parts = QDir(folder).entryInfoList({"*.tincan-part"}, QDir::Files | QDir::Hidden);
    return parts.isEmpty() ? -1 : parts.first().size();
}

class TestUiTransferResume : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    LocalSignalServer server_;
    std::unique_ptr<CallWindow> alice_, bob_;

private slots:
    void initTestCase() {
        QSignalSpy ready(&server_, &LocalSignalServer::ready);
        server_.start(LocalSignalServer::Scope::ThisComputer);
        QVERIFY(ready.wait(10000));
        test::TwoWindows windows(dir_, "ui-resume-room", server_.url());
        alice_ = std::move(windows.alice);
        bob_ = std::move(windows.bob);
        CallConfig config = windows.config;
        alice_->start(config);
        QTRY_COMPARE_WITH_TIMEOUT(alice_->status().phase(), CallPhase::Waiting, 10000);
        bob_->start(config);
        QTRY_COMPARE_WITH_TIMEOUT(alice_->status().phase(), CallPhase::Connected, 20000);
        QTRY_COMPARE_WITH_TIMEOUT(bob_->status().phase(), CallPhase::Connected, 20000);
    }

    void stoppedTransferResumesFromTheReceiversOffset() {
        const QString path = dir_.filePath("big.bin");
        const qint64 size = 64 * 1024 * 1024 + 123;
        {
            QFile f(path);
            QVERIFY(f.open(QIODevice::WriteOnly));
            QByteArray bytes(size, '\0');
            QRandomGenerator64 random(10);
            random.fillRange(reinterpret_cast<quint32*>(bytes.data()), int(size / 4));
            QCOMPARE(f.write(bytes), size);
        }
        const QByteArray want = sha256Of(path);
        QSignalSpy bobDone(bob_.get(), &CallWindow::transferFinished);
        QSignalSpy aliceDone(alice_.get(), &CallWindow::transferFinished);
        QSignalSpy aliceFailed(alice_.get(), &CallWindow::transferFailed);
        TransferList* out = alice_->transferList();
        TransferList* in = bob_->transferList();

        alice_->sendFiles({path});
        QTRY_COMPARE_WITH_TIMEOUT(in->rowCount(), 1, 5000);
        QTRY_VERIFY_WITH_TIMEOUT(visibleButton(in, "Accept"), 5000);
        QTest::mouseClick(visibleButton(in, "Accept"), Qt::LeftButton);

        // Part of the file is on Bob's disk: Alice's channel closes (her Cancel closes it, as
        // a dropped connection would).
        const QString bobFolder = dir_.filePath("bob");
        QElapsedTimer waited;
        waited.start();
        while (partialBytes(bobFolder) < 2 * 1024 * 1024 && waited.elapsed() < 20000)
            QTest::qWait(5);
        QVERIFY2(partialBytes(bobFolder) >= 2 * 1024 * 1024, "no partial download appeared");
        QVERIFY(bobDone.isEmpty());
        QTest::mouseClick(visibleButton(out, "Cancel"), Qt::LeftButton);
        QCOMPARE(aliceFailed.count(), 1);

        // Bob's row stops short: not done, no hash, the part received kept for a resume.
        QTRY_VERIFY_WITH_TIMEOUT(in->statusText(1).startsWith("Stopped:"), 10000);
        QVERIFY2(in->statusText(1).contains("kept"), qPrintable(in->statusText(1)));
        QVERIFY(in->sha256(1).isEmpty());
        QVERIFY(!QFileInfo::exists(QDir(bobFolder).filePath("big.bin")));
        const qint64 kept = partialBytes(bobFolder);
        QVERIFY2(kept > 0 && kept < size, qPrintable(QString::number(kept)));
        shot(alice_->sideTabs(), "transfer-stopped.png");

        QPushButton* resume = out->findChild<QPushButton*>("resume");
        QVERIFY2(resume && resume->isVisible(), "the stopped row offers no Resume");
        QTest::mouseClick(resume, Qt::LeftButton);
        QVERIFY(!resume->isVisible());

        QVERIFY(bobDone.wait(60000) || !bobDone.isEmpty());
        QTRY_COMPARE_WITH_TIMEOUT(aliceDone.count(), 1, 10000);
        QCOMPARE(bobDone.count(), 1);
        const QString stored = bobDone.at(0).at(1).toString();
        QCOMPARE(QFileInfo(stored).fileName(), QString("big.bin"));
        QCOMPARE(QFileInfo(stored).size(), size);
        QCOMPARE(sha256Of(stored), want);
        QCOMPARE(bobDone.at(0).at(2).toString().toLatin1(), want);
        QCOMPARE(aliceDone.at(0).at(2).toString().toLatin1(), want);
        // The second leg began where Bob's partial file ended, on both sides.
        QVERIFY(out->resumedFrom(1) > 0);
        QCOMPARE(in->resumedFrom(1), out->resumedFrom(1));
        QVERIFY(in->resumedFrom(1) <= quint64(kept));
        QVERIFY2(out->statusText(1).contains("resumed from"), qPrintable(out->statusText(1)));
        QVERIFY2(in->statusText(1).contains(want), qPrintable(in->statusText(1)));
        QCOMPARE(partialBytes(bobFolder), qint64(-1));  // nothing left behind
        qInfo("resumed from %llu of %lld bytes", out->resumedFrom(1), size);
        alice_->sideTabs()->setCurrentIndex(1);
        bob_->sideTabs()->setCurrentIndex(1);
        shot(alice_->sideTabs(), "transfer-resumed-sender.png");
        shot(bob_->sideTabs(), "transfer-resumed-receiver.png");
    }

    void cleanupTestCase() {
        alice_.reset();
        bob_.reset();
        server_.stop();
    }
};

QTEST_MAIN(TestUiTransferResume)
#include "test_ui_transfer_resume.moc"
