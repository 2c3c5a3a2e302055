#include "signal/hub.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace tincan::signaling {

namespace {

std::string errorMessage(std::string_view reason) {
    // The reasons are fixed ASCII words, so no escaping is needed.
    std::string text = R"({"type":"error","reason":")";
    text += reason;
    text += "\"}";
    return text;
}

// Streams the message through nlohmann's SAX parser (iterative, so deep nesting cannot blow the
// stack, and nothing is built) noting only whether the root is an object and what kind of value
// its "type" member holds. With duplicate keys the last one decides, as in JSON.parse.
class TypeProbe final : public nlohmann::json_sax<nlohmann::json> {
public:
    bool rootIsObject() const { return rootIsObject_; }
    const std::optional<std::string>& type() const { return type_; }

    bool null() override { return value(nullptr); }
    bool boolean(bool) override { return value(nullptr); }
    bool number_integer(number_integer_t) override { return value(nullptr); }
    bool number_unsigned(number_unsigned_t) override { return value(nullptr); }
    bool number_float(number_float_t, const string_t&) override { return value(nullptr); }
    bool string(string_t& s) override { return value(&s); }
    bool binary(binary_t&) override { return value(nullptr); }
    bool start_object(std::size_t) override {
        if (depth_ == 0) rootIsObject_ = true;
        value(nullptr);
        ++depth_;
        return true;
    }
    bool key(string_t& key) override {
        if (depth_ == 1) nextIsType_ = key == "type";
        return true;
    }
    bool end_object() override {
        --depth_;
        return true;
    }
    bool start_array(std::size_t) override {
        value(nullptr);
        ++depth_;
        return true;
    }
    bool end_array() override {
        --depth_;
        return true;
    }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
        return false;
    }

private:
    // `text` is the value if it is a string, else null.
    bool value(const string_t* text) {
        if (depth_ == 1 && nextIsType_) {
            type_ = text ? std::optional<std::string>(*text) : std::nullopt;
            nextIsType_ = false;
        }
        return true;
    }

    std::size_t depth_ = 0;
    bool rootIsObject_ = false;
    bool nextIsType_ = false;
    std::optional<std::string> type_;
};

}  // namespace

bool isValidRoomName(std::string_view room) {
    if (room.empty() || room.size() > kMaxRoomNameLength) return false;
    return std::all_of(room.begin(), room.end(), [](char c) {
        return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

std::optional<std::string> relayableMessageType(std::string_view text) {
    TypeProbe probe;
    const bool parsed = nlohmann::json::sax_parse(text.begin(), text.end(), &probe,
                                                  nlohmann::json::input_format_t::json,
                                                  /*strict=*/true, /*ignore_comments=*/false);
    if (!parsed || !probe.rootIsObject()) return std::nullopt;
    return probe.type();
}

Hub::Hub(HubConfig config) : config_(config) {}

void Hub::handleOpen(PeerId peer, std::string_view target) {
    if (peerRooms_.count(peer) != 0) return;
    // SIGNALING.md "Transport": ROOM is the path without its leading slash; '?' and '#' are not
    // room characters, so a query or a fragment is refused here too.
    if (target.empty() || target.front() != '/' || !isValidRoomName(target.substr(1))) {
        reject(peer, "bad room", CloseCode::PolicyViolation, {});
        return;
    }
    std::string name(target.substr(1));
    auto it = rooms_.find(name);
    if (it == rooms_.end()) {
        if (rooms_.size() >= config_.maxRooms) {
            reject(peer, "server full", CloseCode::PolicyViolation, std::move(name));
            return;
        }
        it = rooms_.emplace(name, Room{}).first;
    }
    Room& room = it->second;
    if (room.count >= kPeersPerRoom) {
        reject(peer, "room full", CloseCode::PolicyViolation, std::move(name));
        return;
    }
    const std::size_t others = room.count;
    room.peers[room.count++] = peer;
    peerRooms_.emplace(peer, name);

    // `welcome` is the first frame the newcomer sees; `peer-joined` goes to the one already in.
    out_.emplace_back(
        SendText{peer, R"({"type":"welcome","peers":)" + std::to_string(others) + "}"});
    if (others != 0) out_.emplace_back(SendText{room.peers[0], R"({"type":"peer-joined"})"});
    out_.emplace_back(RoomChange{RoomChange::Kind::Joined, std::move(name), room.count});
}

void Hub::handleText(PeerId peer, std::string_view text) {
    const auto self = peerRooms_.find(peer);
    if (self == peerRooms_.end()) return;  // already rejected or left; its socket is closing
    if (text.size() > kMaxMessageBytes) {
        reject(peer, "too large", CloseCode::MessageTooBig, self->second);
        return;
    }
    const std::optional<std::string> type = relayableMessageType(text);
    if (!type) {
        reject(peer, "bad message", CloseCode::PolicyViolation, self->second);
        return;
    }
    const std::optional<PeerId> other = otherPeer(peer);
    // Relayed as the exact bytes received, never re-serialized.
    if (other)
        out_.emplace_back(SendText{*other, std::string(text)});
    else
        ++droppedWhileAlone_;  // see the header for why this is not buffered

    if (*type == "bye") {  // relayed above, then the sender leaves (see the header)
        leave(peer);
        out_.emplace_back(ClosePeer{peer, CloseCode::Normal});
    }
}

void Hub::handleBinary(PeerId peer) {
    const auto self = peerRooms_.find(peer);
    if (self == peerRooms_.end()) return;
    reject(peer, "bad message", CloseCode::PolicyViolation, self->second);
}

void Hub::handleClosed(PeerId peer) {
    leave(peer);
}

void Hub::closeAll() {
    // No `peer-left`: everyone is going, and the close code (1001) says why.
    for (const auto& [peer, room] : peerRooms_)
        out_.emplace_back(ClosePeer{peer, CloseCode::GoingAway});
    peerRooms_.clear();
    rooms_.clear();
}

std::optional<HubOutput> Hub::poll() {
    if (out_.empty()) return std::nullopt;
    HubOutput next = std::move(out_.front());
    out_.pop_front();
    return next;
}

void Hub::reject(PeerId peer, std::string_view reason, CloseCode code, std::string room) {
    out_.emplace_back(Rejected{std::string(reason), std::move(room)});
    leave(peer);
    out_.emplace_back(SendText{peer, errorMessage(reason)});
    out_.emplace_back(ClosePeer{peer, code});
}

void Hub::leave(PeerId peer) {
    const auto self = peerRooms_.find(peer);
    if (self == peerRooms_.end()) return;
    std::string name = std::move(self->second);
    peerRooms_.erase(self);

    const auto it = rooms_.find(name);
    if (it == rooms_.end()) return;
    Room& room = it->second;
    auto* const end = room.peers + room.count;
    auto* const pos = std::find(room.peers, end, peer);
    if (pos == end) return;
    std::move(pos + 1, end, pos);
    room.peers[--room.count] = 0;

    for (std::size_t i = 0; i < room.count; ++i)
        out_.emplace_back(SendText{room.peers[i], R"({"type":"peer-left"})"});
    const std::size_t remaining = room.count;
    if (remaining == 0) rooms_.erase(it);
    out_.emplace_back(RoomChange{RoomChange::Kind::Left, std::move(name), remaining});
}

std::optional<PeerId> Hub::otherPeer(PeerId peer) const {
    const auto self = peerRooms_.find(peer);
    if (self == peerRooms_.end()) return std::nullopt;
    const Room& room = rooms_.at(self->second);
    for (std::size_t i = 0; i < room.count; ++i)
        if (room.peers[i] != peer) return room.peers[i];
    return std::nullopt;
}

}  // namespace tincan::signaling
