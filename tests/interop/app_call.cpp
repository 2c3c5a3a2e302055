// tincan-app-call: one `tincan` call window (offscreen), for test_app_chromium.py. It runs the
// embedded signaling server on 127.0.0.1, prints {"event":"listening","url":...}, joins --room
// with the test pattern and the tone, and once connected stays in the call for --duration
// seconds; then it prints {"event":"result",...}: what the window painted (frames, and whether
// the picture is more than one flat colour), the decoder's framesDecoded from the stats, the
// path in words, and the headline; with --screenshot it saves the window. Exit 0 iff the window
// painted more than --min-frames frames of a picture that is not blank.
//
// With --signal ws://HOST:PORT it joins that server instead (no embedded one), and --stun /
// --turn (with --turn-user, --turn-pass) configure ICE as Settings would: test_app_nat.py runs
// two of these behind namespace NATs. The result then also carries the call's phase, the
// window's headline and the line under it, and the "why this path" lines of the diagnostics.
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "ui/bridge/local_signal_server.hpp"
#include "ui/diagnostics/diagnostics_panel.hpp"
#include "ui/widgets/video_view.hpp"
#include "ui/windows/call_window.hpp"

using namespace tincan;
using namespace tincan::ui;

namespace {

void print(const QJsonObject& o) {
    std::printf("%s\n", QJsonDocument(o).toJson(QJsonDocument::Compact).constData());
    std::fflush(stdout);
}

// Luma spread of the painted picture: a blank (one colour) frame has none.
double lumaSpread(const QImage& image) {
    int lo = 255, hi = 0;
    for (int y = 0; y < image.height(); y += 3)
        for (int x = 0; x < image.width(); x += 3) {
            const int l = qGray(image.pixel(x, y));
            lo = std::min(lo, l);
            hi = std::max(hi, l);
        }
    return image.isNull() ? 0 : hi - lo;
}

quint64 framesDecoded(const CallWindow& w) {
    if (const StatsReport* r = w.diagnostics()->latest())
        for (const auto& in : r->inboundRtp)
            if (in.kind == "video") return in.framesDecoded.value_or(0);
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
    QApplication app(argc, argv);
    QCommandLineParser parser;
    QCommandLineOption room("room", "Room to join.", "ROOM", "app-chromium");
    QCommandLineOption duration("duration", "Seconds in the call once connected.", "S", "10");
    QCommandLineOption timeout("timeout", "Give up after this many seconds.", "S", "60");
    QCommandLineOption minFrames("min-frames", "Frames the window must paint.", "N", "30");
    QCommandLineOption screenshot("screenshot", "Save the window here at the end.", "PNG");
    QCommandLineOption signal("signal", "Join this server (ws://HOST:PORT), not an embedded one.",
                              "URL");
    QCommandLineOption stun("stun", "A STUN server (stun:HOST:PORT); repeatable.", "URI");
    QCommandLineOption turn("turn", "A TURN server (turn:HOST:PORT?transport=udp); repeatable.",
                            "URI");
    QCommandLineOption turnUser("turn-user", "TURN user.", "USER");
    QCommandLineOption turnPass("turn-pass", "TURN password.", "PASS");
    parser.addOptions(
        {room, duration, timeout, minFrames, screenshot, signal, stun, turn, turnUser, turnPass});
    parser.addHelpOption();
    parser.process(app);

    LocalSignalServer server;
    std::unique_ptr<CallWindow> window;
    QElapsedTimer connectedFor;
    int exitCode = 1;
    // What the window shows now. Taken every second while connected too: when the other side
    // hangs up first, the window is judged by how it looked during the call, not after.
    auto snapshot = [&](const QString& error) {
        QJsonObject result{{"event", "result"}};
        VideoView* view = window->remoteVideo();
        // The self view sits over the remote picture: out of the way, or its test pattern
        // would make a blank remote picture look busy.
        const bool selfShown = window->selfVideo()->isVisible();
        window->selfVideo()->hide();
        const QImage picture = view->grab(view->frameRect()).toImage();
        window->selfVideo()->setVisible(selfShown);
        const double spread = lumaSpread(picture);
        const quint64 painted = view->framesPainted();
        const bool ok =
            error.isEmpty() && painted > parser.value(minFrames).toULongLong() && spread > 40;
        result.insert("ok", ok);
        result.insert("framesPainted", qint64(painted));
        result.insert("framesDecoded", qint64(framesDecoded(*window)));
        result.insert("lumaSpread", spread);
        result.insert("width", picture.width());
        result.insert("height", picture.height());
        result.insert("path", window->diagnostics()->pathText());
        result.insert("pair", window->diagnostics()->pairText());
        result.insert("headline", window->headlineText());
        result.insert("detail", window->status().detail());
        result.insert("phase", int(window->status().phase()));
        result.insert("failed", window->status().phase() == CallPhase::Failed);
        result.insert("why", window->diagnostics()->whyText().join('\n'));
        if (!parser.value(screenshot).isEmpty()) window->grab().save(parser.value(screenshot));
        return result;
    };
    QJsonObject duringCall;
    auto finish = [&](const QString& error, bool peerLeft = false) {
        QJsonObject result{{"event", "result"}, {"ok", false}};
        if (window) {
            result = peerLeft && !duringCall.isEmpty() ? duringCall : snapshot(error);
            if (peerLeft) result.insert("peerLeft", true);
            exitCode = result.value("ok").toBool() ? 0 : 1;
            window->hangUp();
        }
        if (!error.isEmpty()) result.insert("error", error);
        print(result);
        QTimer::singleShot(300, &app, [&] { app.exit(exitCode); });
    };

    QObject::connect(&server, &LocalSignalServer::failed, &app,
                     [&](const QString& why) { finish("signaling server: " + why); });
    auto join = [&](const QString& url) {
        AppSettings settings;
        settings.downloadFolder = QDir::tempPath();
        settings.stunUrls = parser.values(stun);
        settings.turnUrls = parser.values(turn);
        settings.turnUser = parser.value(turnUser);
        settings.turnPassword = parser.value(turnPass);
        window = std::make_unique<CallWindow>(settings, RoomAddress{parser.value(room), url});
        window->resize(1100, 720);
        window->show();
        CallConfig config;
        config.iceServers = settings.iceServers();
        config.allowLoopback = parser.value(signal).isEmpty();
        config.media.synthetic = true;  // the test pattern and the tone
        window->start(config);
    };
    QObject::connect(&server, &LocalSignalServer::ready, &app, [&](const QString& url) {
        print({{"event", "listening"}, {"url", url}});
        join(url);
    });
    // Poll: connected → count the call's seconds; the stats tick runs at 1 Hz in the window.
    QTimer poll;
    int lastSnapshotS = 0;
    poll.setInterval(200);
    QObject::connect(&poll, &QTimer::timeout, &app, [&] {
        if (!window) return;
        const CallPhase phase = window->status().phase();
        if (phase == CallPhase::Connected && !connectedFor.isValid()) {
            connectedFor.start();
            print({{"event", "connected"}, {"path", window->headlineText()}});
        }
        if (phase == CallPhase::Failed || phase == CallPhase::Ended) {
            poll.stop();
            // The other side leaving after a call is no failure; the picture decides.
            const bool hadCall = phase == CallPhase::Ended && connectedFor.isValid();
            finish(hadCall ? QString() : "the call ended: " + window->headlineText(), hadCall);
            return;
        }
        if (phase == CallPhase::Connected && connectedFor.isValid() &&
            connectedFor.elapsed() / 1000 > lastSnapshotS) {
            lastSnapshotS = int(connectedFor.elapsed() / 1000);
            duringCall = snapshot({});
        }
        if (connectedFor.isValid() &&
            connectedFor.elapsed() > parser.value(duration).toInt() * 1000) {
            poll.stop();
            finish({});
        }
    });
    poll.start();
    QTimer::singleShot(parser.value(timeout).toInt() * 1000, &app, [&] {
        if (!poll.isActive()) return;
        poll.stop();
        finish(QString("not done after %1 s").arg(parser.value(timeout)));
    });
    if (parser.value(signal).isEmpty())
        server.start(LocalSignalServer::Scope::ThisComputer);
    else
        join(parser.value(signal));
    const int code = app.exec();
    window.reset();
    return code;
}
