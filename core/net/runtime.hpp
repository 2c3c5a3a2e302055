// The network runtime: owns the sockets, the timers and the network thread, and drives the
// sans-IO machines (core/common/sansio.hpp) with real packets and real time. Linux (epoll).
//
// Threading model
// - One loop thread does all I/O: either a thread of the runtime's own (start()/stop()) or
//   the caller's thread (run() until stop()). Every call into an attached SansIoMachine
//   (handlePacket, handleStreamState, handleTimeout, pollTransmit, pollTimeout), every
//   onActivity callback, every post()ed function and every resolveMdns callback runs on it,
//   one at a time, so machines and their owners' event handlers need no locks.
// - Every public method may be called from any thread, including from those callbacks.
//   On the loop thread they act at once. From another thread, attach/detach/openUdp/
//   closeUdp/closeStream/setTlsOptions/resolveMdns are posted to the loop in call order
//   (FIFO, together with post()), or applied at once while no loop is running. Feed a
//   machine from another thread only through post(); the runtime drains every machine after
//   the posted functions. detach() from another thread waits until the loop has let go of
//   the machine, so it may be destroyed when detach() returns; so never call it from a
//   thread the loop thread is blocked on. Do not destroy the Runtime from its own callbacks.
// - Nothing on the loop blocks: sockets are non-blocking and TLS runs over memory BIOs.
//   Trust stores (the system store, CA files) are loaded on a short-lived helper thread the
//   first time TLS needs them, while the TCP connect is under way.
// - Errors are logged (spdlog) and reported to machines as StreamState or counted in
//   RuntimeStats; exceptions thrown by machines or callbacks are caught and logged at the
//   loop boundary. Payloads are never logged.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/common/endpoint.hpp"
#include "core/common/sansio.hpp"
#include "core/common/time.hpp"
#include "tincan/result.hpp"

namespace tincan::net {

using MachineId = uint64_t;
inline constexpr MachineId kInvalidMachine = 0;

struct TlsOptions {
    // Name to send as SNI and to verify the certificate against. Empty: verify the remote IP
    // address instead (it must appear as an iPAddress subjectAltName). An IP literal here is
    // verified as an IP address and sent without SNI (RFC 6066 §3).
    std::string serverName;
    // Extra trust anchors (PEM), on top of the system store.
    std::string caFile;
    bool verifyPeer = true;
};

struct RuntimeConfig {
    Duration connectTimeout = std::chrono::seconds(10);  // TCP connect + TLS handshake
    std::string defaultCaFile;                           // extra trust anchors for every TLS stream
    // SO_RCVBUF / SO_SNDBUF, best effort (capped by net.core.rmem_max without CAP_NET_ADMIN).
    // 16 MiB: a receiver busy at 30-40 MB/s behind a 150 ms path dropped datagrams from 4 MiB.
    int udpSocketBufferBytes = 16 * 1024 * 1024;
    // A stream whose unsent bytes grow beyond this is closed (its peer is not reading).
    size_t maxStreamBufferBytes = 64 * 1024 * 1024;
    // How long a stream closed with pending output keeps trying to send it.
    Duration closeLinger = std::chrono::seconds(2);
};

struct RuntimeStats {
    uint64_t udpRx = 0;            // datagrams delivered to machines
    uint64_t udpTx = 0;            // datagrams sent
    uint64_t udpTxDropped = 0;     // send failed (EAGAIN, unreachable, wrong family, ...)
    uint64_t bytesRx = 0;          // UDP payloads + bytes read from stream sockets
    uint64_t bytesTx = 0;          // UDP payloads + bytes written to stream sockets
    uint64_t streamConnects = 0;   // streams that reached Connected
    uint64_t streamFailures = 0;   // streams reported Failed
    uint64_t droppedNoSocket = 0;  // machine packets whose `local` matches no socket of it
};

class Runtime {
public:
    explicit Runtime(RuntimeConfig config = {});
    ~Runtime();  // stop()s, closes every socket; attached machines are not called again
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    // Runs the loop on a new thread ("tincan-net").
    void start();
    // Makes the running (or next) loop return after it has run the functions already posted.
    // Joins the runtime's own thread unless called on it. Idempotent.
    void stop();
    // Runs the loop on the calling thread until stop().
    void run();
    bool onLoopThread() const;

    // The runtime drives `m` from now on: after every input it hands m it sends everything
    // m.pollTransmit() returns, re-reads m.pollTimeout(), calls onActivity() (where the owner
    // drains m's protocol events), then drains m's transmits and timeout once more.
    // `m` must outlive its attachment. Never returns kInvalidMachine.
    MachineId attach(SansIoMachine& m, std::function<void()> onActivity);
    // Closes the machine's sockets and streams; the runtime will not call into it again.
    void detach(MachineId id);

    // Binds a UDP socket for `id` (port 0: ephemeral) and returns the bound endpoint.
    // Datagrams arriving on it are delivered to the machine as PacketView{Udp, local = that
    // endpoint, remote = sender}; the machine sends from it by using it as Packet::local.
    // An IPv6 link-local address is bound to the interface that holds it.
    Result<Endpoint> openUdp(MachineId id, const Endpoint& bind);
    void closeUdp(MachineId id, const Endpoint& local);

    // Streams are opened by the first Packet{Tcp or Tls} a machine emits for (protocol,
    // local.ip, remote) (an empty one opens the stream without writing); after Failed or
    // Closed the next Packet opens a new one. closeStream() closes one, flushing pending output for
    // at most RuntimeConfig::closeLinger. No StreamState is reported for a stream closed this way.
    void closeStream(MachineId id, TransportProtocol protocol, const Endpoint& local,
                     const Endpoint& remote);

    // TLS settings for streams opened to `remote` from now on. Reads the CA file once on the
    // calling thread to check it; fails if it cannot be loaded, in which case TLS streams to
    // `remote` fail.
    Result<void> setTlsOptions(const Endpoint& remote, TlsOptions options);

    // Runs fn on the loop thread (always queued, even when called on it), then drains
    // every attached machine.
    void post(std::function<void()> fn);

    // Resolves an mDNS name ("<uuid>.local") with one-shot queries (RFC 6762 §5.1) sent from
    // ephemeral sockets to 224.0.0.251:5353 and [ff02::fb]:5353, retransmitted twice.
    // `done` runs on the loop thread, exactly once, never from within this call: with the
    // first address answered, or nullopt on timeout, on an invalid name, or at once when no
    // query could be sent (no multicast route). Dropped uncalled if the runtime is destroyed.
    void resolveMdns(const std::string& name, std::function<void(std::optional<IpAddress>)> done,
                     Duration timeout = std::chrono::milliseconds(1500));

    Timestamp now() const { return Clock::now(); }
    RuntimeStats stats() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace tincan::net
