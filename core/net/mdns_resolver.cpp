#include "core/net/mdns_resolver.hpp"

#include <spdlog/spdlog.h>

#include "core/net/mdns.hpp"

namespace tincan::net {

const Endpoint& MdnsResolver::groupV4() {
    static const Endpoint group{IpAddress::v4(224, 0, 0, 251), kMdnsPort};
    return group;
}

const Endpoint& MdnsResolver::groupV6() {
    static const Endpoint group{*IpAddress::parse("ff02::fb"), kMdnsPort};
    return group;
}

MdnsResolver::QueryId MdnsResolver::resolve(Timestamp now, std::string_view name,
                                            Duration timeout) {
    QueryId id = nextId_++;
    Query q;
    q.name = std::string(name);
    q.dnsId = uint16_t(random_.next32());
    q.packet = buildMdnsQuery(q.name, q.dnsId);
    if (q.packet.empty()) {
        spdlog::debug("net: mDNS: invalid name");
        ++stats_.invalidNames;
        results_.push_back(Result{id, std::nullopt});
        return id;
    }
    q.start = now;
    q.timeout = timeout;
    Query& stored = queries_.emplace(id, std::move(q)).first->second;
    sendRound(id, stored);
    return id;
}

void MdnsResolver::sendRound(QueryId id, Query& q) {
    ++q.rounds;
    if (q.v4Open) transmits_.push_back(Transmit{id, groupV4(), q.packet});
    if (q.v6Open) transmits_.push_back(Transmit{id, groupV6(), q.packet});
    stats_.queriesSent += uint64_t(q.v4Open) + uint64_t(q.v6Open);
}

Timestamp MdnsResolver::nextDeadline(const Query& q) {
    if (q.rounds <= kRetransmissions)
        return q.start + q.timeout * q.rounds / (kRetransmissions + 1);
    return q.start + q.timeout;
}

void MdnsResolver::handleDatagram(Timestamp now, QueryId query, ByteView data) {
    (void)now;
    auto it = queries_.find(query);
    if (it == queries_.end()) {
        ++stats_.staleDropped;
        return;
    }
    const Query& q = it->second;
    auto answer = parseMdnsResponse(data, q.name);
    if (!answer) {
        ++stats_.malformedDropped;
        return;
    }
    // RFC 6762 §18.1: a legacy unicast response repeats the query's id; multicast-style
    // responses carry 0. Anything else answers somebody else's question.
    uint16_t dnsId = readU16(data.data());
    if (dnsId != 0 && dnsId != q.dnsId) {
        ++stats_.mismatchedDropped;
        return;
    }
    if (answer->empty()) {
        ++stats_.unansweredDropped;
        return;
    }
    ++stats_.answered;
    finish(query, answer->front());
}

void MdnsResolver::handleSendFailed(Timestamp now, QueryId query, const Endpoint& to) {
    (void)now;
    auto it = queries_.find(query);
    if (it == queries_.end()) return;
    Query& q = it->second;
    (to.ip.isV6() ? q.v6Open : q.v4Open) = false;
    if (q.v4Open || q.v6Open) return;
    // Typically no multicast route (a namespace with only `lo`): nothing to wait for.
    ++stats_.unsendable;
    finish(query, std::nullopt);
}

void MdnsResolver::handleTimeout(Timestamp now) {
    for (auto it = queries_.begin(); it != queries_.end();) {
        QueryId id = it->first;
        Query& q = it->second;
        ++it;  // finish() erases the query
        if (now >= q.start + q.timeout) {
            spdlog::debug("net: mDNS query timed out");
            ++stats_.timedOut;
            finish(id, std::nullopt);
        } else if (now >= nextDeadline(q)) {
            sendRound(id, q);
        }
    }
}

std::optional<MdnsResolver::Transmit> MdnsResolver::pollTransmit() {
    if (transmits_.empty()) return std::nullopt;
    Transmit t = std::move(transmits_.front());
    transmits_.pop_front();
    return t;
}

std::optional<MdnsResolver::Result> MdnsResolver::pollResult() {
    if (results_.empty()) return std::nullopt;
    Result r = results_.front();
    results_.pop_front();
    return r;
}

std::optional<Timestamp> MdnsResolver::pollTimeout() const {
    std::optional<Timestamp> next;
    for (const auto& [id, q] : queries_) {
        Timestamp at = nextDeadline(q);
        if (!next || at < *next) next = at;
    }
    return next;
}

void MdnsResolver::finish(QueryId id, std::optional<IpAddress> address) {
    queries_.erase(id);
    // Datagrams still queued for it are pointless now.
    std::erase_if(transmits_, [id](const Transmit& t) { return t.query == id; });
    results_.push_back(Result{id, address});
}

}  // namespace tincan::net
