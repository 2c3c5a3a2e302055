// The tincan-signal executable: its command line, readiness line, exit codes and signals.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTest>
#include <QWebSocket>

#include <QDir>
#include <QFile>
#include <QTcpSocket>

#include <csignal>
#include <memory>
#include <vector>

#include <sys/resource.h>

#include "tests/app/signal/wait.hpp"

namespace {

constexpr int kWaitMs = 1500;

struct Result {
    int exitCode = -1;
    QProcess::ExitStatus status = QProcess::CrashExit;
    QString out;
    QString err;
};

Result run(const QStringList& args) {
    QProcess process;
    process.start(QStringLiteral(TINCAN_SIGNAL_BINARY), args);
    Result result;
    if (!process.waitForFinished(kWaitMs)) {
        process.kill();
        process.waitForFinished();
        return result;
    }
    result.exitCode = process.exitCode();
    result.status = process.exitStatus();
    result.out = QString::fromUtf8(process.readAllStandardOutput());
    result.err = QString::fromUtf8(process.readAllStandardError());
    return result;
}

// Every stderr line is one of our log lines; nothing from Qt.
bool stderrIsClean(const QString& err) {
    static const QRegularExpression logLine(
        QStringLiteral(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (debug|info|warning|error) )"));
    for (const QString& line : err.split(QLatin1Char('\n'), Qt::SkipEmptyParts)) {
        if (!logLine.match(line).hasMatch() || line.contains(QLatin1String("qt:"))) {
            qWarning("unexpected stderr line: %s", qPrintable(line));
            return false;
        }
    }
    return true;
}

// CPU time (user + system) the process has used, in clock ticks (/proc/PID/stat fields 14, 15).
long cpuTicks(qint64 pid) {
    QFile stat(QStringLiteral("/proc/%1/stat").arg(pid));
    if (!stat.open(QIODevice::ReadOnly)) return -1;
    const QByteArray text = stat.readAll();
    const QList<QByteArray> fields = text.mid(text.lastIndexOf(')') + 2).split(' ');
    if (fields.size() < 13) return -1;
    return fields[11].toLong() + fields[12].toLong();
}

qsizetype openDescriptors(qint64 pid) {
    return QDir(QStringLiteral("/proc/%1/fd").arg(pid))
        .entryList(QDir::NoDotAndDotDot | QDir::AllEntries)
        .size();
}

}  // namespace

class TestCli : public QObject {
    Q_OBJECT

private:
    // Starts the server with `args`, waits for its readiness line and returns it parsed.
    QJsonObject startServer(QProcess& process, const QStringList& args) {
        process.start(QStringLiteral(TINCAN_SIGNAL_BINARY), args);
        if (!process.waitForStarted(kWaitMs)) return {};
        if (!waitUntil([&] { return process.canReadLine(); }, kWaitMs)) return {};
        const QByteArray line = process.readLine();
        if (!line.endsWith('\n')) return {};
        return QJsonDocument::fromJson(line).object();
    }

    void stopWith(QProcess& process, int signal) {
        ::kill(static_cast<pid_t>(process.processId()), signal);
        QVERIFY(process.waitForFinished(kWaitMs));
        QCOMPARE(process.exitStatus(), QProcess::NormalExit);
        QCOMPARE(process.exitCode(), 0);
        const QString err = QString::fromUtf8(process.readAllStandardError());
        QVERIFY2(stderrIsClean(err), qPrintable(err));
    }

private slots:
    void version() {
        const Result r = run({QStringLiteral("--version")});
        QCOMPARE(r.exitCode, 0);
        QCOMPARE(r.out, QStringLiteral("tincan-signal " TINCAN_VERSION "\n"));
        QCOMPARE(r.err, QString());
    }

    void help() {
        const Result r = run({QStringLiteral("--help")});
        QCOMPARE(r.exitCode, 0);
        QVERIFY(r.out.contains(QLatin1String("--listen")));
        QVERIFY(r.out.contains(QLatin1String("127.0.0.1:8765")));
        QVERIFY(r.out.contains(QLatin1String("--max-rooms")));
        QVERIFY(r.out.contains(QLatin1String("--log-level")));
        QCOMPARE(r.err, QString());
    }

    void badOptions_data() {
        QTest::addColumn<QStringList>("args");
        QTest::newRow("unknown option") << QStringList{QStringLiteral("--bogus")};
        QTest::newRow("positional") << QStringList{QStringLiteral("extra")};
        QTest::newRow("log level")
            << QStringList{QStringLiteral("--log-level"), QStringLiteral("loud")};
        QTest::newRow("max rooms 0")
            << QStringList{QStringLiteral("--max-rooms"), QStringLiteral("0")};
        QTest::newRow("max rooms text")
            << QStringList{QStringLiteral("--max-rooms"), QStringLiteral("lots")};
        QTest::newRow("listen no port")
            << QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1")};
        QTest::newRow("listen big port")
            << QStringList{QStringLiteral("--listen"), QStringLiteral("127.0.0.1:70000")};
        QTest::newRow("listen bare v6")
            << QStringList{QStringLiteral("--listen"), QStringLiteral("::1:8765")};
        QTest::newRow("listen missing value") << QStringList{QStringLiteral("--listen")};
    }
    void badOptions() {
        QFETCH(QStringList, args);
        const Result r = run(args);
        QCOMPARE(r.exitCode, 2);
        QCOMPARE(r.out, QString());
        QVERIFY2(r.err.endsWith(QLatin1Char('\n')) && r.err.count(QLatin1Char('\n')) == 1,
                 qPrintable(r.err));
    }

    void readinessLineAndSigterm() {
        QProcess process;
        const QJsonObject ready =
            startServer(process, {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0")});
        QCOMPARE(ready.value(QLatin1String("event")).toString(), QStringLiteral("listening"));
        QCOMPARE(ready.value(QLatin1String("address")).toString(), QStringLiteral("127.0.0.1"));
        const int port = ready.value(QLatin1String("port")).toInt();
        QVERIFY(port > 0 && port < 65536);

        QWebSocket client;
        QString first;
        connect(&client, &QWebSocket::textMessageReceived, this,
                [&](const QString& text) { first = text; });
        client.open(QUrl(QStringLiteral("ws://127.0.0.1:%1/cli").arg(port)));
        QVERIFY(waitUntil([&] { return !first.isEmpty(); }, kWaitMs));
        QCOMPARE(first, QStringLiteral(R"({"type":"welcome","peers":0})"));

        bool closed = false;
        connect(&client, &QWebSocket::disconnected, this, [&] { closed = true; });
        stopWith(process, SIGTERM);
        QVERIFY(waitUntil([&] { return closed; }, kWaitMs));
    }

    void sigintExitsCleanly() {
        QProcess process;
        const QJsonObject ready =
            startServer(process, {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                                  QStringLiteral("--log-level"), QStringLiteral("debug")});
        QVERIFY(ready.value(QLatin1String("port")).toInt() > 0);
        stopWith(process, SIGINT);
    }

    void ipv6Loopback() {
        QTcpServer probe;
        if (!probe.listen(QHostAddress::LocalHostIPv6, 0)) QSKIP("no IPv6 loopback here");
        probe.close();
        QProcess process;
        const QJsonObject ready =
            startServer(process, {QStringLiteral("--listen"), QStringLiteral("[::1]:0")});
        QCOMPARE(ready.value(QLatin1String("address")).toString(), QStringLiteral("::1"));
        QVERIFY(ready.value(QLatin1String("port")).toInt() > 0);
        stopWith(process, SIGTERM);
    }

    // Issue 8 row 2: with 64 file descriptors, 70 connections that never send a byte must not
    // keep a normal pair out, and the server must not spin while it cannot accept.
    void descriptorLimitDoesNotKeepAPairOut() {
        QProcess process;
        process.setChildProcessModifier([] {
            const struct rlimit limit = {64, 64};
            ::setrlimit(RLIMIT_NOFILE, &limit);
        });
        const QJsonObject ready = startServer(
            process, {QStringLiteral("--listen"), QStringLiteral("127.0.0.1:0"),
                      QStringLiteral("--handshake-timeout-ms"), QStringLiteral("1000")});
        const int port = ready.value(QLatin1String("port")).toInt();
        QVERIFY(port > 0);
        const qint64 pid = process.processId();

        // The flood comes from 127.0.0.2, the pair from 127.0.0.1.
        std::vector<std::unique_ptr<QTcpSocket>> silent;
        for (int i = 0; i < 70; ++i) {
            auto socket = std::make_unique<QTcpSocket>();
            QVERIFY(socket->bind(QHostAddress(QStringLiteral("127.0.0.2")), 0));
            socket->connectToHost(QHostAddress::LocalHost, static_cast<quint16>(port));
            silent.push_back(std::move(socket));
        }
        QVERIFY2(waitUntil([&] { return openDescriptors(pid) >= 64; }, kWaitMs),
                 "the server never reached its descriptor limit");

        // At the limit (the flood stays connected): no busy loop.
        const long before = cpuTicks(pid);
        QTest::qWait(500);
        const long used = cpuTicks(pid) - before;
        QVERIFY2(before >= 0 && used <= 10,  // 10 ticks = 100 ms of CPU in 500 ms
                 qPrintable(QStringLiteral("%1 ticks of CPU in 500 ms at the limit").arg(used)));

        // A pair still gets in, once the handshake timeout has freed descriptors.
        QWebSocket a, b;
        QString fromA, fromB;
        connect(&a, &QWebSocket::textMessageReceived, this, [&](const QString& t) { fromA = t; });
        connect(&b, &QWebSocket::textMessageReceived, this, [&](const QString& t) { fromB = t; });
        const QUrl url(QStringLiteral("ws://127.0.0.1:%1/limit").arg(port));
        a.open(url);
        b.open(url);
        QVERIFY2(waitUntil([&] { return !fromA.isEmpty() && !fromB.isEmpty(); }, 4000),
                 "a pair could not join while the server was at its descriptor limit");
        a.sendTextMessage(QStringLiteral(R"({"type":"offer","sdp":"v=0"})"));
        QVERIFY(waitUntil(
            [&] {
                return fromB.contains(QLatin1String("offer")) ||
                       fromA.contains(QLatin1String("offer"));
            },
            kWaitMs));
        // And every silent connection is closed by the server in the end.
        QVERIFY(waitUntil(
            [&] {
                return std::all_of(silent.begin(), silent.end(), [](const auto& s) {
                    return s->state() == QAbstractSocket::UnconnectedState;
                });
            },
            4000));
        a.close();
        b.close();
        stopWith(process, SIGTERM);
    }

    void portInUse() {
        QTcpServer blocker;
        QVERIFY(blocker.listen(QHostAddress::LocalHost, 0));
        const QString where = QStringLiteral("127.0.0.1:%1").arg(blocker.serverPort());
        const Result r = run({QStringLiteral("--listen"), where});
        QCOMPARE(r.exitCode, 1);
        QCOMPARE(r.out, QString());
        QCOMPARE(r.err, QStringLiteral("cannot listen on %1: address already in use\n").arg(where));
    }
};

QTEST_GUILESS_MAIN(TestCli)
#include "test_cli.moc"
