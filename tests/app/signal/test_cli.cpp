// The tincan-signal executable: its command line, readiness line, exit codes and signals.
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRegularExpression>
#include <QTcpServer>
#include <QTest>
#include <QWebSocket>

#include <csignal>

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
