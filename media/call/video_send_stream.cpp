#include "media/call/video_send_stream.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>

#include "media/call/i420_scale.hpp"
#include "media/video/test_pattern.hpp"
#include "media/video/vp8_encoder.hpp"
#include "media/video/vp8_packetizer.hpp"

namespace tincan::media {

namespace {

using SteadyClock = std::chrono::steady_clock;

int64_t steadyMicros(SteadyClock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

}  // namespace

VideoSendStream::VideoSendStream(const VideoSendConfig& config, SendHook send)
    : config_(config),
      send_(std::move(send)),
      targetBitrateBps_(
          std::clamp(config.startBitrateBps, config.minBitrateBps, config.maxBitrateBps)) {}

VideoSendStream::~VideoSendStream() {
    stop();
}

bool VideoSendStream::startTestPattern(std::string& error) {
    if (worker_.joinable()) {
        error = "the video send stream is already running";
        return false;
    }
    if (config_.width < TestPatternSource::kMinWidth ||
        config_.height < TestPatternSource::kMinHeight || config_.fps <= 0 || config_.fps > 120) {
        error = "the test pattern needs at least " + std::to_string(TestPatternSource::kMinWidth) +
                "x" + std::to_string(TestPatternSource::kMinHeight) + " and 1..120 fps";
        return false;
    }
    if (!initEncoder(error)) return false;
    {
        std::lock_guard lock(mutex_);
        stopping_ = false;
        feed_ = Feed::TestPattern;
        patternWidth_ = config_.width;
        patternHeight_ = config_.height;
        ++generation_;
    }
    worker_ = std::thread([this] { run(); });
    return true;
}

void VideoSendStream::attach(VideoSource& source, uint64_t generation) {
    source.onFrame = [this, generation](const I420View& f) { pushFrame(f, generation); };
    source.onError = [this, generation](const std::string& reason) {
        onSourceError(reason, generation);
    };
}

bool VideoSendStream::attachAndStart(VideoSource& source, uint64_t generation, std::string& error) {
    attach(source, generation);
    if (source.start(error)) return true;
    source.onFrame = nullptr;  // a source that did not start is not ours
    source.onError = nullptr;
    return false;
}

bool VideoSendStream::startSource(VideoSource& source, std::string& error) {
    if (worker_.joinable()) {
        error = "the video send stream is already running";
        return false;
    }
    if (config_.width <= 0 || config_.height <= 0 || config_.fps <= 0) {
        error = "the video source needs a positive size and frame rate";
        return false;
    }
    if (!initEncoder(error)) return false;
    uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        generation = generation_ + 1;
    }
    if (!attachAndStart(source, generation, error)) return false;
    {
        std::lock_guard lock(mutex_);
        source_ = &source;
        stopping_ = false;
        feed_ = Feed::Source;
        generation_ = generation;
    }
    worker_ = std::thread([this] { run(); });
    return true;
}

bool VideoSendStream::replaceSource(VideoSource& source, std::string& error) {
    if (!worker_.joinable()) {
        error = "the video send stream is not running";
        return false;
    }
    uint64_t generation = 0;
    {
        std::lock_guard lock(mutex_);
        if (source_ == &source && feed_ == Feed::Source) return true;  // already this one
        generation = generation_ + 1;
    }
    if (!attachAndStart(source, generation, error)) return false;
    VideoSource* old = nullptr;
    {
        std::lock_guard lock(mutex_);
        old = source_;
        source_ = &source;
        feed_ = Feed::Source;
        generation_ = generation;
        havePending_ = false;
        ++stats_.sourceReplacements;
    }
    switchedFrom(old);
    return true;
}

// After a switch of source: the next frame is a keyframe (the receiver may see a new size), and
// the old source is stopped and let go, outside the lock.
void VideoSendStream::switchedFrom(VideoSource* old) {
    keyframeRequested_.store(true);
    wake_.notify_all();
    if (old) {
        old->stop();
        old->onFrame = nullptr;
        old->onError = nullptr;
    }
}

bool VideoSendStream::replaceWithTestPattern(int width, int height, std::string& error) {
    if (!worker_.joinable()) {
        error = "the video send stream is not running";
        return false;
    }
    width = width > 0 ? width : config_.width;
    height = height > 0 ? height : config_.height;
    if (width < TestPatternSource::kMinWidth || height < TestPatternSource::kMinHeight ||
        width > 4096 || height > 4096 || config_.fps > 120) {
        error = "the test pattern needs at least " + std::to_string(TestPatternSource::kMinWidth) +
                "x" + std::to_string(TestPatternSource::kMinHeight) + " and 1..120 fps";
        return false;
    }
    VideoSource* old = nullptr;
    {
        std::lock_guard lock(mutex_);
        old = source_;
        source_ = nullptr;
        feed_ = Feed::TestPattern;
        patternWidth_ = width;
        patternHeight_ = height;
        ++generation_;
        havePending_ = false;
        ++stats_.sourceReplacements;
    }
    switchedFrom(old);
    return true;
}

void VideoSendStream::onSourceError(const std::string& reason, uint64_t generation) {
    std::function<void(const std::string&, bool)> hook;
    bool fellBack = false;
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_ || stopping_) return;  // an old source, or once only
        // The failed source stays source_: stop() stops it on the owner's thread (a Qt camera
        // must not be touched from here); its frames are ignored from now on.
        ++generation_;
        ++stats_.sourceErrors;
        havePending_ = false;
        fellBack = config_.fallbackToTestPattern && config_.width >= TestPatternSource::kMinWidth &&
                   config_.height >= TestPatternSource::kMinHeight;
        feed_ = fellBack ? Feed::TestPattern : Feed::None;
        stats_.sendingVideo = fellBack;
        patternWidth_ = config_.width;
        patternHeight_ = config_.height;
        hook = onSourceError_;
    }
    keyframeRequested_.store(true);
    wake_.notify_all();
    if (hook) hook(reason, fellBack);
}

void VideoSendStream::setSourceErrorHook(
    std::function<void(const std::string& reason, bool fellBack)> hook) {
    std::lock_guard lock(mutex_);
    onSourceError_ = std::move(hook);
}

void VideoSendStream::setSourceStatsHook(std::function<void(const CapturedMediaStats&)> hook) {
    std::lock_guard lock(mutex_);
    onSourceStats_ = std::move(hook);
}

bool VideoSendStream::initEncoder(std::string& error) {
    Vp8EncoderConfig ec;
    ec.width = config_.width;
    ec.height = config_.height;
    ec.fps = config_.fps;
    ec.targetBitrateBps = targetBitrateBps_.load();
    encoder_ = std::make_unique<Vp8Encoder>();
    if (!encoder_->init(ec)) {
        error = "VP8 encoder: " + encoder_->error();
        encoder_.reset();
        return false;
    }
    return true;
}

void VideoSendStream::stop() {
    VideoSource* source = nullptr;
    {
        std::lock_guard lock(mutex_);
        source = source_;
        source_ = nullptr;
        ++generation_;  // whatever the source still delivers is ignored
    }
    if (source) {
        source->stop();
        source->onFrame = nullptr;
        source->onError = nullptr;
    }
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
}

void VideoSendStream::setTargetBitrate(uint32_t bps) {
    const int64_t clamped = std::clamp<int64_t>(bps, config_.minBitrateBps, config_.maxBitrateBps);
    targetBitrateBps_.store(int(clamped));
}

void VideoSendStream::requestKeyframe() {
    keyframeRequested_.store(true);
    std::lock_guard lock(mutex_);
    ++stats_.keyframeRequests;
}

void VideoSendStream::setSendHook(SendHook send) {
    std::lock_guard lock(mutex_);
    send_ = std::move(send);
}

void VideoSendStream::setPaused(bool paused) {
    if (!paused && paused_.load()) keyframeRequested_.store(true);  // the peer's decoder restarts
    paused_.store(paused);
}

void VideoSendStream::setLocalFrameHook(std::function<void(const I420View&)> hook) {
    std::lock_guard lock(mutex_);
    localFrame_ = std::move(hook);
}

void VideoSendStream::setReadyHook(std::function<bool()> ready) {
    std::lock_guard lock(mutex_);
    ready_ = std::move(ready);
}

VideoSendStats VideoSendStream::stats() const {
    std::lock_guard lock(mutex_);
    VideoSendStats s = stats_;
    s.targetBitrateBps = targetBitrateBps_.load();
    return s;
}

void VideoSendStream::pushFrame(const I420View& frame, uint64_t generation) {
    if (paused_.load()) return;
    {
        std::lock_guard lock(mutex_);
        if (generation != generation_) return;         // replaced, failed or stopped
        if (havePending_) ++stats_.framesDroppedBusy;  // the encoder is behind: keep the newest
        pending_.copyFrom(frame);
        if (pending_.captureTimeUs == 0) {
            pending_.captureTimeUs = steadyMicros(SteadyClock::now());
            pending_.rtpTimestamp = uint32_t(uint64_t(pending_.captureTimeUs) * 9 / 100);
        }
        havePending_ = true;
    }
    wake_.notify_one();
}

void VideoSendStream::run() {
    const int sourceFps = config_.fps;
    Vp8Encoder& encoder = *encoder_;
    VideoAdapterConfig ac;
    ac.max = {config_.width, config_.height, sourceFps};
    ac.minFps = std::min(ac.minFps, sourceFps);
    std::optional<VideoAdapter> adapter(std::in_place, ac);
    std::optional<TestPatternSource> pattern;
    std::random_device rd;
    Vp8Packetizer packetizer(config_.maxPayloadSize, uint16_t(rd() & 0x7FFF));

    I420Frame raw, scaled;
    int appliedBitrate = -1;
    int appliedFps = sourceFps;
    double frameCredit = 0;  // frame-rate reduction: keep a frame whenever a whole one accrues
    const auto interval = std::chrono::microseconds(1'000'000 / sourceFps);
    auto next = SteadyClock::now();
    Feed feed = Feed::None;
    uint64_t seenGeneration = 0;
    // W3C RTCVideoSourceStats, reported about once a second.
    CapturedMediaStats source;
    uint64_t framesAtLastReport = 0;
    auto lastReport = SteadyClock::now();
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            const auto woken = [&] {
                return stopping_ || generation_ != seenGeneration ||
                       (feed == Feed::Source && havePending_);
            };
            if (feed == Feed::TestPattern)
                wake_.wait_until(lock, next, woken);
            else
                wake_.wait(lock, woken);
            if (stopping_) break;
            if (generation_ != seenGeneration) {
                // A new feed (started, replaced, or a failed source left behind).
                seenGeneration = generation_;
                feed = feed_;
                if (feed == Feed::TestPattern) {
                    pattern.emplace(patternWidth_, patternHeight_, sourceFps);
                    next = SteadyClock::now();
                }
                stats_.sendingVideo = feed != Feed::None;
                keyframeRequested_.store(true);  // the peer's decoder starts over on it
                continue;
            }
            if (feed == Feed::Source) {
                std::swap(raw, pending_);
                havePending_ = false;
            }
        }
        if (feed == Feed::TestPattern) {
            const auto now = SteadyClock::now();
            next += interval;
            if (now - next > 5 * interval) next = now + interval;  // suspended: do not burst
            if (paused_.load()) continue;
            pattern->generate(raw, steadyMicros(now));
        }
        ++source.frames;
        source.width = uint32_t(raw.width);
        source.height = uint32_t(raw.height);
        if (const auto now = SteadyClock::now(); now - lastReport >= std::chrono::seconds(1)) {
            source.framesPerSecond = double(source.frames - framesAtLastReport) /
                                     std::chrono::duration<double>(now - lastReport).count();
            framesAtLastReport = source.frames;
            lastReport = now;
            std::function<void(const CapturedMediaStats&)> report;
            {
                std::lock_guard lock(mutex_);
                report = onSourceStats_;
            }
            if (report) report(source);
        }
        // The encode size follows the source's (a replaced source of another size), up to the
        // configured size; a larger source is scaled down to that.
        {
            const bool fits = raw.width <= config_.width && raw.height <= config_.height;
            const int w = fits ? raw.width : config_.width;
            const int h = fits ? raw.height : config_.height;
            if (w != ac.max.width || h != ac.max.height) {
                ac.max = {w, h, sourceFps};
                adapter.emplace(ac);
                if (appliedBitrate > 0) adapter->onTargetBitrate(appliedBitrate);
                keyframeRequested_.store(true);
                std::lock_guard lock(mutex_);
                ++stats_.encoderSizeChanges;
            }
        }
        {
            std::function<void(const I420View&)> local;
            {
                std::lock_guard lock(mutex_);
                local = localFrame_;
            }
            if (local) local(raw.view());
        }
        if (paused_.load()) continue;  // a camera frame that was waiting when the pause came
        std::function<bool()> ready;
        {
            std::lock_guard lock(mutex_);
            ready = ready_;
        }
        if (ready && !ready()) {
            keyframeRequested_.store(true);  // whoever receives the first frame needs a keyframe
            std::lock_guard lock(mutex_);
            ++stats_.framesNotReady;
            continue;
        }
        const int target = targetBitrateBps_.load();
        if (target != appliedBitrate) {
            encoder.setTargetBitrate(target);
            adapter->onTargetBitrate(target);
            appliedBitrate = target;
        }
        const VideoFormat format =
            config_.adapt ? adapter->format() : VideoFormat{ac.max.width, ac.max.height, sourceFps};
        bool keep = true;
        if (format.fps < sourceFps) {
            frameCredit += double(format.fps) / sourceFps;
            keep = frameCredit >= 1;
            if (keep) frameCredit -= 1;
        }
        if (format.fps != appliedFps) {
            encoder.setFrameRate(format.fps);
            appliedFps = format.fps;
        }
        if (!keep) {
            std::lock_guard lock(mutex_);
            ++stats_.framesCaptured;
            ++stats_.framesDroppedByAdapter;
            continue;
        }
        I420View view = raw.view();
        if (format.width != raw.width || format.height != raw.height) {
            scaleI420(view, scaled, format.width, format.height);
            view = scaled.view();
        }
        if (keyframeRequested_.exchange(false)) encoder.requestKeyframe();
        const auto encodeStart = SteadyClock::now();
        auto encoded = encoder.encode(view);
        const auto encodeTime = SteadyClock::now() - encodeStart;
        adapter->onFrameEncoded(
            std::chrono::duration_cast<std::chrono::microseconds>(encodeTime).count());
        if (!encoded) {
            std::lock_guard lock(mutex_);
            ++stats_.framesCaptured;
            ++stats_.framesDroppedByEncoder;
            continue;
        }
        OutgoingFrame out;
        out.packets.reserve(packetizer.packetize(*encoded));
        size_t bytes = 0;
        while (packetizer.hasNext()) {
            RtpPayload p;
            p.rtpTimestamp = encoded->rtpTimestamp;  // 90 kHz from the capture time
            p.marker = packetizer.next(p.payload);
            bytes += p.payload.size();
            out.packets.push_back(std::move(p));
        }
        out.captureTime =
            SteadyClock::time_point(std::chrono::microseconds(encoded->captureTimeUs));
        out.keyframe = encoded->keyframe;
        out.width = uint32_t(encoded->width);
        out.height = uint32_t(encoded->height);
        out.qp = uint32_t(encoded->qp);
        out.encodeTimeSeconds = std::chrono::duration<double>(encodeTime).count();
        const size_t packets = out.packets.size();
        SendHook hook;
        {
            std::lock_guard lock(mutex_);
            hook = send_;
        }
        const bool sent = hook && packets > 0 && hook(std::move(out));
        std::lock_guard lock(mutex_);
        ++stats_.framesCaptured;
        ++stats_.framesEncoded;
        stats_.keyFramesEncoded += encoded->keyframe ? 1 : 0;
        stats_.totalEncodeTimeSeconds += std::chrono::duration<double>(encodeTime).count();
        stats_.width = encoded->width;
        stats_.height = encoded->height;
        stats_.fps = format.fps;
        if (sent) {
            ++stats_.framesSent;
            stats_.packetsSent += packets;
            stats_.bytesSent += bytes;
        } else {
            // Not sendable yet (not negotiated): the first frame that goes out is a keyframe.
            keyframeRequested_.store(true);
            ++stats_.framesRefused;
        }
    }
}

}  // namespace tincan::media
