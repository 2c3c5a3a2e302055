// Data channels: tincan::DataChannel's methods (any thread) and the channels' side of the
// PeerConnection's event route (loop thread).
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "core/pc/peer_connection.hpp"

namespace tincan {

const char* toString(DataChannelState s) {
    switch (s) {
        case DataChannelState::Connecting:
            return "connecting";
        case DataChannelState::Open:
            return "open";
        case DataChannelState::Closing:
            return "closing";
        case DataChannelState::Closed:
            return "closed";
    }
    return "?";
}

DataChannel::DataChannel(std::weak_ptr<pc::PeerConnection> pc, std::string label,
                         DataChannelInit init)
    : pc_(std::move(pc)), label_(std::move(label)), init_(std::move(init)) {}

std::optional<uint16_t> DataChannel::id() const {
    int32_t v = id_.load();
    if (v < 0) return std::nullopt;
    return uint16_t(v);
}

size_t DataChannel::maxMessageSize() const {
    auto pc = pc_.lock();
    return pc ? pc->remoteMaxMessageSize() : 65536;
}

size_t DataChannel::bufferedAmount() const {
    return buffered_.load() + posted_.load();
}

void DataChannel::setCallbacks(Callbacks callbacks) {
    auto next = std::make_shared<const Callbacks>(std::move(callbacks));
    std::lock_guard lock(callbackMutex_);
    callbacks_.swap(next);
}

void DataChannel::fire(const std::function<void(const Callbacks&)>& f) {
    std::shared_ptr<const Callbacks> current;
    {
        std::lock_guard lock(callbackMutex_);
        current = callbacks_;
    }
    f(*current);
}

void DataChannel::setBufferedAmountLowThreshold(size_t bytes) {
    lowThreshold_ = bytes;
    auto pc = pc_.lock();
    if (!pc) return;
    pc->runtime_.post([pc, bytes, id = id()] {
        if (id && pc->connection_->sctp())
            pc->connection_->sctp()->setBufferedAmountLowThreshold(*id, bytes);
    });
}

bool DataChannel::send(std::string_view text) {
    return sendImpl(asBytes(text), false);
}
bool DataChannel::sendBinary(ByteView data) {
    return sendImpl(data, true);
}

bool DataChannel::sendBinary(Bytes&& data) {
    return sendImpl(data, true, &data);
}

bool DataChannel::sendImpl(ByteView data, bool binary, Bytes* owned) {
    auto pc = pc_.lock();
    if (!pc || state_.load() != DataChannelState::Open) return false;
    if (data.size() > pc->remoteMaxMessageSize()) return false;
    if (pc->runtime_.onLoopThread()) return pc->sendOnLoop(*this, data, binary);
    // Off the loop: copy (or take the caller's buffer), and count the bytes as buffered until
    // the loop hands them to SCTP.
    size_t n = data.size();
    posted_ += n;
    pc->runtime_.post([pc, weak = weak_from_this(),
                       copy = owned ? std::move(*owned) : Bytes(data.begin(), data.end()), binary,
                       n] {
        auto self = weak.lock();
        if (!self) return;
        self->posted_ -= n;
        pc->sendOnLoop(*self, copy, binary);
    });
    return true;
}

void DataChannel::close() {
    auto pc = pc_.lock();
    if (!pc) return;
    DataChannelState s = state_.load();
    if (s == DataChannelState::Closed || s == DataChannelState::Closing) return;
    state_ = DataChannelState::Closing;
    pc->runtime_.post([pc, id = id()] {
        if (id && pc->connection_->sctp()) pc->connection_->sctp()->closeChannel(*id);
    });
}

namespace pc {

Result<std::shared_ptr<DataChannel>> PeerConnection::createDataChannel(
    const std::string& label, const DataChannelInit& init) {
    if (init.maxRetransmits && init.maxPacketLifeTimeMs)
        return Error{"maxRetransmits and maxPacketLifeTime are mutually exclusive"};
    if (label.size() > 0xFFFF || init.protocol.size() > 0xFFFF)
        return Error{"label or protocol longer than 65535 bytes"};
    std::shared_ptr<DataChannel> ch(new DataChannel(weak_from_this(), label, init));
    bool needed = onLoop([this, ch] {
        if (closed_) return false;
        pendingChannels_.push_back(ch);
        if (connection_->sctp()) openPendingChannels();
        return negotiator_.addDataSection();
    });
    if (closed_) return Error{"the peer connection is closed"};
    if (needed && callbacks_.onNegotiationNeeded)
        runtime_.post([weak = weak_from_this()] {
            if (auto self = weak.lock(); self && self->callbacks_.onNegotiationNeeded)
                self->callbacks_.onNegotiationNeeded();
        });
    return ch;
}

void PeerConnection::openPendingChannels() {
    auto* sctp = connection_->sctp();
    if (!sctp) return;
    auto pending = std::move(pendingChannels_);
    pendingChannels_.clear();
    for (auto& ch : pending) {
        sctp::ChannelInit ci;
        ci.label = ch->label_;
        ci.protocol = ch->init_.protocol;
        ci.ordered = ch->init_.ordered;
        ci.maxRetransmits = ch->init_.maxRetransmits;
        ci.maxPacketLifeTimeMs = ch->init_.maxPacketLifeTimeMs;
        ci.negotiatedId = ch->init_.negotiatedId;
        auto r = sctp->createChannel(ci);
        if (!r) {
            spdlog::warn("pc: cannot open data channel '{}': {}", ch->label_, r.error().message);
            ch->state_ = DataChannelState::Closed;
            ch->fire([](const DataChannel::Callbacks& cb) {
                if (cb.onClose) cb.onClose();
            });
            continue;
        }
        uint16_t id = *r;
        ch->id_ = id;
        channels_[id] = ch;
        if (size_t t = ch->lowThreshold_.load()) sctp->setBufferedAmountLowThreshold(id, t);
    }
}

bool PeerConnection::sendOnLoop(DataChannel& ch, ByteView data, bool binary) {
    auto* sctp = connection_->sctp();
    auto id = ch.id();
    if (!sctp || !id) return false;
    bool ok = sctp->send(*id, data, binary);
    refreshBuffered(ch);
    return ok;
}

void PeerConnection::refreshBuffered(DataChannel& ch) {
    auto* sctp = connection_->sctp();
    auto id = ch.id();
    if (sctp && id) ch.buffered_ = sctp->bufferedAmount(*id);
}

void PeerConnection::onSctpEvent(const sctp::Event& e) {
    if (auto* m = std::get_if<sctp::event::Message>(&e)) {
        auto it = channels_.find(m->id);
        if (it == channels_.end()) return;  // closed by us meanwhile
        auto ch = it->second;
        ch->fire([m](const DataChannel::Callbacks& cb) {
            if (cb.onMessage) cb.onMessage(m->data, m->binary);
        });
    } else if (auto* o = std::get_if<sctp::event::ChannelOpened>(&e)) {
        std::shared_ptr<DataChannel> ch;
        if (auto it = channels_.find(o->id); it != channels_.end()) {
            ch = it->second;
        } else if (o->remote) {
            DataChannelInit init;
            init.protocol = o->protocol;
            ch.reset(new DataChannel(weak_from_this(), o->label, init));
            ch->id_ = o->id;
            channels_[o->id] = ch;
            ch->state_ = DataChannelState::Open;
            channelsOpened_++;
            if (callbacks_.onDataChannel) callbacks_.onDataChannel(ch);
            ch->fire([](const DataChannel::Callbacks& cb) {
                if (cb.onOpen) cb.onOpen();
            });
            return;
        }
        if (ch && ch->state_.load() == DataChannelState::Connecting) {
            ch->state_ = DataChannelState::Open;
            channelsOpened_++;
            ch->fire([](const DataChannel::Callbacks& cb) {
                if (cb.onOpen) cb.onOpen();
            });
        }
    } else if (auto* c = std::get_if<sctp::event::ChannelClosed>(&e)) {
        auto it = channels_.find(c->id);
        if (it == channels_.end()) return;
        auto ch = it->second;
        ch->state_ = DataChannelState::Closed;
        closedChannelStats_.push_back(channelStats(c->id, *ch));
        channelsClosed_++;
        channels_.erase(it);
        ch->fire([](const DataChannel::Callbacks& cb) {
            if (cb.onClose) cb.onClose();
        });
        releaseCallbacks(*ch);
    } else if (auto* low = std::get_if<sctp::event::BufferedAmountLow>(&e)) {
        auto it = channels_.find(low->id);
        if (it == channels_.end()) return;
        auto ch = it->second;
        refreshBuffered(*ch);
        ch->fire([](const DataChannel::Callbacks& cb) {
            if (cb.onBufferedAmountLow) cb.onBufferedAmountLow();
        });
    } else if (std::holds_alternative<sctp::event::AssociationFailed>(e) ||
               std::holds_alternative<sctp::event::AssociationClosed>(e)) {
        closeAllChannels();
    }
}

// Every channel ends Closed, keeps its stats, and hears onClose.
void PeerConnection::closeAllChannels() {
    auto all = std::move(channels_);
    channels_.clear();
    for (auto& [id, ch] : all) {
        ch->state_ = DataChannelState::Closed;
        closedChannelStats_.push_back(channelStats(id, *ch));
        channelsClosed_++;
        ch->fire([](const DataChannel::Callbacks& cb) {
            if (cb.onClose) cb.onClose();
        });
        releaseCallbacks(*ch);
    }
}

// A closed channel fires nothing more: its callbacks are dropped, so that callbacks capturing
// the channel itself (docs/API.md, "Lifetimes") stop keeping it alive. They are destroyed
// outside the lock, as they may hold the last reference to the channel.
void PeerConnection::releaseCallbacks(DataChannel& ch) {
    auto released = std::make_shared<const DataChannel::Callbacks>();
    std::lock_guard lock(ch.callbackMutex_);
    released.swap(ch.callbacks_);
}

DataChannelStats PeerConnection::channelStats(uint16_t id, const DataChannel& ch) const {
    DataChannelStats s;
    s.id = fmt::format("D{}-{}", id, ch.label_);
    s.label = ch.label_;
    s.protocol = ch.init_.protocol;
    s.dataChannelIdentifier = id;
    s.state = toString(ch.state_.load());
    auto* sctp = connection_->sctp();
    if (auto cs = sctp ? sctp->channelStats(id) : std::nullopt) {
        s.messagesSent = cs->messagesSent;
        s.bytesSent = cs->bytesSent;
        s.messagesReceived = cs->messagesReceived;
        s.bytesReceived = cs->bytesReceived;
    }
    return s;
}

}  // namespace pc
}  // namespace tincan
