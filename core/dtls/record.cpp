#include "core/dtls/record.hpp"

namespace tincan::dtls {

namespace {

uint32_t readU24(const uint8_t* p) {
    return uint32_t(p[0]) << 16 | uint32_t(p[1]) << 8 | p[2];
}

// RFC 6347 §4.2.2: one or more handshake fragments, each inside its record and its message.
bool handshakeFragmentsFit(const uint8_t* body, size_t len) {
    if (len == 0) return false;
    size_t h = 0;
    while (h < len) {
        if (len - h < kHandshakeHeaderSize) return false;
        const uint8_t* m = body + h;
        const uint32_t msgLen = readU24(m + 1), fragOff = readU24(m + 6), fragLen = readU24(m + 9);
        if (fragLen > len - h - kHandshakeHeaderSize) return false;
        if (uint64_t(fragOff) + fragLen > msgLen) return false;
        h += kHandshakeHeaderSize + fragLen;
    }
    return true;
}

}  // namespace

bool isWellFormedDatagram(ByteView d) {
    if (d.size() < kRecordHeaderSize) return false;
    size_t off = 0;
    while (off < d.size()) {
        if (d.size() - off < kRecordHeaderSize) return false;
        const uint8_t* p = d.data() + off;
        const uint8_t type = p[0];
        if (type < kContentChangeCipherSpec || type > kContentApplicationData) return false;
        if (p[1] != 0xFE || (p[2] != 0xFD && p[2] != 0xFF)) return false;  // DTLS 1.2 / 1.0
        const size_t len = readU16(p + 11);
        if (len > kMaxCiphertext || len > d.size() - off - kRecordHeaderSize) return false;
        const uint8_t* body = p + kRecordHeaderSize;
        if (readU16(p + 3) == 0) {  // epoch 0: not encrypted
            switch (type) {
                case kContentChangeCipherSpec:
                    if (len != 1 || body[0] != 1) return false;
                    break;
                case kContentAlert:
                    if (len != 2) return false;
                    break;
                case kContentHandshake:
                    if (!handshakeFragmentsFit(body, len)) return false;
                    break;
                default:
                    return false;  // application data is never sent unprotected
            }
        }
        off += kRecordHeaderSize + len;
    }
    return true;
}

}  // namespace tincan::dtls
