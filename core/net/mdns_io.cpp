// The socket side of mDNS resolution: MdnsResolver (mdns_resolver.hpp) decides what to send
// and when, and what an answer means; this file opens one socket per family and query, sends
// its datagrams, reads the answers back into it and runs the callbacks.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

void Runtime::Impl::startMdns(std::string name, std::function<void(std::optional<IpAddress>)> done,
                              Duration timeout) {
    uint64_t id = mdns.resolve(Clock::now(), name, timeout);
    mdnsQueries[id].done = std::move(done);
    flushMdnsTransmits();
    // Results (an invalid name, no group reachable) wait: never from within resolveMdns().
    deferred.push_back([this] { driveMdns(); });
}

const Runtime::Impl::MdnsSocket* Runtime::Impl::mdnsSocket(uint64_t queryId, bool v6) {
    auto q = mdnsQueries.find(queryId);
    if (q == mdnsQueries.end()) return nullptr;
    for (const auto& s : q->second.sockets)
        if (s.v6 == v6) return &s;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return nullptr;
    int ttl = 255, loop = 1, one = 1;  // RFC 6762 §11: TTL 255
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof loop);
    } else {
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &ttl, sizeof ttl);
        setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop);
    }
    sockaddr_storage ss;
    socklen_t len = Endpoint{v6 ? IpAddress::anyV6() : IpAddress::anyV4(), 0}.toSockaddr(ss);
    MdnsSocket ms{nextToken++, fd, v6};
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = ms.token;
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 ||
        epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) != 0) {
        ::close(fd);
        return nullptr;
    }
    mdnsSockets[ms.token] = queryId;
    q->second.sockets.push_back(ms);
    return &q->second.sockets.back();
}

bool Runtime::Impl::sendMdns(const MdnsResolver::Transmit& t) {
    const MdnsSocket* s = mdnsSocket(t.query, t.to.ip.isV6());
    if (!s) return false;
    sockaddr_storage ss;
    socklen_t len = t.to.toSockaddr(ss);
    ssize_t n = ::sendto(s->fd, t.data.data(), t.data.size(), MSG_DONTWAIT,
                         reinterpret_cast<const sockaddr*>(&ss), len);
    if (n >= 0 || errno == EAGAIN || errno == ENOBUFS) {
        if (n >= 0) bump(counters.bytesTx, uint64_t(n));
        return true;
    }
    // Typically ENETUNREACH: no multicast route (a namespace with only `lo`).
    spdlog::debug("net: mDNS query to {} not sent: {}", t.to.toString(), errnoText(errno));
    auto& sockets = mdnsQueries[t.query].sockets;
    for (auto it = sockets.begin(); it != sockets.end(); ++it) {
        if (it->fd != s->fd) continue;
        mdnsSockets.erase(it->token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, it->fd, nullptr);
        ::close(it->fd);
        sockets.erase(it);
        break;
    }
    return false;
}

void Runtime::Impl::flushMdnsTransmits() {
    while (auto t = mdns.pollTransmit())
        if (!sendMdns(*t)) mdns.handleSendFailed(Clock::now(), t->query, t->to);
}

void Runtime::Impl::driveMdns() {
    flushMdnsTransmits();
    // Collected first: a callback may start a query, whose result must wait for the next drive.
    std::vector<MdnsResolver::Result> results;
    while (auto r = mdns.pollResult()) results.push_back(*r);
    for (const auto& r : results) {
        auto it = mdnsQueries.find(r.query);
        if (it == mdnsQueries.end()) continue;
        MdnsQueryIo q = std::move(it->second);
        mdnsQueries.erase(it);
        closeMdnsSockets(q);
        if (q.done) guarded("resolveMdns callback", [&] { q.done(r.address); });
    }
}

void Runtime::Impl::closeMdnsSockets(MdnsQueryIo& q) {
    for (const auto& s : q.sockets) {
        mdnsSockets.erase(s.token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
        ::close(s.fd);
    }
    q.sockets.clear();
}

void Runtime::Impl::onMdnsReadable(uint64_t token) {
    auto qs = mdnsSockets.find(token);
    if (qs == mdnsSockets.end()) return;
    uint64_t id = qs->second;
    const MdnsSocket* s = nullptr;
    if (auto q = mdnsQueries.find(id); q != mdnsQueries.end())
        for (const auto& candidate : q->second.sockets)
            if (candidate.token == token) s = &candidate;
    if (!s) return;
    int fd = s->fd;
    for (int i = 0; i < kUdpBatch && mdns.pending(id); ++i) {
        ssize_t n = ::recv(fd, udpRx.data(), kMaxDatagram, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            break;
        }
        bump(counters.bytesRx, uint64_t(n));
        mdns.handleDatagram(Clock::now(), id, ByteView(udpRx.data(), size_t(n)));
    }
    driveMdns();
}

}  // namespace tincan::net
