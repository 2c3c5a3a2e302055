// The signaling server's rooms as a sans-IO machine (SIGNALING.md, v1).
//
// The Qt adapter (server.hpp) feeds it socket events and drains what it wants done: text frames
// to send, sockets to close, and join/leave notes for the log. It never touches a socket, so the
// whole protocol is testable without a network, and it never looks inside a relayed message
// beyond the check the contract asks for.
//
// Two readings of the contract, decided here:
//
// - `bye`: the contract lists it among the messages *between peers*, which are "relayed
//   verbatim", and also says `peer-left` is sent when "the other peer closed its socket or sent
//   `bye`". Both hold: the `bye` frame is relayed verbatim first, then the server sends
//   `peer-left`. The sender has left the room at that point (otherwise a newcomer could find the
//   room "full" with a peer everyone was told had left), so its slot is freed and its socket is
//   closed normally (1000).
//
// - A message sent while alone in the room is dropped, not buffered. Under "Who offers" nobody
//   has a reason to talk alone: the first peer waits for `peer-joined`, the newcomer offers only
//   after `welcome` says `peers: 1`. So whatever arrives while alone belongs to a session that
//   just ended (the other peer left mid-trickle), and replaying it to the next newcomer would
//   feed a fresh negotiation a stale offer (glare with the newcomer's own offer) or candidates
//   of another ICE session. Dropping also needs no memory per room.
//
// Beyond the contract: `{"type":"error","reason":"server full"}` when --max-rooms rooms are open
// and a new one is asked for. The transport (server.hpp) also refuses, before the hub sees them,
// frames that are not valid UTF-8 text (RFC 6455 §8.1, close 1007) and messages over 1 MiB
// (close 1009, no `error` frame: Qt closes first).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

namespace tincan::signaling {

using PeerId = std::uint64_t;

inline constexpr std::size_t kMaxRoomNameLength = 64;
inline constexpr std::size_t kMaxMessageBytes = 256 * 1024;  // "at most 256 KiB"
inline constexpr std::size_t kPeersPerRoom = 2;

struct HubConfig {
    std::size_t maxRooms = 10000;
};

// RFC 6455 §7.4.1 status codes the server closes with.
enum class CloseCode : std::uint16_t {
    Normal = 1000,           // after `bye`
    GoingAway = 1001,        // server shutdown
    PolicyViolation = 1008,  // bad room, room full, bad message
    MessageTooBig = 1009,    // too large
};

// Send this text frame to `to`.
struct SendText {
    PeerId to = 0;
    std::string text;
};

// Close this socket. The hub has already forgotten the peer; a later handleClosed() for it is
// ignored.
struct ClosePeer {
    PeerId peer = 0;
    CloseCode code = CloseCode::Normal;
};

// A peer entered or left a room; `peers` is the room's count afterwards. For the log only.
struct RoomChange {
    enum class Kind : std::uint8_t { Joined = 1, Left = 2 };
    Kind kind = Kind::Joined;
    std::string room;
    std::size_t peers = 0;
};

// A peer was refused with an `error` (`reason`); `room` is empty when the name was bad. For the
// log only.
struct Rejected {
    std::string reason;
    std::string room;
};

using HubOutput = std::variant<SendText, ClosePeer, RoomChange, Rejected>;

// Whether `room` is 1–64 characters of [A-Za-z0-9_-].
bool isValidRoomName(std::string_view room);

// The relay check: for a JSON object whose `type` member is a string, that string; otherwise
// nullopt. Size is checked apart.
std::optional<std::string> relayableMessageType(std::string_view text);

class Hub {
public:
    explicit Hub(HubConfig config = {});

    // A WebSocket opened with request target `target`: the path, then the query and the
    // fragment if the request had them (e.g. "/room42", "/room42?x=1"). SIGNALING.md: the room
    // is the whole path, so anything but "/" and a valid room name is a `bad room`.
    void handleOpen(PeerId peer, std::string_view target);
    // A complete text message arrived, as its exact UTF-8 bytes.
    void handleText(PeerId peer, std::string_view text);
    void handleBinary(PeerId peer);
    // The socket is gone (closed by the client, broken, or after a ClosePeer).
    void handleClosed(PeerId peer);
    // Close every peer (server shutdown), without `peer-left` or log notes.
    void closeAll();

    std::optional<HubOutput> poll();

    std::size_t roomCount() const { return rooms_.size(); }
    std::size_t peerCount() const { return peerRooms_.size(); }
    std::uint64_t droppedWhileAlone() const { return droppedWhileAlone_; }

private:
    struct Room {
        PeerId peers[kPeersPerRoom] = {};
        std::size_t count = 0;
    };

    void reject(PeerId peer, std::string_view reason, CloseCode code, std::string room);
    // Removes `peer` from its room and tells the other peer, if any.
    void leave(PeerId peer);
    std::optional<PeerId> otherPeer(PeerId peer) const;

    HubConfig config_;
    std::unordered_map<std::string, Room> rooms_;
    std::unordered_map<PeerId, std::string> peerRooms_;
    std::deque<HubOutput> out_;
    std::uint64_t droppedWhileAlone_ = 0;
};

}  // namespace tincan::signaling
