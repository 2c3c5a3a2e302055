#include "media/call/video_receive_stream.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <deque>

#include "media/call/i420_scale.hpp"
#include "media/video/video_frame_buffer.hpp"
#include "media/video/vp8_decoder.hpp"
#include "media/video/vp8_frame_assembler.hpp"

namespace tincan::media {

namespace {

double seconds(Duration d) {
    return std::chrono::duration<double>(d).count();
}

// When each frame's first packet arrived (W3C jitterBufferDelay runs from there to decode).
class FirstArrivals {
public:
    void note(uint32_t rtpTimestamp, Timestamp now) {
        for (const auto& e : entries_)
            if (e.used && e.rtpTimestamp == rtpTimestamp) return;
        entries_[next_] = {true, rtpTimestamp, now};
        next_ = (next_ + 1) % entries_.size();
    }
    std::optional<Timestamp> take(uint32_t rtpTimestamp) {
        for (auto& e : entries_)
            if (e.used && e.rtpTimestamp == rtpTimestamp) {
                e.used = false;
                return e.at;
            }
        return std::nullopt;
    }

private:
    struct Entry {
        bool used = false;
        uint32_t rtpTimestamp = 0;
        Timestamp at{};
    };
    std::array<Entry, 128> entries_{};
    size_t next_ = 0;
};

// W3C webrtc-stats freezeCount: an inter-frame delay above max(3 × the average, average +
// 150 ms), the average taken over the last 30 frames.
class FreezeDetector {
public:
    void onRendered(Timestamp now, ReceivedMediaStats& s, uint64_t& longFreezes,
                    double longFreezeSeconds) {
        if (last_) {
            const double delay = seconds(now - *last_);
            if (delay > longFreezeSeconds) ++longFreezes;
            if (delays_.size() >= 5) {
                double avg = 0;
                for (double d : delays_) avg += d;
                avg /= double(delays_.size());
                if (delay > std::max(3 * avg, avg + 0.150)) {
                    ++s.freezeCount;
                    s.totalFreezesDuration += delay;
                }
            }
            delays_.push_back(delay);
            if (delays_.size() > 30) delays_.pop_front();
        }
        last_ = now;
    }

private:
    std::optional<Timestamp> last_;
    std::deque<double> delays_;
};

double percentile(std::vector<double> v, double p) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[size_t(p * double(v.size() - 1))];
}

}  // namespace

VideoReceiveStream::VideoReceiveStream(const VideoReceiveConfig& config, Hooks hooks)
    : config_(config), hooks_(std::move(hooks)) {}

VideoReceiveStream::~VideoReceiveStream() {
    stop();
}

bool VideoReceiveStream::start(std::string& error) {
    if (worker_.joinable()) {
        error = "the video receive stream is already running";
        return false;
    }
    if (!config_.recordPath.empty()) {
        if (!recorder_.open(config_.recordPath, std::max(1, config_.recordFps))) {
            error = recorder_.error();
            return false;
        }
        recording_ = true;
        recordWidth_ =
            config_.recordWidth > 0 && config_.recordHeight > 0 ? config_.recordWidth : 0;
        recordHeight_ = recordWidth_ > 0 ? config_.recordHeight : 0;
    }
    stopping_ = false;
    worker_ = std::thread([this] { run(); });
    return true;
}

void VideoReceiveStream::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    if (recording_) {
        recorder_.close();
        recording_ = false;
    }
}

void VideoReceiveStream::onPacket(const RtpPacketIn& packet) {
    {
        std::lock_guard lock(mutex_);
        ++stats_.packetsReceived;
        stats_.bytesReceived += packet.payload.size();
        if (queue_.size() >= config_.maxQueuedPackets) {
            ++stats_.packetsQueueOverflow;
            return;
        }
        Queued& q = queue_.emplace_back();
        q.seq = packet.sequenceNumber;
        q.rtpTimestamp = packet.rtpTimestamp;
        q.marker = packet.marker;
        if (!pool_.empty()) {
            q.payload = std::move(pool_.back());
            pool_.pop_back();
        }
        q.payload.assign(packet.payload.begin(), packet.payload.end());
    }
    wake_.notify_one();
}

void VideoReceiveStream::setRequestKeyframeHook(std::function<void()> hook) {
    std::lock_guard lock(mutex_);
    hooks_.requestKeyframe = std::move(hook);
}

void VideoReceiveStream::setStatsHook(std::function<void(const ReceivedMediaStats&)> hook) {
    std::lock_guard lock(mutex_);
    hooks_.onStats = std::move(hook);
}

VideoReceiveStats VideoReceiveStream::stats() const {
    std::lock_guard lock(mutex_);
    VideoReceiveStats s = stats_;
    s.latencyP50Ms = percentile(latencies_, 0.5);
    s.latencyP95Ms = percentile(latencies_, 0.95);
    return s;
}

void VideoReceiveStream::setSyncDelayMs(int ms) {
    syncDelayMs_.store(std::clamp(ms, 0, 10'000));
    std::lock_guard lock(mutex_);
    stats_.syncDelayMs = syncDelayMs_.load();
}

std::optional<VideoTiming> VideoReceiveStream::timing() const {
    std::lock_guard lock(mutex_);
    return timing_;
}

void VideoReceiveStream::run() {
    Vp8FrameAssembler assembler;
    VideoFrameBuffer buffer;
    Vp8Decoder decoder;
    decoder.init();
    FirstArrivals arrivals;
    FreezeDetector freezes;
    std::vector<Queued> batch;
    I420Frame scaled;
    std::optional<Timestamp> lastKeyframeRequest;
    bool keyframeWanted = false;
    uint64_t decodedAtLastTick = 0;
    Timestamp lastTick = Clock::now();
    Timestamp nextTick = lastTick + config_.statsInterval;
    uint64_t frameIndex = 0;
    bool haveCounter = false;
    // Decodable frames held back for lip sync, in decode order, each with when it is due.
    struct Held {
        AssembledFrame frame;
        Timestamp due;
    };
    std::deque<Held> held;

    for (;;) {
        {
            std::unique_lock lock(mutex_);
            // Hand the payload buffers of the last batch back for onPacket to reuse.
            for (auto& q : batch) pool_.push_back(std::move(q.payload));
            batch.clear();
            Timestamp deadline = nextTick;
            if (auto t = assembler.pollTimeout()) deadline = std::min(deadline, *t);
            if (auto t = buffer.pollTimeout()) deadline = std::min(deadline, *t);
            if (!held.empty()) deadline = std::min(deadline, held.front().due);
            wake_.wait_until(lock, deadline, [this] { return stopping_ || !queue_.empty(); });
            if (stopping_) break;
            std::swap(batch, queue_);
        }
        const Timestamp now = Clock::now();
        for (const Queued& q : batch) {
            arrivals.note(q.rtpTimestamp, now);
            assembler.insert(now, {q.seq, q.rtpTimestamp, q.marker, q.payload});
        }
        assembler.handleTimeout(now);
        while (auto f = assembler.pollFrame()) buffer.insert(now, std::move(*f));
        buffer.handleTimeout(now);
        const auto syncDelay = std::chrono::milliseconds(syncDelayMs_.load());
        while (auto f = buffer.pollDecodable(now)) held.push_back({std::move(*f), now + syncDelay});
        while (!held.empty() && held.front().due <= now) {
            std::optional<AssembledFrame> f(std::move(held.front().frame));
            held.pop_front();
            I420View view;
            const Timestamp decodeStart = Clock::now();
            const DecodeStatus status = decoder.decode(f->data, view);
            const Timestamp decoded = Clock::now();
            if (status != DecodeStatus::Ok) {
                buffer.requestKeyframe(now);
                keyframeWanted = true;
                std::lock_guard lock(mutex_);
                ++stats_.decodeErrors;
                assembler.recycle(std::move(*f));
                continue;
            }
            view.rtpTimestamp = f->rtpTimestamp;
            DecodedFrameInfo info;
            info.index = frameIndex++;
            info.keyframe = f->keyframe;
            if (config_.readTestPattern) info.stamp = readTestPattern(view);
            if (info.stamp) {
                const auto nowUs = uint64_t(std::chrono::duration_cast<std::chrono::microseconds>(
                                                decoded.time_since_epoch())
                                                .count());
                const uint64_t ageUs =
                    ((nowUs & kTestPatternTimeMask) - info.stamp->captureTimeUs) &
                    kTestPatternTimeMask;
                view.captureTimeUs = int64_t(info.stamp->captureTimeUs);
                if (ageUs < 10'000'000)
                    info.latencyMs = double(ageUs) / 1000;  // else: not one clock
            }
            const auto firstArrival = arrivals.take(f->rtpTimestamp);
            {
                std::lock_guard lock(mutex_);
                ReceivedMediaStats& m = stats_.media;
                ++m.framesDecoded;
                m.keyFramesDecoded += f->keyframe ? 1 : 0;
                m.frameWidth = uint32_t(view.width);
                m.frameHeight = uint32_t(view.height);
                m.totalDecodeTime += seconds(decoded - decodeStart);
                if (firstArrival) {
                    m.jitterBufferDelay += seconds(decodeStart - *firstArrival);
                    ++m.jitterBufferEmittedCount;
                    timing_ = VideoTiming{f->rtpTimestamp, *firstArrival,
                                          int(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  decoded - *firstArrival)
                                                  .count())};
                }
                freezes.onRendered(decoded, m, stats_.longFreezeCount, seconds(config_.longFreeze));
                if (info.stamp) {
                    ++stats_.patternFramesRead;
                    const uint32_t c = info.stamp->counter;
                    if (!haveCounter || c > stats_.lastCounter) {
                        if (haveCounter) stats_.counterGaps += c - stats_.lastCounter - 1;
                        ++stats_.framesInOrder;
                        stats_.lastCounter = c;
                        haveCounter = true;
                    } else {
                        ++stats_.framesOutOfOrder;
                    }
                    if (info.latencyMs) {
                        ++stats_.latencySamples;
                        if (latencies_.size() < kLatencyWindow) {
                            latencies_.push_back(*info.latencyMs);
                        } else {
                            latencies_[latencyNext_] = *info.latencyMs;
                            latencyNext_ = (latencyNext_ + 1) % kLatencyWindow;
                        }
                    } else {
                        ++stats_.latencyOutOfRange;
                    }
                } else if (config_.readTestPattern) {
                    ++stats_.patternUnreadable;
                }
            }
            if (recording_) {
                // A Y4M file has one size: frames of another are resampled into it.
                if (recordWidth_ == 0) {
                    recordWidth_ = view.width;
                    recordHeight_ = view.height;
                }
                bool ok = false;
                if (view.width == recordWidth_ && view.height == recordHeight_) {
                    ok = recorder_.write(view);
                } else {
                    scaleI420(view, scaled, recordWidth_, recordHeight_);
                    ok = recorder_.write(scaled.view());
                }
                if (ok) {
                    std::lock_guard lock(mutex_);
                    ++stats_.framesRecorded;
                }
            }
            std::function<void(const I420View&, const DecodedFrameInfo&)> onFrame;
            {
                std::lock_guard lock(mutex_);
                onFrame = hooks_.onFrame;
            }
            if (onFrame) onFrame(view, info);
            assembler.recycle(std::move(*f));
        }
        if (assembler.takeKeyframeNeeded()) keyframeWanted = true;
        if (buffer.takeKeyframeRequest()) keyframeWanted = true;
        if (keyframeWanted && (!lastKeyframeRequest ||
                               now - *lastKeyframeRequest >= config_.keyframeRequestInterval)) {
            keyframeWanted = false;
            lastKeyframeRequest = now;
            std::function<void()> request;
            {
                std::lock_guard lock(mutex_);
                ++stats_.keyframeRequestsSent;
                request = hooks_.requestKeyframe;
            }
            if (request) request();
        }
        if (now >= nextTick) {
            std::function<void(const ReceivedMediaStats&)> onStats;
            ReceivedMediaStats snapshot;
            {
                std::lock_guard lock(mutex_);
                const auto& a = assembler.stats();
                const auto& b = buffer.stats();
                stats_.packetsMalformed = a.packetsMalformed;
                stats_.packetsLost = a.packetsLost;
                ReceivedMediaStats& m = stats_.media;
                m.framesPerSecond = double(m.framesDecoded - decodedAtLastTick) /
                                    std::max(1e-3, seconds(now - lastTick));
                m.framesDropped = stats_.decodeErrors + a.framesDropped + b.framesLate +
                                  b.framesSkipped + b.framesOverflow;
                decodedAtLastTick = m.framesDecoded;
                snapshot = m;
                onStats = hooks_.onStats;
            }
            lastTick = now;
            nextTick = now + config_.statsInterval;
            if (onStats) onStats(snapshot);
        }
    }
}

}  // namespace tincan::media
