// Opus (libopus) at 48 kHz for calls: 20 ms frames, in-band FEC and DTX as negotiated, a
// bitrate that can change at any time; and the decoder with packet-loss concealment and FEC
// recovery of a lost packet from the packet after it (RFC 6716 §2.1.7, RFC 7587 §3.3).
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/common/bytes.hpp"
#include "media/audio/audio_frame.hpp"

struct OpusEncoder;
struct OpusDecoder;

namespace tincan::media {

struct OpusEncoderConfig {
    int channels = 1;
    int bitrateBps = 32'000;
    bool fec = true;           // useinbandfec=1
    int expectedLossPct = 10;  // how much redundancy FEC spends
    bool dtx = false;          // usedtx=1: near-empty packets during silence
    int complexity = 9;        // 0..10
};

class OpusAudioEncoder {
public:
    OpusAudioEncoder() = default;
    ~OpusAudioEncoder();
    OpusAudioEncoder(const OpusAudioEncoder&) = delete;
    OpusAudioEncoder& operator=(const OpusAudioEncoder&) = delete;

    bool init(const OpusEncoderConfig& config);
    // Encodes one 10 or 20 ms frame into `out` (1275 bytes is always enough); returns the
    // packet size, 0 on error (error()). A packet of 2 bytes or less is a DTX frame: silence the
    // sender need not transmit.
    size_t encode(const AudioFrame& frame, std::span<uint8_t> out);

    void setBitrate(int bps);
    void setExpectedLoss(int pct);
    void setFec(bool on);
    void setDtx(bool on);
    // stereo=0 from the peer (RFC 7587 §7.1): a stereo source is coded as mono.
    void setForceMono(bool on);

    static constexpr size_t kMaxPacket = 1275;
    static bool isDtx(size_t packetSize) { return packetSize <= 2; }
    const std::string& error() const { return error_; }

private:
    ::OpusEncoder* enc_ = nullptr;
    OpusEncoderConfig config_;
    std::string error_;
};

class OpusAudioDecoder {
public:
    OpusAudioDecoder() = default;
    ~OpusAudioDecoder();
    OpusAudioDecoder(const OpusAudioDecoder&) = delete;
    OpusAudioDecoder& operator=(const OpusAudioDecoder&) = delete;

    bool init(int channels);
    // Each returns samples per channel written to `out` (interleaved), or −1 when the packet is
    // not valid Opus. `out` must hold maxSamples * channels samples.
    int decode(ByteView packet, std::span<int16_t> out);
    // Packet-loss concealment for `samplesPerChannel` samples (the lost packet's duration).
    int conceal(int samplesPerChannel, std::span<int16_t> out);
    // Recovers the lost packet before `next` from the FEC data inside `next`; plain
    // concealment when `next` carries none.
    int decodeFec(ByteView next, int samplesPerChannel, std::span<int16_t> out);

    // Samples per channel a packet holds at 48 kHz, −1 if malformed.
    static int packetSamples(ByteView packet);
    // Whether a packet carries FEC (LBRR) data for the packet before it.
    static bool hasFec(ByteView packet);
    static constexpr int kMaxSamples = 5760;  // 120 ms, Opus's longest packet
    int channels() const { return channels_; }

private:
    ::OpusDecoder* dec_ = nullptr;
    int channels_ = 1;
};

}  // namespace tincan::media
