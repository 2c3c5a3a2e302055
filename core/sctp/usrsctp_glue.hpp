// Internal to core/sctp: the process-wide side of usrsctp.
//
// usrsctp is one global stack per process: one output callback, one timer wheel, one set of
// sysctls. This file owns all of that so that any number of SctpTransports can share it:
//
// - init once, on first use, with usrsctp_init_nothreads() (usrsctp starts no thread; its
//   timers advance only when advanceClock() says so), and never usrsctp_finish(): the stack
//   is deliberately kept for the life of the process (finish fails while any association is
//   still winding down, and nothing would drive its timers to let it finish).
// - route each outgoing packet to the PacketSink whose address is the AF_CONN cookie of the
//   association that produced it, through a registry guarded by a mutex (usrsctp may emit a
//   packet for any association from any thread that calls into it, e.g. a retransmission
//   fired by another transport's timer tick).
// - one shared clock for the timer wheel: each transport's tick advances it by the time since
//   the previous tick of any transport, so two transports never advance it twice.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"

namespace tincan::sctp::detail {

// Where usrsctp's output callback puts one association's packets. Its address is the AF_CONN
// address (sconn_addr) of that association, so it must not move while registered.
struct PacketSink {
    std::mutex mutex;
    std::deque<Bytes> packets;  // SCTP packets, checksum filled in, for DTLS
    uint64_t packetsSent = 0;
    uint64_t bytesSent = 0;
};

// Initialises usrsctp once per process (thread-safe).
void ensureUsrsctp();

// Makes `sink` a valid AF_CONN address (usrsctp_register_address) and a destination of the
// output callback.
void registerSink(PacketSink* sink);
// After this returns no packet is ever put into `sink` again (call before usrsctp_close()).
void unregisterSink(PacketSink* sink);
// usrsctp_deregister_address (call after usrsctp_close()).
void forgetAddress(PacketSink* sink);

// Milliseconds to hand usrsctp_handle_timers() for the shared clock to reach `now` (0 if
// another transport already advanced it that far).
uint32_t advanceClock(Timestamp now);

// The CRC32c of an SCTP packet as it belongs in its checksum field (RFC 4960 §6.8, Appendix
// B), computed as if that field were zero. Hardware CRC32 instructions when the CPU has them.
// `packet` must be at least 12 bytes.
uint32_t sctpChecksum(ByteView packet);

}  // namespace tincan::sctp::detail
