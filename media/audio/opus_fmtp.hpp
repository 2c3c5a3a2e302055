// The Opus format parameters a peer puts in its a=fmtp (RFC 7587 §7.1): its wishes for what we
// send it. Unknown parameters are ignored; a known one with a bad value is dropped and counted
// (the default stands).
#pragma once

#include <optional>
#include <string_view>

namespace tincan::media {

struct OpusFmtp {
    bool useDtx = false;        // usedtx=1: send nothing (or near nothing) during silence
    bool useInbandFec = false;  // useinbandfec=1: the peer decodes in-band FEC
    bool stereo = false;        // stereo=1: the peer would like stereo
    std::optional<int> maxAverageBitrateBps;  // maxaveragebitrate, 6000..510000
    int malformed = 0;                        // known parameters with a value we could not use
};

OpusFmtp parseOpusFmtp(std::string_view fmtp);

}  // namespace tincan::media
