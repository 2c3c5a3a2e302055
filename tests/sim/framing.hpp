// Server-side framing of a TCP/TLS byte stream into STUN messages and ChannelData frames
// (RFC 8656 §11.7, §12.5). Independent of core/turn on purpose: the simulated servers must not
// share a framing bug with the client they test.
#pragma once

#include <optional>

#include "core/common/bytes.hpp"

namespace tincan::sim {

class StreamDeframer {
public:
    void push(ByteView chunk) {
        if (broken_) return;
        if (start_ > 0 && start_ == buffer_.size()) {
            buffer_.clear();
            start_ = 0;
        }
        appendBytes(buffer_, chunk);
    }

    // The next whole frame: a STUN message, or a ChannelData message without its stream padding.
    std::optional<Bytes> next() {
        if (broken_) return std::nullopt;
        size_t avail = buffer_.size() - start_;
        if (avail < 4) return std::nullopt;
        const uint8_t* p = buffer_.data() + start_;
        size_t length = 0;
        size_t consumed = 0;
        if ((p[0] & 0xC0) == 0x00) {  // STUN: 20-byte header + body, body already 4-aligned
            length = 20 + size_t(readU16(p + 2));
            consumed = length;
        } else if ((p[0] & 0xC0) == 0x40) {  // ChannelData, padded to 4 over streams
            length = 4 + size_t(readU16(p + 2));
            consumed = (length + 3) & ~size_t(3);
        } else {
            broken_ = true;
            return std::nullopt;
        }
        if (avail < consumed) return std::nullopt;
        Bytes frame(p, p + length);
        start_ += consumed;
        return frame;
    }

    bool broken() const { return broken_; }

private:
    Bytes buffer_;
    size_t start_ = 0;
    bool broken_ = false;
};

}  // namespace tincan::sim
