// A STUN server for the simulator (RFC 8489 Binding over UDP, TCP and TLS), with the NAT
// behaviour discovery extensions of RFC 5780 when given two addresses and two ports.
#pragma once

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include "core/common/sansio.hpp"
#include "core/stun/message.hpp"
#include "tests/sim/framing.hpp"

namespace tincan::sim {

struct StunServerStats {
    uint64_t requests = 0;
    uint64_t successResponses = 0;
    uint64_t errorResponses = 0;
    uint64_t malformed = 0;
};

class SimStunServer : public SansIoMachine {
public:
    // Plain STUN: answers on whichever of its host's addresses and ports a request arrives.
    explicit SimStunServer(std::string software = "tincan-sim-stun");
    // RFC 5780: the host must own both IPs. Requests that arrive on (primaryIp|alternateIp,
    // primaryPort|alternatePort) get OTHER-ADDRESS and RESPONSE-ORIGIN, and CHANGE-REQUEST is
    // honoured (over UDP) by answering from the other IP and/or port.
    SimStunServer(IpAddress primaryIp, IpAddress alternateIp, uint16_t primaryPort = 3478,
                  uint16_t alternatePort = 3479, std::string software = "tincan-sim-stun");

    const StunServerStats& stats() const { return stats_; }

    void handlePacket(Timestamp now, const PacketView& packet) override;
    void handleTimeout(Timestamp) override {}
    std::optional<Packet> pollTransmit() override;
    std::optional<Timestamp> pollTimeout() override { return std::nullopt; }

private:
    struct Alternate {
        IpAddress ip1, ip2;
        uint16_t port1 = 0, port2 = 0;
    };
    void handleMessage(TransportProtocol protocol, const Endpoint& local, const Endpoint& remote,
                       ByteView bytes);
    void respond(TransportProtocol protocol, const Endpoint& from, const Endpoint& to,
                 const stun::Message& response, bool error);

    std::string software_;
    std::optional<Alternate> rfc5780_;
    StunServerStats stats_;
    std::deque<Packet> out_;
    std::map<std::tuple<uint8_t, Endpoint, Endpoint>, StreamDeframer> streams_;
};

}  // namespace tincan::sim
