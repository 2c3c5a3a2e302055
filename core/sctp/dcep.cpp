#include "core/sctp/dcep.hpp"

namespace tincan::sctp::dcep {

namespace {

// RFC 8832 §8.2.2 channel types: the high bit is "unordered", the low bits the reliability.
constexpr uint8_t kUnorderedBit = 0x80;
constexpr uint8_t kTypeReliable = 0x00;
constexpr uint8_t kTypeRexmit = 0x01;
constexpr uint8_t kTypeTimed = 0x02;
constexpr size_t kOpenHeader = 12;

uint8_t channelType(const Open& open) {
    uint8_t type = kTypeReliable;
    if (open.reliability == Reliability::Rexmit) type = kTypeRexmit;
    if (open.reliability == Reliability::Timed) type = kTypeTimed;
    return open.ordered ? type : uint8_t(type | kUnorderedBit);
}

}  // namespace

Bytes encodeOpen(const Open& open) {
    // RFC 8832 §5.1: type, channel type, priority, reliability parameter, label length,
    // protocol length, label, protocol.
    Bytes out;
    out.reserve(kOpenHeader + open.label.size() + open.protocol.size());
    out.push_back(kMessageOpen);
    out.push_back(channelType(open));
    appendU16(out, open.priority);
    appendU32(out, open.reliability == Reliability::Reliable ? 0 : open.reliabilityParameter);
    appendU16(out, uint16_t(open.label.size()));
    appendU16(out, uint16_t(open.protocol.size()));
    appendBytes(out, asBytes(open.label));
    appendBytes(out, asBytes(open.protocol));
    return out;
}

Bytes encodeAck() {
    return Bytes{kMessageAck};
}

std::optional<Open> parseOpen(ByteView message) {
    if (message.size() < kOpenHeader || message[0] != kMessageOpen) return std::nullopt;
    const uint8_t type = message[1];
    Open open;
    open.ordered = (type & kUnorderedBit) == 0;
    switch (type & uint8_t(~kUnorderedBit)) {
        case kTypeReliable:
            open.reliability = Reliability::Reliable;
            break;
        case kTypeRexmit:
            open.reliability = Reliability::Rexmit;
            break;
        case kTypeTimed:
            open.reliability = Reliability::Timed;
            break;
        default:
            return std::nullopt;
    }
    open.priority = readU16(&message[2]);
    open.reliabilityParameter =
        open.reliability == Reliability::Reliable ? 0 : readU32(&message[4]);
    const size_t labelLength = readU16(&message[8]);
    const size_t protocolLength = readU16(&message[10]);
    if (message.size() - kOpenHeader < labelLength + protocolLength) return std::nullopt;
    open.label = std::string(asString(message.subspan(kOpenHeader, labelLength)));
    open.protocol =
        std::string(asString(message.subspan(kOpenHeader + labelLength, protocolLength)));
    return open;
}

bool isAck(ByteView message) {
    return !message.empty() && message[0] == kMessageAck;
}

}  // namespace tincan::sctp::dcep
