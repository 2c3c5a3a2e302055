#include "media/call/audio_send_stream.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <random>

#include "media/audio/opus_codec.hpp"
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
    ToneSource tone(config_.toneFrequencyHz, config_.toneLevelDbfs,
                    std::clamp(config_.channels, 1, 2));
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
                for (int64_t i = 0; i < int64_t(skipped); ++i) tone.fill(frame, kFrameSamples);
            std::lock_guard lock(mutex_);
            ++stats_.ticksLate;
        }
        if (const int b = bitrateBps_.load(); b != appliedBitrate) {
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
                tone.fill(frame, kFrameSamples);
            }
            if (muted_.load()) std::fill(frame.samples.begin(), frame.samples.end(), int16_t(0));
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
