// STUN codec throughput: the per-packet work of an ICE agent (Binding requests with
// MESSAGE-INTEGRITY and FINGERPRINT, in and out) and of a TURN client (Data indications).
#include <benchmark/benchmark.h>

#include "core/common/endpoint.hpp"
#include "core/stun/message.hpp"

using namespace tincan;
using namespace tincan::stun;

namespace {

constexpr TransactionId kTid{0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34,
                             0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae};

const Integrity& iceIntegrity() {
    static const Integrity integrity{shortTermKey("VOkJxbRl1RmTxUk/WvJxBt"), false};
    return integrity;
}

// What a browser sends as an ICE connectivity check (RFC 8445 §7.1.1).
Message bindingRequest() {
    Message m(MessageClass::Request, Method::Binding, kTid);
    m.addString(attr::Username, "evtj:h6vYIrIzzOLYMV3CXOZQ");
    m.addU32(attr::Priority, 0x6e0001ff);
    m.addU64(attr::IceControlling, 0x932ff9b151263b36);
    m.addFlag(attr::UseCandidate);
    return m;
}

// A TURN Data indication carrying a 1200-byte datagram (RFC 8656 §11.6).
Bytes dataIndication(bool fingerprint) {
    Message m(MessageClass::Indication, Method::Data, kTid);
    m.addXorAddress(attr::XorPeerAddress, *Endpoint::parse("198.51.100.20:49152"));
    Bytes payload(1200);
    for (size_t i = 0; i < payload.size(); ++i) payload[i] = uint8_t(i * 31 + 7);
    m.addRaw(attr::Data, payload);
    return m.encode(nullptr, fingerprint);
}

void setCounters(benchmark::State& state, size_t bytesPerItem) {
    state.SetItemsProcessed(int64_t(state.iterations()));
    state.SetBytesProcessed(int64_t(state.iterations() * bytesPerItem));
}

void BM_ParseBindingRequest(benchmark::State& state) {
    const Bytes wire = bindingRequest().encode(&iceIntegrity(), true);
    for (auto _ : state) {
        auto m = tryParse(wire);
        benchmark::DoNotOptimize(m);
    }
    setCounters(state, wire.size());
}
BENCHMARK(BM_ParseBindingRequest);

void BM_EncodeBindingRequest(benchmark::State& state) {
    const Message m = bindingRequest();
    size_t size = 0;
    for (auto _ : state) {
        Bytes wire = m.encode(&iceIntegrity(), true);
        size = wire.size();
        benchmark::DoNotOptimize(wire);
    }
    setCounters(state, size);
}
BENCHMARK(BM_EncodeBindingRequest);

void BM_VerifyIntegrity(benchmark::State& state) {
    const Bytes wire = bindingRequest().encode(&iceIntegrity(), true);
    const Message m = *tryParse(wire);
    if (m.verifyIntegrity(iceIntegrity().key) != IntegrityCheck::Ok) state.SkipWithError("bad MAC");
    for (auto _ : state) benchmark::DoNotOptimize(m.verifyIntegrity(iceIntegrity().key));
    setCounters(state, wire.size());
}
BENCHMARK(BM_VerifyIntegrity);

// Parse, then read the peer address and the payload, as a TURN client does.
void BM_ParseDataIndication(benchmark::State& state) {
    const Bytes wire = dataIndication(state.range(0) != 0);
    for (auto _ : state) {
        auto m = tryParse(wire);
        benchmark::DoNotOptimize(m->getXorAddress(attr::XorPeerAddress));
        benchmark::DoNotOptimize(m->find(attr::Data)->value.data());
    }
    setCounters(state, wire.size());
}
BENCHMARK(BM_ParseDataIndication)->ArgName("fingerprint")->Arg(0)->Arg(1);

void BM_Crc32(benchmark::State& state) {
    Bytes data(size_t(state.range(0)));
    for (size_t i = 0; i < data.size(); ++i) data[i] = uint8_t(i * 13 + 1);
    for (auto _ : state) benchmark::DoNotOptimize(crc32(data));
    setCounters(state, data.size());
}
BENCHMARK(BM_Crc32)->Arg(1200);

}  // namespace
