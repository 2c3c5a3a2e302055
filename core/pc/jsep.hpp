// JSEP negotiation (RFC 8829) over an ordered list of m-sections, sans-IO: descriptions in,
// descriptions and the negotiated transport parameters out. No clock, no thread, no I/O.
//
// Each m-section is owned by a transceiver (audio or video) or by the data channel. The list
// only grows (RFC 8829 §5.2.2: an m-section is never removed; a stopped one keeps its place,
// with port 0, until it is recycled). Every section is bundled on one transport (max-bundle,
// RFC 8843): the transport parameters (ICE credentials, DTLS fingerprint and role) come from
// the first section in the BUNDLE group that is not rejected.
//
// Until the media pipeline attaches to a section, audio and video sections the peer offers are
// answered as rejected (port 0) and the data section works; Negotiator::MediaPolicy is where
// the media layer will say which offered codecs it takes.
//
// Offers and answers in flight are kept apart from what was agreed: applying an offer (local
// or remote) stages a new list, the matching answer commits it, rollback() drops it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/sdp/sdp.hpp"
#include "tincan/result.hpp"

namespace tincan::pc::jsep {

// Other: an m-line of a kind Tincan does not know ("text", "application" without SCTP); always
// answered as rejected.
enum class SectionKind : uint8_t { Audio = 1, Video, Data, Other };
const char* toString(SectionKind k);  // "audio", "video", "data", "other"
SectionKind kindOf(const sdp::MediaSection& m);

struct Section {
    std::string mid;
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
    std::vector<ice::Candidate> candidates;  // gathered so far (for peers that do not trickle)
    bool endOfCandidates = false;
};

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
};

class Negotiator {
public:
    // --- Our wishes (the transceiver list) ---
    // A data section is wanted (createDataChannel before the first offer). True when this
    // changes what the next offer holds, i.e. negotiation is needed.
    bool addDataSection();
    bool hasDataSection() const;  // in the agreed or the staged list

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

    std::vector<Section> agreed_;
    std::optional<std::vector<Section>> staged_;
    bool stagedByRemote_ = false;
    bool wantData_ = false;
    bool offerHadBundle_ = false;
};

}  // namespace tincan::pc::jsep
