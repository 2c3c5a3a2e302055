// Core's internal types → the public API's (include/tincan/). One place, so that no internal
// enum or struct leaks through a public header.
#pragma once

#include "core/dtls/dtls_transport.hpp"
#include "core/ice/agent.hpp"
#include "core/pc/connection.hpp"
#include "tincan/candidate.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::api {

CandidateInfo toPublic(const ice::Candidate& c);
CandidatePair toPublic(const ice::CandidatePairInfo& p);
IceConnectionState toPublic(ice::IceState s);
IceGatheringState toPublic(ice::GatheringState s);
DtlsState toPublic(dtls::State s);
PeerConnectionState toPublic(pc::ConnectionState s);

}  // namespace tincan::api
