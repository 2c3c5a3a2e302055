#include "core/ice/candidate.hpp"

#include <charconv>
#include <vector>

#include <fmt/format.h>

#include "core/common/text.hpp"

namespace tincan::ice {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// RFC 8839 §5.1: foundation is 1*32 ice-char.
bool validFoundation(std::string_view f) {
    if (f.empty() || f.size() > 32) return false;
    for (char c : f)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '+' && c != '/') return false;
    return true;
}

}  // namespace

const char* toString(CandidateType t) {
    switch (t) {
        case CandidateType::Host:
            return "host";
        case CandidateType::ServerReflexive:
            return "srflx";
        case CandidateType::PeerReflexive:
            return "prflx";
        case CandidateType::Relayed:
            return "relay";
    }
    return "?";
}

std::string Candidate::toSdp() const {
    std::string addr = isMdns() ? hostname : address.ip.toString();
    std::string s = fmt::format("candidate:{} {} {} {} {} {} typ {}", foundation, component,
                                transport == TransportProtocol::Udp ? "udp" : "tcp", priority, addr,
                                address.port, ice::toString(type));
    if (related) s += fmt::format(" raddr {} rport {}", related->ip.toString(), related->port);
    if (!tcpType.empty()) s += " tcptype " + tcpType;
    return s;
}

Result<Candidate> parseCandidate(std::string_view text) {
    auto fail = [](std::string why) { return Error{std::move(why)}; };
    if (text.starts_with("a=")) text.remove_prefix(2);
    if (text.starts_with("candidate:")) text.remove_prefix(10);
    while (!text.empty() && (text.back() == '\r' || text.back() == '\n')) text.remove_suffix(1);
    // RFC 8839 §5.1 / RFC 4566 §9: no field holds NUL, CR or LF. Inside a line they would end it
    // early when the candidate is written back into an SDP (a remote peer injecting lines).
    if (text.find_first_of(std::string_view("\0\r\n", 3)) != std::string_view::npos)
        return fail("NUL, CR or LF inside the candidate");
    auto f = splitSpaces(text);
    if (f.size() < 8) return fail("a candidate needs at least 8 fields");
    Candidate c;
    if (!validFoundation(f[0])) return fail("invalid foundation '" + std::string(f[0]) + "'");
    c.foundation = std::string(f[0]);
    unsigned component = 0;
    if (!parseNumber(f[1], component) || component < 1 || component > 256)
        return fail("invalid component id '" + std::string(f[1]) + "'");
    c.component = uint16_t(component);
    if (iequals(f[2], "udp"))
        c.transport = TransportProtocol::Udp;
    else if (iequals(f[2], "tcp"))
        c.transport = TransportProtocol::Tcp;
    else
        return fail("unsupported transport '" + std::string(f[2]) + "'");
    if (!parseNumber(f[3], c.priority) || c.priority == 0)
        return fail("invalid priority '" + std::string(f[3]) + "'");
    unsigned port = 0;
    if (!parseNumber(f[5], port) || port > 65535)
        return fail("invalid port '" + std::string(f[5]) + "'");
    if (auto ip = IpAddress::parse(f[4])) {
        c.address = Endpoint{*ip, uint16_t(port)};
    } else if (f[4].size() > 6 && iequals(f[4].substr(f[4].size() - 6), ".local") &&
               f[4].size() <= 255) {
        c.hostname = std::string(f[4]);
        c.address = Endpoint{IpAddress{}, uint16_t(port)};
    } else {
        return fail("invalid connection address '" + std::string(f[4]) + "'");
    }
    if (f[6] != "typ") return fail("expected 'typ', got '" + std::string(f[6]) + "'");
    if (f[7] == "host")
        c.type = CandidateType::Host;
    else if (f[7] == "srflx")
        c.type = CandidateType::ServerReflexive;
    else if (f[7] == "prflx")
        c.type = CandidateType::PeerReflexive;
    else if (f[7] == "relay")
        c.type = CandidateType::Relayed;
    else
        return fail("unknown candidate type '" + std::string(f[7]) + "'");

    // Extension attributes come in name/value pairs (RFC 8839 §5.1); unknown ones are ignored.
    std::optional<IpAddress> raddr;
    std::optional<unsigned> rport;
    for (size_t i = 8; i + 1 < f.size(); i += 2) {
        if (f[i] == "raddr") {
            raddr = IpAddress::parse(f[i + 1]);
            if (!raddr && f[i + 1] != "0.0.0.0") {
                // Browsers may hide it behind an mDNS name; it is informational only.
                raddr = std::nullopt;
            }
        } else if (f[i] == "rport") {
            unsigned rp = 0;
            if (!parseNumber(f[i + 1], rp) || rp > 65535)
                return fail("invalid rport '" + std::string(f[i + 1]) + "'");
            rport = rp;
        } else if (f[i] == "tcptype") {
            // RFC 6544 §4.5: active, passive or so; another value is ignored like an unknown
            // extension (TCP candidates are not used), not kept to be written out again.
            if (f[i + 1] == "active" || f[i + 1] == "passive" || f[i + 1] == "so")
                c.tcpType = std::string(f[i + 1]);
        }
    }
    if (raddr && rport) c.related = Endpoint{*raddr, uint16_t(*rport)};
    return c;
}

}  // namespace tincan::ice
