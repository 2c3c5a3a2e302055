#include "media/call/audio_receive_stream.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "media/audio/audio_playout_buffer.hpp"
#include "media/audio/audio_sink.hpp"
#include "media/audio/portaudio_devices.hpp"
#include "media/audio/tone.hpp"

namespace tincan::media {

namespace {
constexpr int kFrameSamples = 2 * kSamplesPer10Ms;  // 20 ms at 48 kHz
constexpr auto kFrameInterval = std::chrono::milliseconds(20);
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
        portAudio_ = PortAudioSystem::create(error);
        if (!portAudio_) return false;
        speaker_ = std::make_unique<PortAudioSpeaker>(portAudio_);
        AudioStreamConfig ac;
        ac.device = config_.speakerDevice;
        ac.channels = config_.channels;
        ac.bufferMs = 20;
        if (!speaker_->start(ac, error)) {
            speaker_.reset();
            portAudio_.reset();
            return false;
        }
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
    std::lock_guard lock(bufferMutex_);
    buffer_->insert(Clock::now(), {packet.sequenceNumber, packet.rtpTimestamp, packet.payload});
}

void AudioReceiveStream::setStatsHook(std::function<void(const ReceivedMediaStats&)> hook) {
    std::lock_guard lock(mutex_);
    onStats_ = std::move(hook);
}

AudioReceiveStats AudioReceiveStream::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void AudioReceiveStream::run() {
    AudioFrame frame;
    uint64_t concealedBefore = 0;
    bool concealing = false;
    // Zero crossings (upward) counted across consecutive clean frames.
    uint64_t crossings = 0, crossingSamples = 0;
    bool haveLast = false;
    int16_t last = 0;
    auto next = Clock::now();
    Timestamp nextTick = next + config_.statsInterval;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
        }
        Timestamp now = Clock::now();
        next += kFrameInterval;
        bool late = false;
        if (now - next > 5 * kFrameInterval) {
            next = now + kFrameInterval;
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
        concealedBefore = ps.concealedSamples;
        const auto samples = frame.data();
        const int ch = frame.channels;
        double level = -120, toneShare = 0;
        const bool clean = playing && !concealedNow;
        if (clean) {
            level = rmsDbfs(samples, ch);
            const double rms = std::pow(10.0, level / 20.0);
            // A sine of peak A has RMS² = A²/2 and Goertzel power ≈ A²/4: the ratio is 1 for a
            // pure tone at the probe frequency.
            if (rms > 1e-4)
                toneShare = 2 * goertzelPower(samples, ch, config_.probeFrequencyHz) / (rms * rms);
            for (int i = 0; i < frame.samplesPerChannel; ++i) {
                const int16_t s = samples[size_t(i * ch)];
                if (haveLast && last < 0 && s >= 0) ++crossings;
                last = s;
                haveLast = true;
            }
            crossingSamples += uint64_t(frame.samplesPerChannel);
        } else {
            haveLast = false;
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
            if (crossingSamples > 0)
                s.estimatedFrequencyHz = double(crossings) * kAudioRateHz / double(crossingSamples);
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
