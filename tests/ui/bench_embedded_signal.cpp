// How much a busy signaling server stalls the UI event loop, embedded as the app runs it (its
// own thread: LocalSignalServer) against the anchor of the same server on the UI thread.
// Load: kPairs pairs of WebSocket clients (on a thread of their own) join kPairs rooms and
// bounce 1 KB messages through the server, kInFlight at a time, until each side has had
// kMessages. Meanwhile a 5 ms timer on the UI
// thread records how late it fires (as tincan --demo does during its file transfer). Prints
// p50/p99/worst lateness for both, and the ratio of the p99s. A benchmark: nothing is asserted.
//   build/tests/ui/bench_embedded_signal
#include <QCoreApplication>
#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QThread>
#include <QTimer>
#include <QWebSocket>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "signal/server.hpp"
#include "ui/bridge/local_signal_server.hpp"

namespace {

constexpr int kPairs = 30;  // 60 sockets: under the server's 64 per address
constexpr int kMessages = 2000;
constexpr int kInFlight = 16;  // messages each pair keeps bouncing at once

// Clients on their own thread: each pair ping-pongs `kMessages` relayed messages.
class Load : public QObject {
public:
    explicit Load(QString base) : base_(std::move(base)) {}
    std::atomic<int> finishedPairs{0};
    void start() {
        for (int p = 0; p < kPairs; ++p)
            for (int side = 0; side < 2; ++side) {
                auto* ws = new QWebSocket(QString(), QWebSocketProtocol::VersionLatest, this);
                auto count = std::make_shared<int>(0);
                connect(ws, &QWebSocket::textMessageReceived, ws,
                        [this, ws, count, side](const QString& text) {
                            const auto o = QJsonDocument::fromJson(text.toUtf8()).object();
                            const QString type = o.value("type").toString();
                            // The second to arrive starts the rally; every relayed message is
                            // answered.
                            if ((type == "welcome" && o.value("peers").toInt() >= 1 && side == 1) ||
                                type == "candidate") {
                                if (type == "candidate" && ++*count >= kMessages) {
                                    if (side == 0) ++finishedPairs;
                                    return;
                                }
                                ws->sendTextMessage(
                                    QJsonDocument(QJsonObject{{"type", "candidate"},
                                                              {"candidate", QString(1000, 'x')}})
                                        .toJson(QJsonDocument::Compact));
                            }
                        });
                ws->open(QUrl(QString("%1/bench-%2").arg(base_).arg(p)));
            }
    }

private:
    QString base_;
};

struct Result {
    double p50 = 0, p99 = 0, worst = 0, seconds = 0;
    size_t ticks = 0;
};

// Runs the load against `base`, timing the UI loop until every pair is done.
Result measure(QCoreApplication& app, const QString& base) {
    QThread clientThread;
    Load load(base);
    load.moveToThread(&clientThread);
    clientThread.start();
    std::vector<double> lateMs;
    QElapsedTimer since, total;
    QTimer tick;
    tick.setTimerType(Qt::PreciseTimer);
    tick.setInterval(5);
    QObject::connect(&tick, &QTimer::timeout, &app, [&] {
        if (since.isValid()) lateMs.push_back(std::max(0.0, since.nsecsElapsed() / 1e6 - 5.0));
        since.restart();
        if (load.finishedPairs.load() >= kPairs || total.elapsed() > 60000) app.exit(0);
    });
    total.start();
    tick.start();
    QMetaObject::invokeMethod(&load, [&load] { load.start(); });
    app.exec();
    tick.stop();
    Result r;
    r.seconds = total.elapsed() / 1000.0;
    QMetaObject::invokeMethod(
        &load, [&load] { qDeleteAll(load.children()); }, Qt::BlockingQueuedConnection);
    clientThread.quit();
    clientThread.wait();
    if (load.finishedPairs.load() < kPairs)
        std::fprintf(stderr, "only %d of %d pairs finished\n", load.finishedPairs.load(), kPairs);
    std::sort(lateMs.begin(), lateMs.end());
    r.ticks = lateMs.size();
    if (!lateMs.empty()) {
        r.p50 = lateMs[lateMs.size() / 2];
        r.p99 = lateMs[std::min(lateMs.size() - 1, lateMs.size() * 99 / 100)];
        r.worst = lateMs.back();
    }
    return r;
}

void print(const char* what, const Result& r) {
    std::printf(
        "%-32s %6zu ticks in %5.2f s  lateness p50 %6.2f ms  p99 %6.2f ms  worst %6.2f ms\n", what,
        r.ticks, r.seconds, r.p50, r.p99, r.worst);
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    spdlog::set_level(spdlog::level::warn);  // the server's per-join lines
    // Anchor: the same server on the UI thread.
    tincan::signaling::SignalServer onUi(tincan::signaling::ServerConfig{});
    std::string error;
    if (!onUi.listen(QHostAddress("127.0.0.1"), 0, error)) {
        std::fprintf(stderr, "listen: %s\n", error.c_str());
        return 1;
    }
    const Result anchor = measure(app, QString("ws://127.0.0.1:%1").arg(onUi.port()));
    // The app's way: its own thread.
    tincan::ui::LocalSignalServer embedded;
    QString url;
    QObject::connect(&embedded, &tincan::ui::LocalSignalServer::ready, &app, [&](const QString& u) {
        url = u;
        app.exit(0);
    });
    embedded.start(tincan::ui::LocalSignalServer::Scope::ThisComputer);
    app.exec();
    const Result threaded = measure(app, url);
    std::printf("%d pairs x %d relayed 1 KB messages each; UI-thread 5 ms timer lateness:\n",
                kPairs, kMessages);
    print("server on the UI thread (anchor)", anchor);
    print("embedded (its own thread)", threaded);
    std::printf("p99 lateness ratio embedded/anchor: %.2f\n",
                anchor.p99 > 0 ? threaded.p99 / anchor.p99 : 0.0);
    return 0;
}
