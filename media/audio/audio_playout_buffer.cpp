#include "media/audio/audio_playout_buffer.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "media/audio/time_stretch.hpp"

namespace tincan::media {
namespace {
constexpr int kSamplesPerMs = kAudioRateHz / 1000;
constexpr int kShortenAboveMs = 30;  // hysteresis around the target
constexpr int kLengthenBelowMs = 10;
}  // namespace

AudioPlayoutBuffer::AudioPlayoutBuffer(const AudioPlayoutConfig& config)
    : config_(config), slots_(std::max<size_t>(config.maxPackets, 4)) {
    config_.channels = std::clamp(config_.channels, 1, 2);
    decoder_.init(config_.channels);
    const size_t ch = size_t(config_.channels);
    scratch_.resize(size_t(OpusAudioDecoder::kMaxSamples) * ch);
    stretched_.resize(size_t(OpusAudioDecoder::kMaxSamples) * 3 / 2 * ch);
    fifo_.resize((size_t(OpusAudioDecoder::kMaxSamples) * 3 / 2 + 2 * kSamplesPer10Ms) * ch);
    transits_.resize(std::max<size_t>(config_.jitterWindowPackets, 8));
    sorted_.resize(transits_.size());
    targetDelayMs_ = config_.minDelayMs;
}

int AudioPlayoutBuffer::targetDelayMs() const {
    return std::clamp(targetDelayMs_ + extraDelayMs_, config_.minDelayMs, config_.maxDelayMs);
}

std::optional<AudioPlayoutBuffer::Latest> AudioPlayoutBuffer::latest(Timestamp now) const {
    if (!haveLatest_) return std::nullopt;
    // The sample at playTs_ − fifoFrames_ is the next one out; the newest packet follows after
    // everything queued before it.
    const int64_t aheadSamples = latestTs_ - (playTs_ - int64_t(fifoFrames_));
    const double playAtMs = toMillis(now - latestArrival_) + double(aheadSamples) / kSamplesPerMs;
    return Latest{uint32_t(latestTs_), latestArrival_, int(std::lround(playAtMs))};
}

AudioPlayoutBuffer::Slot* AudioPlayoutBuffer::find(int64_t ts) {
    for (auto& s : slots_)
        if (s.used && s.ts == ts) return &s;
    return nullptr;
}

AudioPlayoutBuffer::Slot* AudioPlayoutBuffer::earliestAfter(int64_t ts) {
    Slot* best = nullptr;
    for (auto& s : slots_)
        if (s.used && s.ts > ts && (!best || s.ts < best->ts)) best = &s;
    return best;
}

void AudioPlayoutBuffer::updateTarget(Timestamp now, int64_t ts) {
    const double transit = toMillis(now.time_since_epoch()) - double(ts) / kSamplesPerMs;
    transits_[transitNext_] = transit;
    transitNext_ = (transitNext_ + 1) % transits_.size();
    transitCount_ = std::min(transitCount_ + 1, transits_.size());
    if (transitCount_ < 10) return;
    std::copy_n(transits_.begin(), transitCount_, sorted_.begin());
    const auto end = sorted_.begin() + long(transitCount_);
    const double fastest = *std::min_element(sorted_.begin(), end);
    const auto p95 = sorted_.begin() + long(transitCount_ * 95 / 100);
    std::nth_element(sorted_.begin(), p95, end);
    const int jitterMs = int(std::lround(*p95 - fastest));
    // The delay is measured as a packet is decoded, counting that packet: to find the next one
    // already here (for FEC, and to play on without a gap) it needs two packets plus the jitter.
    targetDelayMs_ = std::clamp(jitterMs + 2 * lastSamples_ / kSamplesPerMs, config_.minDelayMs,
                                config_.maxDelayMs);
}

void AudioPlayoutBuffer::insert(Timestamp now, const AudioPacketIn& p) {
    ++stats_.packetsReceived;
    const int samples = OpusAudioDecoder::packetSamples(p.payload);
    if (samples <= 0) {
        ++stats_.packetsMalformed;
        return;
    }
    const int64_t ts = unwrapper_.unwrap(p.rtpTimestamp);
    if (!haveFirst_) {
        haveFirst_ = true;
        playTs_ = ts;
    }
    if (ts >= playTs_ && find(ts)) {
        ++stats_.packetsDuplicate;
        return;
    }
    if (ts < playTs_ - int64_t(config_.maxDelayMs) * kSamplesPerMs) {
        // Far behind the playout: a straggler, or a sender that restarted its timestamps. After
        // a run of them, start over from the new timeline.
        if (++farBehindRun_ < kRestartRun) {
            ++stats_.packetsLate;
            return;
        }
        for (auto& s : slots_) s.used = false;
        unwrapper_.reset();
        haveFirst_ = started_ = underrun_ = haveLatest_ = false;
        farBehindRun_ = 0;
        ++stats_.resyncs;
        insert(now, p);
        return;
    }
    farBehindRun_ = 0;
    updateTarget(now, ts);  // late packets too: they are the jitter the target must cover
    if (ts < playTs_) {
        ++stats_.packetsLate;
        return;
    }
    if (!haveLatest_ || ts > latestTs_) {
        haveLatest_ = true;
        latestTs_ = ts;
        latestArrival_ = now;
    }
    auto free = std::find_if(slots_.begin(), slots_.end(), [](const Slot& s) { return !s.used; });
    if (free == slots_.end()) {
        free = std::min_element(slots_.begin(), slots_.end(),
                                [](const Slot& a, const Slot& b) { return a.ts < b.ts; });
        ++stats_.packetsOverflow;
    }
    free->used = true;
    free->ts = ts;
    free->samples = samples;
    free->payload.assign(p.payload.begin(), p.payload.end());
}

int AudioPlayoutBuffer::currentDelayMs() const {
    int64_t end = playTs_;
    for (const auto& s : slots_)
        if (s.used) end = std::max(end, s.ts + s.samples);
    return int((end - playTs_ + int64_t(fifoFrames_)) / kSamplesPerMs);
}

void AudioPlayoutBuffer::push(const int16_t* pcm, int n) {
    const size_t ch = size_t(config_.channels);
    const size_t room = fifo_.size() / ch - fifoFrames_;
    const size_t count = std::min(size_t(std::max(n, 0)), room);
    std::memcpy(fifo_.data() + fifoFrames_ * ch, pcm, count * ch * 2);
    fifoFrames_ += count;
}

void AudioPlayoutBuffer::produce() {
    const size_t ch = size_t(config_.channels);
    if (Slot* s = find(playTs_)) {
        underrun_ = false;
        const int levelMs = currentDelayMs();
        int n = decoder_.decode(s->payload, scratch_);
        const int duration = s->samples;
        s->used = false;
        playTs_ += duration;
        if (n < 0) {  // passed the TOC check but not the decoder
            ++stats_.packetsMalformed;
            n = std::max(0, decoder_.conceal(duration, scratch_));
            stats_.concealedSamples += uint64_t(n);
            push(scratch_.data(), n);
            return;
        }
        lastSamples_ = duration;
        // A DTX stream comes back after its gaps with a jump: a comfort-noise update, or the first
        // packet of speech, which the buffer may not yet have a successor for. Silence lasts
        // until two packets follow each other.
        inDtx_ = OpusAudioEncoder::isDtx(s->payload.size()) || (inDtx_ && jumped_);
        jumped_ = false;
        stats_.dtxPackets += inDtx_ ? 1 : 0;
        if (levelMs > config_.maxDelayMs + 100) {
            stats_.removedSamples += uint64_t(n);  // far too much queued: catch up at once
        } else if (levelMs > targetDelayMs() + kShortenAboveMs && n >= kSamplesPer10Ms) {
            const int m = shortenByHalf(scratch_.data(), n, int(ch), stretched_.data());
            stats_.removedSamples += uint64_t(n - m);
            push(stretched_.data(), m);
        } else if (levelMs < targetDelayMs() - kLengthenBelowMs && n >= kSamplesPer10Ms) {
            const int m = lengthenByHalf(scratch_.data(), n, int(ch), stretched_.data());
            stats_.insertedSamples += uint64_t(m - n);
            push(stretched_.data(), m);
        } else {
            push(scratch_.data(), n);
        }
        return;
    }
    if (Slot* later = earliestAfter(playTs_)) {
        if (underrun_ || later->ts - playTs_ > int64_t(config_.maxDelayMs) * kSamplesPerMs) {
            // The stream comes back after a gap we already filled, or jumps ahead further than
            // any delay we keep (DTX, a sender's restart): play on from here.
            underrun_ = false;
            playTs_ = later->ts;
            jumped_ = true;
            ++stats_.resyncs;
            return;
        }
        // This packet is lost (or later than everything after it): FEC from the next one, or PLC.
        const int duration = lastSamples_;
        int n;
        if (config_.useFec && later->ts == playTs_ + duration &&
            OpusAudioDecoder::hasFec(later->payload)) {
            n = decoder_.decodeFec(later->payload, duration, scratch_);
            ++stats_.fecRecoveredPackets;
        } else {
            n = decoder_.conceal(duration, scratch_);
            // After a DTX packet the sender skipped this time on purpose: comfort noise.
            (inDtx_ ? stats_.dtxSamples : stats_.concealedSamples) += uint64_t(std::max(n, 0));
        }
        if (n <= 0) {
            n = duration;
            std::fill_n(scratch_.begin(), size_t(n) * ch, int16_t(0));
        }
        playTs_ += duration;
        push(scratch_.data(), n);
        return;
    }
    // Nothing buffered: conceal 10 ms without moving the clock, so the delay grows.
    underrun_ = true;
    int n = decoder_.conceal(kSamplesPer10Ms, scratch_);
    if (n <= 0) {
        n = kSamplesPer10Ms;
        std::fill_n(scratch_.begin(), size_t(n) * ch, int16_t(0));
    }
    (inDtx_ ? stats_.dtxSamples : stats_.concealedSamples) += uint64_t(n);
    push(scratch_.data(), n);
}

void AudioPlayoutBuffer::pull(Timestamp now, AudioFrame& out, int samplesPerChannel) {
    (void)now;
    const size_t ch = size_t(config_.channels);
    out.channels = config_.channels;
    out.samplesPerChannel = std::clamp(samplesPerChannel, 1, AudioFrame::kMaxSamplesPerChannel);
    const size_t n = size_t(out.samplesPerChannel);
    if (!started_) {
        if (haveFirst_ && currentDelayMs() >= targetDelayMs()) {
            started_ = true;
        } else {
            std::fill_n(out.samples.begin(), n * ch, int16_t(0));
            stats_.silentSamples += n;
            return;
        }
    }
    while (fifoFrames_ < n) produce();
    std::memcpy(out.samples.data(), fifo_.data(), n * ch * 2);
    std::memmove(fifo_.data(), fifo_.data() + n * ch, (fifoFrames_ - n) * ch * 2);
    fifoFrames_ -= n;
    out.rtpTimestamp = uint32_t(playTs_ - int64_t(fifoFrames_));
    stats_.samplesPlayed += n;
}

}  // namespace tincan::media
