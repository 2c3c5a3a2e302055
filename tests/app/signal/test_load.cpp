// tincan-signal under load, in process over loopback (issue 8): 1,000 joined sockets in 500
// rooms, 100 of which exchange messages, while strangers send garbage instead of an upgrade,
// peers send oversize frames, and connections sit half-open. Every relayed message must reach
// the right peer, in order; no legitimate socket may be closed; idle rooms hear nothing; every
// hostile connection must be closed. Bounded: a fixed number of messages, a few seconds. The
// figures (memory per socket, messages per second) are the benchmark's, tests/bench/
// bench_signal_load.cpp, never asserted here.
#include <QTest>

#include <sys/resource.h>

#include "signal/server.hpp"
#include "tests/app/signal/load_harness.hpp"
#include "tests/app/signal/wait.hpp"

using namespace tincan::signaling;

class TestLoad : public QObject {
    Q_OBJECT

private slots:
    void initTestCase() {
        // Client and server ends of 1,000+ connections live in this one process.
        struct rlimit limit = {};
        QVERIFY(::getrlimit(RLIMIT_NOFILE, &limit) == 0);
        limit.rlim_cur = limit.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &limit);
        if (limit.rlim_cur < 2400) QSKIP("needs 2,400 file descriptors (ulimit -Hn is lower)");
    }

    void thousandSocketsAndHostileTraffic() {
        ServerConfig config;
        config.handshakeTimeoutMs = 1000;
        config.maxConnectionsPerAddress = 5000;  // every client here is 127.0.0.1
        SignalServer server(config);
        std::string error;
        QVERIFY2(server.listen(QHostAddress::LocalHost, 0, error), error.c_str());
        const QUrl url(QStringLiteral("ws://127.0.0.1:%1").arg(server.port()));

        load::LoadClients clients(url, 1000, 100, 4);
        clients.open();
        QVERIFY2(waitUntil([&] { return clients.joined(); }, 30000),
                 qPrintable(QStringLiteral("%1 of 1000 welcomed").arg(clients.welcomed())));
        QCOMPARE(server.hub().peerCount(), std::size_t{1000});
        QCOMPARE(server.hub().roomCount(), std::size_t{500});

        clients.startTraffic();
        const std::uint64_t before = clients.delivered();
        load::Hostile hostile(QHostAddress::LocalHost, server.port(), 20);
        // Until every hostile connection is gone (the half-open ones after the 1 s timeout),
        // with the active rooms exchanging all the while.
        QVERIFY2(waitUntil([&] { return hostile.closedRaw() == hostile.rawCount(); }, 15000),
                 qPrintable(QStringLiteral("%1 of %2 hostile connections closed")
                                .arg(hostile.closedRaw())
                                .arg(hostile.rawCount())));
        const std::uint64_t during = clients.delivered() - before;
        clients.stopTraffic();
        QVERIFY(waitUntil([&] { return clients.drained(); }, 10000));

        QCOMPARE(clients.errors(), std::uint64_t{0});
        QCOMPARE(clients.unexpectedCloses(), std::uint64_t{0});
        QVERIFY(during > 0);
        const auto [fewest, most] = clients.roomSpread();
        QVERIFY2(fewest > 0, "an active room delivered nothing while the hostile traffic ran");
        (void)most;
        QVERIFY(server.stats().handshakeTimeouts >= 40);        // the silent and the slowloris ones
        QCOMPARE(server.hub().peerCount(), std::size_t{1000});  // the oversize peers have left
        clients.closeAll();
        QVERIFY(waitUntil([&] { return server.connectionCount() == 0; }, 10000));
        QCOMPARE(server.hub().roomCount(), std::size_t{0});
    }
};

QTEST_GUILESS_MAIN(TestLoad)
#include "test_load.moc"
