// libFuzzer target for the signaling server's message path (signal/hub.cpp), without Qt.
//
// The input is a script: each step names one of 8 peers and an event (a WebSocket opened with a
// request target, a text message, a binary message, the socket closed) with its bytes. After
// every step the hub's output is drained and checked against a model of the contract
// (SIGNALING.md): a room never holds more than two peers; `welcome` is the first frame a peer
// gets; only peers that are in a room (or are being refused) receive frames; relayed frames are
// the exact bytes some peer sent, and go to the other peer of its room; a refused or departed
// peer is closed and gets nothing after. The relay check itself is compared with a full JSON
// parse. A broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "signal/hub.hpp"

using namespace tincan::signaling;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

template <class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

constexpr unsigned kPeers = 8;

// The relay check against nlohmann's DOM parser: same verdict, same type string.
void crossCheckRelayable(std::string_view text) {
    const std::optional<std::string> type = relayableMessageType(text);
    // The DOM parser recurses per nesting level on destruction in old versions: keep it shallow.
    if (text.size() > 4096) return;
    const nlohmann::json doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    std::optional<std::string> expected;
    if (!doc.is_discarded() && doc.is_object()) {
        const auto it = doc.find("type");
        if (it != doc.end() && it->is_string()) expected = it->get<std::string>();
    }
    check(type == expected);
}

class Script {
public:
    Script(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
    bool done() const { return p_ == end_; }
    uint8_t byte() { return p_ == end_ ? 0 : *p_++; }
    // A length byte (0xFF: two more length bytes) then that many bytes, cut at the end.
    std::string_view chunk() {
        size_t n = byte();
        if (n == 0xFF) n = size_t(byte()) << 8 | byte();
        n = std::min<size_t>(n, size_t(end_ - p_));
        std::string_view s(reinterpret_cast<const char*>(p_), n);
        p_ += n;
        return s;
    }

private:
    const uint8_t* p_;
    const uint8_t* end_;
};

struct Model {
    Hub hub{HubConfig{3}};               // few rooms, so that "server full" is reached
    std::map<PeerId, std::string> room;  // peers the model believes are in a room
    std::set<PeerId> welcomed;
    std::set<PeerId> closed;          // closed by the hub: nothing may be sent to them again
    std::set<std::string> sentTexts;  // every text a peer sent that might be relayed

    std::size_t inRoom(const std::string& name) const {
        std::size_t n = 0;
        for (const auto& [peer, r] : room) n += r == name;
        return n;
    }

    void drain() {
        while (std::optional<HubOutput> out = hub.poll()) {
            std::visit(Overloaded{
                           [&](const SendText& send) {
                               check(closed.count(send.to) == 0);
                               const bool isWelcome = send.text.starts_with(R"({"type":"welcome")");
                               if (isWelcome) {
                                   check(welcomed.insert(send.to).second);
                               } else if (!send.text.starts_with(R"({"type":"error")")) {
                                   // Anything else goes to a welcomed peer only.
                                   check(welcomed.count(send.to) == 1);
                                   check(send.text == R"({"type":"peer-joined"})" ||
                                         send.text == R"({"type":"peer-left"})" ||
                                         sentTexts.count(send.text) == 1);
                               }
                           },
                           [&](const ClosePeer& close) {
                               check(closed.insert(close.peer).second);
                               room.erase(close.peer);
                           },
                           [&](const RoomChange& change) {
                               check(!change.room.empty() && change.peers <= kPeersPerRoom);
                           },
                           [&](const Rejected& rejected) { check(!rejected.reason.empty()); },
                       },
                       *out);
        }
        check(hub.peerCount() <= hub.roomCount() * kPeersPerRoom);
        check(hub.roomCount() <= 3);
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    crossCheckRelayable(std::string_view(reinterpret_cast<const char*>(data), size));
    (void)isValidRoomName(std::string_view(reinterpret_cast<const char*>(data), size));

    Model m;
    Script script(data, size);
    // Peer ids are reused only after a close, as the server's counter never repeats them: a
    // generation per slot keeps them distinct.
    PeerId generation[kPeers] = {};
    for (unsigned i = 0; i < kPeers; ++i) generation[i] = i + 1;
    int steps = 0;
    while (!script.done() && ++steps <= 64) {
        const uint8_t op = script.byte();
        const unsigned slot = op % kPeers;
        PeerId& peer = generation[slot];
        switch ((op >> 3) % 5) {
            case 0: {  // open
                // Ids are never reused: a peer the hub closed comes back as a new socket.
                if (m.closed.count(peer) == 1) {
                    m.hub.handleClosed(peer);
                    m.drain();
                    peer += kPeers;
                }
                const std::string_view target = script.chunk();
                // A room name is the whole target after "/": nothing else may get in.
                const bool valid =
                    target.size() >= 2 && target[0] == '/' && isValidRoomName(target.substr(1));
                const std::string name = valid ? std::string(target.substr(1)) : std::string();
                const bool wasIn = m.room.count(peer) == 1;
                const std::size_t before = valid ? m.inRoom(name) : 0;
                m.hub.handleOpen(peer, target);
                m.drain();
                if (wasIn) break;  // a second open of one socket is ignored
                if (!valid || before >= kPeersPerRoom) {
                    check(m.closed.count(peer) == 1);
                } else if (m.closed.count(peer) == 1) {
                    check(before == 0);  // "server full" refuses new rooms only
                } else {
                    check(m.welcomed.count(peer) == 1);
                    m.room[peer] = name;
                }
                break;
            }
            case 1:
            case 2: {  // text
                const std::string_view text = script.chunk();
                m.sentTexts.emplace(text);
                const bool wasIn = m.room.count(peer) == 1;
                m.hub.handleText(peer, text);
                m.drain();
                // A peer in a room stays unless it sent something too large, unrelayable or `bye`.
                if (wasIn) {
                    const std::optional<std::string> type = relayableMessageType(text);
                    const bool leaves = text.size() > kMaxMessageBytes || !type || *type == "bye";
                    check(leaves == (m.closed.count(peer) == 1));
                }
                break;
            }
            case 3:  // binary
                m.hub.handleBinary(peer);
                m.drain();
                check(m.room.count(peer) == 0);
                break;
            case 4:  // the socket is gone; the slot gets a fresh id
                m.hub.handleClosed(peer);
                m.room.erase(peer);
                m.drain();
                peer += kPeers;
                break;
        }
        for (const auto& [p, name] : m.room) check(m.inRoom(name) <= kPeersPerRoom);
    }
    m.hub.closeAll();
    m.drain();
    check(m.hub.peerCount() == 0 && m.hub.roomCount() == 0);
    return 0;
}
