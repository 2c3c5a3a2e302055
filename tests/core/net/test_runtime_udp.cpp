// Runtime: UDP sockets, timers, post(), attach/detach and the loop's lifecycle, on loopback.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "core/net/runtime.hpp"
#include "net_test_util.hpp"
#include "tincan/network_thread.hpp"

using namespace tincan;
using namespace tincan::net;
using namespace tincan::net::test;

namespace {

const Endpoint kLoopbackAny{IpAddress::v4(127, 0, 0, 1), 0};

std::thread::id loopThreadOf(Runtime& rt) {
    std::promise<std::thread::id> id;
    rt.post([&] { id.set_value(std::this_thread::get_id()); });
    return id.get_future().get();
}

Packet udp(const Endpoint& from, const Endpoint& to, std::string_view payload) {
    return Packet{TransportProtocol::Udp, from, to, bytesOf(payload)};
}

}  // namespace

TEST(RuntimeUdp, TwoMachinesExchangeDatagramsOnLoopback) {
    TestMachine a, b;
    b.echo = true;
    std::atomic<int> activityA{0};
    Runtime rt;
    rt.start();
    // Set before attaching: from then on the loop thread calls the machines (and reads this).
    a.loopThread = b.loopThread = loopThreadOf(rt);
    MachineId ida = rt.attach(a, [&] { ++activityA; });
    MachineId idb = rt.attach(b, nullptr);
    ASSERT_NE(ida, kInvalidMachine);
    ASSERT_NE(ida, idb);

    auto ea = rt.openUdp(ida, kLoopbackAny);
    ASSERT_TRUE(ea) << ea.message();
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(eb) << eb.message();
    EXPECT_NE(ea->port, 0);
    EXPECT_EQ(ea->ip, kLoopbackAny.ip);

    rt.post([&] { a.queue(udp(*ea, *eb, "hello")); });
    ASSERT_TRUE(eventually([&] { return a.receivedCount() == 1; }));
    {
        std::lock_guard lk(a.mu);
        EXPECT_EQ(a.received[0].local, *ea);
        EXPECT_EQ(a.received[0].remote, *eb);
        EXPECT_EQ(a.received[0].data, bytesOf("hello"));
        EXPECT_FALSE(a.wrongThread);
    }
    {
        std::lock_guard lk(b.mu);
        ASSERT_EQ(b.received.size(), 1u);
        EXPECT_EQ(b.received[0].local, *eb);
        EXPECT_EQ(b.received[0].remote, *ea);
        EXPECT_FALSE(b.wrongThread);
    }
    EXPECT_GT(activityA.load(), 0);
    auto st = rt.stats();
    EXPECT_EQ(st.udpTx, 2u);
    EXPECT_EQ(st.udpRx, 2u);
    EXPECT_EQ(st.bytesTx, 10u);
    EXPECT_EQ(st.bytesRx, 10u);
    EXPECT_EQ(st.droppedNoSocket, 0u);
    rt.detach(ida);
    rt.detach(idb);
}

TEST(RuntimeUdp, Ipv6LoopbackWorksWhenAvailable) {
    TestMachine a, b;
    b.echo = true;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    const Endpoint v6{*IpAddress::parse("::1"), 0};
    auto ea = rt.openUdp(ida, v6);
    auto eb = rt.openUdp(idb, v6);
    if (!ea || !eb) GTEST_SKIP() << "no IPv6 loopback";
    rt.post([&] { a.queue(udp(*ea, *eb, "six")); });
    ASSERT_TRUE(eventually([&] { return a.receivedCount() == 1; }));
    std::lock_guard lk(a.mu);
    EXPECT_EQ(a.received[0].remote, *eb);
    EXPECT_TRUE(a.received[0].remote.ip.isV6());
}

TEST(RuntimeUdp, DropsPacketsFromAddressesThatAreNotTheMachinesSockets) {
    TestMachine a, b;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);
    rt.post([&] {
        a.queue(udp(*eb, *eb, "b's socket, not a's"));
        a.queue(udp(Endpoint{IpAddress::v4(127, 0, 0, 1), 9}, *eb, "no socket"));
        a.queue(udp(*ea, Endpoint{*IpAddress::parse("::1"), eb->port}, "wrong family"));
    });
    ASSERT_TRUE(eventually([&] {
        auto s = rt.stats();
        return s.droppedNoSocket == 2 && s.udpTxDropped == 1;
    }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(b.receivedCount(), 0u);
    EXPECT_EQ(rt.stats().udpTx, 0u);
}

TEST(RuntimeUdp, TimersFireOnTimeWithSubMillisecondAccuracy) {
    TestMachine m;
    // Deadlines with awkward sub-millisecond offsets: rounding waits up to whole
    // milliseconds would make most of them 0.5-0.9 ms late.
    // The deadlines count from after the loop's start, which is not what is measured here (under
    // ASan, starting the thread took longer than the 5 ms lead and made every timer late).
    constexpr int kTimers = 30;
    std::atomic<int> activity{0};
    Runtime rt;
    rt.start();
    Timestamp base = Clock::now() + std::chrono::milliseconds(5);
    for (int k = 0; k < kTimers; ++k)
        m.addDeadline(base + k * std::chrono::microseconds(1130) + std::chrono::microseconds(150));
    MachineId id = rt.attach(m, [&] { ++activity; });
    ASSERT_TRUE(eventually([&] {
        std::lock_guard lk(m.mu);
        return m.firedLateness.size() == size_t(kTimers);
    }));
    std::vector<Duration> late;
    {
        std::lock_guard lk(m.mu);
        late = m.firedLateness;
        // No handleTimeout without a due deadline (two may share a call if the loop was late).
        EXPECT_LE(m.timeoutCalls, kTimers);
        EXPECT_GE(activity.load(), m.timeoutCalls);
    }
    if (getenv("TINCAN_DEBUG_TIMERS"))
        for (auto d : late) std::printf("%.3f ", toMillis(d));
    std::sort(late.begin(), late.end());
    double p50 = toMillis(late[kTimers / 2]), p75 = toMillis(late[kTimers * 3 / 4]);
    double worst = toMillis(late.back());
    std::printf("timer lateness: median %.3f ms, p75 %.3f ms, max %.3f ms\n", p50, p75, worst);
    EXPECT_LT(p75, 0.5);
    EXPECT_LT(worst, 50.0);  // only the scheduler (2 busy cores) makes it this bad
    rt.detach(id);
}

TEST(RuntimeUdp, PostFromOtherThreadsRunsOnTheLoopAndDrainsMachines) {
    TestMachine a, b;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);

    int counter = 0;  // touched only on the loop thread
    std::atomic<int> offLoop{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 250; ++i) {
                rt.post([&] {
                    if (!rt.onLoopThread()) ++offLoop;
                    ++counter;
                });
                if (t == 0 && i < 100)
                    rt.post([&, i] { a.queue(udp(*ea, *eb, std::to_string(i))); });
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_FALSE(rt.onLoopThread());
    ASSERT_TRUE(eventually([&] { return b.receivedCount() == 100; }));
    std::promise<int> seen;
    rt.post([&] { seen.set_value(counter); });
    EXPECT_EQ(seen.get_future().get(), 1000);
    EXPECT_EQ(offLoop.load(), 0);
    std::lock_guard lk(b.mu);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(b.received[size_t(i)].data, bytesOf(std::to_string(i)));
}

TEST(RuntimeUdp, RunsOnTheCallersThreadUntilStopped) {
    TestMachine a, b;
    b.echo = true;
    // Attached and bound before the loop runs: the first transmit goes out when it starts.
    Runtime rt;
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);
    a.queue(udp(*ea, *eb, "queued before run"));
    std::thread::id postedOn;
    rt.post([&] { postedOn = std::this_thread::get_id(); });
    std::thread stopper([&] {
        eventually([&] { return a.receivedCount() == 1; });
        rt.stop();
        rt.stop();  // idempotent
    });
    auto t0 = Clock::now();
    rt.run();
    stopper.join();
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
    EXPECT_EQ(postedOn, std::this_thread::get_id());
    EXPECT_EQ(a.receivedCount(), 1u);
}

TEST(RuntimeUdp, StopBeforeRunReturnsAndStartIsRestartable) {
    Runtime rt;
    rt.stop();
    rt.run();  // returns at once: stop() came first
    rt.start();
    rt.start();  // no second loop
    EXPECT_NE(loopThreadOf(rt), std::this_thread::get_id());
    rt.stop();
    rt.stop();
    rt.start();
    std::promise<bool> ran;
    rt.post([&] { ran.set_value(rt.onLoopThread()); });
    EXPECT_TRUE(ran.get_future().get());
}

TEST(RuntimeUdp, DetachFromAnotherThreadLetsTheMachineGo) {
    auto a = std::make_unique<TestMachine>();
    TestMachine b;
    a->echo = true;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(*a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);
    // b keeps a steady stream of datagrams flowing at a.
    std::atomic<bool> flowing{true};
    std::thread feeder([&] {
        while (flowing) {
            rt.post([&] { b.queue(udp(*eb, *ea, "ping")); });
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        }
    });
    ASSERT_TRUE(eventually([&] { return b.receivedCount() > 10; }));
    rt.detach(ida);
    a.reset();  // must be safe right after detach() returns
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    size_t echoes = b.receivedCount();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(b.receivedCount(), echoes);  // a's socket is closed: no more echoes
    rt.detach(ida);                        // again: no-op
    EXPECT_FALSE(rt.openUdp(ida, kLoopbackAny));
    flowing = false;
    feeder.join();
    rt.stop();  // the feeder's last posts read ea and eb: none may run once they are gone
}

TEST(RuntimeUdp, MachineMayDetachItselfFromItsActivityCallback) {
    TestMachine a, b;
    MachineId ida = kInvalidMachine;
    std::atomic<int> activityAfterDetach{0};
    bool detached = false;
    Runtime rt;
    rt.start();
    ida = rt.attach(a, [&] {
        if (detached) ++activityAfterDetach;
        if (a.receivedCount() > 0 && !detached) {
            detached = true;
            rt.detach(ida);  // on the loop thread: immediate
            rt.post([] {});  // the runtime is still usable from here
        }
    });
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);
    rt.post([&] {
        for (int i = 0; i < 5; ++i) b.queue(udp(*eb, *ea, "x"));
    });
    ASSERT_TRUE(eventually([&] { return a.receivedCount() >= 1; }));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(a.receivedCount(), 1u);  // the rest of the batch is not delivered
    EXPECT_EQ(activityAfterDetach.load(), 0);
}

TEST(RuntimeUdp, OpenUdpReportsErrors) {
    TestMachine a;
    Runtime rt;
    rt.start();
    MachineId id = rt.attach(a, nullptr);
    auto unknown = rt.openUdp(id + 100, kLoopbackAny);
    EXPECT_FALSE(unknown);
    EXPECT_FALSE(unknown.message().empty());
    // 198.51.100.0/24 (TEST-NET-2) is not an address of this host.
    auto foreign = rt.openUdp(id, Endpoint{IpAddress::v4(198, 51, 100, 77), 0});
    EXPECT_FALSE(foreign);
    EXPECT_NE(foreign.message().find("bind"), std::string::npos) << foreign.message();
    auto e = rt.openUdp(id, kLoopbackAny);
    ASSERT_TRUE(e);
    auto inUse = rt.openUdp(id, *e);  // port in use
    EXPECT_FALSE(inUse);
    EXPECT_FALSE(inUse.message().empty());
}

TEST(RuntimeUdp, ExceptionsFromMachinesDoNotEscapeTheLoop) {
    struct Thrower : TestMachine {
        void handlePacket(Timestamp, const PacketView&) override {
            throw std::runtime_error("boom");
        }
    };
    Thrower a;
    TestMachine b;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, [] { throw 42; });
    MachineId idb = rt.attach(b, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(ea && eb);
    rt.post([&] { b.queue(udp(*eb, *ea, "x")); });
    rt.post([] { throw std::logic_error("posted"); });
    ASSERT_TRUE(eventually([&] { return rt.stats().udpRx == 1; }));
    std::promise<void> alive;
    rt.post([&] { alive.set_value(); });
    EXPECT_EQ(alive.get_future().wait_for(std::chrono::seconds(1)), std::future_status::ready);
}

// Not a pass/fail benchmark: prints the loopback round trip through the runtime (one ping =
// sendto -> epoll -> machine B -> sendto -> epoll -> machine A). Guards against gross regressions.
static void pingPong(Runtime& ra, Runtime& rb, const char* label) {
    TestMachine a, b;
    b.echo = true;
    constexpr int kPings = 1000;
    std::vector<Duration> rtts;
    rtts.reserve(kPings);
    Endpoint ea, eb;
    Timestamp sentAt;
    std::promise<void> finished;
    a.onPacket = [&](const PacketView& p, std::deque<Packet>& out) {
        Timestamp now = Clock::now();
        rtts.push_back(now - sentAt);
        if (rtts.size() == size_t(kPings)) {
            finished.set_value();
            return;
        }
        sentAt = now;
        out.push_back(Packet{TransportProtocol::Udp, p.local, p.remote, Bytes(100, 0x55)});
    };
    MachineId ida = ra.attach(a, nullptr);
    MachineId idb = rb.attach(b, nullptr);
    ea = *ra.openUdp(ida, kLoopbackAny);
    eb = *rb.openUdp(idb, kLoopbackAny);
    ra.post([&] {
        sentAt = Clock::now();
        a.queue(Packet{TransportProtocol::Udp, ea, eb, Bytes(100, 0x55)});
    });
    ASSERT_EQ(finished.get_future().wait_for(std::chrono::seconds(10)), std::future_status::ready);
    ra.detach(ida);
    rb.detach(idb);
    std::sort(rtts.begin(), rtts.end());
    double median = toMillis(rtts[kPings / 2]) * 1000,
           p99 = toMillis(rtts[kPings * 99 / 100]) * 1000;
    std::printf(
        "UDP loopback RTT through the runtime (%s, %d pings, 100 B): median %.1f us, p99 %.1f us\n",
        label, kPings, median, p99);
    EXPECT_LT(median, 2000.0);
}

TEST(RuntimeUdp, PingPongLatency) {
    {
        Runtime rt;
        rt.start();
        pingPong(rt, rt, "both machines on one loop");
    }
    {
        Runtime ra, rb;
        ra.start();
        rb.start();
        pingPong(ra, rb, "two runtimes, two threads");
    }
}

TEST(RuntimeUdp, WildcardSocketsServeTheirPortAndCloseUdpClosesThem) {
    TestMachine a, b;
    b.echo = true;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    auto wild = rt.openUdp(ida, Endpoint{IpAddress::anyV4(), 0});
    auto eb = rt.openUdp(idb, kLoopbackAny);
    ASSERT_TRUE(wild && eb);
    EXPECT_TRUE(wild->ip.isUnspecified());
    // Sent "from 127.0.0.1:<port>": the wildcard socket on that port serves it.
    const Endpoint viaLo{IpAddress::v4(127, 0, 0, 1), wild->port};
    rt.post([&] { a.queue(udp(viaLo, *eb, "via wildcard")); });
    ASSERT_TRUE(eventually([&] { return a.receivedCount() == 1; }));
    {
        std::lock_guard lk(a.mu);
        EXPECT_EQ(a.received[0].local, *wild);  // reported as bound
        EXPECT_EQ(a.received[0].remote, *eb);
    }
    rt.closeUdp(ida, *wild);
    rt.post([&] { a.queue(udp(viaLo, *eb, "after close")); });
    ASSERT_TRUE(eventually([&] { return rt.stats().droppedNoSocket == 1; }));
    EXPECT_EQ(b.receivedCount(), 1u);
    // The port is free again.
    EXPECT_TRUE(rt.openUdp(ida, *wild));
}

// A machine that queues many datagrams in one drain (a bulk data-channel sender): runs of one
// size to one remote leave together (UDP GSO where the kernel has it) and must still arrive
// as the same datagrams, in order, whatever the sizes, the run lengths and the remotes.
TEST(RuntimeUdp, BurstsOfDatagramsArriveWholeAndInOrder) {
    TestMachine a, b, c;
    Runtime rt;
    rt.start();
    MachineId ida = rt.attach(a, nullptr);
    MachineId idb = rt.attach(b, nullptr);
    MachineId idc = rt.attach(c, nullptr);
    auto ea = rt.openUdp(ida, kLoopbackAny);
    auto eb = rt.openUdp(idb, kLoopbackAny);
    auto ec = rt.openUdp(idc, kLoopbackAny);
    ASSERT_TRUE(ea && eb && ec);
    std::vector<Bytes> toB, toC;
    auto make = [](size_t n, uint32_t tag) {
        Bytes d(n);
        for (size_t i = 0; i < n; ++i) d[i] = uint8_t(tag * 31 + i * 7);
        if (n >= 4) std::memcpy(d.data(), &tag, 4);
        return d;
    };
    std::vector<Packet> burst;
    uint32_t tag = 0;
    auto add = [&](const Endpoint& to, size_t n, std::vector<Bytes>& expect) {
        Bytes d = make(n, tag++);
        expect.push_back(d);
        burst.push_back(Packet{TransportProtocol::Udp, *ea, to, std::move(d)});
    };
    for (int i = 0; i < 150; ++i) add(*eb, 1200, toB);  // longer than one GSO batch (64, 65000 B)
    add(*eb, 700, toB);                                 // a shorter last one ends a run
    add(*eb, 1200, toB);                                // and a new run starts
    for (int i = 0; i < 5; ++i) add(*ec, 1200, toC);    // another remote
    add(*eb, 1200, toB);
    add(*eb, 1300, toB);  // larger than the run it follows: a run of its own
    for (size_t n : {1u, 2u, 1200u, 1200u, 3u, 9000u, 9000u, 100u}) add(*eb, n, toB);
    size_t total = 0;
    for (const auto& p : burst) total += p.data.size();
    rt.post([&] {
        for (auto& p : burst) a.queue(std::move(p));
    });
    ASSERT_TRUE(eventually([&] {
        return b.receivedCount() == toB.size() && c.receivedCount() == toC.size();
    })) << b.receivedCount()
        << " of " << toB.size() << ", " << c.receivedCount() << " of " << toC.size();
    {
        std::lock_guard lk(b.mu);
        for (size_t i = 0; i < toB.size(); ++i) {
            EXPECT_EQ(b.received[i].data, toB[i]) << "datagram " << i << " to b";
            EXPECT_EQ(b.received[i].remote, *ea);
        }
    }
    {
        std::lock_guard lk(c.mu);
        for (size_t i = 0; i < toC.size(); ++i)
            EXPECT_EQ(c.received[i].data, toC[i]) << "datagram " << i << " to c";
    }
    auto st = rt.stats();
    EXPECT_EQ(st.udpTx, toB.size() + toC.size());
    EXPECT_EQ(st.bytesTx, total);
    EXPECT_EQ(st.udpTxDropped, 0u);
    rt.detach(ida);
    rt.detach(idb);
    rt.detach(idc);
}

// The last reference to a NetworkThread can go on that thread itself (a posted function that
// held it, as a connection's last callback may): it stops without std::terminate (a joinable
// std::thread destroyed) and without freeing the loop under the task that is still running.
// tincan-rtp-reflector died that way at exit ("terminate called without an active exception").
TEST(NetworkThreadLife, LastReferenceDroppedOnItsOwnThread) {
    for (int round = 0; round < 20; ++round) {
        auto thread = NetworkThread::create();
        std::weak_ptr<NetworkThread> weak = thread;
        std::promise<void> released;
        std::shared_future<void> mainLetGo = released.get_future().share();
        std::atomic<bool> ran{false};
        thread->post([keep = thread, mainLetGo, &ran] {
            mainLetGo.wait();
            ran = true;
        });  // when this function is destroyed, on the network thread, `keep` is the last owner
        thread.reset();
        released.set_value();
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        while (!weak.expired() && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        ASSERT_TRUE(ran);
        ASSERT_TRUE(weak.expired()) << "the NetworkThread was not released";
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the reapers finish
}
