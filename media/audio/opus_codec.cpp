#include "media/audio/opus_codec.hpp"

#include <fmt/format.h>
#include <opus.h>

#include <algorithm>

namespace tincan::media {

OpusAudioEncoder::~OpusAudioEncoder() {
    if (enc_) opus_encoder_destroy(enc_);
}

bool OpusAudioEncoder::init(const OpusEncoderConfig& config) {
    config_ = config;
    config_.channels = std::clamp(config_.channels, 1, 2);
    if (enc_) opus_encoder_destroy(enc_);
    int err = 0;
    enc_ = opus_encoder_create(kAudioRateHz, config_.channels, OPUS_APPLICATION_VOIP, &err);
    if (err != OPUS_OK || !enc_) {
        enc_ = nullptr;
        error_ = fmt::format("opus_encoder_create: {}", opus_strerror(err));
        return false;
    }
    opus_encoder_ctl(enc_, OPUS_SET_COMPLEXITY(std::clamp(config_.complexity, 0, 10)));
    opus_encoder_ctl(enc_, OPUS_SET_SIGNAL(OPUS_SIGNAL_VOICE));
    setBitrate(config_.bitrateBps);
    setFec(config_.fec);
    setExpectedLoss(config_.expectedLossPct);
    setDtx(config_.dtx);
    return true;
}

void OpusAudioEncoder::setBitrate(int bps) {
    config_.bitrateBps = std::clamp(bps, 6'000, 510'000);
    if (enc_) opus_encoder_ctl(enc_, OPUS_SET_BITRATE(config_.bitrateBps));
}
void OpusAudioEncoder::setExpectedLoss(int pct) {
    config_.expectedLossPct = std::clamp(pct, 0, 100);
    if (enc_) opus_encoder_ctl(enc_, OPUS_SET_PACKET_LOSS_PERC(config_.expectedLossPct));
}
void OpusAudioEncoder::setFec(bool on) {
    config_.fec = on;
    if (enc_) opus_encoder_ctl(enc_, OPUS_SET_INBAND_FEC(on ? 1 : 0));
}
void OpusAudioEncoder::setDtx(bool on) {
    config_.dtx = on;
    if (enc_) opus_encoder_ctl(enc_, OPUS_SET_DTX(on ? 1 : 0));
}

void OpusAudioEncoder::setForceMono(bool on) {
    if (enc_) opus_encoder_ctl(enc_, OPUS_SET_FORCE_CHANNELS(on ? 1 : OPUS_AUTO));
}

size_t OpusAudioEncoder::encode(const AudioFrame& frame, std::span<uint8_t> out) {
    if (!enc_ || frame.channels != config_.channels) {
        error_ = enc_ ? "channel count differs from the encoder's" : "encoder not initialised";
        return 0;
    }
    const int n = opus_encode(enc_, frame.samples.data(), frame.samplesPerChannel, out.data(),
                              opus_int32(std::min(out.size(), kMaxPacket)));
    if (n < 0) {
        error_ = fmt::format("opus_encode: {}", opus_strerror(n));
        return 0;
    }
    return size_t(n);
}

OpusAudioDecoder::~OpusAudioDecoder() {
    if (dec_) opus_decoder_destroy(dec_);
}

bool OpusAudioDecoder::init(int channels) {
    channels_ = std::clamp(channels, 1, 2);
    if (dec_) opus_decoder_destroy(dec_);
    int err = 0;
    dec_ = opus_decoder_create(kAudioRateHz, channels_, &err);
    if (err != OPUS_OK) dec_ = nullptr;
    return dec_ != nullptr;
}

int OpusAudioDecoder::decode(ByteView packet, std::span<int16_t> out) {
    if (!dec_ || packet.empty()) return -1;
    const int max = int(out.size()) / channels_;
    const int n = opus_decode(dec_, packet.data(), opus_int32(packet.size()), out.data(), max, 0);
    return n < 0 ? -1 : n;
}

int OpusAudioDecoder::conceal(int samplesPerChannel, std::span<int16_t> out) {
    if (!dec_) return -1;
    const int n = std::min(samplesPerChannel, int(out.size()) / channels_);
    const int got = opus_decode(dec_, nullptr, 0, out.data(), n, 0);
    return got < 0 ? -1 : got;
}

int OpusAudioDecoder::decodeFec(ByteView next, int samplesPerChannel, std::span<int16_t> out) {
    if (!dec_ || next.empty()) return conceal(samplesPerChannel, out);
    const int n = std::min(samplesPerChannel, int(out.size()) / channels_);
    const int got = opus_decode(dec_, next.data(), opus_int32(next.size()), out.data(), n, 1);
    return got < 0 ? -1 : got;
}

bool OpusAudioDecoder::hasFec(ByteView packet) {
    // RFC 6716 §4.2.3-4: LBRR (the FEC copy) exists only in SILK and hybrid packets (TOC config
    // below 16); its flags are the first bits of the first frame, after one VAD flag per 20 ms
    // SILK frame. libopus 1.4's opus_packet_has_lbrr() reads it the same way.
    if (packet.empty() || (packet[0] >> 3) >= 16) return false;
    const int perFrame = opus_packet_get_samples_per_frame(packet.data(), kAudioRateHz);
    const int silkFrames = perFrame > 960 ? perFrame / 960 : 1;
    const unsigned char* frames[48];
    opus_int16 sizes[48];
    if (opus_packet_parse(packet.data(), opus_int32(packet.size()), nullptr, frames, sizes,
                          nullptr) <= 0 ||
        sizes[0] < 1)
        return false;
    bool lbrr = (frames[0][0] >> (7 - silkFrames)) & 1;
    if (opus_packet_get_nb_channels(packet.data()) == 2)
        lbrr = lbrr || ((frames[0][0] >> (6 - 2 * silkFrames)) & 1);
    return lbrr;
}

int OpusAudioDecoder::packetSamples(ByteView packet) {
    if (packet.empty()) return -1;
    const int n =
        opus_packet_get_nb_samples(packet.data(), opus_int32(packet.size()), kAudioRateHz);
    return n <= 0 || n > kMaxSamples ? -1 : n;
}

}  // namespace tincan::media
