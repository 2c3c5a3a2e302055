#include "core/rtp/packet_history.hpp"

namespace tincan::rtp {

void PacketHistory::put(Timestamp now, uint16_t seq, Bytes packet) {
    int64_t key = unwrapper_.unwrap(seq);
    auto [it, inserted] = packets_.try_emplace(key);
    if (!inserted) bytes_ -= it->second.packet.size();
    bytes_ += packet.size();
    it->second = Entry{now, std::nullopt, std::move(packet)};
    evict(now);
}

void PacketHistory::evict(Timestamp now) {
    while (!packets_.empty() &&
           (bytes_ > config_.maxBytes || now - packets_.begin()->second.sentAt > config_.maxAge)) {
        bytes_ -= packets_.begin()->second.packet.size();
        packets_.erase(packets_.begin());
    }
}

const Bytes* PacketHistory::find(uint16_t seq) const {
    auto it = packets_.find(unwrapper_.peek(seq));
    return it == packets_.end() ? nullptr : &it->second.packet;
}

const Bytes* PacketHistory::getForResend(Timestamp now, uint16_t seq, Duration minInterval) {
    evict(now);
    auto it = packets_.find(unwrapper_.peek(seq));
    if (it == packets_.end()) {
        ++stats_.missing;
        return nullptr;
    }
    Entry& e = it->second;
    if (e.resentAt && now - *e.resentAt < minInterval) {
        ++stats_.throttled;
        return nullptr;
    }
    e.resentAt = now;
    ++stats_.resent;
    return &e.packet;
}

}  // namespace tincan::rtp
