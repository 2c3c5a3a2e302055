#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "core/ice/server_uri.hpp"
#include "core/net/dns.hpp"
#include "core/net/runtime.hpp"
#include "core/stun/nat_discovery.hpp"

namespace tincan::cli {

namespace {

// The local address the kernel would use toward `dst` (a connected UDP socket sends nothing).
std::optional<IpAddress> sourceAddressFor(const Endpoint& dst) {
    int fd = ::socket(dst.ip.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return std::nullopt;
    sockaddr_storage ss;
    socklen_t len = dst.toSockaddr(ss);
    std::optional<IpAddress> out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        sockaddr_storage local{};
        socklen_t llen = sizeof local;
        if (::getsockname(fd, reinterpret_cast<sockaddr*>(&local), &llen) == 0)
            if (auto ep = Endpoint::fromSockaddr(reinterpret_cast<sockaddr*>(&local))) out = ep->ip;
    }
    ::close(fd);
    return out;
}

Json endpointJson(const Endpoint& ep) { return {{"address", ep.ip.toString()}, {"port", ep.port}}; }

}  // namespace

int runStun(const CommonOptions& common, const StunOptions& options) {
    auto parsed = ice::parseServerUri(options.uri);
    if (auto* e = std::get_if<ice::UriError>(&parsed)) {
        printError("bad STUN URI '" + options.uri + "': " + e->reason);
        return 2;
    }
    auto& uri = std::get<ice::ServerUri>(parsed);
    if (uri.scheme != ice::ServerUri::Scheme::Stun && uri.scheme != ice::ServerUri::Scheme::Turn) {
        printError("bad STUN URI '" + options.uri + "': only stun: (or turn: over UDP) is supported here");
        return 2;
    }
    std::string err;
    auto ips = net::resolveHost(uri.host, &err);
    if (ips.empty()) {
        printError("cannot resolve " + uri.host + ": " + err);
        return 1;
    }
    Endpoint server{ips.front(), uri.port};
    auto localIp = sourceAddressFor(server);
    if (!localIp) {
        printError("no route to " + server.toString());
        return 1;
    }

    net::Runtime runtime;
    Random random;
    stun::NatDiscovery discovery(server, options.natBehavior, random);
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    auto id = runtime.attach(discovery, [&] {
        if (discovery.done()) {
            std::lock_guard lock(m);
            done = true;
            cv.notify_all();
        }
    });
    auto bound = runtime.openUdp(id, Endpoint{*localIp, 0}, &err);
    if (!bound) {
        printError("cannot bind a UDP socket on " + localIp->toString() + ": " + err);
        return 1;
    }
    runtime.start();
    runtime.post([&] { discovery.start(runtime.now(), *bound); });
    {
        std::unique_lock lock(m);
        if (common.durationSeconds) {
            cv.wait_for(lock, std::chrono::duration<double>(*common.durationSeconds), [&] { return done; });
        } else {
            cv.wait(lock, [&] { return done; });
        }
    }
    runtime.stop();
    if (!done) {
        printError("STUN failed: no answer from " + server.toString() + " within " +
                   std::to_string(int(*common.durationSeconds)) + " s");
        return 1;
    }
    const auto& r = discovery.report();
    if (!r.mapped) {
        printError("STUN failed: " + r.error);
        return 1;
    }
    Json ev = {{"event", "stun"},
               {"server", uri.toString()},
               {"local", endpointJson(*bound)},
               {"mapped", endpointJson(*r.mapped)},
               {"rtt_ms", toMillis(r.rtt)}};
    if (r.otherAddress) ev["other_address"] = endpointJson(*r.otherAddress);
    events().print(ev);
    if (!options.natBehavior) return 0;
    if (!r.error.empty()) {
        printError("NAT behaviour discovery failed: " + r.error);
        return 1;
    }
    events().print({{"event", "nat-behavior"},
                   {"mapping", stun::toString(r.mapping)},
                   {"filtering", stun::toString(r.filtering)},
                   {"nat_type", r.natType()}});
    return 0;
}

}  // namespace tincan::cli
