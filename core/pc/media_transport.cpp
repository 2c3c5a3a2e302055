#include "core/pc/media_transport.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

namespace tincan::pc {

namespace {

int64_t toUs(Timestamp t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

constexpr Duration kReportInterval = 1000ms;   // RFC 3550 §6.2 at WebRTC rates (as libwebrtc)
constexpr uint32_t kAudioBitrateBps = 40'000;  // Opus at 20 ms with FEC, headers included
constexpr size_t kSrtpOverheadBytes = 16;      // the auth tag, for the controller's sizes
constexpr size_t kMaxQueuedPackets = 4096;
constexpr uint64_t kMinRembBps = 30'000;      // the controller's own floor and ceiling
constexpr uint64_t kMaxRembBps = 10'000'000;  // a stalled pacer drops instead of growing

}  // namespace

struct MediaTransport::RecvStream {
    RecvStream(uint32_t ssrc, uint32_t clockRate, bool nack)
        : statistics(ssrc, {.clockRateHz = clockRate ? clockRate : 90000}) {
        if (nack) nackGenerator.emplace();
    }
    rtp::ReceiveStatistics statistics;
    std::optional<rtp::NackGenerator> nackGenerator;
    // The last kSeen sequence numbers taken: a second copy (a late RTX resend, probe padding
    // that repeats a packet) is dropped before it skews the statistics.
    static constexpr size_t kSeen = 1024;
    rtp::SeqUnwrapper unwrapper;
    std::vector<int64_t> seen = std::vector<int64_t>(kSeen, std::numeric_limits<int64_t>::min());
    bool duplicate(uint16_t seq) {
        // Unwrapped numbers go below zero when older packets follow the first: the slot is
        // taken modulo kSeen from the positive side.
        int64_t u = unwrapper.unwrap(seq);
        int64_t& slot = seen[size_t(((u % int64_t(kSeen)) + int64_t(kSeen)) % int64_t(kSeen))];
        if (slot == u) return true;
        slot = u;
        return false;
    }
};

struct MediaTransport::Section {
    MediaSectionConfig cfg;
    uint16_t seq = 0;
    uint16_t rtxSeq = 0;
    std::optional<rtp::SendStatistics> sendStatistics;
    rtp::PacketHistory history;
    rtp::RttEstimator rtt;
    std::map<uint32_t, RecvStream> recv;
    MediaSectionStats counters;
    uint32_t lastTargetBps = 0;
    uint8_t firSeq = 0;
};

MediaTransport::MediaTransport(Random& random, int64_t wallClockOffsetUs)
    : random_(random), wallClockOffsetUs_(wallClockOffsetUs), fallbackSsrc_(random.next32()) {}

MediaTransport::~MediaTransport() = default;

uint64_t MediaTransport::ntpNow(Timestamp now) const {
    return rtp::ntpFromUnixUs(toUs(now) + wallClockOffsetUs_);
}

// With transport-wide feedback the send-side controller decides. A peer without it (aiortc)
// reports its receive-side estimate in REMB instead: that is the target, as libwebrtc does; with
// neither, the controller's start rate stays.
uint64_t MediaTransport::targetBitrateBps() const {
    if (config_.transportCc || !rembBps_) return cc_.targetBitrateBps();
    return std::clamp<uint64_t>(*rembBps_, kMinRembBps, kMaxRembBps);
}

MediaTransport::Section* MediaTransport::findSection(const std::string& mid) {
    for (auto& s : sections_)
        if (s->cfg.mid == mid) return s.get();
    return nullptr;
}

uint32_t MediaTransport::rtcpSsrc() const {
    for (const auto& s : sections_)
        if (s->cfg.localSsrc) return s->cfg.localSsrc;
    return fallbackSsrc_;
}

void MediaTransport::configure(Timestamp /*now: kept for the sans-IO shape*/, MediaConfig config) {
    std::vector<std::unique_ptr<Section>> next;
    for (auto& c : config.sections) {
        std::unique_ptr<Section> s;
        for (auto& old : sections_)
            if (old && old->cfg.mid == c.mid) s = std::move(old);
        if (!s) {
            s = std::make_unique<Section>();
            s->seq = uint16_t(random_.next32());
            s->rtxSeq = uint16_t(random_.next32());
        }
        if (!s->sendStatistics || s->cfg.localSsrc != c.localSsrc)
            s->sendStatistics.emplace(c.localSsrc, c.codec.clockRate ? c.codec.clockRate : 90000);
        s->cfg = c;
        s->counters.mid = c.mid;
        s->counters.kind = c.kind;
        s->counters.codec = c.codec;
        s->counters.localSsrc = c.localSsrc;
        next.push_back(std::move(s));
    }
    sections_ = std::move(next);
    config_ = std::move(config);
    config_.sections.clear();  // the sections keep their own
    // SSRCs the peer announced; those learned from packets stay while their section does.
    std::map<uint32_t, Section*> map;
    for (auto& s : sections_) {
        for (uint32_t ssrc : s->cfg.remoteSsrcs) map[ssrc] = s.get();
        for (auto [rtx, media] : s->cfg.remoteRtxToMedia) map[rtx] = s.get();
    }
    for (auto [ssrc, section] : ssrcToSection_) {
        if (map.count(ssrc)) continue;
        for (auto& s : sections_)
            if (s.get() == section) map[ssrc] = section;
    }
    ssrcToSection_ = std::move(map);
    twcc_ = rtp::TwccGenerator({.senderSsrc = rtcpSsrc()});
    allocate();
}

void MediaTransport::handleSrtpKeys(Timestamp now, const dtls::SrtpKeyingMaterial& keys,
                                    dtls::Role role) {
    if (keys_ && keys_->first == keys && keys_->second == role) return;
    keys_ = {keys, role};
    auto session = srtp::SrtpSession::create(keys, role);
    if (!session) {
        spdlog::warn("media: SRTP could not start: {}", session.error().message);
        srtp_.reset();
        return;
    }
    srtp_ = std::move(session).value();
    nextReport_ = now + 100ms;  // the first report soon: the peer learns our SSRCs and CNAME
    pacer_.setTargetBitrate(targetBitrateBps());
    allocate();
}

std::optional<srtp::SrtpStats> MediaTransport::srtpStats() const {
    if (!srtp_) return std::nullopt;
    return srtp_->stats();
}

uint16_t MediaTransport::srtpProfile() const {
    return srtp_ ? srtp_->profile() : 0;
}

// ---- Receiving ----

void MediaTransport::handleIncoming(Timestamp now, ByteView packet) {
    if (!srtp_) {
        stats_.beforeKeysDropped++;
        return;
    }
    Bytes buf(packet.begin(), packet.end());
    if (rtp::looksLikeRtcp(buf)) {
        auto n = srtp_->unprotectRtcp(buf);
        if (!n) {
            stats_.srtpFailed++;
            return;
        }
        buf.resize(*n);
        handleRtcp(now, std::move(buf));
    } else {
        auto n = srtp_->unprotectRtp(buf);
        if (!n) {
            stats_.srtpFailed++;
            return;
        }
        buf.resize(*n);
        handleRtp(now, std::move(buf));
    }
}

void MediaTransport::handlePlaintext(Timestamp now, Bytes packet) {
    if (rtp::looksLikeRtcp(packet))
        handleRtcp(now, std::move(packet));
    else
        handleRtp(now, std::move(packet));
}

// RFC 8843 §9.2: an SSRC seen before, then the MID header extension, then a payload type that
// only one section can receive.
MediaTransport::Section* MediaTransport::demux(const rtp::RtpPacketView& p, bool* isRtx) {
    Section* s = nullptr;
    if (auto it = ssrcToSection_.find(p.ssrc); it != ssrcToSection_.end()) s = it->second;
    if (!s && config_.midExtensionId) {
        if (auto mid = rtp::readMid(p, config_.midExtensionId)) s = findSection(std::string(*mid));
    }
    if (!s) {
        Section* only = nullptr;
        int matches = 0;
        for (auto& c : sections_) {
            const auto& pts = c->cfg.remotePayloadTypes;
            if (std::find(pts.begin(), pts.end(), int(p.payloadType)) != pts.end() ||
                c->cfg.remoteRtxPayloadTypes.count(p.payloadType)) {
                only = c.get();
                ++matches;
            }
        }
        if (matches == 1) s = only;
    }
    if (!s || !s->cfg.recv) return nullptr;
    ssrcToSection_[p.ssrc] = s;
    *isRtx = s->cfg.remoteRtxPayloadTypes.count(p.payloadType) > 0;
    return s;
}

void MediaTransport::handleRtp(Timestamp now, Bytes buf) {
    auto parsed = rtp::parseRtp(buf);
    if (!parsed) {
        stats_.rtpMalformedDropped++;
        return;
    }
    bool isRtx = false;
    const rtp::RtpPacketView* outer = &*parsed;
    Section* s = demux(*outer, &isRtx);
    if (!s) {
        stats_.rtpUnknownSsrcDropped++;
        return;
    }
    // Transport-wide feedback covers every packet of the bundle, RTX and padding included.
    if (config_.transportCc && config_.transportCcExtensionId) {
        if (auto seq = rtp::readTransportSequenceNumber(*outer, config_.transportCcExtensionId)) {
            twcc_.onPacket(now, *seq);
            twccMediaSsrc_ = outer->ssrc;
        }
    }
    rtp::RtpPacketView view = *outer;
    if (isRtx) {
        if (outer->payload.size() <= 2) return;  // padding only (RFC 4588 §4 probes)
        uint32_t mediaSsrc = 0;
        if (auto it = s->cfg.remoteRtxToMedia.find(outer->ssrc);
            it != s->cfg.remoteRtxToMedia.end())
            mediaSsrc = it->second;
        else if (!s->cfg.remoteSsrcs.empty())
            mediaSsrc = s->cfg.remoteSsrcs.front();
        else if (!s->recv.empty())
            mediaSsrc = s->recv.begin()->first;
        int apt = s->cfg.remoteRtxPayloadTypes[outer->payloadType];
        auto original = rtp::unwrapRtx(*outer, mediaSsrc, uint8_t(apt));
        if (!original) {
            stats_.rtxMalformedDropped++;
            return;
        }
        buf = std::move(original).value();
        auto again = rtp::parseRtp(buf);
        if (!again) {
            stats_.rtxMalformedDropped++;
            return;
        }
        view = *again;
    }
    auto [it, fresh] = s->recv.try_emplace(view.ssrc, view.ssrc, s->cfg.codec.clockRate,
                                           s->cfg.kind == MediaKind::Video && s->cfg.nack);
    RecvStream& r = it->second;
    if (r.duplicate(view.sequenceNumber)) {
        stats_.duplicatesDropped++;
        return;
    }
    r.statistics.onPacket(now, view.sequenceNumber, view.timestamp, isRtx);
    if (r.nackGenerator) r.nackGenerator->onPacket(now, view.sequenceNumber);
    auto& c = s->counters;
    c.remoteSsrc = view.ssrc;
    c.packetsReceived++;
    c.bytesReceived += view.payload.size();
    c.headerBytesReceived += view.headerSize;
    if (isRtx) c.retransmittedPacketsReceived++;
    c.lastPacketReceived = now;

    media_event::RtpReceived e;
    e.mid = s->cfg.mid;
    e.ssrc = view.ssrc;
    e.payloadType = view.payloadType;
    e.sequenceNumber = view.sequenceNumber;
    e.rtpTimestamp = view.timestamp;
    e.marker = view.marker;
    e.retransmitted = isRtx;
    e.payloadOffset = size_t(view.payload.data() - buf.data());
    e.payloadSize = view.payload.size();
    e.arrival = now;
    e.packet = std::move(buf);  // the views above stay valid: moving a vector keeps its storage
    events_.emplace_back(std::move(e));
}

void MediaTransport::handleRtcp(Timestamp now, Bytes buf) {
    auto compound = rtp::parseRtcp(buf);
    stats_.rtcpMalformedDropped += compound.dropped.size();
    auto sectionBySsrc = [&](uint32_t ssrc) -> Section* {
        for (auto& s : sections_)
            if (s->cfg.localSsrc == ssrc) return s.get();
        return nullptr;
    };
    auto onBlocks = [&](const std::vector<rtp::ReportBlock>& blocks) {
        for (const auto& b : blocks) {
            Section* s = sectionBySsrc(b.ssrc);
            if (!s) continue;
            auto& c = s->counters;
            c.remoteReportSeen = true;
            c.remotePacketsLost = b.cumulativeLost;
            c.remoteFractionLost = b.fractionLost / 256.0;
            c.remoteJitter = s->cfg.codec.clockRate ? double(b.jitter) / s->cfg.codec.clockRate : 0;
            if (auto rtt = s->rtt.onReportBlock(now, b)) {
                c.roundTripTime = std::chrono::duration<double>(*rtt).count();
                cc_.onRtt(*rtt);
                for (auto& sec : sections_)
                    for (auto& [ssrc, r] : sec->recv)
                        if (r.nackGenerator) r.nackGenerator->onRtt(*rtt);
            }
        }
    };
    bool estimateChanged = false;
    for (const auto& packet : compound.packets) {
        if (auto* sr = std::get_if<rtp::SenderReport>(&packet)) {
            if (auto it = ssrcToSection_.find(sr->ssrc); it != ssrcToSection_.end()) {
                auto r = it->second->recv.find(sr->ssrc);
                if (r != it->second->recv.end()) {
                    r->second.statistics.onSenderReport(now, sr->ntpTime);
                    events_.emplace_back(media_event::SenderReportReceived{
                        it->second->cfg.mid, sr->ssrc, sr->ntpTime, sr->rtpTimestamp, now});
                }
            }
            onBlocks(sr->reports);
        } else if (auto* rr = std::get_if<rtp::ReceiverReport>(&packet)) {
            onBlocks(rr->reports);
        } else if (auto* nack = std::get_if<rtp::Nack>(&packet)) {
            onNack(now, *nack);
        } else if (auto* pli = std::get_if<rtp::Pli>(&packet)) {
            if (Section* s = sectionBySsrc(pli->mediaSsrc)) {
                s->counters.pliCount++;
                events_.emplace_back(media_event::KeyframeRequested{s->cfg.mid});
            }
        } else if (auto* fir = std::get_if<rtp::Fir>(&packet)) {
            for (const auto& entry : fir->entries) {
                if (Section* s = sectionBySsrc(entry.ssrc)) {
                    s->counters.firCount++;
                    events_.emplace_back(media_event::KeyframeRequested{s->cfg.mid});
                }
            }
        } else if (auto* remb = std::get_if<rtp::Remb>(&packet)) {
            cc_.onRemb(now, remb->bitrateBps);
            rembBps_ = remb->bitrateBps;
            estimateChanged = true;
        } else if (auto* fb = std::get_if<rtp::TransportFeedback>(&packet)) {
            cc_.onTransportFeedback(now, *fb);
            estimateChanged = true;
        }
    }
    if (estimateChanged) {
        pacer_.setTargetBitrate(targetBitrateBps());
        while (auto probe = cc_.pollProbe()) pacer_.startProbe(*probe);
        allocate();
    }
}

// RFC 4585 §6.2.1 → RFC 4588: resend what is still in the history, in an RTX packet when RTX
// was negotiated; PacketHistory refuses a second resend within one RTT.
void MediaTransport::onNack(Timestamp now, const rtp::Nack& nack) {
    Section* s = nullptr;
    for (auto& c : sections_)
        if (c->cfg.localSsrc == nack.mediaSsrc) s = c.get();
    if (!s) return;
    s->counters.nackCount++;
    Duration rtt = s->rtt.latestRtt().value_or(100ms);
    for (uint16_t seq : nack.lostSeqs) {
        const Bytes* stored = s->history.getForResend(now, seq, rtt);
        if (!stored) continue;
        Bytes packet;
        if (s->cfg.rtxPayloadType && s->cfg.localRtxSsrc) {
            auto parsed = rtp::parseRtp(*stored);
            if (!parsed) continue;
            packet = rtp::wrapRtx(*parsed, s->cfg.localRtxSsrc, uint8_t(*s->cfg.rtxPayloadType),
                                  s->rtxSeq++);
        } else {
            packet = *stored;
        }
        if (queued_.size() >= kMaxQueuedPackets) break;
        s->counters.retransmittedPacketsSent++;
        s->counters.retransmittedBytesSent += packet.size();
        uint64_t handle = nextHandle_++;
        pacer_.enqueue(now, handle, packet.size(), cc::PacketKind::Retransmission);
        queued_.emplace(handle, std::make_pair(std::move(packet), cc::PacketKind::Retransmission));
    }
    runPacer(now);
}

// ---- Sending ----

bool MediaTransport::sendFrame(Timestamp now, const std::string& mid, OutgoingFrame frame) {
    Section* s = findSection(mid);
    if (!s || !s->cfg.send || !srtp_) return false;
    if (queued_.size() + frame.packets.size() > kMaxQueuedPackets) return false;
    auto& c = s->counters;
    bool video = s->cfg.kind == MediaKind::Video;
    if (video) {
        c.framesEncoded++;
        if (frame.keyframe) c.keyFramesEncoded++;
        c.qpSum += frame.qp;
        c.totalEncodeTime += frame.encodeTimeSeconds;
        if (frame.width) c.frameWidth = frame.width;
        if (frame.height) c.frameHeight = frame.height;
    }
    Timestamp capture = frame.captureTime == Timestamp{} ? now : frame.captureTime;
    for (auto& p : frame.packets) {
        rtp::RtpHeader h;
        h.marker = p.marker;
        h.payloadType = uint8_t(s->cfg.codec.payloadType);
        h.sequenceNumber = s->seq++;
        h.timestamp = p.rtpTimestamp;
        h.ssrc = s->cfg.localSsrc;
        if (config_.midExtensionId) h.setExtension(config_.midExtensionId, asBytes(mid));
        if (config_.absSendTimeExtensionId)
            h.setExtension(config_.absSendTimeExtensionId, rtp::absSendTimeValue(0));
        if (config_.transportCcExtensionId)
            h.setExtension(config_.transportCcExtensionId, rtp::transportSequenceNumberValue(0));
        Bytes packet = rtp::serializeRtp(h, p.payload);
        if (packet.empty()) continue;
        s->sendStatistics->onPacketSent(p.payload.size(), p.rtpTimestamp, capture);
        c.packetsSent++;
        c.bytesSent += p.payload.size();
        c.headerBytesSent += packet.size() - p.payload.size();
        if (video) s->history.put(now, h.sequenceNumber, packet);
        auto kind = video ? cc::PacketKind::Video : cc::PacketKind::Audio;
        uint64_t handle = nextHandle_++;
        pacer_.enqueue(now, handle, packet.size(), kind);
        queued_.emplace(handle, std::make_pair(std::move(packet), kind));
    }
    runPacer(now);
    return true;
}

void MediaTransport::requestKeyframe(Timestamp now, const std::string& mid) {
    Section* s = findSection(mid);
    if (!s || !srtp_) return;
    std::vector<rtp::RtcpPacket> packets;
    for (auto& [ssrc, r] : s->recv) {
        if (s->cfg.pli || !s->cfg.fir) {
            packets.push_back(rtp::Pli{s->cfg.localSsrc ? s->cfg.localSsrc : rtcpSsrc(), ssrc});
        } else {
            packets.push_back(rtp::Fir{rtcpSsrc(), {{ssrc, ++s->firSeq}}});
        }
        s->counters.pliSent++;
    }
    (void)now;
    if (!packets.empty()) sendRtcp(std::move(packets), true);
}

void MediaTransport::runPacer(Timestamp now) {
    while (auto send = pacer_.poll(now)) {
        if (send->type == cc::PacedSend::Type::Media) {
            auto it = queued_.find(send->id);
            if (it == queued_.end()) continue;
            Bytes packet = std::move(it->second.first);
            bool video = it->second.second == cc::PacketKind::Video;
            queued_.erase(it);
            if (video) lastVideoPacket_ = packet;
            transmit(now, std::move(packet), send->probeClusterId);
            continue;
        }
        // Padding for a probe: the last video packet again, in RTX (the receiver drops the
        // duplicate); without RTX there is nothing harmless to send.
        if (lastVideoPacket_.empty()) continue;
        for (auto& s : sections_) {
            if (s->cfg.kind != MediaKind::Video || !s->cfg.rtxPayloadType || !s->cfg.localRtxSsrc)
                continue;
            auto parsed = rtp::parseRtp(lastVideoPacket_);
            if (!parsed || parsed->ssrc != s->cfg.localSsrc) continue;
            Bytes rtx = rtp::wrapRtx(*parsed, s->cfg.localRtxSsrc, uint8_t(*s->cfg.rtxPayloadType),
                                     s->rtxSeq++);
            stats_.paddingPacketsSent++;
            transmit(now, std::move(rtx), send->probeClusterId);
            break;
        }
    }
}

void MediaTransport::transmit(Timestamp now, Bytes packet, int probeId) {
    if (!srtp_) return;
    if (config_.transportCcExtensionId) {
        uint16_t seq = transportSeq_++;
        if (rtp::writeExtensionInPlace(packet, config_.transportCcExtensionId,
                                       rtp::transportSequenceNumberValue(seq))) {
            cc_.onPacketSent({seq, now, packet.size() + kSrtpOverheadBytes, probeId});
            // The initial probes (3x and 6x the start rate, asked for at the first packet) carry
            // the rest of the first keyframe out at their rate instead of the start rate's.
            while (auto probe = cc_.pollProbe()) pacer_.startProbe(*probe);
        }
    }
    if (config_.absSendTimeExtensionId)
        rtp::writeExtensionInPlace(packet, config_.absSendTimeExtensionId,
                                   rtp::absSendTimeValue(rtp::absSendTimeFromUs(
                                       uint64_t(toUs(now) + wallClockOffsetUs_))));
    if (!srtp_->protectRtp(packet)) return;
    out_.push_back(std::move(packet));
}

// The controller's estimate shared out: a fixed share per audio sender, the rest to video.
void MediaTransport::allocate() {
    uint64_t total = targetBitrateBps();
    size_t audio = 0, video = 0;
    for (auto& s : sections_) {
        if (!s->cfg.send) continue;
        (s->cfg.kind == MediaKind::Audio ? audio : video)++;
    }
    uint64_t audioEach = std::min<uint64_t>(kAudioBitrateBps, audio ? total / (2 * audio) : 0);
    uint64_t videoEach = video ? (total - audioEach * audio) / video : 0;
    for (auto& s : sections_) {
        if (!s->cfg.send) continue;
        uint32_t bps = uint32_t(s->cfg.kind == MediaKind::Audio ? audioEach : videoEach);
        s->counters.targetBitrate = bps;
        uint32_t last = s->lastTargetBps;
        bool changed = last == 0 || bps > last + last / 20 || bps + last / 20 < last;
        if (!changed) continue;
        s->lastTargetBps = bps;
        events_.emplace_back(media_event::TargetBitrate{s->cfg.mid, bps});
    }
}

// ---- RTCP out ----

void MediaTransport::sendRtcp(std::vector<rtp::RtcpPacket> packets, bool feedback) {
    if (!srtp_ || packets.empty()) return;
    // RFC 3550 §6.1: a compound packet starts with SR/RR and carries SDES CNAME; RFC 5506 lets
    // feedback go alone when reduced-size RTCP was negotiated.
    if (feedback && !config_.reducedSizeRtcp) {
        packets.insert(packets.begin(), rtp::ReceiverReport{rtcpSsrc(), {}});
        packets.insert(packets.begin() + 1, rtp::Sdes{{{rtcpSsrc(), config_.cname}}});
    }
    Bytes compound = rtp::serializeRtcp(packets);
    if (compound.empty() || !srtp_->protectRtcp(compound)) return;
    out_.push_back(std::move(compound));
}

void MediaTransport::sendReports(Timestamp now) {
    nextReport_ = now + kReportInterval;
    std::vector<rtp::ReportBlock> blocks;
    for (auto& s : sections_)
        for (auto& [ssrc, r] : s->recv)
            if (r.statistics.valid() && blocks.size() < 31)
                blocks.push_back(r.statistics.makeReportBlock(now));
    std::vector<rtp::RtcpPacket> packets;
    uint64_t ntp = ntpNow(now);
    for (auto& s : sections_) {
        if (!s->cfg.send || !s->sendStatistics) continue;
        auto sr = s->sendStatistics->makeSenderReport(now, ntp);
        if (!sr) continue;
        if (packets.empty()) sr->reports = blocks;
        s->rtt.onSenderReportSent(now, ntp);
        packets.push_back(std::move(*sr));
    }
    if (packets.empty()) packets.push_back(rtp::ReceiverReport{rtcpSsrc(), blocks});
    packets.push_back(rtp::Sdes{{{rtcpSsrc(), config_.cname}}});
    sendRtcp(std::move(packets), false);
}

void MediaTransport::pollFeedback(Timestamp now) {
    while (auto fb = twcc_.pollFeedback(now)) {
        fb->senderSsrc = rtcpSsrc();
        // libwebrtc takes transport feedback only when its media SSRC is one it sends (and
        // otherwise backs off as if no feedback came): the latest SSRC seen, as libwebrtc's own.
        fb->mediaSsrc = twccMediaSsrc_;
        sendRtcp({*fb}, true);
    }
    for (auto& s : sections_) {
        for (auto& [ssrc, r] : s->recv) {
            if (!r.nackGenerator) continue;
            auto seqs = r.nackGenerator->pollNack(now);
            uint32_t sender = s->cfg.localSsrc ? s->cfg.localSsrc : rtcpSsrc();
            if (!seqs.empty()) {
                s->counters.nackSent++;
                sendRtcp({rtp::Nack{sender, ssrc, std::move(seqs)}}, true);
            }
            if (r.nackGenerator->pollKeyframeNeeded() && s->cfg.pli) {
                s->counters.pliSent++;
                sendRtcp({rtp::Pli{sender, ssrc}}, true);
            }
        }
    }
}

void MediaTransport::handleTimeout(Timestamp now) {
    if (!srtp_) return;
    runPacer(now);
    pollFeedback(now);
    if (now >= nextReport_) sendReports(now);
}

std::optional<Timestamp> MediaTransport::pollTimeout() const {
    if (!srtp_) return std::nullopt;
    std::optional<Timestamp> t = nextReport_;
    auto consider = [&](std::optional<Timestamp> c) {
        if (c && (!t || *c < *t)) t = c;
    };
    consider(pacer_.pollTimeout());
    if (config_.transportCc) consider(twcc_.pollTimeout());
    for (const auto& s : sections_)
        for (const auto& [ssrc, r] : s->recv)
            if (r.nackGenerator) consider(r.nackGenerator->pollTimeout());
    return t;
}

std::optional<Bytes> MediaTransport::pollOutgoing() {
    if (out_.empty()) return std::nullopt;
    Bytes b = std::move(out_.front());
    out_.pop_front();
    return b;
}

std::optional<MediaEvent> MediaTransport::pollEvent() {
    if (events_.empty()) return std::nullopt;
    MediaEvent e = std::move(events_.front());
    events_.pop_front();
    return e;
}

std::vector<MediaSectionStats> MediaTransport::sectionStats() const {
    std::vector<MediaSectionStats> out;
    for (const auto& s : sections_) {
        MediaSectionStats c = s->counters;
        for (const auto& [ssrc, r] : s->recv) {
            if (c.remoteSsrc && *c.remoteSsrc != ssrc) continue;
            c.packetsLost = r.statistics.cumulativeLost();
            c.jitter = s->cfg.codec.clockRate
                           ? double(r.statistics.jitterRtpUnits()) / s->cfg.codec.clockRate
                           : 0;
        }
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace tincan::pc
