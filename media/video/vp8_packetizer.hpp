// Splits encoded VP8 frames into RTP payloads (RFC 7741 §4): a descriptor with a 15-bit
// PictureID on every packet, S = 1 on the first, payloads of near-equal size no larger than
// the limit, and the marker on the last. The RTP header itself (seq, timestamp, SSRC) is the
// RTP layer's job: this stage hands out payload + marker.
#pragma once

#include <cstdint>

#include "core/common/bytes.hpp"
#include "media/video/encoded_frame.hpp"
#include "media/video/vp8_payload.hpp"

namespace tincan::media {

class Vp8Packetizer {
public:
    // maxPayloadSize: RTP payload bytes per packet (MTU minus IP/UDP/RTP/SRTP headers).
    // Temporal fields (TL0PICIDX, TID, Y) are written when `withTemporalInfo`.
    explicit Vp8Packetizer(size_t maxPayloadSize = 1100, uint16_t firstPictureId = 0,
                           bool withTemporalInfo = false);

    // Starts packetizing a frame (its data must stay valid until the last next()). Returns the
    // number of packets, 0 if the frame is empty or the limit leaves no room for payload.
    size_t packetize(const EncodedVideoFrame& frame);

    bool hasNext() const { return index_ < count_; }
    // Writes the next payload into `out` (capacity reused); returns the RTP marker bit.
    bool next(Bytes& out);

    uint16_t lastPictureId() const { return uint16_t(pictureId_ & 0x7FFF); }
    uint64_t framesPacketized() const { return frames_; }

private:
    size_t maxPayloadSize_;
    bool withTemporalInfo_;
    int pictureId_;  // of the frame in progress
    int tl0PicIdx_ = 0;
    uint64_t frames_ = 0;
    Vp8Descriptor desc_;
    ByteView data_;
    size_t count_ = 0;
    size_t index_ = 0;
    size_t offset_ = 0;
};

}  // namespace tincan::media
