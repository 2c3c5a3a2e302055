#include "media/call/audio_send_stream.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <random>

#include "media/audio/opus_codec.hpp"
#include "media/audio/opus_fmtp.hpp"
#include "media/audio/portaudio_devices.hpp"
#include "media/audio/tone.hpp"

namespace tincan::media {

namespace {
constexpr int kFrameSamples = 2 * kSamplesPer10Ms;  // 20 ms at 48 kHz
constexpr auto kFrameInterval = std::chrono::milliseconds(20);
constexpr auto kMaxCatchUp = std::chrono::milliseconds(500);
}  // namespace

AudioSendStream::AudioSendStream(const AudioSendConfig& config, SendHook send)
    : config_(config), send_(std::move(send)), bitrateBps_(config.bitrateBps) {}

AudioSendStream::~AudioSendStream() {
    stop();
}

bool AudioSendStream::start(std::string& error) {
    if (worker_.joinable()) {
        error = "the audio send stream is already running";
        return false;
    }
    encoder_ = std::make_unique<OpusAudioEncoder>();
    OpusEncoderConfig oc;
    oc.channels = std::clamp(config_.channels, 1, 2);
    oc.bitrateBps = bitrateBps_.load();
    oc.fec = config_.fec;
    oc.expectedLossPct = config_.expectedLossPct;
    if (!encoder_->init(oc)) {
        error = "Opus encoder: " + encoder_->error();
        return false;
    }
    if (config_.source == AudioSourceKind::Microphone) {
        microphone_ = openAudioDevice<PortAudioMicrophone>(portAudio_, config_.microphoneDevice,
                                                           oc.channels, error);
        if (!microphone_) return false;
    }
    stopping_ = false;
    worker_ = std::thread([this] { run(); });
    return true;
}

void AudioSendStream::stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (worker_.joinable()) worker_.join();
    microphone_.reset();
    portAudio_.reset();
}

void AudioSendStream::setSendHook(SendHook send) {
    std::lock_guard lock(mutex_);
    send_ = std::move(send);
}

void AudioSendStream::applyPeerFmtp(const std::string& fmtp) {
    const OpusFmtp f = parseOpusFmtp(fmtp);
    std::lock_guard lock(mutex_);
    stats_.fmtpMalformed += uint64_t(f.malformed);
    // Our own FEC wish (config.fec) still needs the peer to decode it (RFC 7587 §3.3).
    pendingFmtp_ =
        PendingFmtp{f.useDtx, config_.fec && f.useInbandFec, !f.stereo && config_.channels == 2,
                    f.maxAverageBitrateBps.value_or(0)};
}

bool AudioSendStream::replaceSource(const AudioSourceSpec& spec, std::string& error) {
    std::unique_ptr<PortAudioMicrophone> mic;
    std::shared_ptr<PortAudioSystem> system;
    if (spec.source == AudioSourceKind::Microphone) {
        mic = openAudioDevice<PortAudioMicrophone>(system, spec.microphoneDevice,
                                                   std::clamp(config_.channels, 1, 2), error);
        if (!mic) return false;
    }
    std::lock_guard lock(mutex_);
    pendingSource_ = spec;
    pendingMicrophone_ = std::move(mic);
    pendingPortAudio_ = std::move(system);
    return true;
}

void AudioSendStream::setSourceStatsHook(std::function<void(const CapturedMediaStats&)> hook) {
    std::lock_guard lock(mutex_);
    onSourceStats_ = std::move(hook);
}

void AudioSendStream::applyPending(OpusAudioEncoder& encoder) {
    std::optional<PendingFmtp> f;
    {
        std::lock_guard lock(mutex_);
        f.swap(pendingFmtp_);
        if (f) {
            stats_.dtx = f->dtx;
            stats_.fec = f->fec;
            stats_.forcedMono = f->forceMono;
            stats_.maxBitrateBps = f->maxBitrateBps;
        }
    }
    if (!f) return;
    encoder.setDtx(f->dtx);
    encoder.setFec(f->fec);
    encoder.setForceMono(f->forceMono);
    maxBitrateBps_ = f->maxBitrateBps;
}

void AudioSendStream::setTargetBitrate(uint32_t bps) {
    // The configured rate is the most audio takes; the controller may only lower it.
    bitrateBps_.store(std::clamp(int(std::min<uint32_t>(bps, 1'000'000)), 16'000,
                                 std::max(16'000, config_.bitrateBps)));
}

AudioSendStats AudioSendStream::stats() const {
    std::lock_guard lock(mutex_);
    return stats_;
}

void AudioSendStream::run() {
    const int channels = std::clamp(config_.channels, 1, 2);
    auto tone =
        std::make_unique<ToneSource>(config_.toneFrequencyHz, config_.toneLevelDbfs, channels);
    bool inDtx = false;  // the last packet was DTX: the next DTX packets stay home
    CapturedMediaStats source;
    int framesSinceReport = 0;
    std::shared_ptr<PortAudioSystem> retiredPortAudio;
    // RFC 3550 §5.1: the first timestamp is random.
    std::random_device rd;
    uint32_t rtpTimestamp = rd();
    AudioFrame frame;
    std::array<uint8_t, OpusAudioEncoder::kMaxPacket> packet{};
    int appliedBitrate = bitrateBps_.load();
    auto next = std::chrono::steady_clock::now();
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            if (wake_.wait_until(lock, next, [this] { return stopping_; })) break;
        }
        const auto now = std::chrono::steady_clock::now();
        next += kFrameInterval;
        // A late wake catches up (the loop comes straight back while `next` is in the past);
        // after a stall too long to be worth a burst, the missed frames are skipped, and their
        // time with them (the timestamps jump), so the receiver sees a gap, not slow motion.
        if (now - next > kMaxCatchUp) {
            const auto skipped = (now - next) / kFrameInterval;
            next += skipped * kFrameInterval;
            rtpTimestamp += uint32_t(skipped * kFrameSamples);
            if (!microphone_)
                for (int64_t i = 0; i < int64_t(skipped); ++i) tone->fill(frame, kFrameSamples);
            std::lock_guard lock(mutex_);
            ++stats_.ticksLate;
        }
        {
            // A replaced source takes over at this tick (the old microphone closes here).
            std::unique_lock lock(mutex_);
            if (pendingSource_) {
                const AudioSourceSpec spec = *pendingSource_;
                pendingSource_.reset();
                auto mic = std::move(pendingMicrophone_);
                auto system = std::move(pendingPortAudio_);
                ++stats_.sourceReplacements;
                lock.unlock();
                microphone_ = std::move(mic);
                if (system) {
                    retiredPortAudio = std::move(portAudio_);
                    portAudio_ = std::move(system);
                }
                if (spec.source == AudioSourceKind::Tone)
                    tone = std::make_unique<ToneSource>(spec.toneFrequencyHz, spec.toneLevelDbfs,
                                                        channels);
            }
        }
        applyPending(*encoder_);
        int wantedBitrate = bitrateBps_.load();
        if (maxBitrateBps_ > 0) wantedBitrate = std::min(wantedBitrate, maxBitrateBps_);
        if (const int b = wantedBitrate; b != appliedBitrate) {
            encoder_->setBitrate(b);
            appliedBitrate = b;
        }
        // The microphone runs on the device's clock: send every whole 20 ms it has captured.
        for (int taken = 0;; ++taken) {
            if (microphone_) {
                if (!microphone_->read(frame, kFrameSamples)) {
                    if (taken == 0) {
                        std::lock_guard lock(mutex_);
                        ++stats_.microphoneUnderruns;
                    }
                    break;
                }
            } else {
                if (taken > 0) break;
                tone->fill(frame, kFrameSamples);
            }
            if (muted_.load()) std::fill(frame.samples.begin(), frame.samples.end(), int16_t(0));
            {
                // W3C RTCAudioSourceStats: audioLevel is the RMS of the block, linear 0..1;
                // totalAudioEnergy sums level² × duration.
                const double rms = std::pow(10.0, rmsDbfs(frame.data(), frame.channels) / 20.0);
                const double seconds = double(frame.samplesPerChannel) / kAudioRateHz;
                source.audioLevel = std::clamp(rms, 0.0, 1.0);
                source.totalAudioEnergy += source.audioLevel * source.audioLevel * seconds;
                source.totalSamplesDuration += seconds;
                if (++framesSinceReport >= 50) {  // about once a second
                    framesSinceReport = 0;
                    std::function<void(const CapturedMediaStats&)> report;
                    {
                        std::lock_guard lock(mutex_);
                        report = onSourceStats_;
                    }
                    if (report) report(source);
                }
            }
            const auto captureTime = std::chrono::steady_clock::now();
            const size_t size = encoder_->encode(frame, packet);
            OutgoingFrame out;
            if (size > 0) {
                RtpPayload& p = out.packets.emplace_back();
                p.rtpTimestamp = rtpTimestamp;
                p.marker = false;
                p.payload.assign(packet.begin(), packet.begin() + ptrdiff_t(size));
                out.captureTime = captureTime;
            }
            rtpTimestamp += uint32_t(kFrameSamples);
            // DTX: the first near-empty packet tells the receiver silence begins; the rest of
            // the silent stretch stays home (its time passes in the RTP timestamps).
            const bool dtx = size > 0 && OpusAudioEncoder::isDtx(size);
            const bool suppress = dtx && inDtx;
            inDtx = dtx;
            if (suppress) {
                std::lock_guard lock(mutex_);
                ++stats_.framesCaptured;
                ++stats_.packetsEncoded;
                ++stats_.dtxPackets;
                ++stats_.dtxSuppressed;
                continue;
            }
            SendHook hook;
            {
                std::lock_guard lock(mutex_);
                hook = send_;
            }
            const bool sent = size > 0 && hook && hook(std::move(out));
            std::lock_guard lock(mutex_);
            ++stats_.framesCaptured;
            if (size == 0) {
                ++stats_.encodeErrors;
                continue;
            }
            ++stats_.packetsEncoded;
            stats_.dtxPackets += dtx ? 1 : 0;
            if (sent) {
                ++stats_.packetsSent;
                stats_.bytesSent += size;
            } else {
                ++stats_.packetsRefused;
            }
        }
    }
}

}  // namespace tincan::media
