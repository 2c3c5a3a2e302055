#include "session/signal_message.hpp"

namespace tincan::session::signal {

namespace {

Message decodeCandidate(const nlohmann::json& msg) {
    const auto it = msg.find("candidate");
    if (it == msg.end() || it->is_null()) return Candidate{};
    const nlohmann::json& c = *it;
    if (!c.is_object()) return Malformed{"'candidate' is neither an object nor null"};
    const auto line = c.find("candidate");
    if (line == c.end() || !line->is_string()) return Malformed{"candidate without a string"};
    IceCandidate ic;
    ic.candidate = line->get<std::string>();
    if (ic.candidate.empty()) return Candidate{};
    // W3C: sdpMid and sdpMLineIndex may be null or absent; Tincan bundles everything on the
    // first section, so the defaults ("0", 0) stand in for them.
    if (const auto mid = c.find("sdpMid"); mid != c.end() && !mid->is_null()) {
        if (!mid->is_string()) return Malformed{"sdpMid is neither a string nor null"};
        ic.sdpMid = mid->get<std::string>();
    }
    if (const auto index = c.find("sdpMLineIndex"); index != c.end() && !index->is_null()) {
        if (!index->is_number_unsigned() || index->get<uint64_t>() > 65535)
            return Malformed{"sdpMLineIndex is neither an unsigned short nor null"};
        ic.sdpMLineIndex = int(index->get<uint64_t>());
    }
    return Candidate{std::move(ic)};
}

}  // namespace

Message decodeJson(const nlohmann::json& msg) {
    if (!msg.is_object()) return Malformed{"not a JSON object"};
    const auto typeIt = msg.find("type");
    if (typeIt == msg.end() || !typeIt->is_string()) return Malformed{"no string 'type'"};
    const std::string& type = typeIt->get_ref<const std::string&>();

    if (type == "welcome") {
        // The server says 0 or 1; anything else is not the server's (a peer can relay a
        // "welcome" of its own).
        const auto peers = msg.find("peers");
        if (peers == msg.end() || !peers->is_number_unsigned() || peers->get<uint64_t>() > 1)
            return Malformed{"'welcome' without a peer count of 0 or 1"};
        return Welcome{int(peers->get<uint64_t>())};
    }
    if (type == "peer-joined") return PeerJoined{};
    if (type == "peer-left") return PeerLeft{};
    if (type == "error") {
        const auto reason = msg.find("reason");
        return ServerError{reason != msg.end() && reason->is_string() ? reason->get<std::string>()
                                                                      : std::string("error")};
    }
    if (type == "offer" || type == "answer") {
        const auto sdp = msg.find("sdp");
        if (sdp == msg.end() || !sdp->is_string())
            return Malformed{"'" + type + "' without an sdp string"};
        return Description{type == "offer" ? SdpType::Offer : SdpType::Answer,
                           sdp->get<std::string>()};
    }
    if (type == "candidate") return decodeCandidate(msg);
    if (type == "bye") return Bye{};
    return Unknown{type};
}

Message decode(std::string_view text) {
    nlohmann::json msg = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) return Malformed{"not JSON"};
    return decodeJson(msg);
}

}  // namespace tincan::session::signal
