// Multicast DNS (RFC 6762) one-shot queries, enough to resolve the "<uuid>.local" host
// candidates that browsers signal instead of their private addresses (RFC 8828 / the
// mdns-ice-candidates draft). Pure codec here; the query schedule is MdnsResolver
// (mdns_resolver.hpp) and the sockets are Runtime::resolveMdns()'s.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/endpoint.hpp"

namespace tincan::net {

inline constexpr uint16_t kMdnsPort = 5353;

// A query with two questions for `name`, A and AAAA, class IN with the QU bit set
// (RFC 6762 §5.4: unicast response requested). Sent from a port other than 5353 this is a
// "legacy unicast" query (§6.7), so responders answer straight to the sender. Returns an
// empty buffer if `name` is not a valid DNS name (labels of 1..63 bytes, 255 bytes in all;
// one trailing dot is allowed).
Bytes buildMdnsQuery(std::string_view name, uint16_t id);

// The A and AAAA addresses for `name` (compared case-insensitively, ASCII) in an mDNS
// response, from the answer, authority and additional sections, in packet order, without
// duplicates. Queries, responses with a non-zero opcode or rcode, records with TTL 0
// ("goodbye", §10.1) and unspecified or multicast addresses are ignored. Any malformed part
// (truncation, bad label, compression loop or forward pointer) makes the whole packet count
// as garbage: the result is empty.
std::vector<IpAddress> parseMdnsAnswer(ByteView packet, std::string_view name);

// As parseMdnsAnswer, but tells garbage (nullopt) from a well-formed message that holds no
// usable answer for `name` (an empty list), so that callers can count what they drop.
std::optional<std::vector<IpAddress>> parseMdnsResponse(ByteView packet, std::string_view name);

}  // namespace tincan::net
