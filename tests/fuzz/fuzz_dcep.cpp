// libFuzzer target for the Data Channel Establishment Protocol codec (core/sctp/dcep.cpp,
// RFC 8832): what a remote peer sends on PPID 50 once the SCTP association is up.
//
// Any input: parseOpen returns an Open or nullopt, never reads past the end. An Open is encoded
// again, which must give back the input's bytes (up to the reliability parameter, which a
// reliable channel ignores, and anything after the protocol, which is ignored), and parse back to
// the same Open. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>

#include "core/sctp/dcep.hpp"

using namespace tincan;
using namespace tincan::sctp::dcep;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    const bool ack = isAck(in);
    check(ack == (size >= 1 && data[0] == kMessageAck));
    const std::optional<Open> open = parseOpen(in);
    if (!open) return 0;
    check(!ack);
    check(open->reliability == Reliability::Reliable || open->reliability == Reliability::Rexmit ||
          open->reliability == Reliability::Timed);
    if (open->reliability == Reliability::Reliable) check(open->reliabilityParameter == 0);

    const Bytes wire = encodeOpen(*open);
    check(wire.size() == 12 + open->label.size() + open->protocol.size());
    check(wire.size() <= size);
    // Same bytes as the input, except a reliable channel's (ignored) reliability parameter.
    check(std::memcmp(wire.data(), data, 4) == 0);
    if (open->reliability != Reliability::Reliable)
        check(std::memcmp(wire.data() + 4, data + 4, 4) == 0);
    check(std::memcmp(wire.data() + 8, data + 8, wire.size() - 8) == 0);
    const std::optional<Open> back = parseOpen(wire);
    check(back && *back == *open);
    check(encodeAck() == Bytes{kMessageAck});
    return 0;
}
