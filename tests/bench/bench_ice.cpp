// Time for two ICE agents to connect (both sides `connected`), per NAT topology.
//
// BM_ConnectSim: in the network simulator — the "virtual_ms" counter is simulated wall time
// (10 ms one-way WAN delay, 1 ms LAN), what a user would wait on such a network; the benchmark's
// own time is the CPU cost of simulating it.
// BM_ConnectLoopback: two real agents on the runtime over 127.0.0.1, real sockets and clocks.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <condition_variable>
#include <mutex>

#include "core/net/ice_transport.hpp"
#include "tests/core/ice/ice_scenario.hpp"

using namespace tincan;
using namespace tincan::icetest;

namespace {

void connectSim(benchmark::State& state, Nat a, Nat b, bool sameLan, bool stunUnreachable = false) {
    std::vector<double> times;
    uint64_t seed = 1;
    for (auto _ : state) {
        ScenarioOptions o;
        o.natA = a;
        o.natB = b;
        o.sameLan = sameLan;
        o.seed = seed++;
        o.stunUnreachable = stunUnreachable;
        Scenario s(o);
        s.start();
        if (!s.runUntilConnected(60s)) {
            state.SkipWithError("did not connect");
            return;
        }
        times.push_back(toMillis(*s.connectTime()));
    }
    std::sort(times.begin(), times.end());
    state.counters["virtual_ms"] = times[times.size() / 2];  // median
    state.counters["virtual_ms_max"] = times.back();
}

void BM_ConnectSim_SameLan(benchmark::State& s) {
    connectSim(s, Nat::Cone, Nat::Cone, true);
}
void BM_ConnectSim_ConeCone(benchmark::State& s) {
    connectSim(s, Nat::Cone, Nat::Cone, false);
}
void BM_ConnectSim_SymmetricSymmetric(benchmark::State& s) {
    connectSim(s, Nat::Symmetric, Nat::Symmetric, false);
}
void BM_ConnectSim_UdpBlocked(benchmark::State& s) {
    connectSim(s, Nat::UdpBlocked, Nat::UdpBlocked, false);
}
void BM_ConnectSim_SymmetricStunDown(benchmark::State& s) {
    connectSim(s, Nat::Symmetric, Nat::Symmetric, false, true);
}
BENCHMARK(BM_ConnectSim_SameLan);
BENCHMARK(BM_ConnectSim_ConeCone);
BENCHMARK(BM_ConnectSim_SymmetricSymmetric);
BENCHMARK(BM_ConnectSim_UdpBlocked);
BENCHMARK(BM_ConnectSim_SymmetricStunDown);

// Two IceTransports in one process on loopback: candidates and credentials handed over
// directly (no signaling server), timed from start() to both connected.
void BM_ConnectLoopback(benchmark::State& state) {
    net::Runtime runtime;
    runtime.start();
    std::vector<double> times;
    for (auto _ : state) {
        std::mutex m;
        std::condition_variable cv;
        int connected = 0;
        std::unique_ptr<net::IceTransport> t[2];
        for (int i = 0; i < 2; ++i) {
            net::IceTransportConfig cfg;
            cfg.agent.role = i == 0 ? ice::Role::Controlling : ice::Role::Controlled;
            cfg.hostPolicy.includeLoopback = true;
            cfg.hostPolicy.ipv6 = false;
            cfg.hostPolicy.onlyInterfaces = {"lo"};
            net::IceTransportCallbacks cb;
            cb.onLocalCandidate = [&, i](const ice::Candidate& c) {
                // On the loop thread: hand the candidate straight to the other agent.
                t[1 - i]->agent().addRemoteCandidate(runtime.now(), c);
            };
            cb.onState = [&](ice::IceState s) {
                if (s == ice::IceState::Connected) {
                    std::lock_guard lock(m);
                    ++connected;
                    cv.notify_all();
                }
            };
            t[i] = std::make_unique<net::IceTransport>(runtime, cfg, cb);
        }
        auto start = Clock::now();
        t[0]->setRemoteCredentials(t[1]->localCredentials());
        t[1]->setRemoteCredentials(t[0]->localCredentials());
        auto s0 = t[0]->start();
        auto s1 = s0 ? t[1]->start() : Result<void>{};
        if (!s0 || !s1) {
            state.SkipWithError((s0 ? s1 : s0).message().c_str());
            return;
        }
        {
            std::unique_lock lock(m);
            if (!cv.wait_for(lock, 5s, [&] { return connected >= 2; })) {
                state.SkipWithError("loopback connect timed out");
                return;
            }
        }
        times.push_back(toMillis(Clock::now() - start));
        state.PauseTiming();
        t[0].reset();
        t[1].reset();
        state.ResumeTiming();
    }
    std::sort(times.begin(), times.end());
    state.counters["median_ms"] = times[times.size() / 2];
    runtime.stop();
}
BENCHMARK(BM_ConnectLoopback)->Unit(benchmark::kMillisecond)->Iterations(20);

}  // namespace
