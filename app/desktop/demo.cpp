#include "app/desktop/demo.hpp"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QFile>
#include <QRandomGenerator>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <vector>

#include "ui/bridge/local_signal_server.hpp"
#include "ui/diagnostics/diagnostics_panel.hpp"
#include "ui/models/room.hpp"
#include "ui/widgets/video_view.hpp"
#include "ui/windows/call_window.hpp"

namespace tincan::app {

using namespace tincan::ui;

namespace {

struct Demo {
    QApplication& app;
    DemoOptions options;
    QTemporaryDir work;
    LocalSignalServer server;
    std::unique_ptr<CallWindow> a, b;
    QString sentFile;
    bool chatted = false, fileDone = false, finishing = false;
    // The UI loop's responsiveness: a 5 ms timer's lateness while the file crosses.
    QTimer tick;
    QElapsedTimer sinceTick;
    std::vector<double> gapsMs;
    int exitCode = 0;

    Demo(QApplication& application, DemoOptions o) : app(application), options(std::move(o)) {}

    AppSettings sideSettings(const QString& name) {
        AppSettings s;
        s.downloadFolder = work.filePath(name);
        QDir().mkpath(s.downloadFolder);
        s.autoAcceptBytes = 1ull << 40;  // the demo's file is accepted without a click
        return s;
    }

    void start(const QString& url) {
        RoomAddress room{"demo-" + newRoomCode(), url};
        std::printf("demo: signaling %s, room %s\n", qPrintable(url), qPrintable(room.code));
        a = std::make_unique<CallWindow>(sideSettings("alice"), room);
        b = std::make_unique<CallWindow>(sideSettings("bob"), room);
        a->setWindowTitle(a->windowTitle() + " — Alice");
        b->setWindowTitle(b->windowTitle() + " — Bob");
        for (auto* w : {a.get(), b.get()}) {
            auto* dock = w->findChild<QDockWidget*>("diagnosticsDock");
            dock->show();
            // Tall enough for the video above the panel (whose graphs need ~520 px).
            w->resize(1100, 1040);
        }
        a->move(0, 0);
        b->move(1110, 0);
        a->show();
        b->show();
        CallConfig config;
        config.allowLoopback = true;
        config.interfaces = {"lo"};
        config.media.synthetic = true;  // the test pattern and the tone, whatever the machine has
        a->start(config);
        // Bob joins a moment later, so Alice is the first in the room (the polite peer).
        QTimer::singleShot(300, &app, [this, config] { b->start(config); });

        QObject::connect(b->bridge(), &CallBridge::messageChannelOpen, &app,
                         [this] { QTimer::singleShot(300, &app, [this] { exchange(); }); });
        QObject::connect(b.get(), &CallWindow::transferFinished, &app,
                         [this](int, const QString& path, const QString& sha) {
                             std::printf("demo: Bob received %s (sha-256 %s)\n", qPrintable(path),
                                         qPrintable(sha));
                             fileDone = true;
                             tick.stop();
                             reportStalls();
                             maybeFinish();
                         });
        QObject::connect(a.get(), &CallWindow::transferFailed, &app,
                         [this](int, const QString& why) { fail("file: " + why); });
    }

    void exchange() {
        if (chatted) return;
        chatted = true;
        a->sendChat("Hello Bob — this line crossed a Tincan data channel.");
        b->sendChat("Hi Alice! Send me that file?");
        // A small file with random content, so the sha-256 proves the bytes.
        sentFile = work.filePath("tincan-demo.bin");
        QFile f(sentFile);
        if (!f.open(QIODevice::WriteOnly)) return fail("cannot write " + sentFile);
        QByteArray bytes(1024 * 1024, '\0');
        for (int mb = 0; mb < options.fileMegabytes; ++mb) {
            for (auto& c : bytes) c = char(QRandomGenerator::global()->bounded(256));
            f.write(bytes);
        }
        f.close();
        a->sendFiles({sentFile});
        tick.setInterval(5);
        QObject::connect(&tick, &QTimer::timeout, &app, [this] {
            if (sinceTick.isValid()) gapsMs.push_back(double(sinceTick.nsecsElapsed()) / 1e6);
            sinceTick.restart();
        });
        tick.start();
    }

    void reportStalls() {
        if (gapsMs.empty()) return;
        std::sort(gapsMs.begin(), gapsMs.end());
        double p99 = gapsMs[std::min(gapsMs.size() - 1, gapsMs.size() * 99 / 100)];
        std::printf(
            "demo: UI loop during the transfer: %zu ticks of a 5 ms timer, p99 gap %.1f ms, worst "
            "%.1f ms\n",
            gapsMs.size(), p99, gapsMs.back());
    }

    void maybeFinish() {
        if (!fileDone || finishing) return;
        finishing = true;
        // A few more stats ticks so the graphs and tables have something to show.
        QTimer::singleShot(5500, &app, [this] { finish(); });
    }

    void finish() {
        auto* diag = a->diagnostics();
        const StatsReport* stats = diag->latest();
        double rttMs = 0;
        if (stats)
            if (const auto* sel = stats->selectedPair(); sel && sel->currentRoundTripTime)
                rttMs = *sel->currentRoundTripTime * 1000;
        uint64_t sent = stats && stats->transport ? stats->transport->bytesSent : 0;
        uint64_t received = stats && stats->transport ? stats->transport->bytesReceived : 0;
        std::printf("demo: path: %s — %s\n", qPrintable(diag->pathText()),
                    qPrintable(diag->pairText()));
        std::printf("demo: RTT %.2f ms; Alice sent %llu bytes, received %llu bytes\n", rttMs,
                    static_cast<unsigned long long>(sent),
                    static_cast<unsigned long long>(received));
        const unsigned long long toBob = framesDecoded(*b), toAlice = framesDecoded(*a);
        const FrameCounts atBob = b->bridge()->media()->remoteFrameCounts();
        const FrameCounts atAlice = a->bridge()->media()->remoteFrameCounts();
        std::printf(
            "demo: video frames decoded each way: Alice→Bob %llu, Bob→Alice %llu (painted %llu "
            "and %llu; dropped while the UI was busy %llu and %llu)\n",
            toBob, toAlice, static_cast<unsigned long long>(b->remoteVideo()->framesPainted()),
            static_cast<unsigned long long>(a->remoteVideo()->framesPainted()),
            static_cast<unsigned long long>(atBob.dropped),
            static_cast<unsigned long long>(atAlice.dropped));
        if (toBob == 0 || toAlice == 0) return fail("no video was decoded on one side");
        if (options.screenshotDir.isEmpty()) return;  // with a display: stay open
        QDir().mkpath(options.screenshotDir);
        QDir dir(options.screenshotDir);
        b->sideTabs()->setCurrentIndex(0);
        a->sideTabs()->setCurrentIndex(0);
        diag->tabs()->setCurrentIndex(0);
        save(a->grab(), dir.filePath("call-window.png"));
        b->sideTabs()->setCurrentIndex(1);
        save(b->grab(), dir.filePath("file-transfer.png"));
        save(a->findChild<QDockWidget*>("diagnosticsDock")->grab(),
             dir.filePath("diagnostics-summary.png"));
        diag->tabs()->setCurrentIndex(2);
        save(a->findChild<QDockWidget*>("diagnosticsDock")->grab(),
             dir.filePath("diagnostics-pairs.png"));
        diag->tabs()->setCurrentIndex(4);
        save(a->findChild<QDockWidget*>("diagnosticsDock")->grab(),
             dir.filePath("diagnostics-graphs.png"));
        std::printf("demo: screenshots in %s\n", qPrintable(dir.absolutePath()));
        done(0);
    }

    static unsigned long long framesDecoded(const CallWindow& w) {
        if (const StatsReport* r = w.diagnostics()->latest())
            for (const auto& in : r->inboundRtp)
                if (in.kind == "video") return in.framesDecoded.value_or(0);
        return 0;
    }

    void save(const QPixmap& pixmap, const QString& path) {
        if (!pixmap.save(path)) std::fprintf(stderr, "demo: could not save %s\n", qPrintable(path));
    }

    void fail(const QString& why) {
        std::fprintf(stderr, "demo failed: %s\n", qPrintable(why));
        done(1);
    }

    void done(int code) {
        exitCode = code;
        if (a) a->hangUp();
        if (b) b->hangUp();
        QTimer::singleShot(200, &app, [this] { app.exit(exitCode); });
    }
};

}  // namespace

int runDemo(QApplication& app, const DemoOptions& options) {
    Demo demo(app, options);
    QObject::connect(&demo.server, &LocalSignalServer::ready, &app,
                     [&demo](const QString& url) { demo.start(url); });
    QObject::connect(&demo.server, &LocalSignalServer::failed, &app,
                     [&demo](const QString& why) { demo.fail(why); });
    demo.server.start(LocalSignalServer::Scope::ThisComputer);  // in-process, its own thread
    QTimer::singleShot(options.timeoutSeconds * 1000, &app, [&demo] {
        if (demo.finishing) return;
        QString state = demo.a ? demo.a->headlineText() : QString("no signaling server");
        demo.fail(
            QString("not done after %1 s (Alice: %2)").arg(demo.options.timeoutSeconds).arg(state));
    });
    int code = app.exec();
    demo.a.reset();
    demo.b.reset();
    return code;
}

}  // namespace tincan::app
