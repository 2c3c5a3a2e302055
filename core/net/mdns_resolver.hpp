// One-shot mDNS resolution (RFC 6762 §5.1) as a sans-IO machine: names in; query datagrams,
// a deadline and results out. No sockets, no clock: the runtime (Runtime::resolveMdns) owns one
// IPv4 and one IPv6 socket per query, on ephemeral ports, so that responders answer with
// legacy unicast (§6.7) straight to that query's socket, and it hands each datagram that
// arrives there to handleDatagram() with the query's id.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"
#include "core/common/random.hpp"
#include "core/common/time.hpp"

namespace tincan::net {

struct MdnsResolverStats {
    uint64_t queriesSent = 0;        // datagrams handed out, retransmissions included
    uint64_t answered = 0;           // queries that got an address
    uint64_t timedOut = 0;           // queries that ran out of time
    uint64_t unsendable = 0;         // queries given up because no group could be reached
    uint64_t invalidNames = 0;       // queries for a name that is not a valid DNS name
    uint64_t malformedDropped = 0;   // datagrams that are not well-formed DNS messages
    uint64_t mismatchedDropped = 0;  // well-formed responses to another query id (§18.1)
    uint64_t unansweredDropped = 0;  // well-formed, but no usable address for the name
    uint64_t staleDropped = 0;       // datagrams for a query that has already finished
};

class MdnsResolver {
public:
    using QueryId = uint64_t;

    // Sends inside one query's timeout: the first at once, then retransmissions at evenly
    // spaced thirds (§5.1 allows a one-shot querier to retransmit).
    static constexpr int kRetransmissions = 2;

    struct Transmit {
        QueryId query = 0;
        Endpoint to;  // 224.0.0.251:5353 or [ff02::fb]:5353
        Bytes data;
    };

    // Exactly one per query: the first address answered, or nullopt (timeout, invalid name,
    // no group reachable).
    struct Result {
        QueryId query = 0;
        std::optional<IpAddress> address;
    };

    explicit MdnsResolver(Random& random) : random_(random) {}

    static const Endpoint& groupV4();
    static const Endpoint& groupV6();

    // Starts resolving `name` ("<uuid>.local"); never returns 0. An invalid name gets its
    // Result at once, without a datagram.
    QueryId resolve(Timestamp now, std::string_view name, Duration timeout);
    // A datagram that arrived on the socket(s) of `query`.
    void handleDatagram(Timestamp now, QueryId query, ByteView data);
    // The runtime could not send to `to` for `query` (no socket of that family, no multicast
    // route, ...): that group is not tried again; with none left the query fails at once.
    void handleSendFailed(Timestamp now, QueryId query, const Endpoint& to);
    void handleTimeout(Timestamp now);

    std::optional<Transmit> pollTransmit();
    std::optional<Result> pollResult();
    std::optional<Timestamp> pollTimeout() const;

    bool pending(QueryId query) const { return queries_.count(query) != 0; }
    const MdnsResolverStats& stats() const { return stats_; }

private:
    struct Query {
        std::string name;
        uint16_t dnsId = 0;
        Bytes packet;
        Timestamp start{};
        Duration timeout{};
        int rounds = 0;  // sends so far (the first one included)
        bool v4Open = true;
        bool v6Open = true;
    };

    void sendRound(QueryId id, Query& q);
    // When the next retransmission is due (rounds <= kRetransmissions), else the timeout.
    static Timestamp nextDeadline(const Query& q);
    void finish(QueryId id, std::optional<IpAddress> address);

    Random& random_;
    QueryId nextId_ = 1;
    std::map<QueryId, Query> queries_;  // ordered: deterministic output order
    std::deque<Transmit> transmits_;
    std::deque<Result> results_;
    MdnsResolverStats stats_;
};

}  // namespace tincan::net
