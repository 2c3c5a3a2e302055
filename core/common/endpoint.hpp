// IP addresses and transport endpoints, IPv4 and IPv6, independent of any socket API.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "tincan/transport.hpp"

struct sockaddr;
struct sockaddr_storage;

namespace tincan {

// Zero is never a valid enum value (see STYLE.md).

class IpAddress {
public:
    enum class Family : uint8_t { V4 = 4, V6 = 6 };

    IpAddress() = default;  // 0.0.0.0
    static IpAddress v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d);
    static IpAddress v4(uint32_t hostOrder);
    static IpAddress v4(std::span<const uint8_t, 4> bytes);
    static IpAddress v6(std::span<const uint8_t, 16> bytes);
    static IpAddress anyV4() { return {}; }
    static IpAddress anyV6();
    static std::optional<IpAddress> parse(std::string_view text);

    Family family() const { return family_; }
    bool isV4() const { return family_ == Family::V4; }
    bool isV6() const { return family_ == Family::V6; }
    // 4 bytes for IPv4, 16 for IPv6, network order.
    std::span<const uint8_t> bytes() const {
        return {bytes_.data(), isV4() ? size_t(4) : size_t(16)};
    }
    uint32_t v4HostOrder() const;

    bool isUnspecified() const;
    bool isLoopback() const;
    bool isLinkLocal() const;
    bool isPrivate() const;  // RFC 1918, RFC 4193 ULA, RFC 6598 CGN
    bool isMulticast() const;
    bool isV4Mapped() const;  // ::ffff:a.b.c.d

    std::string toString() const;

    auto operator<=>(const IpAddress&) const = default;
    bool operator==(const IpAddress&) const = default;

private:
    Family family_ = Family::V4;
    std::array<uint8_t, 16> bytes_{};
};

struct Endpoint {
    IpAddress ip;
    uint16_t port = 0;

    // "192.0.2.1:3478" or "[2001:db8::1]:3478".
    std::string toString() const;
    static std::optional<Endpoint> parse(std::string_view text);

    // Socket API bridges, used only by the runtime.
    static std::optional<Endpoint> fromSockaddr(const sockaddr* sa);
    // Returns the length of the filled sockaddr.
    unsigned toSockaddr(sockaddr_storage& out) const;

    auto operator<=>(const Endpoint&) const = default;
    bool operator==(const Endpoint&) const = default;
};

}  // namespace tincan

template <>
struct std::hash<tincan::IpAddress> {
    size_t operator()(const tincan::IpAddress& a) const noexcept;
};
template <>
struct std::hash<tincan::Endpoint> {
    size_t operator()(const tincan::Endpoint& e) const noexcept {
        return std::hash<tincan::IpAddress>{}(e.ip) * 31 + e.port;
    }
};
