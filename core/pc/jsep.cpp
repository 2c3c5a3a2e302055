#include "core/pc/jsep.hpp"

#include <algorithm>
#include <set>

namespace tincan::pc::jsep {

const char* toString(SectionKind k) {
    switch (k) {
        case SectionKind::Audio:
            return "audio";
        case SectionKind::Video:
            return "video";
        case SectionKind::Data:
            return "data";
        case SectionKind::Other:
            return "other";
    }
    return "?";
}

SectionKind kindOf(const sdp::MediaSection& m) {
    if (m.isDataChannel()) return SectionKind::Data;
    if (m.kind == "audio") return SectionKind::Audio;
    if (m.kind == "video") return SectionKind::Video;
    return SectionKind::Other;
}

namespace {

// The section we accept: the data channel (media waits for the media pipeline).
sdp::MediaSection acceptedData(const Section& s, const LocalParams& local, sdp::Setup setup) {
    sdp::MediaSection m;  // m=application 9 UDP/DTLS/SCTP webrtc-datachannel, c=IN IP4 0.0.0.0
    m.mid = s.mid;
    m.iceUfrag = local.ice.ufrag;
    m.icePwd = local.ice.pwd;
    m.iceTrickle = true;
    m.fingerprint = local.fingerprint;
    m.setup = setup;
    m.sctpPort = local.sctpPort;
    m.maxMessageSize = local.maxMessageSize;
    if (local.sackEvery > 2) m.sackEvery = local.sackEvery;
    // RFC 8841 §4.1: a legacy "DTLS/SCTP" offer is answered in its own protocol.
    if (s.remote && s.remote->protocol != m.protocol) {
        m.protocol = s.remote->protocol;
        m.formats = s.remote->formats;
    }
    return m;
}

// RFC 8829 §5.3.1 / RFC 3264 §6: a rejected m-line keeps its kind, protocol and formats, with
// port 0; RFC 8843 §7.3.3 leaves it out of the BUNDLE group.
sdp::MediaSection rejectedSection(const Section& s) {
    sdp::MediaSection m;
    if (s.remote) {
        m.kind = s.remote->kind;
        m.protocol = s.remote->protocol;
        m.formats = s.remote->formats;
        if (m.formats.empty()) m.formats = {"0"};
    }
    m.port = 0;
    m.mid = s.mid;
    m.direction = sdp::Direction::Inactive;
    return m;
}

void addCandidates(sdp::SessionDescription& d, const LocalParams& local) {
    for (auto& m : d.media) {
        if (m.rejected()) continue;
        m.candidates = local.candidates;
        m.endOfCandidates = local.endOfCandidates;
        return;  // on the BUNDLE tag section only: every section shares its transport
    }
}

bool isMedia(const Section& s) {
    return s.kind == SectionKind::Audio || s.kind == SectionKind::Video;
}

const char* describe(const sdp::MediaSection& m) {
    return m.isDataChannel() ? "data" : m.kind.c_str();
}

}  // namespace

bool Negotiator::addDataSection() {
    if (wantData_ || hasDataSection()) return false;
    wantData_ = true;
    return true;
}

bool Negotiator::hasDataSection() const {
    auto has = [](const std::vector<Section>& list) {
        return std::any_of(list.begin(), list.end(), [](const Section& s) {
            return s.kind == SectionKind::Data && !s.rejected;
        });
    };
    return has(agreed_) || (staged_ && has(*staged_));
}

std::string Negotiator::freshMid(const std::vector<Section>& taken) const {
    for (int n = 0;; ++n) {
        std::string mid = std::to_string(n);
        if (std::none_of(taken.begin(), taken.end(),
                         [&](const Section& s) { return s.mid == mid; }))
            return mid;
    }
}

sdp::SessionDescription Negotiator::createOffer(const LocalParams& local, uint64_t sessionId,
                                                uint64_t sessionVersion) const {
    std::vector<Section> sections = agreed_;
    bool haveData = std::any_of(sections.begin(), sections.end(), [](const Section& s) {
        return s.kind == SectionKind::Data && !s.rejected;
    });
    if (wantData_ && !haveData) {
        // RFC 8829 §5.2.2: a rejected data section is recycled before a new one is added.
        auto old = std::find_if(sections.begin(), sections.end(),
                                [](const Section& s) { return s.kind == SectionKind::Data; });
        if (old != sections.end()) {
            old->rejected = false;
        } else {
            Section s;
            s.mid = freshMid(sections);
            s.kind = SectionKind::Data;
            sections.push_back(std::move(s));
        }
    }
    // RFC 8829 §5.2.1: a new section for each transceiver that has none.
    for (const auto& w : wishes_) {
        if (std::any_of(sections.begin(), sections.end(),
                        [&](const Section& s) { return s.wish == w.id; }))
            continue;
        Section s;
        s.mid = freshMid(sections);
        s.kind = w.kind;
        s.wish = w.id;
        s.direction = w.direction;
        sections.push_back(std::move(s));
    }
    sdp::SessionDescription d;
    d.sessionId = sessionId;
    d.sessionVersion = sessionVersion;
    for (const auto& s : sections) {
        bool media = isMedia(s) && s.wish && !s.rejected;
        bool accept = (s.kind == SectionKind::Data && !s.rejected) || media;
        auto m = media    ? mediaSection(s, local, sdp::Setup::ActPass, false)
                 : accept ? acceptedData(s, local, sdp::Setup::ActPass)
                          : rejectedSection(s);
        if (accept) d.bundleGroup.push_back(s.mid);
        d.media.push_back(std::move(m));
    }
    addCandidates(d, local);
    return d;
}

Result<sdp::SessionDescription> Negotiator::createAnswer(const LocalParams& local, sdp::Setup setup,
                                                         uint64_t sessionId,
                                                         uint64_t sessionVersion) const {
    if (!staged_ || !stagedByRemote_) return Error{"no remote offer to answer"};
    sdp::SessionDescription d;
    d.sessionId = sessionId;
    d.sessionVersion = sessionVersion;
    for (const auto& s : *staged_) {
        if (isMedia(s) && s.wish && !s.rejected)
            d.media.push_back(mediaSection(s, local, setup, true));
        else if (s.kind == SectionKind::Data && !s.rejected)
            d.media.push_back(acceptedData(s, local, setup));
        else
            d.media.push_back(rejectedSection(s));
    }
    // RFC 8843 §7.3.1: the answer's group holds the accepted offered mids, in the offer's order
    // (and there is none if the offer had none).
    if (offerHadBundle_)
        for (const auto& m : d.media)
            if (!m.rejected()) d.bundleGroup.push_back(m.mid);
    addCandidates(d, local);
    return d;
}

Result<RemoteParams> Negotiator::remoteParams(const sdp::SessionDescription& d,
                                              const std::vector<Section>& sections, bool isOffer) {
    // The transport tag: the first section both sides keep (RFC 8843 §7.1 with the rejected
    // ones taken out of the group).
    const sdp::MediaSection* tag = nullptr;
    for (size_t i = 0; i < d.media.size() && i < sections.size(); ++i) {
        if (!sections[i].rejected && !d.media[i].rejected()) {
            tag = &d.media[i];
            break;
        }
    }
    if (!tag) {
        std::string offered;
        for (const auto& m : d.media)
            offered += std::string(offered.empty() ? "" : ", ") + describe(m);
        return Error{
            "the remote description has no section Tincan can accept (a data channel, Opus "
            "audio or VP8 video)" +
            (offered.empty() ? std::string() : "; it has: " + offered)};
    }
    RemoteParams p;
    auto ice = d.effectiveIce(*tag);
    if (!ice) return Error{"the remote description has no a=ice-ufrag/a=ice-pwd"};
    p.ice = *ice;
    p.fingerprints = d.effectiveFingerprints(*tag);
    if (p.fingerprints.empty())
        return Error{
            "the remote description has no a=fingerprint: refusing an unauthenticated peer"};
    auto setup = d.effectiveSetup(*tag);
    if (!isOffer && setup == sdp::Setup::ActPass)
        return Error{"the remote answer has a=setup:actpass (must be active or passive)"};
    p.setup = setup.value_or(isOffer ? sdp::Setup::ActPass : sdp::Setup::Active);
    p.iceLite = d.iceLite;
    // Candidates of every bundled section share the one transport.
    std::set<std::string> seen;
    for (const auto& m : d.media) {
        if (m.rejected()) continue;
        if (!d.bundleGroup.empty() && &m != tag &&
            std::find(d.bundleGroup.begin(), d.bundleGroup.end(), m.mid) == d.bundleGroup.end())
            continue;
        for (const auto& c : m.candidates)
            if (seen.insert(c.toSdp()).second) p.candidates.push_back(c);
        p.endOfCandidates = p.endOfCandidates || m.endOfCandidates;
    }
    for (size_t i = 0; i < d.media.size() && i < sections.size(); ++i) {
        if (sections[i].kind == SectionKind::Data && !sections[i].rejected &&
            !d.media[i].rejected()) {
            p.sctpPort = d.media[i].sctpPortOrDefault();
            p.maxMessageSize = d.media[i].maxMessageSizeOrDefault();
            p.sackEvery = d.media[i].sackEvery.value_or(2);
            break;
        }
    }
    return p;
}

Result<void> Negotiator::setLocalOffer(const sdp::SessionDescription& d) {
    if (staged_ && stagedByRemote_)
        return Error{"cannot set a local offer while a remote offer is pending"};
    if (d.media.size() < agreed_.size())
        return Error{"the local offer drops m-lines (RFC 8829 §5.2.2)"};
    std::vector<Section> list;
    // New sections belong to the transceivers that had none, in order (as createOffer made them).
    std::vector<int> unplaced;
    for (const auto& w : wishes_)
        if (std::none_of(agreed_.begin(), agreed_.end(),
                         [&](const Section& s) { return s.wish == w.id; }))
            unplaced.push_back(w.id);
    for (size_t i = 0; i < d.media.size(); ++i) {
        const auto& m = d.media[i];
        Section s = i < agreed_.size() ? agreed_[i] : Section{};
        if (i < agreed_.size() && s.mid != m.mid)
            return Error{"the local offer changes the mid of m-line " + std::to_string(i)};
        s.mid = m.mid;
        s.kind = kindOf(m);
        s.rejected = m.rejected();
        s.direction = m.direction;
        if (isMedia(s) && !s.wish) {
            for (auto it = unplaced.begin(); it != unplaced.end(); ++it) {
                const MediaWish* w = findWish(*it);
                if (w && w->kind == s.kind) {
                    s.wish = *it;
                    unplaced.erase(it);
                    break;
                }
            }
        }
        list.push_back(std::move(s));
    }
    staged_ = std::move(list);
    stagedByRemote_ = false;
    return {};
}

Result<RemoteParams> Negotiator::setRemoteOffer(const sdp::SessionDescription& d) {
    const auto& base = agreed_;
    if (d.media.size() < base.size())
        return Error{"the remote offer has " + std::to_string(d.media.size()) +
                     " m-lines, fewer than the " + std::to_string(base.size()) +
                     " already negotiated (RFC 8829 §5.8)"};
    std::vector<Section> list;
    bool dataTaken = false;
    for (size_t i = 0; i < d.media.size(); ++i) {
        const auto& m = d.media[i];
        std::string mid = m.mid.empty() ? std::to_string(i) : m.mid;
        Section s = i < base.size() ? base[i] : Section{};
        // A section keeps its mid unless the peer recycles a rejected one (RFC 8829 §5.2.2).
        if (i < base.size() && s.mid != mid && !s.rejected)
            return Error{"the remote offer changes the mid of m-line " + std::to_string(i) +
                         " from '" + s.mid + "' to '" + mid + "'"};
        for (const auto& other : list)
            if (other.mid == mid) return Error{"the remote offer uses mid '" + mid + "' twice"};
        s.mid = mid;
        s.kind = kindOf(m);
        s.remote = m;
        if (isMedia(s)) {
            // Audio and video with a codec Tincan has: a transceiver of ours takes the section
            // (one added by addTrack and not yet in any section), or a receive-only one is made.
            s.rejected = m.rejected() || !chooseCodec(m, s.kind);
            if (!s.rejected && !s.wish) {
                auto placed = [&](int id) {
                    auto has = [&](const Section& x) { return x.wish == id; };
                    return std::any_of(base.begin(), base.end(), has) ||
                           std::any_of(list.begin(), list.end(), has);
                };
                for (const auto& w : wishes_) {
                    if (w.kind == s.kind && !placed(w.id)) {
                        s.wish = w.id;
                        break;
                    }
                }
                if (!s.wish) {
                    MediaWish w;
                    w.id = nextWishId_++;
                    w.kind = s.kind;
                    w.direction = sdp::Direction::RecvOnly;
                    w.fromRemote = true;
                    w.ssrc = nextSsrc();
                    if (w.kind == SectionKind::Video) w.rtxSsrc = nextSsrc();
                    s.wish = w.id;
                    wishes_.push_back(std::move(w));
                }
            }
            const MediaWish* w = s.wish ? findWish(*s.wish) : nullptr;
            s.direction = s.rejected || !w ? sdp::Direction::Inactive
                                           : answerDirection(w->direction, m.direction);
        } else {
            // Tincan accepts one data section.
            s.rejected = m.rejected() || s.kind != SectionKind::Data || dataTaken;
            if (s.kind == SectionKind::Data && !s.rejected) dataTaken = true;
            s.direction = s.rejected ? sdp::Direction::Inactive : sdp::Direction::SendRecv;
        }
        list.push_back(std::move(s));
    }
    auto params = remoteParams(d, list, true);
    if (!params) return params;
    staged_ = std::move(list);
    stagedByRemote_ = true;
    offerHadBundle_ = !d.bundleGroup.empty();
    return params;
}

Result<void> Negotiator::setLocalAnswer(const sdp::SessionDescription& d) {
    if (!staged_ || !stagedByRemote_)
        return Error{"cannot set a local answer without a remote offer"};
    if (d.media.size() != staged_->size())
        return Error{"the local answer does not mirror the offer's m-lines"};
    for (size_t i = 0; i < d.media.size(); ++i) {
        auto& s = (*staged_)[i];
        s.rejected = d.media[i].rejected();
        s.direction = d.media[i].direction;
        s.current = s.rejected ? std::nullopt : std::optional(s.direction);
    }
    agreed_ = std::move(*staged_);
    staged_.reset();
    wantData_ = false;
    return {};
}

Result<RemoteParams> Negotiator::setRemoteAnswer(const sdp::SessionDescription& d) {
    if (!staged_ || stagedByRemote_)
        return Error{"cannot apply a remote answer without a local offer"};
    const auto& offered = *staged_;
    if (d.media.size() != offered.size())
        return Error{"the remote answer has " + std::to_string(d.media.size()) +
                     " m-lines for the " + std::to_string(offered.size()) +
                     " offered (RFC 8829 §5.3.1)"};
    std::vector<Section> list = offered;
    for (size_t i = 0; i < d.media.size(); ++i) {
        const auto& m = d.media[i];
        if (!m.mid.empty() && m.mid != list[i].mid)
            return Error{"the remote answer's m-line " + std::to_string(i) + " has mid '" + m.mid +
                         "', offered '" + list[i].mid + "'"};
        list[i].remote = m;
        list[i].rejected = list[i].rejected || m.rejected();
        list[i].current = list[i].rejected
                              ? std::nullopt
                              : std::optional(answerDirection(list[i].direction, m.direction));
    }
    auto params = remoteParams(d, list, false);
    if (!params) return params;
    agreed_ = std::move(list);
    staged_.reset();
    wantData_ = false;
    return params;
}

void Negotiator::rollback() {
    staged_.reset();
    stagedByRemote_ = false;
}

std::string Negotiator::transportMid() const {
    const auto& list = current();
    for (const auto& s : list)
        if (!s.rejected) return s.mid;
    return "0";
}

int Negotiator::transportIndex() const {
    const auto& list = current();
    for (size_t i = 0; i < list.size(); ++i)
        if (!list[i].rejected) return int(i);
    return 0;
}

}  // namespace tincan::pc::jsep
