// Puts VP8 frames back together from RTP packets that arrive in any order, duplicated or not
// at all (RFC 7741 §4.4: a frame runs from the packet with S = 1, PID = 0 to the packet with the
// marker, all with one RTP timestamp and consecutive sequence numbers).
//
// Sans-IO: packets and time in; complete frames, the list of missing sequence numbers (for the
// NACK module), and loss verdicts out. A missing packet is waited for `nackWait`; after that it
// is lost for good, the frames it belonged to are dropped, and if any of them could be a
// reference frame a keyframe is needed. Packets live in a ring of slots indexed by sequence
// number, whose buffers are reused, so steady operation allocates nothing.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/common/bytes.hpp"
#include "core/common/time.hpp"
#include "media/common/seq_unwrapper.hpp"
#include "media/video/assembled_frame.hpp"
#include "media/video/vp8_payload.hpp"

namespace tincan::media {

// The RTP fields this stage needs, taken as plain values (the RTP layer parses the header).
struct VideoPacketIn {
    uint16_t seq = 0;
    uint32_t rtpTimestamp = 0;
    bool marker = false;
    ByteView payload;  // RTP payload: VP8 descriptor + VP8 data
};

// A packet the assembler is still waiting for, and since when (a NACK module waits out
// reordering before it asks).
struct MissingPacket {
    uint16_t seq = 0;
    Timestamp since{};
};

struct FrameAssemblerConfig {
    Duration nackWait = 300ms;   // how long a missing packet may still arrive (retransmission)
    Duration maxPacketAge = 1s;  // packets of a frame that never completes are dropped after this
    size_t slots = 2048;         // sequence window; a jump beyond half of it resets the stream
};

struct FrameAssemblerStats {
    uint64_t packetsReceived = 0;
    uint64_t packetsMalformed = 0;  // descriptor or payload header unreadable: dropped
    uint64_t packetsDuplicate = 0;
    uint64_t packetsLate = 0;       // arrived after their frame was given up, or too old
    uint64_t packetsLost = 0;       // missing seqs given up after nackWait
    uint64_t packetsRecovered = 0;  // arrived after being reported missing
    uint64_t framesAssembled = 0;
    uint64_t framesDropped = 0;  // incomplete frames discarded
    uint64_t streamResets = 0;   // sequence jumps too large to bridge, either way
};

class Vp8FrameAssembler {
public:
    explicit Vp8FrameAssembler(const FrameAssemblerConfig& config = {});

    void insert(Timestamp now, const VideoPacketIn& packet);
    void handleTimeout(Timestamp now);
    std::optional<Timestamp> pollTimeout() const;

    std::optional<AssembledFrame> pollFrame();
    // Hand a consumed frame back so its buffer is reused.
    void recycle(AssembledFrame&& frame);

    // Sequence numbers currently missing and not yet given up, oldest first.
    std::span<const MissingPacket> missing() const { return missingWire_; }
    // True once after a loss that may have hit a reference frame (then the caller asks for a
    // keyframe: PLI/FIR).
    bool takeKeyframeNeeded();

    const FrameAssemblerStats& stats() const { return stats_; }

private:
    // Done: assembled or dropped as a duplicate-proof marker; Lost: given up or its frame dropped.
    enum class SlotState : uint8_t { Free = 1, Missing = 2, Stored = 3, Done = 4, Lost = 5 };
    struct Slot {
        SlotState state = SlotState::Free;
        int64_t seq = 0;
        uint32_t rtpTimestamp = 0;
        bool marker = false;
        Vp8Descriptor desc;
        bool keyframe = false;  // first packet of a frame only
        int width = 0;
        int height = 0;
        Timestamp time{};  // arrival (Stored) or first noticed missing (Missing)
        Bytes payload;     // VP8 data without the descriptor
    };

    Slot& slot(int64_t seq) { return slots_[size_t(seq) % slots_.size()]; }
    bool holds(int64_t seq, SlotState state) {
        const Slot& s = slot(seq);
        return s.seq == seq && s.state == state;
    }
    void advanceTo(Timestamp now, int64_t seq);
    void tryAssemble(int64_t seq, Timestamp now);
    void giveUp(int64_t seq);
    void dropFrame(uint32_t rtpTimestamp, int64_t around);
    bool recentlyDropped(uint32_t rtpTimestamp) const;
    void reset();
    void rebuildMissingWire();

    FrameAssemblerConfig config_;
    FrameAssemblerStats stats_;
    std::vector<Slot> slots_;
    SeqUnwrapper unwrapper_;
    int64_t seqOffset_ = 0;  // added after a restart of the sender's numbering
    int farBehindRun_ = 0;
    static constexpr int kRestartRun = 16;  // packets far behind in a row: a new numbering
    int64_t highest_ = -1;
    std::vector<int64_t> missing_;  // unwrapped, ascending (also oldest first)
    std::vector<MissingPacket> missingWire_;
    std::vector<AssembledFrame> ready_;  // a vector and a head index: no node churn
    size_t readyHead_ = 0;
    std::vector<Bytes> pool_;
    bool keyframeNeeded_ = false;
    size_t stored_ = 0;
    std::array<uint32_t, 8> dropped_{};  // timestamps of the last frames dropped
    size_t droppedCount_ = 0;
};

}  // namespace tincan::media
