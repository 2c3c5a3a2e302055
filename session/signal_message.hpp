// What arrives on the signaling socket (../shared/SIGNALING.md), decoded without Qt so that
// tincan-cli, the desktop app and a fuzz target share one reading of it.
//
// Frames come from the server (welcome, peer-joined, peer-left, error) or are relayed from the
// other peer (offer, answer, candidate, bye, and types a newer peer may add). The peer's are
// untrusted: a message of the wrong shape decodes to Malformed, which the caller ignores and
// counts; nothing here throws. Where the W3C shape allows null (sdpMid, sdpMLineIndex, the
// candidate itself) null is accepted.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "tincan/candidate.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::session::signal {

// --- From the server ---
struct Welcome {
    int peers = 0;  // others already in the room
};
struct PeerJoined {};
struct PeerLeft {};
struct ServerError {
    std::string reason;
};

// --- Relayed from the peer ---
struct Description {
    SdpType type = SdpType::Offer;  // offer or answer
    std::string sdp;
};
// An RTCIceCandidateInit; nullopt is end-of-candidates (a null candidate, or an empty
// candidate string as browsers send).
struct Candidate {
    std::optional<IceCandidate> candidate;
};
struct Bye {};
// A relayed message of a type Tincan does not know: ignored, not counted (forward compatible).
struct Unknown {
    std::string type;
};
// Not JSON, not an object, no string "type", or a known type with fields of the wrong shape.
struct Malformed {
    std::string why;
};

using Message = std::variant<Malformed, Welcome, PeerJoined, PeerLeft, ServerError, Description,
                             Candidate, Bye, Unknown>;

// A whole text frame as it came off the socket.
Message decode(std::string_view text);
// An already parsed JSON value (a relayed message).
Message decodeJson(const nlohmann::json& msg);

}  // namespace tincan::session::signal
