// JSEP negotiation (RFC 8829) over an ordered list of m-sections, sans-IO: descriptions in,
// descriptions and the negotiated transport parameters out. No clock, no thread, no I/O.
//
// Each m-section is owned by a transceiver (audio or video) or by the data channel. The list
// only grows (RFC 8829 §5.2.2: an m-section is never removed; a stopped one keeps its place,
// with port 0, until it is recycled). Every section is bundled on one transport (max-bundle,
// RFC 8843): the transport parameters (ICE credentials, DTLS fingerprint and role) come from
// the first section in the BUNDLE group that is not rejected.
//
// Audio and video sections belong to media wishes (W3C transceivers: kind, direction, SSRCs,
// msid): ours from addTrack, or made for a peer's offered section (receive-only until a track of
// ours takes it). Tincan sends and receives Opus (RFC 7587) and VP8 (RFC 7741, with RTX, RFC
// 4588); they are picked out of an offer's codec list by name, with the offer's payload types,
// and a section with neither is answered as rejected.
//
// Offers and answers in flight are kept apart from what was agreed: applying an offer (local
// or remote) stages a new list, the matching answer commits it, rollback() drops it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/pc/media_transport.hpp"
#include "core/sdp/sdp.hpp"
#include "tincan/result.hpp"

namespace tincan::pc::jsep {

// Other: an m-line of a kind Tincan does not know ("text", "application" without SCTP); always
// answered as rejected.
enum class SectionKind : uint8_t { Audio = 1, Video, Data, Other };
const char* toString(SectionKind k);  // "audio", "video", "data", "other"
SectionKind kindOf(const sdp::MediaSection& m);

// A transceiver as negotiation sees it.
struct MediaWish {
    int id = 0;
    SectionKind kind = SectionKind::Audio;
    sdp::Direction direction = sdp::Direction::SendRecv;  // what we want
    std::string streamId = "tincan", trackId;
    uint32_t ssrc = 0, rtxSsrc = 0;
    bool fromRemote = false;  // made for a peer's offered section
};

struct Section {
    std::string mid;
    std::optional<int> wish;                // audio and video: the transceiver
    std::optional<sdp::Direction> current;  // negotiated, from our side
    SectionKind kind = SectionKind::Data;
    bool rejected = false;                                // port 0 in the last description
    sdp::Direction direction = sdp::Direction::SendRecv;  // ours, as last offered or answered
    // The peer's last section at this index: answers mirror its kind, protocol and formats.
    std::optional<sdp::MediaSection> remote;
};

// What we put in every description we write.
struct LocalParams {
    sdp::IceParams ice;
    sdp::Fingerprint fingerprint;
    uint16_t sctpPort = 5000;
    uint32_t maxMessageSize = 262144;
    // a=x-tincan-sack-every in the data section: written when above 2 (the RFC 9260 rate).
    uint8_t sackEvery = 2;
    std::vector<ice::Candidate> candidates;  // gathered so far (for peers that do not trickle)
    bool endOfCandidates = false;
    std::string cname = "tincan";  // RTCP SDES CNAME (a=ssrc:N cname:)
};

// One agreed audio or video section, ready for the media transport.
struct NegotiatedMedia {
    int wish = 0;
    MediaSectionConfig config;
    sdp::Direction current = sdp::Direction::Inactive;
};

// What Tincan takes from an offered section: the codec, its RTX and the feedback it supports.
struct CodecChoice {
    sdp::RtpMap codec;
    std::string fmtp;        // what we write: our wishes as its receiver
    std::string remoteFmtp;  // what the peer wrote: its wishes for what we send it
    std::optional<int> rtxPayloadType;
    std::vector<sdp::RtcpFb> feedback;  // for codec's payload type (or "*")
};
std::optional<CodecChoice> chooseCodec(const sdp::MediaSection& m, SectionKind kind);
sdp::Direction reverse(sdp::Direction d);
// What we may do given what we want and what the peer offered (seen from its side).
sdp::Direction answerDirection(sdp::Direction wanted, sdp::Direction offered);
// The bundle-wide part of the media transport's configuration (extension ids, transport-cc,
// reduced-size RTCP) from the agreed sections.
void fillBundleMediaConfig(const std::vector<Section>& agreed, MediaConfig& config);

// The transport and data parameters of a remote description (from its BUNDLE tag section).
struct RemoteParams {
    sdp::IceParams ice;
    std::vector<sdp::Fingerprint> fingerprints;
    sdp::Setup setup = sdp::Setup::ActPass;
    bool iceLite = false;
    std::vector<ice::Candidate> candidates;  // from every bundled section, without duplicates
    bool endOfCandidates = false;
    std::optional<uint16_t> sctpPort;  // the data section's, when it is accepted
    uint32_t maxMessageSize = 65536;
    uint8_t sackEvery = 2;  // a=x-tincan-sack-every: how rarely the peer lets us SACK its data
};

class Negotiator {
public:
    // --- Our wishes (the transceiver list) ---
    // A data section is wanted (createDataChannel before the first offer). True when this
    // changes what the next offer holds, i.e. negotiation is needed.
    bool addDataSection();
    bool hasDataSection() const;  // in the agreed or the staged list
    // A transceiver of ours (addTrack). Before our answer, it takes the peer's offered section of
    // its kind that has no sender yet (W3C addTrack); otherwise it is a new section in the next
    // offer. Returns the id of the transceiver it now has (the reused one's, or its own).
    int addMediaWish(MediaWish wish);
    bool setWishDirection(int id, sdp::Direction direction);
    const std::vector<MediaWish>& wishes() const { return wishes_; }
    // SSRCs for the wishes made for a peer's sections (random in PeerConnection).
    void setSsrcSource(std::function<uint32_t()> source) { ssrcSource_ = std::move(source); }
    // The agreed audio and video sections that are not rejected.
    std::vector<NegotiatedMedia> negotiatedMedia() const;

    // --- Writing descriptions ---
    // RFC 8829 §5.2.1/§5.2.2: the agreed sections in order with their mids, then new ones.
    sdp::SessionDescription createOffer(const LocalParams& local, uint64_t sessionId,
                                        uint64_t sessionVersion) const;
    // RFC 8829 §5.3.1/§5.3.2: one m-line per offered m-line, in order, same mids; `setup` is
    // our DTLS role (active or passive). Needs a staged remote offer.
    Result<sdp::SessionDescription> createAnswer(const LocalParams& local, sdp::Setup setup,
                                                 uint64_t sessionId, uint64_t sessionVersion) const;

    // --- Applying descriptions ---
    // Checks `d` against the current state and stages its section list. Remote descriptions
    // return the transport parameters to use.
    Result<void> setLocalOffer(const sdp::SessionDescription& d);
    Result<RemoteParams> setRemoteOffer(const sdp::SessionDescription& d);
    // Answers commit the staged list.
    Result<void> setLocalAnswer(const sdp::SessionDescription& d);
    Result<RemoteParams> setRemoteAnswer(const sdp::SessionDescription& d);
    void rollback();

    // The agreed list (the staged one while an offer is in flight: `staged`).
    const std::vector<Section>& sections() const { return agreed_; }
    const std::vector<Section>* staged() const { return staged_ ? &*staged_ : nullptr; }
    // The BUNDLE tag: mid and m-line index of the section that carries the transport (for
    // trickled candidates' sdpMid/sdpMLineIndex).
    std::string transportMid() const;
    int transportIndex() const;

private:
    const std::vector<Section>& current() const { return staged_ ? *staged_ : agreed_; }
    std::string freshMid(const std::vector<Section>& taken) const;
    static Result<RemoteParams> remoteParams(const sdp::SessionDescription& d,
                                             const std::vector<Section>& sections, bool isOffer);

    MediaWish* findWish(int id);
    const MediaWish* findWish(int id) const;
    uint32_t nextSsrc();
    sdp::MediaSection mediaSection(const Section& s, const LocalParams& local, sdp::Setup setup,
                                   bool answer) const;

    std::vector<Section> agreed_;
    std::vector<MediaWish> wishes_;
    std::function<uint32_t()> ssrcSource_;
    uint32_t ssrcCounter_ = 0x10000;
    int nextWishId_ = 1000000;  // for wishes made for the peer's sections
    std::optional<std::vector<Section>> staged_;
    bool stagedByRemote_ = false;
    bool wantData_ = false;
    bool offerHadBundle_ = false;
};

}  // namespace tincan::pc::jsep
