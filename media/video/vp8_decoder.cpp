#include "media/video/vp8_decoder.hpp"

#include <fmt/format.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>

namespace tincan::media {

struct Vp8Decoder::Impl {
    vpx_codec_ctx_t ctx{};
    bool open = false;
    ~Impl() {
        if (open) vpx_codec_destroy(&ctx);
    }
};

Vp8Decoder::Vp8Decoder() : impl_(std::make_unique<Impl>()) {}
Vp8Decoder::~Vp8Decoder() = default;

bool Vp8Decoder::init(int threads) {
    if (impl_->open) vpx_codec_destroy(&impl_->ctx);
    impl_->open = false;
    vpx_codec_dec_cfg_t cfg{};
    cfg.threads = unsigned(threads < 1 ? 1 : threads);
    if (vpx_codec_dec_init(&impl_->ctx, vpx_codec_vp8_dx(), &cfg, 0) != VPX_CODEC_OK) {
        error_ = fmt::format("vpx_codec_dec_init: {}", vpx_codec_error(&impl_->ctx));
        return false;
    }
    impl_->open = true;
    needKeyframe_ = true;
    return true;
}

bool Vp8Decoder::isKeyframe(ByteView f) {
    return f.size() >= 10 && (f[0] & 1) == 0 && f[3] == 0x9d && f[4] == 0x01 && f[5] == 0x2a;
}

DecodeStatus Vp8Decoder::decode(ByteView frame, I420View& out) {
    // A VP8 frame tag is 3 bytes; a keyframe adds 7 more (start code and size).
    if (!impl_->open || frame.size() < 3) {
        ++stats_.framesInvalid;
        error_ = impl_->open ? "frame shorter than a VP8 frame tag" : "decoder not initialised";
        return DecodeStatus::Invalid;
    }
    const bool key = isKeyframe(frame);
    if (!key && needKeyframe_) {
        ++stats_.framesWithoutReference;
        return DecodeStatus::NeedKeyframe;
    }
    if (vpx_codec_decode(&impl_->ctx, frame.data(), unsigned(frame.size()), nullptr, 0) !=
        VPX_CODEC_OK) {
        ++stats_.framesCorrupt;
        error_ = fmt::format("vpx_codec_decode: {}", vpx_codec_error(&impl_->ctx));
        needKeyframe_ = true;
        return DecodeStatus::Corrupt;
    }
    int corrupted = 0;
    vpx_codec_control(&impl_->ctx, VP8D_GET_FRAME_CORRUPTED, &corrupted);
    vpx_codec_iter_t iter = nullptr;
    vpx_image_t* img = vpx_codec_get_frame(&impl_->ctx, &iter);
    if (corrupted || img == nullptr) {
        ++stats_.framesCorrupt;
        error_ = corrupted ? "frame decoded with corruption" : "decoder produced no picture";
        needKeyframe_ = true;
        return DecodeStatus::Corrupt;
    }
    needKeyframe_ = false;
    out.width = int(img->d_w);
    out.height = int(img->d_h);
    out.y = img->planes[VPX_PLANE_Y];
    out.u = img->planes[VPX_PLANE_U];
    out.v = img->planes[VPX_PLANE_V];
    out.strideY = img->stride[VPX_PLANE_Y];
    out.strideU = img->stride[VPX_PLANE_U];
    out.strideV = img->stride[VPX_PLANE_V];
    ++stats_.framesDecoded;
    stats_.keyframesDecoded += key ? 1 : 0;
    return DecodeStatus::Ok;
}

}  // namespace tincan::media
