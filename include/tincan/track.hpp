// Media sections as negotiation sees them (W3C RTCRtpTransceiver's negotiated half). The
// media pipeline (tracks, codecs, RTP) attaches to these; until it does, Tincan answers every
// offered audio or video section as rejected, and they appear here as stopped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace tincan {

enum class MediaKind : uint8_t { Audio = 1, Video };
const char* toString(MediaKind k);  // "audio", "video"

// RFC 8866 §6.7 / W3C RTCRtpTransceiverDirection.
enum class Direction : uint8_t { SendRecv = 1, SendOnly, RecvOnly, Inactive };
const char* toString(Direction d);  // "sendrecv", ...

struct TransceiverInfo {
    std::string mid;
    MediaKind kind = MediaKind::Audio;
    Direction direction = Direction::Inactive;          // what we want
    std::optional<Direction> currentDirection;          // what was negotiated
    bool stopped = false;                               // rejected (port 0)
};

}  // namespace tincan
