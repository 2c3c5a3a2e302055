// TCP streams: a non-blocking connect, buffered writes, reads handed to the machine, and a
// close that lingers until pending output is out. TLS (tls_stream.cpp) sits on top.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

namespace {

constexpr int kStreamReadsPerWake = 16;
constexpr size_t kCompactThreshold = 1024 * 1024;

}  // namespace

Runtime::Impl::Stream::~Stream() {
    freeTls(*this);
    if (fd >= 0) ::close(fd);
}

void Runtime::Impl::notifyStream(MachineId owner, TransportProtocol protocol,
                                 const IpAddress& localIp, const Endpoint& remote,
                                 StreamState state) {
    if (state == StreamState::Failed) bump(counters.streamFailures);
    if (state == StreamState::Connected) bump(counters.streamConnects);
    auto deliver = [this, owner, protocol, localIp, remote, state] {
        auto m = findMachine(owner);
        if (!m) return;
        guarded("handleStreamState", [&] {
            m->machine->handleStreamState(Clock::now(), protocol, Endpoint{localIp, 0}, remote,
                                          state);
        });
        afterInput(m);
    };
    // Inside a machine's drain the state change waits, so that no machine call nests in another.
    if (machineDepth > 0)
        deferred.push_back(std::move(deliver));
    else
        deliver();
}

Runtime::Impl::Stream* Runtime::Impl::openStream(Machine& m, TransportProtocol protocol,
                                                 const IpAddress& localIp, const Endpoint& remote) {
    auto fail = [&](const std::string& why) -> Stream* {
        spdlog::info("net: {} stream {} -> {} failed: {}", toString(protocol), localIp.toString(),
                     remote.toString(), why);
        notifyStream(m.id, protocol, localIp, remote, StreamState::Failed);
        return nullptr;
    };
    if (remote.port == 0 || remote.ip.isUnspecified() || remote.ip.isMulticast())
        return fail("invalid remote address");
    if (!localIp.isUnspecified() && localIp.family() != remote.ip.family())
        return fail("local and remote address families differ");

    auto s = std::make_unique<Stream>();
    s->token = nextToken++;
    s->owner = m.id;
    s->protocol = protocol;
    s->localIp = localIp;
    s->remote = remote;
    if (protocol == TransportProtocol::Tls) {
        if (auto it = tlsDestinations.find(remote); it != tlsDestinations.end())
            s->tls = it->second;
        requestTlsContext(s->tls.caFile);  // load it while TCP connects
    }

    int family = remote.ip.isV4() ? AF_INET : AF_INET6;
    s->fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s->fd < 0) return fail("socket: " + errnoText(errno));
    int one = 1;
    setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    uint32_t scopeId = scopeIdOf(localIp);
    if (!localIp.isUnspecified()) {
        // Pick the port at connect() time: bind() would reserve one per (local ip).
        setsockopt(s->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
        sockaddr_storage ss;
        socklen_t len = toSockaddr(Endpoint{localIp, 0}, scopeId, ss);
        if (::bind(s->fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0)
            return fail("bind " + localIp.toString() + ": " + errnoText(errno));
    }
    sockaddr_storage ss;
    socklen_t len = toSockaddr(remote, scopeId, ss);
    if (::connect(s->fd, reinterpret_cast<const sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS)
        return fail("connect: " + errnoText(errno));
    // Connected or not, EPOLLOUT tells (SO_ERROR has the outcome).
    s->events = EPOLLOUT;
    epoll_event ev{};
    ev.events = s->events;
    ev.data.u64 = s->token;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0)
        return fail("epoll_ctl: " + errnoText(errno));

    uint64_t token = s->token;
    addTimer(Clock::now() + config.connectTimeout, [this, token] {
        auto it = streams.find(token);
        if (it == streams.end() || it->second->fd < 0) return;
        Stream& st = *it->second;
        if (st.phase == Phase::Connecting || st.phase == Phase::Handshaking)
            endStream(st, st.phase == Phase::Connecting ? "connect timed out"
                                                        : "TLS handshake timed out");
    });
    spdlog::debug("net: {} stream {} -> {} connecting", toString(protocol), localIp.toString(),
                  remote.toString());
    m.streamByKey[StreamKey{protocol, localIp, remote}] = token;
    Stream* raw = s.get();
    streams.emplace(token, std::move(s));
    return raw;
}

bool Runtime::Impl::checkBufferLimit(Stream& s) {
    if (s.unsent() <= config.maxStreamBufferBytes) return true;
    endStream(s, "send buffer overflow (the peer does not read)");
    return false;
}

void Runtime::Impl::writeStream(Stream& s, ByteView data) {
    if (data.empty() || s.fd < 0 || s.phase == Phase::Lingering) return;
    if (s.protocol == TransportProtocol::Tls) {
        if (s.phase != Phase::Open) {
            appendBytes(s.pendingPlain, data);
            checkBufferLimit(s);
            return;
        }
        tlsWrite(s, data);
        return;
    }
    appendBytes(s.out, data);
    if (!checkBufferLimit(s)) return;
    if (s.phase == Phase::Open) flushOut(s);
}

void Runtime::Impl::updateInterest(Stream& s) {
    if (s.fd < 0) return;
    uint32_t want = 0;
    if (s.phase == Phase::Connecting) {
        want = EPOLLOUT;
    } else {
        want = EPOLLIN;
        if (s.outOff < s.out.size()) want |= EPOLLOUT;
    }
    if (want == s.events) return;
    epoll_event ev{};
    ev.events = want;
    ev.data.u64 = s.token;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, s.fd, &ev) != 0) {
        endStream(s, "epoll_ctl: " + errnoText(errno));
        return;
    }
    s.events = want;
}

void Runtime::Impl::flushOut(Stream& s) {
    if (s.fd < 0 || s.phase == Phase::Connecting) return;
    while (s.outOff < s.out.size()) {
        ssize_t n = ::send(s.fd, s.out.data() + s.outOff, s.out.size() - s.outOff,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
            s.outOff += size_t(n);
            bump(counters.bytesTx, uint64_t(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        endStream(s, "send: " + errnoText(n < 0 ? errno : EPIPE));
        return;
    }
    if (s.outOff == s.out.size()) {
        s.out.clear();
        s.outOff = 0;
    } else if (s.outOff > kCompactThreshold) {
        s.out.erase(s.out.begin(), s.out.begin() + std::ptrdiff_t(s.outOff));
        s.outOff = 0;
    }
    if (s.phase == Phase::Lingering && s.out.empty() && !s.shutdownSent) {
        // All sent: half-close and wait for the peer's FIN (or the linger timer), so that
        // unread input does not turn our close into a reset that loses the tail.
        ::shutdown(s.fd, SHUT_WR);
        s.shutdownSent = true;
    }
    updateInterest(s);
}

void Runtime::Impl::onStreamEvent(uint64_t token, uint32_t events) {
    auto it = streams.find(token);
    if (it == streams.end() || it->second->fd < 0) return;
    Stream& s = *it->second;
    if (s.phase == Phase::Connecting) {
        int err = 0;
        socklen_t len = sizeof err;
        if (getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
        if (err) {
            endStream(s, "connect: " + errnoText(err));
            return;
        }
        if (!(events & EPOLLOUT)) {
            if (events & (EPOLLERR | EPOLLHUP)) endStream(s, "connect: connection error");
            return;
        }
        onTcpConnected(s);
        return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
        readStream(s);
        if (s.fd < 0) return;
    }
    if (events & EPOLLOUT) flushOut(s);
}

void Runtime::Impl::onTcpConnected(Stream& s) {
    spdlog::debug("net: {} stream -> {} TCP connected", toString(s.protocol), s.remote.toString());
    if (s.protocol == TransportProtocol::Tls) {
        s.phase = Phase::Handshaking;
        updateInterest(s);
        startTls(s);
        return;
    }
    s.phase = Phase::Open;
    s.wasOpen = true;
    updateInterest(s);
    notifyStream(s.owner, s.protocol, s.localIp, s.remote, StreamState::Connected);
    if (s.fd >= 0 && s.phase == Phase::Open) flushOut(s);
}

void Runtime::Impl::deliverStreamData(Stream& s, ByteView data) {
    auto m = findMachine(s.owner);
    if (!m) return;
    PacketView view{s.protocol, Endpoint{s.localIp, 0}, s.remote, data};
    guarded("handlePacket", [&] { m->machine->handlePacket(Clock::now(), view); });
    afterInput(m);
}

void Runtime::Impl::readStream(Stream& s) {
    for (int i = 0; i < kStreamReadsPerWake && s.fd >= 0; ++i) {
        ssize_t n = ::recv(s.fd, streamRx.data(), streamRx.size(), MSG_DONTWAIT);
        if (n > 0) {
            bump(counters.bytesRx, uint64_t(n));
            if (s.phase == Phase::Lingering) continue;  // closed by us: discard
            ByteView chunk(streamRx.data(), size_t(n));
            if (s.protocol == TransportProtocol::Tcp) {
                deliverStreamData(s, chunk);
                continue;
            }
            if (!tlsReceive(s, chunk)) return;
            continue;
        }
        if (n == 0) {
            onPeerClosed(s);
            return;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        endStream(s, "recv: " + errnoText(errno));
        return;
    }
}

void Runtime::Impl::onPeerClosed(Stream& s) {
    if (s.phase == Phase::Lingering) {
        retireStream(s);
        return;
    }
    endStream(s, s.phase == Phase::Open ? "closed by the peer" : "connection closed by the peer");
}

void Runtime::Impl::endStream(Stream& s, const std::string& reason) {
    if (s.fd < 0) return;
    bool report = s.phase != Phase::Lingering;
    StreamState state = s.wasOpen ? StreamState::Closed : StreamState::Failed;
    if (report && state == StreamState::Failed)
        spdlog::warn("net: {} stream {} -> {} failed: {}", toString(s.protocol),
                     s.localIp.toString(), s.remote.toString(), reason);
    else
        spdlog::debug("net: {} stream {} -> {} closed: {}", toString(s.protocol),
                      s.localIp.toString(), s.remote.toString(), reason);
    MachineId owner = s.owner;
    TransportProtocol protocol = s.protocol;
    IpAddress localIp = s.localIp;
    Endpoint remote = s.remote;
    retireStream(s);
    if (report) notifyStream(owner, protocol, localIp, remote, state);
}

void Runtime::Impl::beginLinger(Stream& s) {
    if (s.fd < 0 || s.phase == Phase::Lingering) return;
    bool wasOpen = s.phase == Phase::Open;
    if (auto m = machines.find(s.owner); m != machines.end()) {
        auto& byKey = m->second->streamByKey;
        auto it = byKey.find(StreamKey{s.protocol, s.localIp, s.remote});
        if (it != byKey.end() && it->second == s.token) byKey.erase(it);
    }
    s.phase = Phase::Lingering;
    s.pendingPlain.clear();
    if (!wasOpen) {
        retireStream(s);
        return;
    }
    tlsShutdown(s);
    uint64_t token = s.token;
    addTimer(Clock::now() + config.closeLinger, [this, token] {
        auto it = streams.find(token);
        if (it != streams.end() && it->second->fd >= 0) retireStream(*it->second);
    });
    flushOut(s);
}

void Runtime::Impl::retireStream(Stream& s) {
    if (s.fd < 0) return;
    if (auto m = machines.find(s.owner); m != machines.end()) {
        auto& byKey = m->second->streamByKey;
        auto it = byKey.find(StreamKey{s.protocol, s.localIp, s.remote});
        if (it != byKey.end() && it->second == s.token) byKey.erase(it);
    }
    epoll_ctl(epfd, EPOLL_CTL_DEL, s.fd, nullptr);
    ::close(s.fd);
    s.fd = -1;
    freeTls(s);
    s.out.clear();
    s.pendingPlain.clear();
    retiredStreams.push_back(s.token);
}

}  // namespace tincan::net
