#include "tests/sim/stun_server.hpp"

namespace tincan::sim {

using stun::Message;
namespace attr = stun::attr;

SimStunServer::SimStunServer(std::string software) : software_(std::move(software)) {}

SimStunServer::SimStunServer(IpAddress primaryIp, IpAddress alternateIp, uint16_t primaryPort,
                             uint16_t alternatePort, std::string software)
    : software_(std::move(software)),
      rfc5780_(Alternate{primaryIp, alternateIp, primaryPort, alternatePort}) {}

std::optional<Packet> SimStunServer::pollTransmit() {
    if (out_.empty()) return std::nullopt;
    Packet p = std::move(out_.front());
    out_.pop_front();
    return p;
}

void SimStunServer::handlePacket(Timestamp, const PacketView& p) {
    if (p.protocol == TransportProtocol::Udp) {
        handleMessage(p.protocol, p.local, p.remote, p.data);
        return;
    }
    auto& framer = streams_[{uint8_t(p.protocol), p.local, p.remote}];
    framer.push(p.data);
    while (auto frame = framer.next()) handleMessage(p.protocol, p.local, p.remote, *frame);
    if (framer.broken()) ++stats_.malformed;
}

void SimStunServer::respond(TransportProtocol protocol, const Endpoint& from, const Endpoint& to,
                            const Message& response, bool error) {
    ++(error ? stats_.errorResponses : stats_.successResponses);
    out_.push_back(Packet{protocol, from, to, response.encode(nullptr, true)});
}

void SimStunServer::handleMessage(TransportProtocol protocol, const Endpoint& local,
                                  const Endpoint& remote, ByteView bytes) {
    auto parsed = stun::tryParse(bytes);
    if (!parsed) {
        ++stats_.malformed;
        return;
    }
    const Message& req = *parsed;
    if (!req.isRequest()) return;  // indications and stray responses are ignored
    ++stats_.requests;
    if (req.method() != stun::Method::Binding) {
        Message err = Message::errorResponse(req, stun::error::BadRequest, "Bad Request");
        err.addString(attr::Software, software_);
        return respond(protocol, local, remote, err, true);
    }

    // RFC 5780 applies only on the two configured addresses and ports.
    const bool discovery = rfc5780_ && (local.ip == rfc5780_->ip1 || local.ip == rfc5780_->ip2) &&
                           (local.port == rfc5780_->port1 || local.port == rfc5780_->port2);
    auto unknown = req.unknownComprehensionRequired();
    if (!discovery && req.has(attr::ChangeRequest)) unknown.push_back(attr::ChangeRequest);
    if (!discovery && req.has(attr::ResponsePort)) unknown.push_back(attr::ResponsePort);
    if (!unknown.empty()) {  // RFC 8489 §6.3.1.1
        Message err =
            Message::errorResponse(req, stun::error::UnknownAttribute, "Unknown Attribute");
        err.addUnknownAttributes(unknown);
        err.addString(attr::Software, software_);
        return respond(protocol, local, remote, err, true);
    }

    Endpoint from = local;
    Endpoint to = remote;
    Message res = Message::successResponse(req);
    res.addXorAddress(attr::XorMappedAddress, remote);
    res.addAddress(attr::MappedAddress, remote);  // RFC 3489 clients
    if (discovery) {
        const auto& a = *rfc5780_;
        auto otherIp = [&](const IpAddress& x) { return x == a.ip1 ? a.ip2 : a.ip1; };
        auto otherPort = [&](uint16_t x) { return x == a.port1 ? a.port2 : a.port1; };
        uint32_t change = req.getU32(attr::ChangeRequest).value_or(0);
        auto responsePort = req.getU32(attr::ResponsePort);
        if ((change || responsePort) && protocol != TransportProtocol::Udp) {
            // RFC 5780 §6.1: both only make sense over UDP.
            Message err = Message::errorResponse(req, stun::error::BadRequest, "UDP only");
            err.addString(attr::Software, software_);
            return respond(protocol, local, remote, err, true);
        }
        if (change & 4) from.ip = otherIp(from.ip);  // RFC 5780 §7.2
        if (change & 2) from.port = otherPort(from.port);
        if (responsePort) to.port = uint16_t(*responsePort >> 16);  // §7.5
        res.addAddress(attr::ResponseOrigin, from);
        res.addAddress(attr::OtherAddress, Endpoint{otherIp(local.ip), otherPort(local.port)});
    }
    res.addString(attr::Software, software_);
    respond(protocol, from, to, res, false);
}

}  // namespace tincan::sim
