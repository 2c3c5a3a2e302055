#include "media/video/vp8_packetizer.hpp"

#include <algorithm>

namespace tincan::media {

Vp8Packetizer::Vp8Packetizer(size_t maxPayloadSize, uint16_t firstPictureId, bool withTemporalInfo)
    : maxPayloadSize_(maxPayloadSize),
      withTemporalInfo_(withTemporalInfo),
      pictureId_(int(firstPictureId & 0x7FFF) - 1) {}

size_t Vp8Packetizer::packetize(const EncodedVideoFrame& frame) {
    count_ = index_ = offset_ = 0;
    if (frame.data.empty()) return 0;
    pictureId_ = (pictureId_ + 1) & 0x7FFF;
    desc_ = Vp8Descriptor{};
    desc_.pictureId = pictureId_;
    desc_.nonReference = frame.nonReference;
    if (withTemporalInfo_) {
        // RFC 7741 §4.2: TL0PICIDX counts base-layer frames; layer > 0 frames repeat it.
        if (frame.temporalId == 0 && frames_ > 0) tl0PicIdx_ = (tl0PicIdx_ + 1) & 0xFF;
        desc_.tl0PicIdx = tl0PicIdx_;
        desc_.temporalId = frame.temporalId;
        desc_.layerSync = frame.layerSync;
    }
    ++frames_;
    const size_t header = desc_.encodedSize();
    if (maxPayloadSize_ <= header) return 0;
    const size_t room = maxPayloadSize_ - header;
    count_ = (frame.data.size() + room - 1) / room;
    data_ = frame.data;
    return count_;
}

bool Vp8Packetizer::next(Bytes& out) {
    if (!hasNext()) {
        out.clear();
        return false;
    }
    // Equal shares (the first ones a byte larger) rather than full packets and a runt.
    const size_t base = data_.size() / count_, extra = data_.size() % count_;
    const size_t len = base + (index_ < extra ? 1 : 0);
    desc_.startOfPartition = index_ == 0;
    out.resize(Vp8Descriptor::kMaxSize + len);
    const size_t h = desc_.write(out.data());
    std::copy_n(data_.data() + offset_, len, out.data() + h);
    out.resize(h + len);
    offset_ += len;
    ++index_;
    return index_ == count_;
}

}  // namespace tincan::media
