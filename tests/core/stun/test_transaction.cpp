// Client transaction timing, RFC 8489 §6.2.1: with RTO 500 ms, Rc 7 and Rm 16 a UDP request is
// sent at 0, 500, 1500, 3500, 7500, 15500 and 31500 ms and fails at 39500 ms; over TCP/TLS it is
// sent once and fails at Ti = 39.5 s.
#include <gtest/gtest.h>

#include <vector>

#include "core/stun/transaction.hpp"

using namespace tincan;
using namespace tincan::stun;
using Action = TransactionTimer::Action;
using std::chrono::milliseconds;

namespace {

const Timestamp kT0 = Timestamp{} + std::chrono::hours(1);

long long msSince(Timestamp t) {
    return std::chrono::duration_cast<milliseconds>(t - kT0).count();
}

struct Schedule {
    std::vector<long long> sends;
    long long timedOutAt = -1;
};

// Drives a timer the way a sans-IO machine does: poll, then sleep until deadline().
Schedule drive(const RetransmitPolicy& policy) {
    TransactionTimer timer(policy, kT0);
    Schedule run;
    Timestamp now = kT0;
    for (int guard = 0; guard < 100; ++guard) {
        switch (timer.poll(now)) {
            case Action::Send:
                run.sends.push_back(msSince(now));
                break;
            case Action::TimedOut:
                run.timedOutAt = msSince(now);
                break;
            case Action::None:
                ADD_FAILURE() << "poll at the deadline said None";
                break;
        }
        auto next = timer.deadline();
        if (!next) break;
        EXPECT_GT(*next, now);
        now = *next;
    }
    return run;
}

}  // namespace

TEST(TransactionTimer, UdpScheduleFollowsRfc8489) {
    Schedule run = drive(RetransmitPolicy{});
    EXPECT_EQ(run.sends, (std::vector<long long>{0, 500, 1500, 3500, 7500, 15500, 31500}));
    EXPECT_EQ(run.timedOutAt, 39500);
}

TEST(TransactionTimer, ReliableSendsOnceAndTimesOutAfterTi) {
    RetransmitPolicy tcp;
    tcp.reliable = true;
    Schedule run = drive(tcp);
    EXPECT_EQ(run.sends, (std::vector<long long>{0}));
    EXPECT_EQ(run.timedOutAt, 39500);
}

TEST(TransactionTimer, NothingHappensBetweenDeadlines) {
    TransactionTimer timer(RetransmitPolicy{}, kT0);
    EXPECT_EQ(timer.deadline(), kT0);  // the first send is due at once
    EXPECT_EQ(timer.poll(kT0), Action::Send);
    EXPECT_EQ(timer.sends(), 1);
    EXPECT_EQ(timer.poll(kT0), Action::None);
    EXPECT_EQ(timer.poll(kT0 + milliseconds(499)), Action::None);
    EXPECT_EQ(timer.deadline(), kT0 + milliseconds(500));
    EXPECT_EQ(timer.poll(kT0 + milliseconds(500)), Action::Send);
    EXPECT_EQ(timer.sends(), 2);
    EXPECT_EQ(timer.deadline(), kT0 + milliseconds(1500));
}

TEST(TransactionTimer, TimesOutOnceAndThenStaysQuiet) {
    TransactionTimer timer(RetransmitPolicy{}, kT0);
    for (long long at : {0, 500, 1500, 3500, 7500, 15500, 31500})
        ASSERT_EQ(timer.poll(kT0 + milliseconds(at)), Action::Send) << at;
    EXPECT_EQ(timer.sends(), 7);
    EXPECT_EQ(timer.deadline(), kT0 + milliseconds(39500));
    EXPECT_EQ(timer.poll(kT0 + milliseconds(39499)), Action::None);
    EXPECT_EQ(timer.poll(kT0 + milliseconds(39500)), Action::TimedOut);
    EXPECT_EQ(timer.deadline(), std::nullopt);
    EXPECT_EQ(timer.poll(kT0 + milliseconds(39500)), Action::None);
    EXPECT_EQ(timer.poll(kT0 + std::chrono::hours(1)), Action::None);
    EXPECT_EQ(timer.sends(), 7);
}

TEST(TransactionTimer, CustomPolicy) {
    RetransmitPolicy p;
    p.rto = milliseconds(100);
    p.rc = 3;
    p.rm = 4;
    Schedule run = drive(p);
    EXPECT_EQ(run.sends, (std::vector<long long>{0, 100, 300}));
    EXPECT_EQ(run.timedOutAt, 700);

    RetransmitPolicy tls;
    tls.reliable = true;
    tls.reliableTimeout = milliseconds(5000);
    Schedule once = drive(tls);
    EXPECT_EQ(once.sends, (std::vector<long long>{0}));
    EXPECT_EQ(once.timedOutAt, 5000);
}

TEST(TransactionTimer, LatePollsCountFromTheActualSend) {
    // A driver that wakes up late sends late; the next interval starts from that send.
    TransactionTimer timer(RetransmitPolicy{}, kT0);
    EXPECT_EQ(timer.poll(kT0 + milliseconds(20)), Action::Send);
    EXPECT_EQ(timer.deadline(), kT0 + milliseconds(520));
    EXPECT_EQ(timer.poll(kT0 + milliseconds(600)), Action::Send);
    EXPECT_EQ(timer.deadline(), kT0 + milliseconds(1600));
}

TEST(TransactionTimer, IntervalCapLimitsTheDoubling) {
    RetransmitPolicy p;
    p.maxInterval = milliseconds(1600);
    Schedule run = drive(p);
    // Intervals 500, 1000, then 1600 from there on; the final wait (Rm·RTO) is not an interval.
    EXPECT_EQ(run.sends, (std::vector<long long>{0, 500, 1500, 3100, 4700, 6300, 7900}));
    EXPECT_EQ(run.timedOutAt, 7900 + 8000);
}

TEST(TransactionTimer, IntervalCapBelowRtoAppliesFromTheFirstRetransmission) {
    // "At most this far apart" holds for every pair of consecutive sends.
    RetransmitPolicy p;
    p.rto = milliseconds(500);
    p.rc = 4;
    p.maxInterval = milliseconds(200);
    Schedule run = drive(p);
    EXPECT_EQ(run.sends, (std::vector<long long>{0, 200, 400, 600}));
    EXPECT_EQ(run.timedOutAt, 600 + 16 * 500);
}
