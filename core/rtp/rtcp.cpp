#include "core/rtp/rtcp.hpp"

#include <algorithm>
#include <cstring>

namespace tincan::rtp {
namespace {

constexpr size_t kHeaderSize = 4;
constexpr size_t kReportBlockSize = 24;
constexpr uint8_t kFmtNack = 1;
constexpr uint8_t kFmtTwcc = 15;
constexpr uint8_t kFmtPli = 1;
constexpr uint8_t kFmtFir = 4;
constexpr uint8_t kFmtAfb = 15;
constexpr uint8_t kSdesCname = 1;

// ---------- writing ----------

size_t beginPacket(Bytes& out, uint8_t count, uint8_t pt) {
    size_t start = out.size();
    out.push_back(uint8_t(0x80 | (count & 0x1F)));
    out.push_back(pt);
    appendU16(out, 0);  // length, set by endPacket()
    return start;
}

// Pads with zeros to a 32-bit boundary (setting P and the count byte when `markPadding`) and
// writes the length field (RFC 3550 §6.4.1: in 32-bit words minus one).
void endPacket(Bytes& out, size_t start, bool markPadding = false) {
    size_t pad = (4 - (out.size() - start) % 4) % 4;
    if (pad) {
        out.insert(out.end(), pad, 0);
        if (markPadding) {
            out[start] |= 0x20;
            out.back() = uint8_t(pad);
        }
    }
    writeU16(out.data() + start + 2, uint16_t((out.size() - start) / 4 - 1));
}

void appendReportBlock(Bytes& out, const ReportBlock& b) {
    appendU32(out, b.ssrc);
    out.push_back(b.fractionLost);
    int32_t lost = std::clamp(b.cumulativeLost, -0x800000, 0x7FFFFF);
    uint32_t lost24 = uint32_t(lost) & 0xFFFFFF;
    out.push_back(uint8_t(lost24 >> 16));
    appendU16(out, uint16_t(lost24));
    appendU32(out, b.extendedHighestSeq);
    appendU32(out, b.jitter);
    appendU32(out, b.lastSr);
    appendU32(out, b.delaySinceLastSr);
}

bool writeSr(Bytes& out, const SenderReport& sr) {
    if (sr.reports.size() > 31) return false;
    size_t s = beginPacket(out, uint8_t(sr.reports.size()), kRtcpSr);
    appendU32(out, sr.ssrc);
    appendU32(out, uint32_t(sr.ntpTime >> 32));
    appendU32(out, uint32_t(sr.ntpTime));
    appendU32(out, sr.rtpTimestamp);
    appendU32(out, sr.packetCount);
    appendU32(out, sr.octetCount);
    for (const auto& b : sr.reports) appendReportBlock(out, b);
    endPacket(out, s);
    return true;
}

bool writeRr(Bytes& out, const ReceiverReport& rr) {
    if (rr.reports.size() > 31) return false;
    size_t s = beginPacket(out, uint8_t(rr.reports.size()), kRtcpRr);
    appendU32(out, rr.ssrc);
    for (const auto& b : rr.reports) appendReportBlock(out, b);
    endPacket(out, s);
    return true;
}

bool writeSdes(Bytes& out, const Sdes& sdes) {
    if (sdes.chunks.size() > 31) return false;
    size_t s = beginPacket(out, uint8_t(sdes.chunks.size()), kRtcpSdes);
    for (const auto& c : sdes.chunks) {
        if (c.cname.size() > 255) return false;
        size_t chunkStart = out.size();
        appendU32(out, c.ssrc);
        out.push_back(kSdesCname);
        out.push_back(uint8_t(c.cname.size()));
        appendBytes(out, asBytes(c.cname));
        // RFC 3550 §6.5: one to four null octets end the item list and pad the chunk.
        do {
            out.push_back(0);
        } while ((out.size() - chunkStart) % 4);
    }
    endPacket(out, s);
    return true;
}

bool writeBye(Bytes& out, const Bye& bye) {
    if (bye.ssrcs.size() > 31 || bye.reason.size() > 255) return false;
    size_t s = beginPacket(out, uint8_t(bye.ssrcs.size()), kRtcpBye);
    for (uint32_t ssrc : bye.ssrcs) appendU32(out, ssrc);
    if (!bye.reason.empty()) {
        out.push_back(uint8_t(bye.reason.size()));
        appendBytes(out, asBytes(bye.reason));
    }
    endPacket(out, s);
    return true;
}

bool writeNack(Bytes& out, const Nack& n) {
    size_t s = beginPacket(out, kFmtNack, kRtcpRtpfb);
    appendU32(out, n.senderSsrc);
    appendU32(out, n.mediaSsrc);
    for (const auto& p : nackPairsFromSeqs(n.lostSeqs)) {
        appendU16(out, p.pid);
        appendU16(out, p.blp);
    }
    endPacket(out, s);
    return true;
}

bool writePli(Bytes& out, const Pli& p) {
    size_t s = beginPacket(out, kFmtPli, kRtcpPsfb);
    appendU32(out, p.senderSsrc);
    appendU32(out, p.mediaSsrc);
    endPacket(out, s);
    return true;
}

bool writeFir(Bytes& out, const Fir& f) {
    size_t s = beginPacket(out, kFmtFir, kRtcpPsfb);
    appendU32(out, f.senderSsrc);
    appendU32(out, 0);  // RFC 5104 §4.3.1.2: media source SSRC unused, 0
    for (const auto& e : f.entries) {
        appendU32(out, e.ssrc);
        out.push_back(e.seqNr);
        out.insert(out.end(), 3, 0);
    }
    endPacket(out, s);
    return true;
}

bool writeRemb(Bytes& out, const Remb& r) {
    if (r.ssrcs.size() > 255) return false;
    uint64_t mantissa = r.bitrateBps;
    uint8_t exp = 0;
    while (mantissa >= (1u << 18)) {
        mantissa >>= 1;
        ++exp;
    }
    if (exp > 63) return false;
    size_t s = beginPacket(out, kFmtAfb, kRtcpPsfb);
    appendU32(out, r.senderSsrc);
    appendU32(out, 0);
    appendBytes(out, asBytes("REMB"));
    out.push_back(uint8_t(r.ssrcs.size()));
    out.push_back(uint8_t(exp << 2 | (mantissa >> 16)));
    appendU16(out, uint16_t(mantissa));
    for (uint32_t ssrc : r.ssrcs) appendU32(out, ssrc);
    endPacket(out, s);
    return true;
}

// draft-holmer §3.1.3/§3.1.4 symbols: 0 not received, 1 small delta, 2 large delta.
uint8_t twccSymbol(const TransportFeedback::PacketStatus& p) {
    if (!p.received) return 0;
    return (p.deltaTicks >= 0 && p.deltaTicks <= 255) ? 1 : 2;
}

bool writeTwcc(Bytes& out, const TransportFeedback& fb) {
    const size_t n = fb.packets.size();
    if (n == 0 || n > 0xFFFF) return false;
    for (const auto& p : fb.packets)
        if (p.received && (p.deltaTicks < -32768 || p.deltaTicks > 32767)) return false;
    size_t s = beginPacket(out, kFmtTwcc, kRtcpRtpfb);
    appendU32(out, fb.senderSsrc);
    appendU32(out, fb.mediaSsrc);
    appendU16(out, fb.baseSequenceNumber);
    appendU16(out, uint16_t(n));
    uint32_t ref = uint32_t(fb.referenceTime) & 0xFFFFFF;
    out.push_back(uint8_t(ref >> 16));
    out.push_back(uint8_t(ref >> 8));
    out.push_back(uint8_t(ref));
    out.push_back(fb.feedbackCount);

    // Packet status chunks, greedily: a run-length chunk for long runs (§3.1.3), else a
    // 14-symbol 1-bit vector when no large delta is near, else a 7-symbol 2-bit vector (§3.1.4).
    auto sym = [&](size_t i) { return i < n ? twccSymbol(fb.packets[i]) : uint8_t(0); };
    size_t i = 0;
    while (i < n) {
        size_t run = 1;
        while (i + run < n && run < 0x1FFF && sym(i + run) == sym(i)) ++run;
        bool largeNear = false;
        for (size_t k = i; k < std::min(n, i + 14); ++k) largeNear |= sym(k) == 2;
        if (run >= 14 || (largeNear && run >= 7)) {
            appendU16(out, uint16_t(sym(i) << 13 | run));
            i += run;
        } else if (!largeNear) {
            uint16_t chunk = 0x8000;
            for (size_t k = 0; k < 14; ++k) chunk |= uint16_t(sym(i + k) << (13 - k));
            appendU16(out, chunk);
            i += 14;
        } else {
            uint16_t chunk = 0xC000;
            for (size_t k = 0; k < 7; ++k) chunk |= uint16_t(sym(i + k) << (12 - 2 * k));
            appendU16(out, chunk);
            i += 7;
        }
    }
    for (const auto& p : fb.packets) {
        if (!p.received) continue;
        if (twccSymbol(p) == 1)
            out.push_back(uint8_t(p.deltaTicks));
        else
            appendU16(out, uint16_t(int16_t(p.deltaTicks)));
    }
    endPacket(out, s, true);
    return true;
}

bool writeOne(Bytes& out, const RtcpPacket& p) {
    return std::visit(
        [&](const auto& v) -> bool {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, SenderReport>) return writeSr(out, v);
            if constexpr (std::is_same_v<T, ReceiverReport>) return writeRr(out, v);
            if constexpr (std::is_same_v<T, Sdes>) return writeSdes(out, v);
            if constexpr (std::is_same_v<T, Bye>) return writeBye(out, v);
            if constexpr (std::is_same_v<T, Nack>) return writeNack(out, v);
            if constexpr (std::is_same_v<T, Pli>) return writePli(out, v);
            if constexpr (std::is_same_v<T, Fir>) return writeFir(out, v);
            if constexpr (std::is_same_v<T, Remb>) return writeRemb(out, v);
            if constexpr (std::is_same_v<T, TransportFeedback>) return writeTwcc(out, v);
        },
        p);
}

// ---------- parsing ----------

// A sub-packet's body (after the 4-byte header, padding removed) and header fields.
struct Sub {
    uint8_t count = 0;  // RC/SC/FMT
    uint8_t type = 0;
    ByteView body;
};

using Parsed = std::variant<std::monostate, RtcpPacket, std::string>;  // skipped/ok/error

ReportBlock readReportBlock(const uint8_t* p) {
    ReportBlock b;
    b.ssrc = readU32(p);
    b.fractionLost = p[4];
    uint32_t lost = uint32_t(p[5]) << 16 | uint32_t(p[6]) << 8 | p[7];
    b.cumulativeLost = (lost & 0x800000) ? int32_t(lost | 0xFF000000) : int32_t(lost);
    b.extendedHighestSeq = readU32(p + 8);
    b.jitter = readU32(p + 12);
    b.lastSr = readU32(p + 16);
    b.delaySinceLastSr = readU32(p + 20);
    return b;
}

Parsed parseSr(const Sub& s) {
    if (s.body.size() < 24 + kReportBlockSize * s.count)
        return std::string("SR shorter than its RC");
    const uint8_t* d = s.body.data();
    SenderReport sr;
    sr.ssrc = readU32(d);
    sr.ntpTime = uint64_t(readU32(d + 4)) << 32 | readU32(d + 8);
    sr.rtpTimestamp = readU32(d + 12);
    sr.packetCount = readU32(d + 16);
    sr.octetCount = readU32(d + 20);
    for (size_t i = 0; i < s.count; ++i)
        sr.reports.push_back(readReportBlock(d + 24 + kReportBlockSize * i));
    return RtcpPacket(std::move(sr));  // profile-specific extensions (§6.4.1) are ignored
}

Parsed parseRr(const Sub& s) {
    if (s.body.size() < 4 + kReportBlockSize * s.count)
        return std::string("RR shorter than its RC");
    ReceiverReport rr;
    rr.ssrc = readU32(s.body.data());
    for (size_t i = 0; i < s.count; ++i)
        rr.reports.push_back(readReportBlock(s.body.data() + 4 + kReportBlockSize * i));
    return RtcpPacket(std::move(rr));
}

Parsed parseSdes(const Sub& s) {
    Sdes sdes;
    const uint8_t* d = s.body.data();
    const size_t n = s.body.size();
    size_t pos = 0;
    for (size_t c = 0; c < s.count; ++c) {
        if (n - pos < 4) return std::string("SDES chunk runs past the packet");
        SdesChunk chunk;
        chunk.ssrc = readU32(d + pos);
        pos += 4;
        while (true) {
            if (pos >= n) return std::string("SDES item list not terminated");
            uint8_t type = d[pos];
            if (type == 0) {
                pos = (pos + 4) & ~size_t(3);  // the null octet(s) up to the next word
                if (pos > n) return std::string("SDES chunk padding runs past the packet");
                break;
            }
            if (n - pos < 2 || n - pos - 2 < d[pos + 1])
                return std::string("SDES item runs past the packet");
            if (type == kSdesCname)
                chunk.cname.assign(reinterpret_cast<const char*>(d + pos + 2), d[pos + 1]);
            pos += 2 + d[pos + 1];
        }
        sdes.chunks.push_back(std::move(chunk));
    }
    return RtcpPacket(std::move(sdes));
}

Parsed parseBye(const Sub& s) {
    if (s.body.size() < 4u * s.count) return std::string("BYE shorter than its SC");
    Bye bye;
    for (size_t i = 0; i < s.count; ++i) bye.ssrcs.push_back(readU32(s.body.data() + 4 * i));
    size_t pos = 4u * s.count;
    if (pos < s.body.size()) {
        size_t len = s.body[pos];
        if (s.body.size() - pos - 1 < len) return std::string("BYE reason runs past the packet");
        bye.reason.assign(reinterpret_cast<const char*>(s.body.data() + pos + 1), len);
    }
    return RtcpPacket(std::move(bye));
}

Parsed parseTwcc(const Sub& s, uint32_t sender, uint32_t media) {
    const uint8_t* d = s.body.data();
    const size_t n = s.body.size();
    if (n < 16) return std::string("transport feedback shorter than its fixed fields");
    TransportFeedback fb;
    fb.senderSsrc = sender;
    fb.mediaSsrc = media;
    fb.baseSequenceNumber = readU16(d + 8);
    const size_t count = readU16(d + 10);
    uint32_t ref = uint32_t(d[12]) << 16 | uint32_t(d[13]) << 8 | d[14];
    fb.referenceTime = (ref & 0x800000) ? int32_t(ref | 0xFF000000) : int32_t(ref);
    fb.feedbackCount = d[15];
    if (count == 0) return std::string("transport feedback with no packet status");
    std::vector<uint8_t> symbols;
    symbols.reserve(count);
    size_t pos = 16;
    while (symbols.size() < count) {
        if (n - pos < 2) return std::string("transport feedback status chunks run past the packet");
        uint16_t chunk = readU16(d + pos);
        pos += 2;
        size_t left = count - symbols.size();
        if (!(chunk & 0x8000)) {  // §3.1.3 run length
            uint8_t sym = (chunk >> 13) & 3;
            size_t run = chunk & 0x1FFF;
            if (sym == 3) return std::string("transport feedback reserved status symbol");
            if (run == 0) return std::string("transport feedback zero-length run");
            symbols.insert(symbols.end(), std::min(run, left), sym);
        } else if (!(chunk & 0x4000)) {  // §3.1.4 one-bit vector
            for (size_t k = 0; k < 14 && k < left; ++k) symbols.push_back((chunk >> (13 - k)) & 1);
        } else {  // two-bit vector
            for (size_t k = 0; k < 7 && k < left; ++k) {
                uint8_t sym = (chunk >> (12 - 2 * k)) & 3;
                if (sym == 3) return std::string("transport feedback reserved status symbol");
                symbols.push_back(sym);
            }
        }
    }
    fb.packets.resize(count);
    for (size_t i = 0; i < count; ++i) {
        auto& p = fb.packets[i];
        if (symbols[i] == 0) continue;
        p.received = true;
        if (symbols[i] == 1) {
            if (n - pos < 1) return std::string("transport feedback deltas run past the packet");
            p.deltaTicks = d[pos++];
        } else {
            if (n - pos < 2) return std::string("transport feedback deltas run past the packet");
            p.deltaTicks = int16_t(readU16(d + pos));
            pos += 2;
        }
    }
    return RtcpPacket(std::move(fb));
}

Parsed parseRtpfb(const Sub& s) {
    if (s.body.size() < 8) return std::string("feedback packet shorter than its SSRCs");
    uint32_t sender = readU32(s.body.data());
    uint32_t media = readU32(s.body.data() + 4);
    if (s.count == kFmtNack) {
        size_t fci = s.body.size() - 8;
        if (fci == 0 || fci % 4) return std::string("NACK FCI is not a whole number of pairs");
        std::vector<NackPair> pairs;
        for (size_t i = 8; i < s.body.size(); i += 4)
            pairs.push_back({readU16(s.body.data() + i), readU16(s.body.data() + i + 2)});
        return RtcpPacket(Nack{sender, media, seqsFromNackPairs(pairs)});
    }
    if (s.count == kFmtTwcc) return parseTwcc(s, sender, media);
    return std::monostate{};
}

Parsed parsePsfb(const Sub& s) {
    if (s.body.size() < 8) return std::string("feedback packet shorter than its SSRCs");
    const uint8_t* d = s.body.data();
    uint32_t sender = readU32(d);
    uint32_t media = readU32(d + 4);
    if (s.count == kFmtPli) return RtcpPacket(Pli{sender, media});
    if (s.count == kFmtFir) {
        size_t fci = s.body.size() - 8;
        if (fci == 0 || fci % 8) return std::string("FIR FCI is not a whole number of entries");
        Fir fir{sender, {}};
        for (size_t i = 8; i < s.body.size(); i += 8)
            fir.entries.push_back({readU32(d + i), d[i + 4]});
        return RtcpPacket(std::move(fir));
    }
    if (s.count == kFmtAfb && s.body.size() >= 12 && std::memcmp(d + 8, "REMB", 4) == 0) {
        if (s.body.size() < 16) return std::string("REMB shorter than its fixed fields");
        size_t numSsrc = d[12];
        if (s.body.size() < 16 + 4 * numSsrc)
            return std::string("REMB SSRC list runs past the packet");
        uint8_t exp = d[13] >> 2;
        uint64_t mantissa = uint64_t(d[13] & 3) << 16 | readU16(d + 14);
        if (exp > 46 && (mantissa >> (64 - exp)) != 0) return std::string("REMB bitrate overflows");
        Remb remb{sender, mantissa << exp, {}};
        for (size_t i = 0; i < numSsrc; ++i) remb.ssrcs.push_back(readU32(d + 16 + 4 * i));
        return RtcpPacket(std::move(remb));
    }
    return std::monostate{};
}

}  // namespace

std::vector<std::optional<int64_t>> TransportFeedback::arrivalTimesUs() const {
    std::vector<std::optional<int64_t>> out;
    out.reserve(packets.size());
    int64_t t = int64_t(referenceTime) * kReferenceTimeUnitUs;
    for (const auto& p : packets) {
        if (!p.received) {
            out.emplace_back();
            continue;
        }
        t += int64_t(p.deltaTicks) * kDeltaTickUs;
        out.emplace_back(t);
    }
    return out;
}

RtcpCompound parseRtcp(ByteView data) {
    RtcpCompound out;
    size_t pos = 0;
    while (pos < data.size()) {
        ByteView rest = data.subspan(pos);
        if (rest.size() < kHeaderSize) {
            out.dropped.emplace_back("RTCP header cut short");
            break;
        }
        if ((rest[0] >> 6) != 2) {
            out.dropped.emplace_back("RTCP version is not 2");
            break;
        }
        size_t len = (size_t(readU16(rest.data() + 2)) + 1) * 4;
        if (len > rest.size()) {
            out.dropped.emplace_back("RTCP length runs past the packet");
            break;
        }
        pos += len;
        Sub s{uint8_t(rest[0] & 0x1F), rest[1], rest.subspan(kHeaderSize, len - kHeaderSize)};
        if (rest[0] & 0x20) {  // RFC 3550 §6.4.1 P: the last octet counts the padding
            uint8_t pad = rest[len - 1];
            if (pad == 0 || pad > s.body.size()) {
                out.dropped.emplace_back("RTCP padding count is invalid");
                continue;
            }
            s.body = s.body.first(s.body.size() - pad);
        }
        Parsed parsed;
        switch (s.type) {
            case kRtcpSr:
                parsed = parseSr(s);
                break;
            case kRtcpRr:
                parsed = parseRr(s);
                break;
            case kRtcpSdes:
                parsed = parseSdes(s);
                break;
            case kRtcpBye:
                parsed = parseBye(s);
                break;
            case kRtcpRtpfb:
                parsed = parseRtpfb(s);
                break;
            case kRtcpPsfb:
                parsed = parsePsfb(s);
                break;
            default:
                break;
        }
        if (auto* p = std::get_if<RtcpPacket>(&parsed))
            out.packets.push_back(std::move(*p));
        else if (auto* e = std::get_if<std::string>(&parsed))
            out.dropped.push_back(std::move(*e));
        else
            ++out.unknown;
    }
    return out;
}

Bytes serializeRtcp(const RtcpPacket& packet) {
    Bytes out;
    if (!writeOne(out, packet)) return {};
    return out;
}

Bytes serializeRtcp(std::span<const RtcpPacket> packets) {
    Bytes out;
    for (const auto& p : packets)
        if (!writeOne(out, p)) return {};
    return out;
}

std::vector<NackPair> nackPairsFromSeqs(std::span<const uint16_t> seqs) {
    std::vector<NackPair> pairs;
    for (uint16_t seq : seqs) {
        if (!pairs.empty()) {
            uint16_t d = uint16_t(seq - pairs.back().pid);
            if (d == 0) continue;
            if (d <= 16) {
                pairs.back().blp |= uint16_t(1u << (d - 1));
                continue;
            }
        }
        pairs.push_back({seq, 0});
    }
    return pairs;
}

std::vector<uint16_t> seqsFromNackPairs(std::span<const NackPair> pairs) {
    std::vector<uint16_t> seqs;
    for (const auto& p : pairs) {
        seqs.push_back(p.pid);
        for (int b = 0; b < 16; ++b)
            if (p.blp & (1u << b)) seqs.push_back(uint16_t(p.pid + b + 1));
    }
    return seqs;
}

uint64_t ntpFromUnixUs(int64_t unixUs) {
    constexpr uint64_t kUnixToNtpSeconds = 2208988800ull;  // 1900-01-01 to 1970-01-01
    uint64_t seconds = uint64_t(unixUs / 1000000) + kUnixToNtpSeconds;
    uint64_t fraction = (uint64_t(unixUs % 1000000) << 32) / 1000000;
    return seconds << 32 | fraction;
}

}  // namespace tincan::rtp
