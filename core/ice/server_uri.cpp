#include "core/ice/server_uri.hpp"

#include <charconv>

namespace tincan::ice {

namespace {

// A piece of the input quoted in an error: control characters become '?' and it is cut at 80
// bytes, so that the message stays one line whatever was typed.
std::string quoted(std::string_view text) {
    std::string out(text.substr(0, 80));
    for (char& c : out)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    return "'" + out + "'";
}

}  // namespace

std::string ServerUri::toString() const {
    const char* s = scheme == Scheme::Stun    ? "stun"
                    : scheme == Scheme::Stuns ? "stuns"
                    : scheme == Scheme::Turn  ? "turn"
                                              : "turns";
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    std::string out = std::string(s) + ":" + h + ":" + std::to_string(port);
    if (scheme == Scheme::Turn && transport == TransportProtocol::Tcp) out += "?transport=tcp";
    return out;
}

Result<ServerUri> parseServerUri(std::string_view text) {
    ServerUri u;
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return Error{quoted(text) + " is not a stun:, stuns:, turn: or turns: URI"};
    std::string_view scheme = text.substr(0, colon);
    std::string_view rest = text.substr(colon + 1);
    if (scheme == "stun") {
        u.scheme = ServerUri::Scheme::Stun;
        u.port = 3478;
    } else if (scheme == "stuns") {
        u.scheme = ServerUri::Scheme::Stuns;
        u.port = 5349;
        u.transport = TransportProtocol::Tls;
    } else if (scheme == "turn") {
        u.scheme = ServerUri::Scheme::Turn;
        u.port = 3478;
    } else if (scheme == "turns") {
        u.scheme = ServerUri::Scheme::Turns;
        u.port = 5349;
        u.transport = TransportProtocol::Tls;
    } else {
        return Error{"unknown scheme " + quoted(scheme) + " (expected stun, stuns, turn or turns)"};
    }
    if (rest.starts_with("//")) rest.remove_prefix(2);  // tolerate stun://host

    std::string_view query;
    if (auto q = rest.find('?'); q != std::string_view::npos) {
        query = rest.substr(q + 1);
        rest = rest.substr(0, q);
    }
    std::string_view host, port;
    if (rest.starts_with("[")) {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return Error{"unterminated IPv6 literal"};
        host = rest.substr(1, close - 1);
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after[0] != ':') return Error{"unexpected text after the IPv6 literal"};
            port = after.substr(1);
        }
    } else {
        auto c = rest.rfind(':');
        if (c != std::string_view::npos) {
            host = rest.substr(0, c);
            port = rest.substr(c + 1);
        } else {
            host = rest;
        }
    }
    if (host.empty()) return Error{"missing host"};
    for (char ch : host)
        if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' || ch == ':' ||
              ch == '_'))
            return Error{"invalid character in host " + quoted(host)};
    u.host = std::string(host);
    if (!port.empty() || rest.ends_with(":")) {
        unsigned p = 0;
        auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
        if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535)
            return Error{"invalid port " + quoted(port)};
        u.port = uint16_t(p);
    }
    if (!query.empty()) {
        if (u.scheme != ServerUri::Scheme::Turn && u.scheme != ServerUri::Scheme::Turns)
            return Error{"only turn: URIs take a ?transport= parameter"};
        if (query == "transport=udp") {
            if (u.scheme == ServerUri::Scheme::Turns) return Error{"turns: runs over TLS, not UDP"};
            u.transport = TransportProtocol::Udp;
        } else if (query == "transport=tcp") {
            u.transport = u.scheme == ServerUri::Scheme::Turns ? TransportProtocol::Tls
                                                               : TransportProtocol::Tcp;
        } else {
            return Error{"unsupported parameter " + quoted(query) +
                         " (expected transport=udp or transport=tcp)"};
        }
    }
    return u;
}

}  // namespace tincan::ice
