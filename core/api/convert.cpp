#include "core/api/convert.hpp"

#include <chrono>

namespace tincan::api {

CandidateInfo toPublic(const ice::Candidate& c) {
    CandidateInfo out;
    out.type = CandidateType(uint8_t(c.type));  // same values, 1..4
    out.protocol = c.transport;
    out.address = c.isMdns() ? c.hostname : c.address.ip.toString();
    out.port = c.address.port;
    out.priority = c.priority;
    out.foundation = c.foundation;
    if (c.related) {
        out.relatedAddress = c.related->ip.toString();
        out.relatedPort = c.related->port;
    }
    out.relayProtocol = c.relayProtocol;
    out.url = c.url;
    out.sdp = c.toSdp();
    return out;
}

CandidatePair toPublic(const ice::CandidatePairInfo& p) {
    CandidatePair out;
    out.local = toPublic(p.local);
    out.remote = toPublic(p.remote);
    out.path = PathType(uint8_t(p.path));
    out.relayProtocol = p.relayProtocol;
    out.rttMs = std::chrono::duration<double, std::milli>(p.rtt).count();
    return out;
}

IceConnectionState toPublic(ice::IceState s) {
    return IceConnectionState(uint8_t(s));
}
IceGatheringState toPublic(ice::GatheringState s) {
    return IceGatheringState(uint8_t(s));
}
PeerConnectionState toPublic(pc::ConnectionState s) {
    return PeerConnectionState(uint8_t(s));
}

DtlsState toPublic(dtls::State s) {
    switch (s) {
        case dtls::State::New:
            return DtlsState::New;
        case dtls::State::Connecting:
            return DtlsState::Connecting;
        case dtls::State::Connected:
            return DtlsState::Connected;
        case dtls::State::Closed:
            return DtlsState::Closed;
        case dtls::State::Failed:
            return DtlsState::Failed;
    }
    return DtlsState::Failed;
}

// The public enums mirror the internal ones value for value (the casts above rely on it).
static_assert(uint8_t(ice::CandidateType::Relayed) == uint8_t(CandidateType::Relayed));
static_assert(uint8_t(ice::PathType::Relay) == uint8_t(PathType::Relay));
static_assert(uint8_t(ice::IceState::Closed) == uint8_t(IceConnectionState::Closed));
static_assert(uint8_t(ice::GatheringState::Complete) == uint8_t(IceGatheringState::Complete));
static_assert(uint8_t(pc::ConnectionState::Closed) == uint8_t(PeerConnectionState::Closed));

}  // namespace tincan::api
