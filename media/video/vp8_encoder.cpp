#include "media/video/vp8_encoder.hpp"

#include <fmt/format.h>
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <cstring>
#include <thread>

namespace tincan::media {

struct Vp8Encoder::Impl {
    vpx_codec_ctx_t ctx{};
    vpx_codec_enc_cfg_t cfg{};
    vpx_image_t img{};
    bool open = false;

    ~Impl() { close(); }
    void close() {
        if (open) vpx_codec_destroy(&ctx);
        open = false;
    }
};

Vp8Encoder::Vp8Encoder() : impl_(std::make_unique<Impl>()) {}
Vp8Encoder::~Vp8Encoder() = default;

int Vp8Encoder::threadsFor(int width, int height, int maxThreads, int cores) {
    // libvpx's VP8 worker threads spin-wait on each other: on 2 cores shared with other work a
    // second thread took 720p from 55 fps to 2 fps here (load 15). One thread codes 720p30 in
    // about a fifth of a core, so extra threads only where there are cores to spare.
    const int pixels = width * height;
    int want = 1;
    if (pixels >= 1920 * 1080 && cores >= 8)
        want = 4;
    else if (pixels >= 1280 * 720 && cores >= 4)
        want = 2;
    else if (pixels > 640 * 480 && cores >= 6)
        want = 2;
    return std::max(1, std::min({want, maxThreads, std::max(1, cores)}));
}

bool Vp8Encoder::init(const Vp8EncoderConfig& config) {
    config_ = config;
    config_.fps = std::max(1, config_.fps);
    config_.temporalLayers = std::clamp(config_.temporalLayers, 1, 2);
    if (config_.width < 2 || config_.height < 2 || config_.width > 16383 ||
        config_.height > 16383) {
        error_ = fmt::format("bad VP8 frame size {}x{}", config_.width, config_.height);
        return false;
    }
    initWidth_ = config_.width;
    initHeight_ = config_.height;
    return configure(true);
}

void Vp8Encoder::applyRates() {
    auto& cfg = impl_->cfg;
    const unsigned kbps = unsigned(std::max(10, config_.targetBitrateBps / 1000));
    cfg.rc_target_bitrate = kbps;
    if (config_.temporalLayers == 2) {
        // Base layer gets 60 % of the rate; the layer-1 frames the remainder.
        cfg.ts_number_layers = 2;
        cfg.ts_target_bitrate[0] = kbps * 6 / 10;
        cfg.ts_target_bitrate[1] = kbps;
        cfg.ts_rate_decimator[0] = 2;
        cfg.ts_rate_decimator[1] = 1;
        cfg.ts_periodicity = 2;
        cfg.ts_layer_id[0] = 0;
        cfg.ts_layer_id[1] = 1;
    } else {
        cfg.ts_number_layers = 1;
    }
}

bool Vp8Encoder::configure(bool fresh) {
    auto& cfg = impl_->cfg;
    if (fresh) {
        impl_->close();
        if (vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
            error_ = "vpx_codec_enc_config_default failed";
            return false;
        }
        threads_ = threadsFor(config_.width, config_.height, config_.maxThreads,
                              int(std::thread::hardware_concurrency()));
        cfg.g_threads = unsigned(threads_);
        cfg.g_timebase = {1, 90000};
        cfg.g_lag_in_frames = 0;
        cfg.g_error_resilient = config_.errorResilient ? VPX_ERROR_RESILIENT_DEFAULT : 0;
        cfg.rc_end_usage = VPX_CBR;
        cfg.rc_dropframe_thresh = config_.allowFrameDropping ? 30 : 0;
        cfg.rc_resize_allowed = 0;
        cfg.rc_min_quantizer = unsigned(config_.minQp);
        cfg.rc_max_quantizer = unsigned(config_.maxQp);
        cfg.rc_undershoot_pct = 100;
        cfg.rc_overshoot_pct = 15;
        cfg.rc_buf_initial_sz = 500;
        cfg.rc_buf_optimal_sz = 600;
        cfg.rc_buf_sz = 1000;
        cfg.kf_mode = VPX_KF_AUTO;
        cfg.kf_max_dist = unsigned(config_.keyframeIntervalFrames);
    }
    cfg.g_w = unsigned(config_.width);
    cfg.g_h = unsigned(config_.height);
    applyRates();
    if (fresh) {
        if (vpx_codec_enc_init(&impl_->ctx, vpx_codec_vp8_cx(), &cfg, 0) != VPX_CODEC_OK) {
            error_ = fmt::format("vpx_codec_enc_init: {}", vpx_codec_error_detail(&impl_->ctx)
                                                               ? vpx_codec_error_detail(&impl_->ctx)
                                                               : vpx_codec_error(&impl_->ctx));
            return false;
        }
        impl_->open = true;
        auto* ctx = &impl_->ctx;
        vpx_codec_control(ctx, VP8E_SET_CPUUSED, config_.cpuUsed);
        vpx_codec_control(ctx, VP8E_SET_TOKEN_PARTITIONS,
                          std::clamp(config_.tokenPartitionsLog2, 0, 3));
        vpx_codec_control(ctx, VP8E_SET_NOISE_SENSITIVITY, 0u);
        vpx_codec_control(ctx, VP8E_SET_STATIC_THRESHOLD, 1u);
        // Keyframes may spend at most 3 average frames' worth: keeps their burst pacer-friendly.
        vpx_codec_control(ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, 300u);
        frameIndex_ = 0;
        keyframeRequested_ = true;
    } else if (vpx_codec_enc_config_set(&impl_->ctx, &cfg) != VPX_CODEC_OK) {
        error_ = fmt::format("vpx_codec_enc_config_set: {}", vpx_codec_error(&impl_->ctx));
        return false;
    }
    return true;
}

void Vp8Encoder::setTargetBitrate(int bps) {
    if (bps == config_.targetBitrateBps) return;
    config_.targetBitrateBps = bps;
    if (impl_->open) configure(false);
}

void Vp8Encoder::setFrameRate(int fps) {
    // Rate control follows the frame durations encode() passes; only the default changes here.
    config_.fps = std::max(1, fps);
}

bool Vp8Encoder::setResolution(int width, int height) {
    if (width == config_.width && height == config_.height) return true;
    if (width < 2 || height < 2 || width > 16383 || height > 16383) {
        error_ = fmt::format("bad VP8 frame size {}x{}", width, height);
        return false;
    }
    config_.width = width;
    config_.height = height;
    // libvpx can shrink a running VP8 encoder but not grow it beyond its initial size.
    if (width <= initWidth_ && height <= initHeight_ && impl_->open &&
        threadsFor(width, height, config_.maxThreads, int(std::thread::hardware_concurrency())) ==
            threads_) {
        if (!configure(false)) return false;
        keyframeRequested_ = true;
        return true;
    }
    initWidth_ = width;
    initHeight_ = height;
    ++stats_.reinitializations;
    return configure(true);
}

std::optional<EncodedVideoFrame> Vp8Encoder::encode(const I420View& frame) {
    if (!impl_->open) {
        error_ = "encoder not initialised";
        return std::nullopt;
    }
    if ((frame.width != config_.width || frame.height != config_.height) &&
        !setResolution(frame.width, frame.height))
        return std::nullopt;

    vpx_image_t& img = impl_->img;
    vpx_img_wrap(&img, VPX_IMG_FMT_I420, unsigned(frame.width), unsigned(frame.height), 1,
                 const_cast<uint8_t*>(frame.y));
    img.planes[VPX_PLANE_Y] = const_cast<uint8_t*>(frame.y);
    img.planes[VPX_PLANE_U] = const_cast<uint8_t*>(frame.u);
    img.planes[VPX_PLANE_V] = const_cast<uint8_t*>(frame.v);
    img.stride[VPX_PLANE_Y] = frame.strideY;
    img.stride[VPX_PLANE_U] = frame.strideU;
    img.stride[VPX_PLANE_V] = frame.strideV;

    vpx_enc_frame_flags_t flags = 0;
    if (keyframeRequested_) {
        flags |= VPX_EFLAG_FORCE_KF;
        frameIndex_ = 0;
    }
    int tid = 0;
    if (config_.temporalLayers == 2) {
        tid = int(frameIndex_ % 2);
        // Layer 0 refers to and updates only LAST; layer 1 refers to LAST and updates nothing,
        // so any layer-1 frame can be lost without harm.
        flags |=
            VP8_EFLAG_NO_REF_GF | VP8_EFLAG_NO_REF_ARF | VP8_EFLAG_NO_UPD_GF | VP8_EFLAG_NO_UPD_ARF;
        if (tid == 1) flags |= VP8_EFLAG_NO_UPD_LAST | VP8_EFLAG_NO_UPD_ENTROPY;
        vpx_codec_control(&impl_->ctx, VP8E_SET_TEMPORAL_LAYER_ID, tid);
    }
    const unsigned long duration = 90000ul / unsigned(config_.fps);
    if (vpx_codec_encode(&impl_->ctx, &img, pts_, duration, flags, VPX_DL_REALTIME) !=
        VPX_CODEC_OK) {
        error_ = fmt::format("vpx_codec_encode: {}", vpx_codec_error(&impl_->ctx));
        return std::nullopt;
    }
    pts_ += int64_t(duration);

    output_.clear();
    bool keyframe = false;
    vpx_codec_iter_t iter = nullptr;
    while (const vpx_codec_cx_pkt_t* pkt = vpx_codec_get_cx_data(&impl_->ctx, &iter)) {
        if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
        const auto* p = static_cast<const uint8_t*>(pkt->data.frame.buf);
        output_.insert(output_.end(), p, p + pkt->data.frame.sz);
        keyframe = keyframe || (pkt->data.frame.flags & VPX_FRAME_IS_KEY);
    }
    if (output_.empty()) {
        ++stats_.framesDropped;
        return std::nullopt;
    }
    keyframeRequested_ = false;
    frameIndex_ = keyframe ? 1 : frameIndex_ + 1;

    EncodedVideoFrame out;
    out.data = output_;
    out.keyframe = keyframe;
    out.width = frame.width;
    out.height = frame.height;
    out.captureTimeUs = frame.captureTimeUs;
    out.rtpTimestamp = frame.rtpTimestamp;
    out.temporalId = keyframe ? 0 : tid;
    out.layerSync = out.temporalId > 0;
    out.nonReference = out.temporalId > 0;
    int qp = 0;
    vpx_codec_control(&impl_->ctx, VP8E_GET_LAST_QUANTIZER_64, &qp);
    out.qp = qp;

    ++stats_.framesEncoded;
    stats_.keyframesEncoded += keyframe ? 1 : 0;
    stats_.bytesEncoded += output_.size();
    stats_.qpSum += uint64_t(qp);
    return out;
}

}  // namespace tincan::media
