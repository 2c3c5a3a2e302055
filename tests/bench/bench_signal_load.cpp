// tincan-signal under load, over loopback: memory per joined socket and messages relayed per
// second, alone and while hostile traffic arrives (issue 8). Not a Google Benchmark: the server
// is the real binary in a child process, so that its VmRSS is its own.
//
//   bench_signal_load [--sockets N] [--active-rooms R] [--seconds S] [--window W] [--json FILE]
//
// Defaults: 1,000 sockets (500 rooms: a room holds two), 100 of the rooms exchanging messages
// (each first peer keeps W = 8 in flight to the second, which echoes them), 3 s per phase.
// Phases, all in one run:
//   anchor   one active room among two sockets: the relay rate of a single pair
//   joined   N sockets joined: server VmRSS over its baseline (after a warm-up pair), per socket
//   load     R active rooms among the N sockets: messages per second, and the ratio to anchor
//   hostile  the same while, every second, 20 strangers send garbage, 20 sit silent, 20 send
//            half an upgrade and 20 joined peers send a 2 MiB frame: the rate, its ratio to
//            load, and that no legitimate socket was closed or got a wrong frame
// With --benchmark_min_time (how packaging/test.sh smoke-runs every bench_*): 100 sockets,
// 10 active rooms, 0.5 s per phase.
#include <QCoreApplication>
#include <QFile>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QThread>
#include <QTimer>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "tests/app/signal/load_harness.hpp"
#include "tests/app/signal/wait.hpp"

using namespace tincan::signaling::load;

namespace {

long vmRssKiB(qint64 pid) {
    QFile status(QStringLiteral("/proc/%1/status").arg(pid));
    if (!status.open(QIODevice::ReadOnly)) return -1;
    for (const QByteArray& line : status.readAll().split('\n'))
        if (line.startsWith("VmRSS:")) return line.mid(6).trimmed().split(' ').front().toLong();
    return -1;
}

// CPU time (user + system) the process has used, in seconds.
double cpuSeconds(qint64 pid) {
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly)) return -1;
    const QByteArray text = stat.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13) return -1;
    return double(fields[11].toLong() + fields[12].toLong()) / double(::sysconf(_SC_CLK_TCK));
}

struct Rate {
    double perSecond = 0;
    std::uint64_t messages = 0;
    std::uint64_t fewestPerRoom = 0;
    std::uint64_t mostPerRoom = 0;
    double serverCpu = 0;  // share of one core the server used
};

// Runs the traffic of `clients` for `seconds`, with `during` called every 100 ms.
Rate runTraffic(LoadClients& clients, qint64 server, double seconds,
                const std::function<void()>& during = {}) {
    const std::uint64_t before = clients.delivered();
    const double cpuBefore = cpuSeconds(server);
    QElapsedTimer clock;
    clients.startTraffic();
    clock.start();
    qint64 nextTick = 0;
    waitUntil(
        [&] {
            if (during && clock.elapsed() >= nextTick) {
                during();
                nextTick += 100;
            }
            return clock.elapsed() >= qint64(seconds * 1000);
        },
        int(seconds * 1000) + 1000);
    const double elapsed = clock.nsecsElapsed() / 1e9;
    Rate rate;
    rate.messages = clients.delivered() - before;
    rate.perSecond = rate.messages / elapsed;
    rate.serverCpu = (cpuSeconds(server) - cpuBefore) / elapsed;
    clients.stopTraffic();
    waitUntil([&] { return clients.drained(); }, 10000);
    std::tie(rate.fewestPerRoom, rate.mostPerRoom) = clients.roomSpread();
    return rate;
}

}  // namespace

int main(int argc, char** argv) {
    QCoreApplication app(argc, argv);
    int sockets = 1000, activeRooms = 100, window = 8;
    double seconds = 3;
    QString jsonPath;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        auto value = [&]() -> const char* {
            if (i + 1 >= argc) {
                std::fprintf(stderr, "%s needs a value\n", arg.c_str());
                std::exit(2);
            }
            return argv[++i];
        };
        if (arg == "--sockets")
            sockets = std::atoi(value());
        else if (arg == "--active-rooms")
            activeRooms = std::atoi(value());
        else if (arg == "--seconds")
            seconds = std::atof(value());
        else if (arg == "--window")
            window = std::atoi(value());
        else if (arg == "--json")
            jsonPath = QString::fromLocal8Bit(value());
        else if (arg.rfind("--benchmark_min_time", 0) == 0)
            sockets = 100, activeRooms = 10, seconds = 0.5;
        else {
            std::fprintf(stderr, "unknown argument %s\n", arg.c_str());
            return 2;
        }
    }
    if (sockets < 2 || activeRooms < 1 || activeRooms * 2 > sockets || seconds <= 0 || window < 1) {
        std::fprintf(stderr, "bad arguments\n");
        return 2;
    }
    struct rlimit limit = {};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);  // the child inherits it too

    QProcess server;
    server.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    server.start(
        QStringLiteral(TINCAN_SIGNAL_BINARY),
        {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"), QStringLiteral("--log-level"),
         QStringLiteral("error"), QStringLiteral("--max-per-address"), QStringLiteral("100000"),
         QStringLiteral("--handshake-timeout-ms"), QStringLiteral("1000")});
    if (!server.waitForStarted(5000) || !waitUntil([&] { return server.canReadLine(); }, 5000)) {
        std::fprintf(stderr, "tincan-signal did not start\n");
        return 1;
    }
    const int port =
        QJsonDocument::fromJson(server.readLine()).object().value(QLatin1String("port")).toInt();
    const qint64 pid = server.processId();
    QUrl url(QStringLiteral("ws://127.0.0.1:%1").arg(port));
    bool ok = true;
    auto fail = [&](const char* what) {
        std::fprintf(stderr, "bench_signal_load: %s\n", what);
        ok = false;
    };

    // Anchor: one pair alone (also the warm-up for the memory baseline).
    Rate anchor;
    {
        LoadClients pair(url, 2, 1, window);
        pair.open();
        if (!waitUntil([&] { return pair.joined(); }, 5000)) fail("the anchor pair did not join");
        anchor = runTraffic(pair, pid, seconds);
        if (pair.errors() || pair.unexpectedCloses()) fail("the anchor pair saw errors");
        pair.closeAll();
    }
    QTimer::singleShot(200, [] {});
    waitUntil([] { return false; }, 300);
    const long baselineKiB = vmRssKiB(pid);

    LoadClients clients(url, sockets, activeRooms, window);
    QElapsedTimer joinClock;
    joinClock.start();
    clients.open();
    if (!waitUntil([&] { return clients.joined(); }, 60000)) fail("not every socket joined");
    const double joinSeconds = joinClock.nsecsElapsed() / 1e9;
    waitUntil([] { return false; }, 300);
    const long joinedKiB = vmRssKiB(pid);
    const double perSocketKiB = double(joinedKiB - baselineKiB) / sockets;

    const Rate load = runTraffic(clients, pid, seconds);
    // The attackers run on a thread of their own: in the clients' event loop their 2 MiB writes
    // would slow the legitimate clients down, and the figure would be the harness's, not the
    // server's.
    QThread attackerThread;
    attackerThread.start();
    QObject attackerContext;
    attackerContext.moveToThread(&attackerThread);
    std::vector<std::unique_ptr<Hostile>> attackers;  // touched on attackerThread only
    auto onAttackers = [&](auto work) {
        QMetaObject::invokeMethod(&attackerContext, work, Qt::BlockingQueuedConnection);
    };
    int tick = 0;
    const Rate hostile = runTraffic(clients, pid, seconds, [&] {
        if (tick++ % 10 == 0)
            QMetaObject::invokeMethod(&attackerContext, [&] {
                attackers.push_back(
                    std::make_unique<Hostile>(QHostAddress::LocalHost, quint16(port), 20));
            });
    });
    int hostileRaw = 0, hostileRawClosed = 0;
    waitUntil(
        [&] {
            onAttackers([&] {
                hostileRaw = hostileRawClosed = 0;
                for (const auto& a : attackers) {
                    hostileRaw += a->rawCount();
                    hostileRawClosed += a->closedRaw();
                }
            });
            return hostileRaw == hostileRawClosed;
        },
        5000);
    onAttackers([&] { attackers.clear(); });
    attackerThread.quit();
    attackerThread.wait();
    if (clients.errors()) fail("a legitimate socket got a wrong frame");
    if (clients.unexpectedCloses()) fail("a legitimate socket was closed");
    if (hostileRaw != hostileRawClosed) fail("a hostile connection was left open");

    std::printf(
        "tincan-signal load, loopback, one process of clients (%d sockets, %d rooms, %d active, "
        "window %d, %.1f s per phase)\n",
        sockets, sockets / 2, activeRooms, window, seconds);
    std::printf("  join:     %d sockets welcomed in %.2f s\n", sockets, joinSeconds);
    std::printf("  memory:   server VmRSS %ld KiB -> %ld KiB: %.1f KiB per joined socket\n",
                baselineKiB, joinedKiB, perSocketKiB);
    std::printf("  anchor:   1 active room:   %9.0f messages/s, server at %.0f%% of a core\n",
                anchor.perSecond, anchor.serverCpu * 100);
    std::printf(
        "  load:     %d active rooms: %9.0f messages/s (%.2f x anchor; per room %llu..%llu), "
        "server at %.0f%% of a core\n",
        activeRooms, load.perSecond, load.perSecond / anchor.perSecond,
        static_cast<unsigned long long>(load.fewestPerRoom),
        static_cast<unsigned long long>(load.mostPerRoom), load.serverCpu * 100);
    std::printf(
        "  hostile:  %d active rooms: %9.0f messages/s (%.2f x load) while %d hostile connections "
        "came and were closed; server at %.0f%% of a core\n",
        activeRooms, hostile.perSecond, hostile.perSecond / load.perSecond, hostileRawClosed,
        hostile.serverCpu * 100);
    std::printf("  errors: %llu wrong frames, %llu legitimate sockets closed\n",
                static_cast<unsigned long long>(clients.errors()),
                static_cast<unsigned long long>(clients.unexpectedCloses()));
    if (!jsonPath.isEmpty()) {
        QJsonObject o{{"sockets", sockets},
                      {"active_rooms", activeRooms},
                      {"window", window},
                      {"seconds", seconds},
                      {"join_seconds", joinSeconds},
                      {"server_rss_baseline_kib", double(baselineKiB)},
                      {"server_rss_joined_kib", double(joinedKiB)},
                      {"kib_per_socket", perSocketKiB},
                      {"anchor_messages_per_second", anchor.perSecond},
                      {"load_messages_per_second", load.perSecond},
                      {"hostile_messages_per_second", hostile.perSecond},
                      {"hostile_connections_closed", hostileRawClosed},
                      {"errors", double(clients.errors())},
                      {"unexpected_closes", double(clients.unexpectedCloses())}};
        QFile out(jsonPath);
        if (out.open(QIODevice::WriteOnly)) out.write(QJsonDocument(o).toJson());
    }
    clients.closeAll();
    server.terminate();
    server.waitForFinished(3000);
    return ok ? 0 : 1;
}
