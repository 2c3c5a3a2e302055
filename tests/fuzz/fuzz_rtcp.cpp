// libFuzzer target for the RTCP codec (core/rtp/rtcp.cpp).
//
// Any input: parseRtcp never crashes and gives a reason for every dropped sub-packet. Every
// packet it returns is written again and parsed again, which must give the same packets with
// nothing dropped (a fixed point after one round); NACK lists go through the pair helpers and
// back; transport feedback arrival times are computed.
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "core/rtp/rtcp.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {
void check(bool ok) {
    if (!ok) __builtin_trap();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    RtcpCompound c = parseRtcp(ByteView(data, size));
    for (const auto& reason : c.dropped) check(!reason.empty());
    for (const auto& p : c.packets) {
        if (auto* n = std::get_if<Nack>(&p)) {
            auto pairs = nackPairsFromSeqs(n->lostSeqs);
            check(pairs.size() <= n->lostSeqs.size());
            (void)seqsFromNackPairs(pairs);
        }
        if (auto* fb = std::get_if<TransportFeedback>(&p))
            check(fb->arrivalTimesUs().size() == fb->packets.size());
    }
    if (c.packets.empty()) return 0;

    Bytes wire = serializeRtcp(c.packets);
    // Parsed values always fit the writer, except REMB exponents the writer would express
    // differently (same value) and NACK lists (same set, maybe fewer pairs); both re-parse equal.
    check(!wire.empty());
    RtcpCompound again = parseRtcp(wire);
    check(again.dropped.empty());
    check(again.unknown == 0);
    check(again.packets.size() == c.packets.size());
    for (size_t i = 0; i < c.packets.size(); ++i) {
        if (auto* n = std::get_if<Nack>(&c.packets[i])) {
            // Duplicates in the wire's pairs collapse; compare as written.
            auto* n2 = std::get_if<Nack>(&again.packets[i]);
            check(n2 != nullptr);
            check(seqsFromNackPairs(nackPairsFromSeqs(n->lostSeqs)) == n2->lostSeqs);
            continue;
        }
        check(again.packets[i] == c.packets[i]);
    }
    check(serializeRtcp(again.packets) == wire);
    return 0;
}
