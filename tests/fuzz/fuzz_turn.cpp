// libFuzzer target for what a TURN server (or whoever answers in its place) sends a client
// (core/turn/turn_client.cpp, RFC 8656): ChannelData frames, the TCP/TLS stream framing, and the
// client's whole receive path.
//
// The first byte picks a part:
//  0  parseChannelData on the rest; a frame re-encoded parses back to the same channel and
//     payload.
//  1  StreamFramer fed the rest in chunks (sizes taken from the input): the frames popped are
//     the input's bytes in order, each a STUN message or a ChannelData frame; once broken, it
//     stays broken and pops nothing new.
//  2  A TurnClient over UDP, 3 over TCP, driven by a script: datagrams (or stream chunks) from
//     the server, time passing, data to peers, permissions. The script may stamp a datagram
//     with the transaction id of the client's latest request and sign it with the long-term
//     key, so that the fuzzer reaches past the 401 and the integrity check into allocations,
//     permissions and channels. Whatever the client sends must frame and parse cleanly.
// A broken invariant traps.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/common/random.hpp"
#include "core/stun/message.hpp"
#include "core/turn/turn_client.hpp"

using namespace tincan;
using namespace tincan::turn;

namespace {

void check(bool ok) {
    if (!ok) __builtin_trap();
}

constexpr const char* kUser = "fuzz";
constexpr const char* kPassword = "secret";

class Script {
public:
    explicit Script(ByteView in) : in_(in) {}
    bool done() const { return pos_ >= in_.size(); }
    uint8_t byte() { return done() ? 0 : in_[pos_++]; }
    ByteView chunk() {
        size_t n = byte();
        if (n == 0xFF) n = size_t(byte()) << 8 | byte();
        n = std::min(n, in_.size() - pos_);
        ByteView out = in_.subspan(pos_, n);
        pos_ += n;
        return out;
    }

private:
    ByteView in_;
    size_t pos_ = 0;
};

void channelData(ByteView in) {
    auto cd = parseChannelData(in);
    const bool looks = looksLikeChannelData(in);
    if (!cd) return;
    check(looks);
    check(cd->channel >= 0x4000 && cd->channel <= 0x4FFF);
    check(cd->payload.size() + 4 <= in.size());
    for (bool pad : {false, true}) {
        const Bytes wire = encodeChannelData(cd->channel, cd->payload, pad);
        check(!pad || wire.size() % 4 == 0);
        auto back = parseChannelData(wire);
        check(back && back->channel == cd->channel &&
              std::equal(back->payload.begin(), back->payload.end(), cd->payload.begin(),
                         cd->payload.end()));
    }
}

void framer(ByteView in) {
    Script script(in);
    StreamFramer f;
    Bytes fed, popped;
    bool wasBroken = false;
    while (!script.done()) {
        const ByteView piece = script.chunk();
        f.push(piece);
        if (!wasBroken) fed.insert(fed.end(), piece.begin(), piece.end());
        if (wasBroken) check(f.broken());
        while (std::optional<Bytes> frame = f.pop()) {
            check(!frame->empty());
            const ByteView v(*frame);
            if (parseChannelData(v)) {
                check((v.size() % 4) == 0);
            } else {
                auto length = stun::messageLength(v);
                check(length && *length == v.size());
            }
            popped.insert(popped.end(), frame->begin(), frame->end());
        }
        wasBroken = f.broken();
    }
    // What came out is a prefix of what went in (before it broke).
    check(popped.size() <= fed.size() && std::equal(popped.begin(), popped.end(), fed.begin()));
}

class ClientHarness {
public:
    explicit ClientHarness(TransportProtocol transport) : random_(42) {
        ServerConfig config;
        config.server = *Endpoint::parse("192.0.2.10:3478");
        config.transport = transport;
        config.username = kUser;
        config.password = kPassword;
        config.maxQueuedPerPeer = 4;
        client_.emplace(std::move(config), random_);
    }

    void run(ByteView in) {
        Script script(in);
        client_->start(now_);
        drain();
        int steps = 0;
        while (!script.done() && ++steps <= 48) {
            const uint8_t op = script.byte();
            switch (op & 7) {
                case 0:
                case 1:
                case 2: {
                    Bytes data = bytes(script.chunk());
                    if (op & 0x08) stamp(data);
                    if (op & 0x10) sign(data);
                    client_->handleIncoming(now_, data);
                    break;
                }
                case 3:
                    now_ += std::chrono::milliseconds(50 * (1 + script.byte()));
                    client_->handleTimeout(now_);
                    break;
                case 4: {
                    const Bytes payload = bytes(script.chunk());
                    (void)client_->sendTo(now_, peer(op), payload);
                    break;
                }
                case 5:
                    client_->createPermission(now_, peer(op).ip);
                    break;
                case 6:
                    client_->handleStreamState(
                        now_, (op & 0x08) ? StreamState::Closed : StreamState::Failed);
                    break;
                case 7:
                    client_->close(now_);
                    break;
            }
            drain();
        }
    }

private:
    static Bytes bytes(ByteView v) { return Bytes(v.begin(), v.end()); }
    static Endpoint peer(uint8_t op) {
        return Endpoint{*IpAddress::parse((op & 0x20) ? "198.51.100.7" : "203.0.113.9"),
                        uint16_t((op & 0x40) ? 5000 : 6000)};
    }

    // The latest request's transaction id, so that a response can match it.
    void stamp(Bytes& data) const {
        if (data.size() >= stun::kHeaderSize && (data[0] & 0xC0) == 0)
            std::copy(lastTid_.begin(), lastTid_.end(), data.begin() + 8);
    }
    // Re-encoded with MESSAGE-INTEGRITY under the long-term key (the realm its REALM names).
    void sign(Bytes& data) const {
        auto parsed = stun::parse(data);
        auto* m = parsed ? &*parsed : nullptr;
        if (!m) return;
        const std::string realm = m->getString(stun::attr::Realm).value_or(realm_);
        const stun::Integrity integrity{stun::longTermKey(kUser, realm, kPassword), false};
        Bytes wire = m->encode(&integrity, true);
        if (!wire.empty()) data = std::move(wire);
    }

    void drain() {
        const bool stream = client_->config().transport != TransportProtocol::Udp;
        while (std::optional<Bytes> out = client_->pollOutgoing()) {
            check(!out->empty());
            if (stream) {
                // Everything sent over a stream frames cleanly, frame by frame.
                sent_.push(*out);
                check(!sent_.broken());
                while (std::optional<Bytes> frame = sent_.pop()) note(*frame);
            } else {
                note(*out);
            }
        }
        while (std::optional<Event> event = client_->pollEvent()) {
            if (auto* failed = std::get_if<event::Failed>(&*event)) check(!failed->reason.empty());
        }
        if (auto at = client_->pollTimeout()) (void)at;
        const TurnStats& s = client_->stats();
        check(s.malformedDropped >= malformed_);
        malformed_ = s.malformedDropped;
    }

    // A datagram the client sent: STUN that parses, or ChannelData on a bound channel.
    void note(const Bytes& wire) {
        if (looksLikeChannelData(wire)) {
            check(parseChannelData(wire).has_value());
            return;
        }
        auto parsed = stun::parse(wire);
        auto* m = parsed ? &*parsed : nullptr;
        check(m != nullptr);
        if (m->isRequest()) lastTid_ = m->transactionId();
        if (auto realm = m->getString(stun::attr::Realm)) realm_ = *realm;
    }

    Random random_;
    std::optional<TurnClient> client_;
    Timestamp now_ = Timestamp{} + std::chrono::seconds(1000);
    stun::TransactionId lastTid_{};
    std::string realm_ = "example.org";
    StreamFramer sent_;
    uint64_t malformed_ = 0;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const ByteView in(data + 1, size - 1);
    switch (data[0] & 3) {
        case 0:
            channelData(in);
            break;
        case 1:
            framer(in);
            break;
        case 2:
            ClientHarness(TransportProtocol::Udp).run(in);
            break;
        case 3:
            ClientHarness(TransportProtocol::Tcp).run(in);
            break;
    }
    return 0;
}
