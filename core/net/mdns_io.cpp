// mDNS queries (mdns.hpp has the codec) on sockets of their own: one per family and query.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/common/random.hpp"
#include "core/net/mdns.hpp"
#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

void Runtime::Impl::startMdns(std::string name, std::function<void(std::optional<IpAddress>)> done,
                              Duration timeout) {
    auto q = std::make_unique<MdnsQuery>();
    q->id = nextToken++;
    q->name = std::move(name);
    q->done = std::move(done);
    q->query = buildMdnsQuery(q->name, uint16_t(Random().next32()));
    uint64_t id = q->id;
    mdnsQueries.emplace(id, std::move(q));
    MdnsQuery& query = *mdnsQueries[id];
    if (query.query.empty()) {
        spdlog::debug("net: mDNS: invalid name");
        deferred.push_back([this, id] { finishMdns(id, std::nullopt); });
        return;
    }
    for (bool v6 : {false, true}) {
        int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
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
            continue;
        }
        query.sockets.push_back(ms);
        mdnsSockets[ms.token] = id;
    }
    if (sendMdns(query) == 0) {
        deferred.push_back([this, id] { finishMdns(id, std::nullopt); });
        return;
    }
    // One-shot querier: two retransmissions inside the timeout (RFC 6762 §5.1 allows it).
    Timestamp start = Clock::now();
    for (int k = 1; k <= 2; ++k) {
        addTimer(start + timeout * k / 3, [this, id] {
            auto it = mdnsQueries.find(id);
            if (it != mdnsQueries.end() && sendMdns(*it->second) == 0) finishMdns(id, std::nullopt);
        });
    }
    addTimer(start + timeout, [this, id] {
        if (mdnsQueries.count(id)) spdlog::debug("net: mDNS query timed out");
        finishMdns(id, std::nullopt);
    });
}

size_t Runtime::Impl::sendMdns(MdnsQuery& q) {
    static const Endpoint kGroupV4{IpAddress::v4(224, 0, 0, 251), kMdnsPort};
    static const Endpoint kGroupV6{*IpAddress::parse("ff02::fb"), kMdnsPort};
    size_t sent = 0;
    for (auto it = q.sockets.begin(); it != q.sockets.end();) {
        const Endpoint& group = it->v6 ? kGroupV6 : kGroupV4;
        sockaddr_storage ss;
        socklen_t len = group.toSockaddr(ss);
        ssize_t n = ::sendto(it->fd, q.query.data(), q.query.size(), MSG_DONTWAIT,
                             reinterpret_cast<const sockaddr*>(&ss), len);
        if (n >= 0 || errno == EAGAIN || errno == ENOBUFS) {
            if (n >= 0) bump(counters.bytesTx, uint64_t(n));
            ++sent;
            ++it;
            continue;
        }
        // Typically ENETUNREACH: no multicast route (a namespace with only `lo`).
        spdlog::debug("net: mDNS query to {} not sent: {}", group.toString(), errnoText(errno));
        mdnsSockets.erase(it->token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, it->fd, nullptr);
        ::close(it->fd);
        it = q.sockets.erase(it);
    }
    return sent;
}

void Runtime::Impl::onMdnsReadable(uint64_t token) {
    auto qs = mdnsSockets.find(token);
    if (qs == mdnsSockets.end()) return;
    uint64_t id = qs->second;
    auto q = mdnsQueries.find(id);
    if (q == mdnsQueries.end()) return;
    int fd = -1;
    for (const auto& s : q->second->sockets)
        if (s.token == token) fd = s.fd;
    if (fd < 0) return;
    for (int i = 0; i < kUdpBatch; ++i) {
        ssize_t n = ::recv(fd, udpRx.data(), kMaxDatagram, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR) continue;
            return;
        }
        bump(counters.bytesRx, uint64_t(n));
        auto found = parseMdnsAnswer(ByteView(udpRx.data(), size_t(n)), q->second->name);
        if (!found.empty()) {
            finishMdns(id, found.front());
            return;
        }
    }
}

void Runtime::Impl::finishMdns(uint64_t queryId, std::optional<IpAddress> result) {
    auto it = mdnsQueries.find(queryId);
    if (it == mdnsQueries.end()) return;
    std::unique_ptr<MdnsQuery> q = std::move(it->second);
    mdnsQueries.erase(it);
    for (const auto& s : q->sockets) {
        mdnsSockets.erase(s.token);
        epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
        ::close(s.fd);
    }
    if (q->done) guarded("resolveMdns callback", [&] { q->done(result); });
}

}  // namespace tincan::net
