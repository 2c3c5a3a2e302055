// Two call windows in one process, Alice and Bob, in one room of a signaling server, with their
// downloads in folders of their own and Bob asked before a file lands: the set-up the call and
// transfer tests share. The tests start the calls themselves (QTRY_ waits must be theirs).
#pragma once

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QString>
#include <QTemporaryDir>
#include <QtTest>

#include <memory>

#include "ui/windows/call_window.hpp"

namespace tincan::ui::test {

// Saves a grab of `w` as TINCAN_SCREENSHOTS/name when that variable is set.
inline void shot(QWidget* w, const QString& name) {
    QString dir = qEnvironmentVariable("TINCAN_SCREENSHOTS");
    if (dir.isEmpty()) return;
    QDir().mkpath(dir);
    QVERIFY(w->grab().save(dir + "/" + name));
}

// A file's SHA-256 in hex (empty when it cannot be read).
inline QByteArray sha256Of(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex();
}

struct TwoWindows {
    std::unique_ptr<CallWindow> alice, bob;
    CallConfig config;  // loopback only, the test pattern and tone

    TwoWindows(const QTemporaryDir& dir, const QString& roomName, const QString& serverUrl) {
        RoomAddress room{roomName, serverUrl};
        AppSettings a, b;
        a.downloadFolder = dir.filePath("alice");
        b.downloadFolder = dir.filePath("bob");
        QDir().mkpath(a.downloadFolder);
        QDir().mkpath(b.downloadFolder);
        b.autoAcceptBytes = 0;  // Bob is asked, and clicks Accept
        alice = std::make_unique<CallWindow>(a, room);
        bob = std::make_unique<CallWindow>(b, room);
        alice->show();
        bob->show();
        config.allowLoopback = true;
        config.interfaces = {"lo"};
        config.media.synthetic = true;
    }
};

}  // namespace tincan::ui::test
