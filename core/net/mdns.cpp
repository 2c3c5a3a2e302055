#include "core/net/mdns.hpp"

#include <algorithm>
#include <optional>
#include <string>

namespace tincan::net {
namespace {

constexpr uint16_t kTypeA = 1;
constexpr uint16_t kTypeAaaa = 28;
constexpr uint16_t kClassIn = 1;
constexpr uint16_t kUnicastResponseBit = 0x8000;  // QU in questions, cache-flush in answers
constexpr size_t kHeaderSize = 12;
constexpr size_t kMaxNameLength = 255;  // RFC 1035 §3.1, in wire format

// Splits "a.b.local" or "a.b.local." into labels; nullopt if not a valid name.
std::optional<std::vector<std::string_view>> splitName(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty()) return std::nullopt;
    std::vector<std::string_view> labels;
    size_t wire = 1;  // the root label
    while (true) {
        size_t dot = name.find('.');
        std::string_view label = name.substr(0, dot);
        if (label.empty() || label.size() > 63) return std::nullopt;
        wire += 1 + label.size();
        labels.push_back(label);
        if (dot == std::string_view::npos) break;
        name.remove_prefix(dot + 1);
    }
    if (wire > kMaxNameLength) return std::nullopt;
    return labels;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c;
}

bool labelEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (lower(a[i]) != lower(b[i])) return false;
    return true;
}

// Reads a possibly compressed name (RFC 1035 §4.1.4) at `pos`, advancing `pos` past it.
// Every pointer must point strictly before the start of the labels that led to it, so
// positions decrease and a loop cannot form; the decoded length is bounded as well.
bool readName(ByteView p, size_t& pos, std::vector<std::string_view>& labels) {
    labels.clear();
    size_t cur = pos;
    size_t segmentStart = pos;
    bool jumped = false;
    size_t wire = 1;
    while (true) {
        if (cur >= p.size()) return false;
        uint8_t len = p[cur];
        if ((len & 0xC0) == 0xC0) {
            if (cur + 1 >= p.size()) return false;
            size_t target = size_t(len & 0x3F) << 8 | p[cur + 1];
            if (target >= segmentStart) return false;
            if (!jumped) pos = cur + 2;
            jumped = true;
            segmentStart = cur = target;
            continue;
        }
        if (len & 0xC0) return false;  // 0x40 / 0x80: extended or reserved label types
        if (len == 0) {
            if (!jumped) pos = cur + 1;
            return true;
        }
        if (cur + 1 + len > p.size()) return false;
        wire += 1 + len;
        if (wire > kMaxNameLength) return false;
        labels.emplace_back(reinterpret_cast<const char*>(p.data() + cur + 1), len);
        cur += 1 + len;
    }
}

}  // namespace

Bytes buildMdnsQuery(std::string_view name, uint16_t id) {
    auto labels = splitName(name);
    if (!labels) return {};
    Bytes out;
    appendU16(out, id);
    appendU16(out, 0);  // standard query; RFC 6762 §18: no flags
    appendU16(out, 2);  // QDCOUNT
    appendU16(out, 0);
    appendU16(out, 0);
    appendU16(out, 0);
    for (std::string_view label : *labels) {
        out.push_back(uint8_t(label.size()));
        appendBytes(out, asBytes(label));
    }
    out.push_back(0);
    appendU16(out, kTypeA);
    appendU16(out, kClassIn | kUnicastResponseBit);
    appendU16(out, 0xC000 | kHeaderSize);  // the same name, compressed
    appendU16(out, kTypeAaaa);
    appendU16(out, kClassIn | kUnicastResponseBit);
    return out;
}

std::vector<IpAddress> parseMdnsAnswer(ByteView p, std::string_view name) {
    return parseMdnsResponse(p, name).value_or(std::vector<IpAddress>{});
}

std::optional<std::vector<IpAddress>> parseMdnsResponse(ByteView p, std::string_view name) {
    if (p.size() < kHeaderSize) return std::nullopt;
    auto wanted = splitName(name);
    if (!wanted) return std::vector<IpAddress>{};
    uint16_t flags = readU16(&p[2]);
    bool isResponse = flags & 0x8000;
    unsigned opcode = (flags >> 11) & 0xF;
    unsigned rcode = flags & 0xF;
    // RFC 6762 §18.3 and §18.11: ignore non-zero opcodes and rcodes.
    if (!isResponse || opcode != 0 || rcode != 0) return std::vector<IpAddress>{};
    unsigned qdcount = readU16(&p[4]);
    unsigned rrcount = unsigned(readU16(&p[6])) + readU16(&p[8]) + readU16(&p[10]);

    size_t pos = kHeaderSize;
    std::vector<std::string_view> labels;
    for (unsigned i = 0; i < qdcount; ++i) {
        if (!readName(p, pos, labels) || pos + 4 > p.size()) return std::nullopt;
        pos += 4;
    }
    std::vector<IpAddress> out;
    for (unsigned i = 0; i < rrcount; ++i) {
        if (!readName(p, pos, labels) || pos + 10 > p.size()) return std::nullopt;
        uint16_t type = readU16(&p[pos]);
        uint16_t cls = readU16(&p[pos + 2]) & ~kUnicastResponseBit;
        uint32_t ttl = readU32(&p[pos + 4]);
        uint16_t rdlength = readU16(&p[pos + 8]);
        pos += 10;
        if (pos + rdlength > p.size()) return std::nullopt;
        ByteView rdata = p.subspan(pos, rdlength);
        pos += rdlength;

        if (cls != kClassIn || ttl == 0) continue;
        if (!std::equal(labels.begin(), labels.end(), wanted->begin(), wanted->end(), labelEquals))
            continue;
        std::optional<IpAddress> ip;
        if (type == kTypeA && rdlength == 4)
            ip = IpAddress::v4(std::span<const uint8_t, 4>(rdata.data(), 4));
        else if (type == kTypeAaaa && rdlength == 16)
            ip = IpAddress::v6(std::span<const uint8_t, 16>(rdata.data(), 16));
        if (!ip || ip->isUnspecified() || ip->isMulticast()) continue;
        if (std::find(out.begin(), out.end(), *ip) == out.end()) out.push_back(*ip);
    }
    return out;
}

}  // namespace tincan::net
