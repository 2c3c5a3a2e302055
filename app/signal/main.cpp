// tincan-signal: the signaling server of SIGNALING.md (v1). See hub.hpp for the protocol and
// server.hpp for the sockets; this file is the command line, logging and signals.
#include <QCoreApplication>
#include <QHostAddress>
#include <QHostInfo>
#include <QSocketNotifier>
#include <QSslSocket>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fmt/format.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "signal/server.hpp"

#ifndef TINCAN_VERSION
#error "TINCAN_VERSION must be defined by the build"
#endif

namespace {

using tincan::signaling::ServerConfig;
using tincan::signaling::SignalServer;

constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

int signalPipe[2] = {-1, -1};

void onTerminationSignal(int) {
    const char byte = 1;
    [[maybe_unused]] const auto written = ::write(signalPipe[1], &byte, 1);
}

bool installSignalHandlers() {
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signalPipe) != 0) return false;
    struct sigaction action = {};
    action.sa_handler = onTerminationSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return ::sigaction(SIGINT, &action, nullptr) == 0 &&
           ::sigaction(SIGTERM, &action, nullptr) == 0;
}

// Qt's own messages go through the same log, one line each, instead of straight to stderr.
void qtMessageToLog(QtMsgType type, const QMessageLogContext&, const QString& message) {
    const std::string text = message.toStdString();
    switch (type) {
        case QtDebugMsg:
            spdlog::debug("qt: {}", text);
            break;
        case QtInfoMsg:
            spdlog::info("qt: {}", text);
            break;
        case QtWarningMsg:
            spdlog::warn("qt: {}", text);
            break;
        case QtCriticalMsg:
            spdlog::error("qt: {}", text);
            break;
        case QtFatalMsg:
            spdlog::critical("qt: {}", text);
            break;
    }
}

// Every connection costs a descriptor: take all the process may have (the soft limit is often
// 1024 while the hard one is far higher). Returns the limit in force.
rlim_t raiseDescriptorLimit() {
    struct rlimit limit = {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        struct rlimit raised = limit;
        raised.rlim_cur = limit.rlim_max;
        if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return raised.rlim_cur;
    }
    return limit.rlim_cur;
}

std::optional<QHostAddress> resolveHost(const QString& host) {
    QHostAddress address;
    if (address.setAddress(host)) return address;
    const QHostInfo info = QHostInfo::fromName(host);  // blocking; only at startup
    const QList<QHostAddress> addresses = info.addresses();
    if (addresses.isEmpty()) return std::nullopt;
    for (const QHostAddress& candidate : addresses)
        if (candidate.protocol() == QAbstractSocket::IPv4Protocol) return candidate;
    return addresses.front();
}

std::string formatEndpoint(const QString& host, std::uint16_t port) {
    const std::string text = host.toStdString();
    if (host.contains(QLatin1Char(':'))) return fmt::format("[{}]:{}", text, port);
    return fmt::format("{}:{}", text, port);
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App cli{
        "The Tincan signaling server: pairs two WebSocket peers per room (ws://HOST:PORT/"
        "ROOM) and relays their SDP and ICE messages.",
        "tincan-signal"};
    std::string listen = "127.0.0.1:8765";
    std::string logLevel = "info";
    ServerConfig config;
    std::size_t& maxRooms = config.hub.maxRooms;
    cli.add_option("--listen", listen,
                   "Address to listen on (default 127.0.0.1:8765), HOST:PORT or [IPv6]:PORT; "
                   "port 0 picks a free port, printed in the readiness line on stdout")
        ->type_name("HOST:PORT");
    cli.add_option("--log-level", logLevel, "stderr verbosity (default info)")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->type_name("LEVEL");
    cli.add_option("--max-rooms", maxRooms,
                   "Most rooms open at once (default 10000); further rooms are refused")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->type_name("N");
    cli.add_option("--handshake-timeout-ms", config.handshakeTimeoutMs,
                   "Connections that have not completed the WebSocket upgrade this long after "
                   "connecting are closed (default 5000)")
        ->check(CLI::Range(100, 600000))
        ->type_name("MS");
    cli.add_option("--max-per-address", config.maxConnectionsPerAddress,
                   "Most connections open at once from one IP address (default 64); more are "
                   "closed at once")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
        ->type_name("N");
    cli.set_version_flag("--version", std::string("tincan-signal ") + TINCAN_VERSION,
                         "Print the version and exit");
    try {
        cli.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return cli.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return cli.exit(e);
    } catch (const CLI::ParseError& e) {
        std::cerr << e.what() << " (see tincan-signal --help)\n";
        return kExitUsage;
    }

    std::string listenError;
    const auto endpoint = tincan::signaling::parseListenAddress(listen, listenError);
    if (!endpoint) {
        std::cerr << "--listen " << listen << ": " << listenError << "\n";
        return kExitUsage;
    }

    auto logger = spdlog::stderr_color_mt("tincan-signal");
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %v");
    logger->set_level(spdlog::level::from_str(logLevel));
    spdlog::set_default_logger(logger);
    qInstallMessageHandler(qtMessageToLog);

    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("tincan-signal"));
    QCoreApplication::setApplicationVersion(QStringLiteral(TINCAN_VERSION));

    const std::string shownEndpoint = formatEndpoint(endpoint->host, endpoint->port);
    const std::optional<QHostAddress> address = resolveHost(endpoint->host);
    if (!address) {
        std::cerr << "cannot listen on " << shownEndpoint << ": cannot resolve "
                  << endpoint->host.toStdString() << "\n";
        return kExitFailure;
    }
    if (!installSignalHandlers()) {
        std::cerr << "cannot install signal handlers\n";
        return kExitFailure;
    }

    const rlim_t descriptors = raiseDescriptorLimit();
    // Qt loads its TLS backend plugin at the first WebSocket upgrade; load it now, while
    // descriptors are to be had, not when a flood has taken them all.
    (void)QSslSocket::supportsSsl();
    SignalServer server(config);
    std::string error;
    if (!server.listen(*address, endpoint->port, error)) {
        std::cerr << "cannot listen on " << shownEndpoint << ": " << error << "\n";
        return kExitFailure;
    }

    QSocketNotifier signalNotifier(signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&signalNotifier, &QSocketNotifier::activated, &app, [&] {
        char byte = 0;
        [[maybe_unused]] const auto got = ::read(signalPipe[0], &byte, 1);
        signalNotifier.setEnabled(false);
        spdlog::info("shutting down");
        server.shutdown([] { QCoreApplication::quit(); });
    });

    // The readiness line scripts wait for; with port 0 it carries the port actually bound.
    std::printf(R"({"event":"listening","address":"%s","port":%u})"
                "\n",
                server.address().toString().toStdString().c_str(),
                static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    spdlog::info(
        "listening on {} (at most {} rooms, {} connections per address, {} file descriptors)",
        formatEndpoint(server.address().toString(), server.port()), maxRooms,
        config.maxConnectionsPerAddress, static_cast<unsigned long long>(descriptors));

    return QCoreApplication::exec() == 0 ? 0 : kExitFailure;
}
