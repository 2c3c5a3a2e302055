// Client transaction timing (RFC 8489 §6.2.1): over UDP the request is sent at 0, RTO, 3·RTO,
// 7·RTO, ... (the interval doubling) up to Rc sends, then the transaction fails Rm·RTO after
// the last one. Over TCP/TLS it is sent once and fails after Ti (39.5 s).
//
// Only timing lives here; the caller keeps the request bytes and matches responses by
// transaction id.
#pragma once

#include <optional>

#include "core/common/time.hpp"

namespace tincan::stun {

struct RetransmitPolicy {
    Duration rto = 500ms;
    int rc = 7;   // total number of sends over UDP
    int rm = 16;  // final wait, in multiples of RTO
    // Cap on the doubling interval (ICE checks retransmit at most this far apart).
    Duration maxInterval = Duration::max();
    bool reliable = false;  // TCP/TLS: one send
    Duration reliableTimeout = 39500ms;
};

class TransactionTimer {
public:
    enum class Action : uint8_t { None = 1, Send = 2, TimedOut = 3 };

    TransactionTimer(const RetransmitPolicy& policy, Timestamp now);

    // What to do at `now`: Send (including the first send), TimedOut (once), or None.
    Action poll(Timestamp now);
    // When poll() next has something to say; nullopt once timed out.
    std::optional<Timestamp> deadline() const;
    int sends() const { return sends_; }

private:
    RetransmitPolicy policy_;
    Timestamp next_;
    Duration interval_;
    int sends_ = 0;
    bool done_ = false;
};

}  // namespace tincan::stun
