// DataChannel: one W3C RTCDataChannel (RFC 8831 over SCTP, opened with DCEP, RFC 8832).
//
// Threading: every method may be called from any thread. Every callback runs on the
// connection's network thread (NetworkThread), one at a time, in the order things happened;
// a callback must not block (post long work elsewhere). Set the callbacks right after
// PeerConnection::createDataChannel() returns, or inside PeerConnectionCallbacks::onDataChannel,
// so that no event is missed.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "tincan/bytes.hpp"

namespace tincan {

namespace pc {
class PeerConnection;
}

struct DataChannelInit {
    bool ordered = true;
    std::optional<uint16_t> maxRetransmits;
    std::optional<uint16_t> maxPacketLifeTimeMs;
    std::string protocol;
    // Negotiated out of band: no DCEP, both sides create the channel with this stream id.
    std::optional<uint16_t> negotiatedId;
};

// W3C RTCDataChannelState.
enum class DataChannelState : uint8_t { Connecting = 1, Open, Closing, Closed };
const char* toString(DataChannelState s);  // "connecting", "open", "closing", "closed"

class DataChannel : public std::enable_shared_from_this<DataChannel> {
public:
    struct Callbacks {
        std::function<void()> onOpen{};
        // `data` is valid only until the callback returns: copy what you keep.
        std::function<void(ByteView data, bool binary)> onMessage{};
        std::function<void()> onClose{};
        // bufferedAmount() fell to or below the low threshold.
        std::function<void()> onBufferedAmountLow{};
    };

    const std::string& label() const { return label_; }
    const DataChannelInit& init() const { return init_; }
    std::optional<uint16_t> id() const;
    DataChannelState state() const { return state_.load(); }
    // Bytes accepted by send() and not yet handed to the network.
    size_t bufferedAmount() const;
    void setBufferedAmountLowThreshold(size_t bytes);
    size_t bufferedAmountLowThreshold() const { return lowThreshold_.load(); }
    // The largest message send() accepts: the peer's a=max-message-size.
    size_t maxMessageSize() const;

    void setCallbacks(Callbacks callbacks);
    // False when the channel is not open or the message exceeds maxMessageSize(). The bytes
    // are copied (or handed to SCTP at once on the network thread): the caller keeps its buffer.
    bool send(std::string_view text);
    bool sendBinary(ByteView data);
    // The same, taking the buffer: called off the network thread it is moved there, not copied.
    bool sendBinary(Bytes&& data);
    void close();

private:
    friend class pc::PeerConnection;
    DataChannel(std::weak_ptr<pc::PeerConnection> pc, std::string label, DataChannelInit init);
    // `owned`, when given, holds `data` and may be moved from.
    bool sendImpl(ByteView data, bool binary, Bytes* owned = nullptr);
    void fire(const std::function<void(const Callbacks&)>& f);

    std::weak_ptr<pc::PeerConnection> pc_;
    std::string label_;
    DataChannelInit init_;
    std::atomic<int32_t> id_{-1};
    std::atomic<DataChannelState> state_{DataChannelState::Connecting};
    std::atomic<size_t> lowThreshold_{0};
    std::atomic<size_t> posted_{0};    // bytes posted from other threads, not yet in SCTP
    std::atomic<size_t> buffered_{0};  // SCTP's count, refreshed on the network thread
    mutable std::mutex callbackMutex_;
    // Replaced whole by setCallbacks(); fire() takes a reference under the mutex and calls
    // outside it, so a message costs one reference count, not a copy of every callback.
    std::shared_ptr<const Callbacks> callbacks_ = std::make_shared<const Callbacks>();
};

}  // namespace tincan
