// probeNat(): one STUN binding (and the RFC 5780 tests) from a socket of our own, on a private
// runtime: a blocking call for tools and settings dialogs.
#include "tincan/nat.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <mutex>

#include "core/ice/server_uri.hpp"
#include "core/net/dns.hpp"
#include "core/net/runtime.hpp"
#include "core/stun/nat_discovery.hpp"

namespace tincan {

const char* toString(NatMapping m) {
    return stun::toString(stun::NatMapping(uint8_t(m)));
}
const char* toString(NatFiltering f) {
    return stun::toString(stun::NatFiltering(uint8_t(f)));
}

static_assert(uint8_t(stun::NatMapping::AddressAndPortDependent) ==
              uint8_t(NatMapping::AddressAndPortDependent));
static_assert(uint8_t(stun::NatFiltering::AddressAndPortDependent) ==
              uint8_t(NatFiltering::AddressAndPortDependent));

std::string NatProbeResult::explanation() const {
    if (mapping == NatMapping::None)
        return "No NAT: this host's address is public; direct calls work when the other side can "
               "reach it.";
    if (mapping == NatMapping::AddressDependent || mapping == NatMapping::AddressAndPortDependent)
        return "Symmetric NAT: it gives a new public port for every destination, so the port a "
               "STUN server sees is "
               "not the one a peer would reach. Direct paths work only if the other side's NAT is "
               "open (full cone); "
               "otherwise a TURN relay is needed.";
    if (mapping == NatMapping::EndpointIndependent) {
        if (filtering == NatFiltering::EndpointIndependent)
            return "Full-cone NAT: one public port for all destinations, open to anyone: direct "
                   "calls work.";
        return "Cone NAT (" + natType +
               "): one public port for all destinations; it lets a peer in once we have "
               "sent to it, which is what ICE's hole punching does: direct calls work with most "
               "peers.";
    }
    return "The NAT's behaviour could not be determined (the STUN server does not support RFC 5780 "
           "tests).";
}

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

HostPort hostPort(const Endpoint& ep) {
    return {ep.ip.toString(), ep.port};
}

}  // namespace

Result<NatProbeResult> probeNat(const std::string& url, const NatProbeOptions& options) {
    auto parsed = ice::parseServerUri(url);
    if (!parsed) return Error{"bad STUN URI '" + url + "': " + parsed.error().message};
    auto& uri = *parsed;
    if (uri.scheme != ice::ServerUri::Scheme::Stun && uri.scheme != ice::ServerUri::Scheme::Turn)
        return Error{"bad STUN URI '" + url +
                     "': only stun: (or turn: over UDP) is supported here"};
    auto ips = net::resolveHost(uri.host);
    if (!ips) return Error{"cannot resolve " + uri.host + ": " + ips.message()};
    Endpoint server{ips->front(), uri.port};
    auto localIp = sourceAddressFor(server);
    if (!localIp) return Error{"no route to " + server.toString()};

    net::Runtime runtime;
    Random random;
    stun::NatDiscovery discovery(server, options.behaviorTests, random);
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
    auto bound = runtime.openUdp(id, Endpoint{*localIp, 0});
    if (!bound)
        return Error{"cannot bind a UDP socket on " + localIp->toString() + ": " + bound.message()};
    runtime.start();
    runtime.post([&] { discovery.start(runtime.now(), *bound); });
    {
        std::unique_lock lock(m);
        if (options.timeoutSeconds > 0)
            cv.wait_for(lock, std::chrono::duration<double>(options.timeoutSeconds),
                        [&] { return done; });
        else
            cv.wait(lock, [&] { return done; });
    }
    runtime.stop();
    if (!done)
        return Error{"STUN failed: no answer from " + server.toString() + " within " +
                     std::to_string(int(options.timeoutSeconds)) + " s"};
    const auto& r = discovery.report();
    if (!r.mapped) return Error{"STUN failed: " + r.error};
    NatProbeResult out;
    out.serverUrl = uri.toString();
    out.local = hostPort(*bound);
    out.mapped = hostPort(*r.mapped);
    if (r.otherAddress) out.otherAddress = hostPort(*r.otherAddress);
    out.rttMs = std::chrono::duration<double, std::milli>(r.rtt).count();
    if (options.behaviorTests) {
        out.mapping = NatMapping(uint8_t(r.mapping));
        out.filtering = NatFiltering(uint8_t(r.filtering));
        out.natType = r.natType();
        out.behaviorError = r.error;
    }
    return out;
}

}  // namespace tincan
