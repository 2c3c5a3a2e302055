// Media tracks: one Track per audio or video m-section (a W3C RTCRtpTransceiver with its sender
// and receiver), at the level of RTP payloads. Above a track the media pipeline (media/) captures,
// encodes and packetizes, and depacketizes, decodes and plays; below it the connection writes
// the RTP headers (SSRC, sequence numbers, the mid and transport-wide-cc extensions), keeps the
// sent packets for NACK (RFC 4585) and RTX (RFC 4588), paces them, protects them with SRTP
// (RFC 3711), sends RTCP reports, answers NACKs, sends transport-wide feedback and runs the
// congestion controller whose estimate comes up as onTargetBitrate.
//
//   auto track = *pc->addTrack(tincan::MediaKind::Video);          // before the offer
//   track->setCallbacks({.onPacket = [&](const tincan::RtpPacketIn& p) { ... }});
//   track->sendFrame(frame);                                        // any thread
//
// Threading as for DataChannel: every method may be called from any thread; every callback runs
// on the connection's network thread, one at a time, and must not block.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tincan/bytes.hpp"

namespace tincan {

namespace pc {
class PeerConnection;
}

enum class MediaKind : uint8_t { Audio = 1, Video };
const char* toString(MediaKind k);  // "audio", "video"

// RFC 8866 §6.7 / W3C RTCRtpTransceiverDirection.
enum class Direction : uint8_t { SendRecv = 1, SendOnly, RecvOnly, Inactive };
const char* toString(Direction d);  // "sendrecv", ...

struct TransceiverInfo {
    std::string mid;
    MediaKind kind = MediaKind::Audio;
    Direction direction = Direction::Inactive;  // what we want
    std::optional<Direction> currentDirection;  // what was negotiated
    bool stopped = false;                       // rejected (port 0)
};

// A negotiated RTP codec (RFC 8866 a=rtpmap and a=fmtp). Tincan sends and receives VP8
// (RFC 7741) and Opus (RFC 7587); payload types are the ones the offer chose.
struct RtpCodec {
    std::string name;        // "VP8", "opus"
    uint32_t clockRate = 0;  // 90000, 48000
    uint16_t channels = 0;   // 2 for Opus, 0 for video
    int payloadType = 0;
    std::string fmtp;  // "minptime=10;useinbandfec=1", or empty
};

// One RTP payload made by the codec's packetizer.
struct RtpPayload {
    uint32_t rtpTimestamp = 0;
    bool marker = false;
    Bytes payload;
};

// One encoded frame (video) or packet (audio) to send, as its RTP payloads.
struct OutgoingFrame {
    std::vector<RtpPayload> packets;
    std::chrono::steady_clock::time_point captureTime{};  // for the Sender Report's mapping
    // For the outbound-rtp stats (W3C names in brackets); zero when not known.
    bool keyframe = false;           // [keyFramesEncoded]
    uint32_t width = 0, height = 0;  // [frameWidth, frameHeight]
    uint32_t qp = 0;                 // [qpSum]
    double encodeTimeSeconds = 0;    // [totalEncodeTime]
};

// One received RTP packet, SRTP already removed, after a retransmission (RTX) was unwrapped.
struct RtpPacketIn {
    uint32_t ssrc = 0;
    int payloadType = 0;
    uint16_t sequenceNumber = 0;
    uint32_t rtpTimestamp = 0;
    bool marker = false;
    bool retransmitted = false;  // came in an RTX packet
    ByteView payload;            // valid during the callback only
    std::chrono::steady_clock::time_point arrival{};
};

// What the receive pipeline above the track counts (the inbound-rtp members only it knows);
// the track reports them in getStats().
struct ReceivedMediaStats {
    uint64_t framesDecoded = 0, keyFramesDecoded = 0, framesDropped = 0;
    uint32_t frameWidth = 0, frameHeight = 0;
    double framesPerSecond = 0;
    uint64_t freezeCount = 0;
    double totalFreezesDuration = 0;  // seconds
    double jitterBufferDelay = 0;     // seconds, summed over jitterBufferEmittedCount
    uint64_t jitterBufferEmittedCount = 0;
    uint64_t totalSamplesReceived = 0, concealedSamples = 0, concealmentEvents = 0;
    double totalDecodeTime = 0;  // seconds
};

// What the capture pipeline above the track measures about its source (W3C RTCVideoSourceStats
// and RTCAudioSourceStats); the track reports them in getStats() as `media-source`.
struct CapturedMediaStats {
    // video
    uint32_t width = 0, height = 0;
    uint64_t frames = 0;  // captured since the track began
    double framesPerSecond = 0;
    // audio
    double audioLevel = 0;            // 0..1, of the last block (RMS, linear)
    double totalAudioEnergy = 0;      // W3C: the sum of level² × duration
    double totalSamplesDuration = 0;  // seconds of audio captured
};

// The peer's clock from its last RTCP Sender Report on this track (RFC 3550 §6.4.1): its RTP
// timestamp `rtpTimestamp` and its wall clock `ntpTime` (NTP 32.32 format), sampled together.
// One peer's audio and video share that wall clock, so two tracks' mappings put their frames on
// one time line (lip sync).
struct RemoteSenderClock {
    uint32_t ssrc = 0;
    uint64_t ntpTime = 0;
    uint32_t rtpTimestamp = 0;
    std::chrono::steady_clock::time_point arrival{};  // when the report came
};

struct TrackInit {
    Direction direction = Direction::SendRecv;
    std::string streamId = "tincan";  // a=msid's stream (W3C MediaStream id)
    std::string trackId;              // generated when empty
};

class Track : public std::enable_shared_from_this<Track> {
public:
    struct Callbacks {
        // The codecs are known: the send codec (for the encoder) and what the peer will send.
        std::function<void(const RtpCodec& codec)> onNegotiated{};
        // A packet arrived for this track (any SSRC the peer sends on its m-section).
        std::function<void(const RtpPacketIn& packet)> onPacket{};
        // The peer asked for a keyframe (RTCP PLI or FIR).
        std::function<void()> onKeyframeRequest{};
        // The congestion controller's share for this track changed (bits per second).
        std::function<void(uint32_t bitrateBps)> onTargetBitrate{};
        // The transceiver stopped (rejected in negotiation) or the connection closed.
        std::function<void()> onEnded{};
    };

    MediaKind kind() const { return kind_; }
    std::string mid() const;                // empty until negotiated
    std::optional<RtpCodec> codec() const;  // the send codec once negotiated
    Direction direction() const { return direction_.load(); }
    std::optional<Direction> currentDirection() const;
    // Negotiated with a send direction, the SRTP keys are there, and not ended: a frame sent
    // now goes out (a sender should wait for this, then start with a keyframe).
    bool sending() const;
    uint32_t targetBitrateBps() const { return targetBitrateBps_.load(); }

    // Ignored once the track has ended (it fires nothing more).
    void setCallbacks(Callbacks callbacks);
    // Changes what we want; takes effect at the next offer/answer (onNegotiationNeeded fires).
    void setDirection(Direction direction);
    // Copies nothing more: the frame moves to the network thread. False when not sending.
    bool sendFrame(OutgoingFrame frame);
    // Sends an RTCP PLI (RFC 4585 §6.3.1) to the peer's sender.
    void requestKeyframe();
    void reportReceivedStats(const ReceivedMediaStats& stats);
    // Reported by the capture side; shown as the outbound stream's `media-source`.
    void reportSourceStats(const CapturedMediaStats& stats);
    // The last Sender Report's clock mapping from the peer, once one came.
    std::optional<RemoteSenderClock> remoteSenderClock() const;

private:
    friend class pc::PeerConnection;
    Track(std::weak_ptr<pc::PeerConnection> pc, int id, MediaKind kind, TrackInit init);
    void fire(const std::function<void(const Callbacks&)>& f);
    void end();  // once: marks it ended, calls onEnded, then releases the callbacks
    // Drops the callbacks (destroyed outside the lock): an ended track, or one whose connection
    // is gone, fires nothing more, and callbacks that capture the track must not keep it alive.
    void releaseCallbacks();

    std::weak_ptr<pc::PeerConnection> pc_;
    int id_ = 0;  // the negotiator's transceiver id
    MediaKind kind_;
    TrackInit init_;
    std::atomic<Direction> direction_;
    std::atomic<uint32_t> targetBitrateBps_{0};
    std::atomic<bool> ready_{false};  // the connection's SRTP is keyed
    mutable std::mutex mutex_;        // the negotiated fields and the received stats
    std::string mid_;
    std::optional<RtpCodec> codec_;
    std::optional<Direction> currentDirection_;
    bool ended_ = false;
    ReceivedMediaStats received_;
    std::optional<CapturedMediaStats> captured_;
    std::optional<RemoteSenderClock> senderClock_;
    mutable std::mutex callbackMutex_;
    // Replaced whole by setCallbacks(); fire() takes a reference under the mutex and calls
    // outside it, so a message costs one reference count, not a copy of every callback.
    std::shared_ptr<const Callbacks> callbacks_ = std::make_shared<const Callbacks>();
};

}  // namespace tincan
