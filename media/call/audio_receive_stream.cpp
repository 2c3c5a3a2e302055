#include "media/call/audio_receive_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <vector>

#include "media/audio/audio_playout_buffer.hpp"
#include "media/audio/audio_sink.hpp"
#include "media/audio/portaudio_devices.hpp"
#include "media/audio/tone.hpp"

namespace tincan::media {

namespace {
constexpr int kFrameSamples = 2 * kSamplesPer10Ms;  // 20 ms at 48 kHz
constexpr auto kFrameInterval = std::chrono::milliseconds(20);
constexpr auto kMaxCatchUp = std::chrono::milliseconds(500);
}  // namespace

AudioReceiveStream::AudioReceiveStream(const AudioReceiveConfig& config) : config_(config) {
    config_.channels = std::clamp(config_.channels, 1, 2);
    AudioPlayoutConfig pc;
    pc.channels = config_.channels;
    buffer_ = std::make_unique<AudioPlayoutBuffer>(pc);
}

AudioReceiveStream::~AudioReceiveStream() {
    stop();
}

bool AudioReceiveStream::start(std::string& error) {
    if (worker_.joinable()) {
        error = "the audio receive stream is already running";
        return false;
    }
    if (!config_.recordPath.empty()) {
        recorder_ = std::make_unique<WavAudioSink>();
        if (!recorder_->open(config_.recordPath, config_.channels)) {
            error = recorder_->error();
            recorder_.reset();
            return false;
        }
    }
    if (config_.output == AudioOutputKind::Speaker) {
        speaker_ = openAudioDevice<PortAudioSpeaker>(portAudio_, config_.speakerDevice,
                                                     config_.channels, error);
        if (!speaker_) return false;
    }
    stopping_ = false;
    worker_ = std::thread([this] { run(); });
    return true;
}

void AudioReceiveStream::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    speaker_.reset();
    portAudio_.reset();
    if (recorder_) recorder_->close();
}

void AudioReceiveStream::onPacket(const RtpPacketIn& packet) {
    bytesReceived_.fetch_add(packet.payload.size(), std::memory_order_relaxed);
    std::lock_guard lock(bufferMutex_);
    buffer_->insert(Clock::now(), {packet.sequenceNumber, packet.rtpTimestamp, packet.payload});
}

void AudioReceiveStream::setStatsHook(std::function<void(const ReceivedMediaStats&)> hook) {
    std::lock_guard lock(mutex_);
    onStats_ = std::move(hook);
}

void AudioReceiveStream::setSyncDelayMs(int ms) {
    {
        std::lock_guard lock(bufferMutex_);
        buffer_->setExtraDelayMs(ms);
    }
    std::lock_guard lock(mutex_);
    stats_.syncDelayMs = std::max(0, ms);
}

std::optional<ReceiveTiming> AudioReceiveStream::timing() const {
    std::lock_guard lock(bufferMutex_);
    const auto l = buffer_->latest(Clock::now());
    if (!l) return std::nullopt;
    return ReceiveTiming{l->rtpTimestamp, l->arrival, l->playoutDelayMs};
}

AudioReceiveStats AudioReceiveStream::stats() const {
    std::lock_guard lock(mutex_);
    AudioReceiveStats s = stats_;
    s.bytesReceived = bytesReceived_.load(std::memory_order_relaxed);
    return s;
}

void AudioReceiveStream::run() {
    AudioFrame frame;
    uint64_t concealedBefore = 0, stretchedBefore = 0;
    bool disturbedBefore = false;
    bool concealing = false;
    constexpr size_t kFrequencyWindow = 64;  // the last 1.3 s of clean frames
    std::vector<double> frequencies, sorted;
    size_t frequencyNext = 0;
    double medianHz = 0;
    auto next = Clock::now();
    Timestamp nextTick = next + config_.statsInterval;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
        }
        Timestamp now = Clock::now();
        next += kFrameInterval;
        // A late wake catches up (the loop comes straight back while `next` is in the past), so
        // the recording keeps real time; a stall beyond kMaxCatchUp is skipped.
        bool late = false;
        if (now - next > kMaxCatchUp) {
            next += ((now - next) / kFrameInterval) * kFrameInterval;
            late = true;
        }
        AudioPlayoutStats ps;
        int currentDelay = 0, targetDelay = 0;
        {
            std::lock_guard lock(bufferMutex_);
            buffer_->pull(now, frame, kFrameSamples);
            ps = buffer_->stats();
            currentDelay = buffer_->currentDelayMs();
            targetDelay = buffer_->targetDelayMs();
        }
        if (recorder_) recorder_->write(frame);
        if (speaker_) speaker_->write(frame);

        const bool playing = ps.samplesPlayed > 0;
        const bool concealedNow = ps.concealedSamples > concealedBefore;
        // Decoded samples wait in the buffer's FIFO, so what was concealed or time-stretched in
        // this pull may be heard in the next one too: neither counts as clean.
        const uint64_t stretched = ps.removedSamples + ps.insertedSamples;
        const bool disturbed = concealedNow || stretched != stretchedBefore;
        const bool clean = playing && !disturbed && !disturbedBefore;
        concealedBefore = ps.concealedSamples;
        stretchedBefore = stretched;
        disturbedBefore = disturbed;
        const auto samples = frame.data();
        const int ch = frame.channels;
        double level = -120, toneShare = 0;
        if (clean) {
            level = rmsDbfs(samples, ch);
            const double rms = std::pow(10.0, level / 20.0);
            // A sine of peak A has RMS² = A²/2 and Goertzel power ≈ A²/4: the ratio is 1 for a
            // pure tone at the probe frequency.
            if (rms > 1e-4)
                toneShare = 2 * goertzelPower(samples, ch, config_.probeFrequencyHz) / (rms * rms);
            // Frequency from the upward zero crossings inside this frame (interpolated): the
            // periods between the first and the last one. The median over recent frames ignores
            // the odd frame with a splice in it.
            double first = -1, lastCrossing = -1;
            int crossings = 0;
            for (int i = 1; i < frame.samplesPerChannel; ++i) {
                const double a = samples[size_t((i - 1) * ch)], b = samples[size_t(i * ch)];
                if (a < 0 && b >= 0) {
                    const double t = i - 1 + (-a) / (b - a);
                    if (first < 0) first = t;
                    lastCrossing = t;
                    ++crossings;
                }
            }
            if (crossings >= 3 && lastCrossing > first) {
                const double hz = (crossings - 1) * kAudioRateHz / (lastCrossing - first);
                if (frequencies.size() < kFrequencyWindow) {
                    frequencies.push_back(hz);
                } else {
                    frequencies[frequencyNext] = hz;
                    frequencyNext = (frequencyNext + 1) % kFrequencyWindow;
                }
                sorted = frequencies;
                std::nth_element(sorted.begin(), sorted.begin() + ptrdiff_t(sorted.size() / 2),
                                 sorted.end());
                medianHz = sorted[sorted.size() / 2];
            }
        }

        std::function<void(const ReceivedMediaStats&)> onStats;
        ReceivedMediaStats snapshot;
        {
            std::lock_guard lock(mutex_);
            AudioReceiveStats& s = stats_;
            s.ticksLate += late ? 1 : 0;
            s.packetsReceived = ps.packetsReceived;
            s.packetsMalformed = ps.packetsMalformed;
            s.packetsLate = ps.packetsLate;
            s.packetsDuplicate = ps.packetsDuplicate;
            s.fecRecoveredPackets = ps.fecRecoveredPackets;
            s.dtxSamples = ps.dtxSamples;
            s.currentDelayMs = currentDelay;
            s.targetDelayMs = targetDelay;
            if (playing) ++s.framesPlayed;
            if (concealedNow && !concealing) ++s.media.concealmentEvents;
            concealing = concealedNow;
            s.media.concealedSamples = ps.concealedSamples;
            s.media.totalSamplesReceived = ps.samplesPlayed;
            if (clean) {
                ++s.framesAnalysed;
                s.toneFrames += toneShare >= 0.5 ? 1 : 0;
                s.levelDbfs = level;
            }
            s.estimatedFrequencyHz = medianHz;
            if (recorder_) s.samplesRecorded = recorder_->samplesWritten();
            if (now >= nextTick) {
                nextTick = now + config_.statsInterval;
                snapshot = s.media;
                onStats = onStats_;
            }
        }
        if (onStats) onStats(snapshot);
    }
}

}  // namespace tincan::media
