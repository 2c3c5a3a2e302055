// Per-packet cost of the media path's protocol work: RTP parse and serialize (a 1200-byte
// video packet with the usual header extensions), compound RTCP parse, transport feedback
// build, and SRTP protect/unprotect for both WebRTC profiles. BM_Memcpy1200 is the anchor:
// copying the packet once, measured in the same run, to report the others as ratios.
//
// Run: build/tests/bench/bench_rtp
#include <benchmark/benchmark.h>

#include <cstring>

#include "core/rtp/rtcp.hpp"
#include "core/rtp/rtp_packet.hpp"
#include "core/rtp/twcc_generator.hpp"
#include "core/srtp/srtp_session.hpp"

using namespace tincan;
using namespace tincan::rtp;

namespace {

RtpHeader videoHeader() {
    RtpHeader h;
    h.payloadType = 96;
    h.sequenceNumber = 1000;
    h.timestamp = 90000;
    h.ssrc = 0x12345678;
    h.setExtension(1, asBytes("0"));
    h.setExtension(2, absSendTimeValue(0x123456));
    h.setExtension(3, transportSequenceNumberValue(4242));
    return h;
}

const Bytes& payload() {
    static const Bytes p(1160, 0xAB);
    return p;
}

void BM_Memcpy1200(benchmark::State& state) {
    Bytes src = serializeRtp(videoHeader(), payload());
    Bytes dst(src.size());
    for (auto _ : state) {
        std::memcpy(dst.data(), src.data(), src.size());
        benchmark::DoNotOptimize(dst.data());
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_Memcpy1200);

void BM_RtpParse(benchmark::State& state) {
    Bytes wire = serializeRtp(videoHeader(), payload());
    for (auto _ : state) {
        auto r = parseRtp(wire);
        auto& v = r.value();
        benchmark::DoNotOptimize(readTransportSequenceNumber(v, 3));
        benchmark::DoNotOptimize(v.payload.data());
    }
}
BENCHMARK(BM_RtpParse);

void BM_RtpSerialize(benchmark::State& state) {
    RtpHeader h = videoHeader();
    for (auto _ : state) {
        ++h.sequenceNumber;
        Bytes wire = serializeRtp(h, payload());
        benchmark::DoNotOptimize(wire.data());
    }
}
BENCHMARK(BM_RtpSerialize);

void BM_RtcpParseCompound(benchmark::State& state) {
    std::vector<RtcpPacket> c{ReceiverReport{1, {{2, 0, 0, 70000, 12, 0xAABBCCDD, 65536}}},
                              Sdes{{{1, "user@host"}}}, Nack{1, 2, {10, 11, 26, 100}},
                              Remb{1, 1'500'000, {2}}};
    Bytes wire = serializeRtcp(c);
    for (auto _ : state) {
        auto r = parseRtcp(wire);
        benchmark::DoNotOptimize(r.packets.data());
    }
}
BENCHMARK(BM_RtcpParseCompound);

// One feedback for 100 packets (about 100 ms of 1 Mbit/s video), from generator to wire.
void BM_TwccFeedback100(benchmark::State& state) {
    const Timestamp t0 = Timestamp{} + 100s;
    uint16_t seq = 0;
    Timestamp now = t0;
    TwccGenerator g;
    for (auto _ : state) {
        for (int i = 0; i < 100; ++i) g.onPacket(now + i * 1ms, seq++);
        now += 100ms;
        auto fb = g.pollFeedback(now);
        Bytes wire = serializeRtcp(RtcpPacket(*fb));
        benchmark::DoNotOptimize(wire.data());
    }
    state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_TwccFeedback100);

dtls::SrtpKeyingMaterial keys(uint16_t profile) {
    const bool gcm = profile == dtls::kSrtpAeadAes128Gcm;
    dtls::SrtpKeyingMaterial k;
    k.profile = profile;
    k.clientKey = k.serverKey = Bytes(16, 0x11);
    k.clientSalt = k.serverSalt = Bytes(gcm ? 12 : 14, 0x22);
    k.serverKey[0] = 0x33;
    return k;
}

std::unique_ptr<srtp::SrtpSession> session(uint16_t profile, dtls::Role role) {
    return srtp::SrtpSession::create(keys(profile), role).value();
}

void BM_SrtpProtect(benchmark::State& state) {
    auto tx = session(uint16_t(state.range(0)), dtls::Role::Client);
    RtpHeader h = videoHeader();
    const Bytes plain = serializeRtp(h, payload());
    Bytes packet;
    packet.reserve(plain.size() + 200);
    uint16_t seq = 0;
    for (auto _ : state) {
        packet.assign(plain.begin(), plain.end());
        writeU16(packet.data() + 2, seq++);
        if (!tx->protectRtp(packet)) state.SkipWithError("protect failed");
        benchmark::DoNotOptimize(packet.data());
    }
}
BENCHMARK(BM_SrtpProtect)->Arg(dtls::kSrtpAes128CmSha1_80)->Arg(dtls::kSrtpAeadAes128Gcm);

// Protect on one side and unprotect on the other (unprotect ≈ this − BM_SrtpProtect: the
// replay window forbids unprotecting one stored packet over and over).
void BM_SrtpProtectUnprotect(benchmark::State& state) {
    auto tx = session(uint16_t(state.range(0)), dtls::Role::Client);
    auto rx = session(uint16_t(state.range(0)), dtls::Role::Server);
    const Bytes plain = serializeRtp(videoHeader(), payload());
    Bytes packet;
    packet.reserve(plain.size() + 200);
    uint16_t seq = 0;
    for (auto _ : state) {
        packet.assign(plain.begin(), plain.end());
        writeU16(packet.data() + 2, seq++);
        tx->protectRtp(packet);
        if (!rx->unprotectRtp(packet)) state.SkipWithError("unprotect failed");
        benchmark::DoNotOptimize(packet.data());
    }
}
BENCHMARK(BM_SrtpProtectUnprotect)->Arg(dtls::kSrtpAes128CmSha1_80)->Arg(dtls::kSrtpAeadAes128Gcm);

}  // namespace
