#include "core/sctp/usrsctp_glue.hpp"
#include "core/sctp/sctp_transport.hpp"

#include <spdlog/spdlog.h>
#include <usrsctp.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <shared_mutex>
#include <string>
#include <unordered_set>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace tincan::sctp::detail {

namespace {

// ---- CRC32c (Castagnoli, reflected), RFC 4960 Appendix B ----

constexpr std::array<uint32_t, 256> makeCrcTable() {
    std::array<uint32_t, 256> table{};
    for (uint32_t i = 0; i < 256; ++i) {
        uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    return table;
}
constexpr std::array<uint32_t, 256> kCrcTable = makeCrcTable();

uint32_t crcSoftware(uint32_t crc, const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) crc = kCrcTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
    return crc;
}

#if defined(__x86_64__)
// The crc32 instruction has a latency of 3 cycles but a throughput of 1: three independent
// streams over adjacent 128-byte blocks run three times as fast, then are joined with the
// "append 128 zero bytes" operator (CRC is linear: crc(A|B) = zeros(|B|)(crc(A)) ^ crc(B)).
constexpr size_t kBlock = 128;

struct ZerosOperator {
    std::array<std::array<uint32_t, 256>, 4> table{};
    ZerosOperator() {
        for (int k = 0; k < 4; ++k) {
            for (uint32_t b = 0; b < 256; ++b) {
                uint32_t x = b << (8 * k);
                for (size_t i = 0; i < kBlock; ++i) x = kCrcTable[x & 0xFF] ^ (x >> 8);
                table[size_t(k)][b] = x;
            }
        }
    }
    uint32_t operator()(uint32_t crc) const {
        return table[0][crc & 0xFF] ^ table[1][(crc >> 8) & 0xFF] ^ table[2][(crc >> 16) & 0xFF] ^
               table[3][crc >> 24];
    }
};
const ZerosOperator kZeros128;

__attribute__((target("sse4.2"))) uint32_t crcHardware(uint32_t crc, const uint8_t* p, size_t n) {
    uint64_t c0 = crc;
    while (n >= 3 * kBlock) {
        uint64_t c1 = 0;
        uint64_t c2 = 0;
        for (size_t i = 0; i < kBlock; i += 8) {
            uint64_t v0, v1, v2;
            std::memcpy(&v0, p + i, 8);
            std::memcpy(&v1, p + kBlock + i, 8);
            std::memcpy(&v2, p + 2 * kBlock + i, 8);
            c0 = _mm_crc32_u64(c0, v0);
            c1 = _mm_crc32_u64(c1, v1);
            c2 = _mm_crc32_u64(c2, v2);
        }
        c0 = kZeros128(uint32_t(c0)) ^ uint32_t(c1);
        c0 = kZeros128(uint32_t(c0)) ^ uint32_t(c2);
        p += 3 * kBlock;
        n -= 3 * kBlock;
    }
    while (n >= 8) {
        uint64_t v;
        std::memcpy(&v, p, 8);
        c0 = _mm_crc32_u64(c0, v);
        p += 8;
        n -= 8;
    }
    auto c32 = uint32_t(c0);
    while (n-- > 0) c32 = _mm_crc32_u8(c32, *p++);
    return c32;
}
const bool kHaveCrcInstruction = [] {
    __builtin_cpu_init();  // needed when used from a static initializer
    return __builtin_cpu_supports("sse4.2") != 0;
}();
#endif

uint32_t crcUpdate(uint32_t crc, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
    if (kHaveCrcInstruction) return crcHardware(crc, p, n);
#endif
    return crcSoftware(crc, p, n);
}

// ---- registry and clock ----

std::shared_mutex registryMutex;
std::unordered_set<PacketSink*>* registry = nullptr;  // leaked with the stack, see header

std::mutex clockMutex;
bool clockRunning = false;
Timestamp clockAt;

// usrsctp's output callback: one SCTP packet for the association whose AF_CONN address is
// `address`. Runs on whatever thread is inside usrsctp; must not call back into usrsctp.
int connOutput(void* address, void* buffer, size_t length, uint8_t /*tos*/, uint8_t /*setDf*/) {
    if (length < 12) return 0;
    std::shared_lock lock(registryMutex);
    auto* sink = static_cast<PacketSink*>(address);
    if (registry == nullptr || !registry->contains(sink)) return 0;  // transport already gone
    const auto* bytes = static_cast<const uint8_t*>(buffer);
    Bytes packet(bytes, bytes + length);
    // CRC32c offload is on (usrsctp leaves the field zero): fill it here, in hardware.
    const uint32_t crc = sctpChecksum(packet);
    packet[8] = uint8_t(crc);
    packet[9] = uint8_t(crc >> 8);
    packet[10] = uint8_t(crc >> 16);
    packet[11] = uint8_t(crc >> 24);
    std::lock_guard sinkLock(sink->mutex);
    sink->packetsSent++;
    sink->bytesSent += length;
    sink->packets.push_back(std::move(packet));
    return 0;
}

void debugPrintf(const char* format, ...) {
    char text[512];
    va_list args;
    va_start(args, format);
    std::vsnprintf(text, sizeof(text), format, args);
    va_end(args);
    std::string line(text);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    spdlog::debug("sctp: usrsctp: {}", line);
}

void initOnce() {
    // No threads: usrsctp's timers run from advanceClock()/usrsctp_handle_timers() on the
    // caller's thread, and no raw IP sockets are opened (UDP encapsulation port 0 = none).
    usrsctp_init_nothreads(0, &connOutput, &debugPrintf);
    // DTLS already authenticates every byte: skip usrsctp's CRC check on input and its CRC
    // computation on output. handleIncoming() still verifies the CRC (in hardware) so that
    // corrupt packets are counted; connOutput() fills it in for the peer.
    usrsctp_enable_crc32c_offload();

    // Features WebRTC does not use (RFC 8831 §6.2): fewer parameters in INIT, less attack
    // surface. ECN cannot work either: the ECN bits of the IP header never reach SCTP.
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    usrsctp_sysctl_set_sctp_asconf_enable(0);
    usrsctp_sysctl_set_sctp_auth_enable(0);
    usrsctp_sysctl_set_sctp_nrsack_enable(0);
    usrsctp_sysctl_set_sctp_pktdrop_enable(0);
    // What it needs: partial reliability (RFC 3758) and stream reset (RFC 6525).
    usrsctp_sysctl_set_sctp_pr_enable(1);
    usrsctp_sysctl_set_sctp_reconfig_enable(1);

    // Throughput. The defaults are for a kernel stack from 2008: cwnd starts at 3 MTUs (RFC
    // 6928 allows 10), at most 4 packets leave per burst, only 512 chunks may be queued per
    // association in either direction (a 4 MiB window holds ~3600 full chunks, so the default
    // drops data on receive), and SACKs wait up to 200 ms.
    usrsctp_sysctl_set_sctp_initial_cwnd(10);
    usrsctp_sysctl_set_sctp_max_burst_default(16);
    usrsctp_sysctl_set_sctp_max_chunks_on_queue(64 * 1024);
    usrsctp_sysctl_set_sctp_delayed_sack_time_default(20);  // ms
    // Slow start grows cwnd by the bytes a SACK acknowledges, capped at L MTUs per SACK (RFC
    // 3465's L; usrsctp's default 2). A Tincan receiver that we let SACK every 8th packet
    // (a=x-tincan-sack-every) acknowledges 8 at once, and with L = 2 the window would grow by a
    // quarter per round trip instead of doubling. A receiver that SACKs every second packet, as
    // browsers do, never reaches the cap, so L only matters for the stretch SACKs we asked for.
    usrsctp_sysctl_set_sctp_L2_abc_variable(kMaxSackEvery);

    // Timers: RTO between 200 ms (like Linux TCP) and 1 s instead of 1 s..60 s, first RTO 1 s
    // (RFC 6298). The 1 s ceiling keeps a lossy path moving: at 5 % loss a retransmission is
    // lost again now and then, and with a 10 s ceiling the backoff left ordered channels
    // without progress for seconds (tests/net/test_wan.py, issue 7). A dead peer is ICE's
    // business (consent freshness, RFC 7675: 30 s); SCTP just must not give up sooner: 30
    // retransmissions at the 1 s ceiling take about 30 s.
    usrsctp_sysctl_set_sctp_rto_min_default(200);
    usrsctp_sysctl_set_sctp_rto_initial_default(1000);
    usrsctp_sysctl_set_sctp_rto_max_default(1000);
    usrsctp_sysctl_set_sctp_init_rto_max_default(10000);
    usrsctp_sysctl_set_sctp_assoc_rtx_max_default(30);
    usrsctp_sysctl_set_sctp_path_rtx_max_default(30);  // one path: it fails with the association

    registry = new std::unordered_set<PacketSink*>();
}

std::once_flag initFlag;

}  // namespace

void ensureUsrsctp() {
    std::call_once(initFlag, initOnce);
}

void registerSink(PacketSink* sink) {
    ensureUsrsctp();
    {
        std::unique_lock lock(registryMutex);
        registry->insert(sink);
    }
    usrsctp_register_address(sink);
}

void unregisterSink(PacketSink* sink) {
    bool empty = false;
    {
        std::unique_lock lock(registryMutex);
        registry->erase(sink);
        empty = registry->empty();
    }
    if (empty) {
        // Nobody drives the clock any more: the next transport restarts it from its own now
        // instead of firing every timer of the idle gap at once.
        std::lock_guard lock(clockMutex);
        clockRunning = false;
    }
}

void forgetAddress(PacketSink* sink) {
    usrsctp_deregister_address(sink);
}

uint32_t advanceClock(Timestamp now) {
    std::lock_guard lock(clockMutex);
    if (!clockRunning) {
        clockRunning = true;
        clockAt = now;
        return 0;
    }
    if (now <= clockAt) return 0;
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - clockAt).count();
    if (ms <= 0) return 0;
    clockAt += std::chrono::milliseconds(ms);
    return ms > int64_t(UINT32_MAX) ? UINT32_MAX : uint32_t(ms);
}

uint32_t sctpChecksum(ByteView packet) {
    static constexpr uint8_t kZero[4] = {0, 0, 0, 0};
    uint32_t crc = 0xFFFFFFFFu;
    crc = crcUpdate(crc, packet.data(), 8);
    crc = crcUpdate(crc, kZero, 4);
    crc = crcUpdate(crc, packet.data() + 12, packet.size() - 12);
    return ~crc;
}

}  // namespace tincan::sctp::detail
