#include "core/common/endpoint.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>

namespace tincan {

const char* toString(TransportProtocol p) {
    switch (p) {
        case TransportProtocol::Udp:
            return "udp";
        case TransportProtocol::Tcp:
            return "tcp";
        case TransportProtocol::Tls:
            return "tls";
    }
    return "?";
}

IpAddress IpAddress::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    IpAddress ip;
    ip.bytes_[0] = a;
    ip.bytes_[1] = b;
    ip.bytes_[2] = c;
    ip.bytes_[3] = d;
    return ip;
}

IpAddress IpAddress::v4(uint32_t h) {
    return v4(uint8_t(h >> 24), uint8_t(h >> 16), uint8_t(h >> 8), uint8_t(h));
}

IpAddress IpAddress::v4(std::span<const uint8_t, 4> b) {
    return v4(b[0], b[1], b[2], b[3]);
}

IpAddress IpAddress::v6(std::span<const uint8_t, 16> b) {
    IpAddress ip;
    ip.family_ = Family::V6;
    std::memcpy(ip.bytes_.data(), b.data(), 16);
    return ip;
}

IpAddress IpAddress::anyV6() {
    IpAddress ip;
    ip.family_ = Family::V6;
    return ip;
}

std::optional<IpAddress> IpAddress::parse(std::string_view text) {
    if (text.empty() || text.size() > 63) return std::nullopt;
    char buf[64];
    std::memcpy(buf, text.data(), text.size());
    buf[text.size()] = '\0';
    // Strip an IPv6 zone ("fe80::1%eth0"): the zone is a local matter.
    if (char* pct = std::strchr(buf, '%')) *pct = '\0';
    uint8_t raw[16];
    if (inet_pton(AF_INET, buf, raw) == 1) return v4(std::span<const uint8_t, 4>(raw, 4));
    if (inet_pton(AF_INET6, buf, raw) == 1) return v6(std::span<const uint8_t, 16>(raw, 16));
    return std::nullopt;
}

uint32_t IpAddress::v4HostOrder() const {
    return uint32_t(bytes_[0]) << 24 | uint32_t(bytes_[1]) << 16 | uint32_t(bytes_[2]) << 8 |
           bytes_[3];
}

bool IpAddress::isUnspecified() const {
    for (uint8_t b : bytes())
        if (b) return false;
    return true;
}

bool IpAddress::isV4Mapped() const {
    if (!isV6()) return false;
    for (int i = 0; i < 10; ++i)
        if (bytes_[i]) return false;
    return bytes_[10] == 0xff && bytes_[11] == 0xff;
}

bool IpAddress::isLoopback() const {
    if (isV4()) return bytes_[0] == 127;
    for (int i = 0; i < 15; ++i)
        if (bytes_[i]) return false;
    return bytes_[15] == 1;
}

bool IpAddress::isLinkLocal() const {
    if (isV4()) return bytes_[0] == 169 && bytes_[1] == 254;
    return bytes_[0] == 0xfe && (bytes_[1] & 0xc0) == 0x80;
}

bool IpAddress::isPrivate() const {
    if (isV4()) {
        return bytes_[0] == 10 || (bytes_[0] == 172 && (bytes_[1] & 0xf0) == 16) ||
               (bytes_[0] == 192 && bytes_[1] == 168) ||
               (bytes_[0] == 100 && (bytes_[1] & 0xc0) == 64);
    }
    return (bytes_[0] & 0xfe) == 0xfc;
}

bool IpAddress::isMulticast() const {
    if (isV4()) return (bytes_[0] & 0xf0) == 0xe0;
    return bytes_[0] == 0xff;
}

std::string IpAddress::toString() const {
    char buf[INET6_ADDRSTRLEN];
    inet_ntop(isV4() ? AF_INET : AF_INET6, bytes_.data(), buf, sizeof buf);
    return buf;
}

std::string Endpoint::toString() const {
    if (ip.isV6()) return "[" + ip.toString() + "]:" + std::to_string(port);
    return ip.toString() + ":" + std::to_string(port);
}

std::optional<Endpoint> Endpoint::parse(std::string_view text) {
    std::string_view host, portText;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
            return std::nullopt;
        host = text.substr(1, close - 1);
        portText = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos) return std::nullopt;
        host = text.substr(0, colon);
        portText = text.substr(colon + 1);
        if (host.find(':') != std::string_view::npos) return std::nullopt;
    }
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(portText.data(), portText.data() + portText.size(), port);
    if (ec != std::errc() || ptr != portText.data() + portText.size() || port > 65535)
        return std::nullopt;
    auto ip = IpAddress::parse(host);
    if (!ip) return std::nullopt;
    return Endpoint{*ip, uint16_t(port)};
}

std::optional<Endpoint> Endpoint::fromSockaddr(const sockaddr* sa) {
    if (sa->sa_family == AF_INET) {
        auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        auto* b = reinterpret_cast<const uint8_t*>(&in->sin_addr);
        return Endpoint{IpAddress::v4(std::span<const uint8_t, 4>(b, 4)), ntohs(in->sin_port)};
    }
    if (sa->sa_family == AF_INET6) {
        auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        auto* b = reinterpret_cast<const uint8_t*>(&in6->sin6_addr);
        IpAddress ip = IpAddress::v6(std::span<const uint8_t, 16>(b, 16));
        // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; ICE wants them as IPv4.
        if (ip.isV4Mapped()) ip = IpAddress::v4(std::span<const uint8_t, 4>(b + 12, 4));
        return Endpoint{ip, ntohs(in6->sin6_port)};
    }
    return std::nullopt;
}

unsigned Endpoint::toSockaddr(sockaddr_storage& out) const {
    std::memset(&out, 0, sizeof out);
    if (ip.isV4()) {
        auto* in = reinterpret_cast<sockaddr_in*>(&out);
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        std::memcpy(&in->sin_addr, ip.bytes().data(), 4);
        return sizeof(sockaddr_in);
    }
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&out);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    std::memcpy(&in6->sin6_addr, ip.bytes().data(), 16);
    return sizeof(sockaddr_in6);
}

}  // namespace tincan

size_t std::hash<tincan::IpAddress>::operator()(const tincan::IpAddress& a) const noexcept {
    size_t h = size_t(a.family());
    for (uint8_t b : a.bytes()) h = h * 131 + b;
    return h;
}
