// UDP sockets: binding, batched reads (recvmmsg) and sends, one by one or as UDP GSO batches.
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <atomic>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

namespace {

constexpr int kUdpBatchesPerWake = 8;  // then let other sockets have a turn (level-triggered)
// UDP GSO (UDP_SEGMENT, Linux 4.18): consecutive datagrams of one drain from one socket to one
// remote, all of one size but the last, leave in one sendmsg() and cross the stack as one
// buffer (a bulk data-channel sender's SCTP packets: up to +40 % throughput on loopback). On
// the wire nothing changes. At most this many per call (the kernel's UDP_MAX_SEGMENTS) and
// 65000 bytes.
constexpr size_t kGsoMaxSegments = 64;
constexpr size_t kGsoMaxBytes = 65000;
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

void setSocketBuffer(int fd, int forceOpt, int opt, int bytes) {
    // The *FORCE variants ignore net.core.[rw]mem_max but need CAP_NET_ADMIN.
    if (setsockopt(fd, SOL_SOCKET, forceOpt, &bytes, sizeof bytes) == 0) return;
    if (setsockopt(fd, SOL_SOCKET, opt, &bytes, sizeof bytes) != 0) {
        spdlog::debug("net: setsockopt buffer size: {}", errnoText(errno));
        return;
    }
    // Without the capability the kernel caps the size at net.core.rmem_max / wmem_max (Linux
    // reports twice the usable size). Say so once: on a long, fast path a small receive buffer
    // drops what a busy receiver has not read yet (docs/BENCHMARKS.md, WAN).
    int granted = 0;
    socklen_t len = sizeof granted;
    static std::atomic<bool> said{false};
    if (opt == SO_RCVBUF && getsockopt(fd, SOL_SOCKET, opt, &granted, &len) == 0 &&
        granted / 2 < bytes && !said.exchange(true))
        spdlog::info(
            "net: UDP receive buffers are limited to {} KiB by net.core.rmem_max (asked {} KiB); "
            "for fast transfers over long paths raise it: sysctl -w net.core.rmem_max={}",
            granted / 2 / 1024, bytes / 1024, bytes);
}

}  // namespace

uint32_t detail::scopeIdOf(const IpAddress& ip) {
    if (!ip.isV6() || !ip.isLinkLocal()) return 0;
    ifaddrs* list = nullptr;
    if (getifaddrs(&list) != 0) return 0;
    uint32_t index = 0;
    for (ifaddrs* ifa = list; ifa && !index; ifa = ifa->ifa_next) {
        if (!ifa->ifa_addr || ifa->ifa_addr->sa_family != AF_INET6) continue;
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
        if (std::memcmp(&in6->sin6_addr, ip.bytes().data(), 16) == 0)
            index = in6->sin6_scope_id ? in6->sin6_scope_id : if_nametoindex(ifa->ifa_name);
    }
    freeifaddrs(list);
    return index;
}

socklen_t detail::toSockaddr(const Endpoint& ep, uint32_t scopeId, sockaddr_storage& ss) {
    socklen_t len = ep.toSockaddr(ss);
    if (ep.ip.isV6() && ep.ip.isLinkLocal())
        reinterpret_cast<sockaddr_in6*>(&ss)->sin6_scope_id = scopeId;
    return len;
}

Result<Runtime::Impl::UdpSocket> Runtime::Impl::bindUdpSocket(MachineId owner,
                                                              const Endpoint& bind) {
    auto fail = [&](std::string why) -> Result<UdpSocket> {
        spdlog::debug("net: openUdp {}: {}", bind.toString(), why);
        return Error{std::move(why)};
    };
    if (bind.ip.isMulticast() || bind.ip.isV4Mapped()) return fail("cannot bind to that address");
    uint32_t scopeId = 0;
    if (bind.ip.isV6() && bind.ip.isLinkLocal()) {
        scopeId = scopeIdOf(bind.ip);
        if (!scopeId) return fail("no interface holds " + bind.ip.toString());
    }
    int fd =
        ::socket(bind.ip.isV4() ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket: " + errnoText(errno));
    int bytes = config.udpSocketBufferBytes;
    if (bytes > 0) {
        setSocketBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, bytes);
        setSocketBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, bytes);
    }
    if (bind.ip.isV6()) {
        int one = 1;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(bind, scopeId, ss);
    if (::bind(fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0) {
        int err = errno;
        ::close(fd);
        return fail("bind: " + errnoText(err));
    }
    sockaddr_storage actual{};
    socklen_t actualLen = sizeof actual;
    std::optional<Endpoint> bound;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&actual), &actualLen) == 0)
        bound = Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&actual));
    if (!bound) {
        int err = errno;
        ::close(fd);
        return fail("getsockname: " + errnoText(err));
    }
    return UdpSocket{fd, *bound, scopeId, owner};
}

void Runtime::Impl::registerUdpSocket(const UdpSocket& sock) {
    auto m = findMachine(sock.owner);
    uint64_t token = nextToken++;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = token;
    if (!m || epoll_ctl(epfd, EPOLL_CTL_ADD, sock.fd, &ev) != 0) {
        spdlog::debug("net: UDP socket {} not registered (machine gone or epoll error)",
                      sock.bound.toString());
        ::close(sock.fd);
        return;
    }
    udp.emplace(token, sock);
    m->udpByLocal[sock.bound] = token;
    spdlog::debug("net: machine {}: UDP socket {} open", sock.owner, sock.bound.toString());
}

// Sending: one datagram at a time, or a drain's run of equal-sized ones as one GSO batch.

bool Runtime::Impl::batchable(const Packet& p) const {
    if (udpBatch.empty()) return true;
    const Packet& first = udpBatch.front();
    const Packet& last = udpBatch.back();
    return udpBatch.size() < kGsoMaxSegments && udpBatchBytes + p.data.size() <= kGsoMaxBytes &&
           p.local == first.local && p.remote == first.remote && !first.data.empty() &&
           last.data.size() == first.data.size() && p.data.size() <= first.data.size() &&
           !p.data.empty();
}

void Runtime::Impl::flushUdpBatch(Machine& m) {
    if (udpBatch.empty()) return;
    std::vector<Packet> batch = std::move(udpBatch);
    udpBatch.clear();
    udpBatchBytes = 0;
    if (batch.size() == 1) {
        sendUdp(m, batch.front());
        return;
    }
    const Packet& first = batch.front();
    const UdpSocket* s = findUdpSocket(m, first.local);
    if (!s || first.remote.ip.family() != s->bound.ip.family() || first.remote.port == 0) {
        for (const auto& p : batch) sendUdp(m, p);  // dropped and counted one by one
        return;
    }
    if (gso < 0) {
        // A kernel without UDP GSO (before 4.18) would ignore the option and send the whole
        // buffer as one datagram: ask first.
        int value = 0;
        socklen_t vlen = sizeof value;
        gso = ::getsockopt(s->fd, SOL_UDP, UDP_SEGMENT, &value, &vlen) == 0 ? 1 : 0;
        spdlog::debug("net: UDP GSO {}", gso ? "available" : "not available");
    }
    if (gso == 0) {
        for (const auto& p : batch) sendUdp(m, p);
        return;
    }
    gsoBuffer.clear();
    for (const auto& p : batch) gsoBuffer.insert(gsoBuffer.end(), p.data.begin(), p.data.end());
    sockaddr_storage ss;
    socklen_t len = toSockaddr(first.remote, s->scopeId, ss);
    iovec iov{gsoBuffer.data(), gsoBuffer.size()};
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(uint16_t))] = {};
    msghdr msg{};
    msg.msg_name = &ss;
    msg.msg_namelen = len;
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    uint16_t segment = uint16_t(first.data.size());
    std::memcpy(CMSG_DATA(cm), &segment, sizeof segment);
    ssize_t n;
    do {
        n = ::sendmsg(s->fd, &msg, MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n >= 0) {
        bump(counters.udpTx, batch.size());
        bump(counters.bytesTx, uint64_t(n));
        return;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
        bump(counters.udpTxDropped, batch.size());  // UDP semantics, as in sendUdp()
        return;
    }
    int err = errno;
    if (err == EIO || err == EOPNOTSUPP || err == ENOPROTOOPT) {
        // The device cannot segment (no checksum offload): one by one from now on.
        spdlog::debug("net: UDP GSO refused ({}); sending datagrams one by one", errnoText(err));
        gso = 0;
    }
    // Otherwise (EINVAL/EMSGSIZE: segments larger than the path MTU, ...) just this batch.
    for (const auto& p : batch) sendUdp(m, p);
}

const Runtime::Impl::UdpSocket* Runtime::Impl::findUdpSocket(Machine& m, const Endpoint& local) {
    uint64_t token = 0;
    if (auto it = m.udpByLocal.find(local); it != m.udpByLocal.end()) {
        token = it->second;
    } else {
        for (const auto& [bound, t] : m.udpByLocal) {
            if (bound.port == local.port && bound.ip.isUnspecified() &&
                bound.ip.family() == local.ip.family()) {
                token = t;
                break;
            }
        }
    }
    auto sock = udp.find(token);
    return sock == udp.end() ? nullptr : &sock->second;
}

void Runtime::Impl::sendUdp(Machine& m, const Packet& p) {
    const UdpSocket* found = findUdpSocket(m, p.local);
    if (!found) {
        bump(counters.droppedNoSocket);
        spdlog::debug("net: machine {}: no UDP socket at {}; datagram to {} dropped", m.id,
                      p.local.toString(), p.remote.toString());
        return;
    }
    const UdpSocket& s = *found;
    if (p.remote.ip.family() != s.bound.ip.family() || p.remote.port == 0) {
        bump(counters.udpTxDropped);
        spdlog::debug("net: cannot send from {} to {}", s.bound.toString(), p.remote.toString());
        return;
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(p.remote, s.scopeId, ss);
    ssize_t n;
    do {
        n = ::sendto(s.fd, p.data.data(), p.data.size(), MSG_DONTWAIT,
                     reinterpret_cast<const sockaddr*>(&ss), len);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        // UDP semantics: a full buffer or an unreachable network loses the datagram.
        bump(counters.udpTxDropped);
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            spdlog::debug("net: sendto {} -> {}: {}", s.bound.toString(), p.remote.toString(),
                          errnoText(errno));
        return;
    }
    bump(counters.udpTx);
    bump(counters.bytesTx, uint64_t(n));
}

void Runtime::Impl::onUdpReadable(uint64_t token) {
    for (int batch = 0; batch < kUdpBatchesPerWake; ++batch) {
        auto it = udp.find(token);
        if (it == udp.end()) return;
        // Copies: delivering may open or close sockets and rehash `udp`.
        const int fd = it->second.fd;
        const Endpoint bound = it->second.bound;
        const MachineId owner = it->second.owner;
        for (int i = 0; i < kUdpBatch; ++i) {
            iovs[i] = {udpRx.data() + size_t(i) * kMaxDatagram, kMaxDatagram};
            msgs[i].msg_hdr = {};
            msgs[i].msg_hdr.msg_iov = &iovs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
            msgs[i].msg_hdr.msg_name = &addrs[i];
            msgs[i].msg_hdr.msg_namelen = sizeof addrs[i];
            msgs[i].msg_len = 0;
        }
        int n = ::recvmmsg(fd, msgs, kUdpBatch, MSG_DONTWAIT, nullptr);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                spdlog::debug("net: recvmmsg on {}: {}", bound.toString(), errnoText(errno));
            return;
        }
        for (int i = 0; i < n; ++i) {
            if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
                spdlog::debug("net: oversized datagram on {} dropped", bound.toString());
                continue;
            }
            auto from = Endpoint::fromSockaddr(reinterpret_cast<const sockaddr*>(&addrs[i]));
            if (!from) continue;
            if (!udp.count(token)) return;  // closed while delivering the batch
            auto m = findMachine(owner);
            if (!m) return;
            size_t len = msgs[i].msg_len;
            bump(counters.udpRx);
            bump(counters.bytesRx, len);
            PacketView view{TransportProtocol::Udp, bound, *from,
                            ByteView(udpRx.data() + size_t(i) * kMaxDatagram, len)};
            guarded("handlePacket", [&] { m->machine->handlePacket(Clock::now(), view); });
            afterInput(m);
        }
        if (n < kUdpBatch) return;
    }
}

void Runtime::Impl::closeUdpSocket(uint64_t token) {
    auto it = udp.find(token);
    if (it == udp.end()) return;
    if (auto m = machines.find(it->second.owner); m != machines.end())
        m->second->udpByLocal.erase(it->second.bound);
    epoll_ctl(epfd, EPOLL_CTL_DEL, it->second.fd, nullptr);
    ::close(it->second.fd);
    spdlog::debug("net: UDP socket {} closed", it->second.bound.toString());
    udp.erase(it);
}

}  // namespace tincan::net
