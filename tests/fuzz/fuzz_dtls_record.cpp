// libFuzzer target for the DTLS record check (core/dtls/record.cpp, RFC 6347 §4.1 / §4.2.2):
// the first code that reads a DTLS-looking datagram from anyone who knows the port.
//
// Any input: isWellFormedDatagram answers without reading past the end, and agrees with a
// walk over the record headers done here. A datagram it accepts is then handed to a DTLS server
// transport (OpenSSL behind it), which must take it without failing hard or crashing, and must
// count it as received; one it refuses must be counted as malformed and not reach OpenSSL.
// A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>

#include "core/dtls/dtls_transport.hpp"
#include "core/dtls/record.hpp"

using namespace tincan;
using namespace tincan::dtls;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

// The record layer alone: complete records with known types and versions.
bool recordsFrame(ByteView d) {
    if (d.empty()) return false;
    size_t off = 0;
    while (off < d.size()) {
        if (d.size() - off < kRecordHeaderSize) return false;
        const uint8_t* p = d.data() + off;
        if (p[0] < kContentChangeCipherSpec || p[0] > kContentApplicationData) return false;
        if (p[1] != 0xFE || (p[2] != 0xFD && p[2] != 0xFF)) return false;
        off += kRecordHeaderSize + readU16(p + 11);
        if (readU16(p + 11) > kMaxCiphertext) return false;
    }
    return off == d.size();
}

const std::shared_ptr<Certificate>& certificate() {
    static const std::shared_ptr<Certificate> cert = Certificate::generate();
    return cert;
}

DtlsConfig serverConfig() {
    DtlsConfig config;
    config.role = Role::Server;
    config.remoteFingerprints = {sdp::Fingerprint{"sha-256", Bytes(32, 0xAB)}};
    return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const ByteView in(data, size);
    const bool wellFormed = isWellFormedDatagram(in);
    // Well-formed implies framed; the converse fails only on epoch-0 bodies.
    if (wellFormed) check(recordsFrame(in));

    const Timestamp now = Timestamp{} + std::chrono::seconds(1);
    if (!wellFormed) {
        // Refused before OpenSSL: one long-lived transport suffices, its state never changes.
        static DtlsTransport idle = [&] {
            DtlsTransport t(certificate(), serverConfig());
            t.start(now);
            return t;
        }();
        const DtlsTransport::Stats before = idle.stats();
        idle.handleIncoming(now, in);
        check(idle.stats().malformedDropped == before.malformedDropped + 1);
        check(idle.stats().packetsReceived == before.packetsReceived);
        check(!idle.pollOutgoing() && idle.state() == State::Connecting);
        return 0;
    }
    DtlsTransport server(certificate(), serverConfig());
    server.start(now);
    server.handleIncoming(now, in);
    const DtlsTransport::Stats stats = server.stats();
    check(stats.malformedDropped == 0 && stats.packetsReceived == 1);
    while (std::optional<Bytes> out = server.pollOutgoing()) check(isWellFormedDatagram(*out));
    while (server.pollEvent()) {
    }
    check(server.state() != State::Connected);  // no handshake completes from one datagram
    return 0;
}
