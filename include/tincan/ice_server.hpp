// ICE servers as users write them (W3C RTCIceServer): STUN and TURN URIs (RFC 7064, RFC 7065)
// with long-term credentials. The library parses the URIs, looks the host names up, and sets up
// TLS for turns: itself; an app only passes what the user typed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tincan/result.hpp"

namespace tincan {

struct IceServer {
    // "stun:HOST[:PORT]", "turn:HOST[:PORT][?transport=udp|tcp]", "turns:HOST[:PORT]".
    std::vector<std::string> urls;
    std::string username;    // TURN only
    std::string credential;  // TURN only
};

// What one URI says, once parsed (no DNS lookup).
struct IceServerUrl {
    enum class Scheme : uint8_t { Stun = 1, Stuns, Turn, Turns };
    enum class Transport : uint8_t { Udp = 1, Tcp, Tls };
    Scheme scheme = Scheme::Stun;
    std::string host;
    uint16_t port = 3478;
    Transport transport = Transport::Udp;
    std::string text;  // normalised: "turn:turn.example.org:3478?transport=tcp"

    bool isTurn() const { return scheme == Scheme::Turn || scheme == Scheme::Turns; }
};

// Parses one URI; the error says what is wrong with it in plain words.
Result<IceServerUrl> parseIceServerUrl(const std::string& url);

// Checks a server entry without any network access: every URI parses, stuns: is refused (not
// supported), TURN URIs have a username and a credential. For a settings dialog's "is this
// valid" before anything is saved.
Result<void> validateIceServer(const IceServer& server);

}  // namespace tincan
