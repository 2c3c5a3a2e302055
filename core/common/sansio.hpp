// The boundary between a sans-IO protocol machine and whoever drives it (the runtime in
// core/net, or the network simulator in tests/sim).
//
// A machine never opens a socket, starts a thread or reads a clock. It is fed packets,
// stream state changes and timeouts, each with the current time, and it is drained of the
// packets it wants sent and of its next deadline. Protocol-specific events (ICE state,
// selected pair, ...) are drained through the concrete machine's own pollEvent().
#pragma once

#include <optional>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"
#include "core/common/time.hpp"

namespace tincan {

// An outgoing datagram (UDP) or chunk of a byte stream (TCP, TLS).
//
// For UDP, `local` is the exact address and port of the socket to send from (a host
// candidate's base). For TCP and TLS, a stream is identified by (protocol, local.ip, remote):
// `local.port` is 0, and the driver opens the connection on first use (for TLS it also runs the
// handshake) and then writes `data` to it in order.
struct Packet {
    TransportProtocol protocol = TransportProtocol::Udp;
    Endpoint local;
    Endpoint remote;
    Bytes data;
};

// An incoming datagram or chunk of stream bytes, seen in place (no copy).
struct PacketView {
    TransportProtocol protocol = TransportProtocol::Udp;
    Endpoint local;
    Endpoint remote;
    ByteView data;
};

enum class StreamState : uint8_t {
    Connected = 1,  // TCP connected (and, for TLS, handshake done and certificate verified)
    Failed = 2,     // could not connect, or TLS verification failed
    Closed = 3,     // the peer closed, or the connection broke after being established
};

class SansIoMachine {
public:
    virtual ~SansIoMachine() = default;

    virtual void handlePacket(Timestamp now, const PacketView& packet) = 0;
    // A stream this machine asked for changed state. `local.port` is 0 as in Packet.
    virtual void handleStreamState(Timestamp now, TransportProtocol protocol, const Endpoint& local,
                                   const Endpoint& remote, StreamState state) {
        (void)now, (void)protocol, (void)local, (void)remote, (void)state;
    }
    virtual void handleTimeout(Timestamp now) = 0;

    virtual std::optional<Packet> pollTransmit() = 0;
    // The next instant handleTimeout() wants to run, if any.
    virtual std::optional<Timestamp> pollTimeout() = 0;
};

}  // namespace tincan
