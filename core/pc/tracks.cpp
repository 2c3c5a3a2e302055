// Media tracks for PeerConnection: tincan::Track (include/tincan/track.hpp), the transceivers'
// side of negotiation (jsep wishes ↔ tracks), the media transport's configuration after each
// offer/answer, the media part of the event route, and the RTP stats.
#include <spdlog/spdlog.h>

#include "core/pc/peer_connection.hpp"

namespace tincan {

namespace {

sdp::Direction toSdp(Direction d) {
    return sdp::Direction(uint8_t(d));
}
Direction fromSdp(sdp::Direction d) {
    return Direction(uint8_t(d));
}
bool sends(Direction d) {
    return d == Direction::SendRecv || d == Direction::SendOnly;
}
bool receives(Direction d) {
    return d == Direction::SendRecv || d == Direction::RecvOnly;
}

}  // namespace

Track::Track(std::weak_ptr<pc::PeerConnection> pc, int id, MediaKind kind, TrackInit init)
    : pc_(std::move(pc)),
      id_(id),
      kind_(kind),
      init_(std::move(init)),
      direction_(init_.direction) {}

std::string Track::mid() const {
    std::lock_guard lock(mutex_);
    return mid_;
}

std::optional<RtpCodec> Track::codec() const {
    std::lock_guard lock(mutex_);
    return codec_;
}

std::optional<Direction> Track::currentDirection() const {
    std::lock_guard lock(mutex_);
    return currentDirection_;
}

bool Track::sending() const {
    if (!ready_) return false;
    std::lock_guard lock(mutex_);
    return !ended_ && currentDirection_ && sends(*currentDirection_);
}

void Track::setCallbacks(Callbacks callbacks) {
    auto next = std::make_shared<const Callbacks>(std::move(callbacks));
    {
        std::lock_guard lock(mutex_);
        if (ended_) return;  // `next` (and what it captured) goes here, outside both locks
    }
    std::lock_guard lock(callbackMutex_);
    callbacks_.swap(next);
}

void Track::releaseCallbacks() {
    auto released = std::make_shared<const Callbacks>();
    std::lock_guard lock(callbackMutex_);
    released.swap(callbacks_);
}

void Track::fire(const std::function<void(const Callbacks&)>& f) {
    std::shared_ptr<const Callbacks> current;
    {
        std::lock_guard lock(callbackMutex_);
        current = callbacks_;
    }
    f(*current);
}

void Track::setDirection(Direction direction) {
    direction_ = direction;
    auto pc = pc_.lock();
    if (!pc) return;
    pc->runtime_.post([pc, id = id_, direction] {
        if (pc->closed_) return;
        if (pc->negotiator_.setWishDirection(id, toSdp(direction)) &&
            pc->callbacks_.onNegotiationNeeded)
            pc->callbacks_.onNegotiationNeeded();
    });
}

bool Track::sendFrame(OutgoingFrame frame) {
    if (!sending()) return false;
    auto pc = pc_.lock();
    if (!pc) return false;
    std::string mid = this->mid();
    pc->runtime_.post(
        [pc, self = shared_from_this(), mid = std::move(mid), frame = std::move(frame)]() mutable {
            auto* media = pc->connection_->media();
            if (pc->closed_ || !media) return;
            auto now = pc->runtime_.now();
            if (!media->sendFrame(now, mid, std::move(frame))) {
                // Refused (the pacer's queue is full): the receiver's decoder now misses a frame
                // that later ones may refer to, so the sender's next frame must be a keyframe.
                self->fire([](const Callbacks& c) {
                    if (c.onKeyframeRequest) c.onKeyframeRequest();
                });
            }
            pc->connection_->update(now);
        });
    return true;
}

void Track::requestKeyframe() {
    auto pc = pc_.lock();
    if (!pc) return;
    pc->runtime_.post([pc, mid = this->mid()] {
        auto* media = pc->connection_->media();
        if (pc->closed_ || !media) return;
        auto now = pc->runtime_.now();
        media->requestKeyframe(now, mid);
        pc->connection_->update(now);
    });
}

void Track::end() {
    {
        std::lock_guard lock(mutex_);
        if (ended_) return;
        ended_ = true;
    }
    fire([](const Callbacks& c) {
        if (c.onEnded) c.onEnded();
    });
    releaseCallbacks();
}

void Track::reportReceivedStats(const ReceivedMediaStats& stats) {
    std::lock_guard lock(mutex_);
    received_ = stats;
}

void Track::reportSourceStats(const CapturedMediaStats& stats) {
    std::lock_guard lock(mutex_);
    captured_ = stats;
}

std::optional<RemoteSenderClock> Track::remoteSenderClock() const {
    std::lock_guard lock(mutex_);
    return senderClock_;
}

namespace pc {

Result<std::shared_ptr<Track>> PeerConnection::addTrack(MediaKind kind, const TrackInit& init) {
    return onLoop([this, kind, init]() -> Result<std::shared_ptr<Track>> {
        if (closed_) return Error{"the peer connection is closed"};
        jsep::MediaWish w;
        w.id = nextTrackId_++;
        w.kind = kind == MediaKind::Audio ? jsep::SectionKind::Audio : jsep::SectionKind::Video;
        w.direction = toSdp(init.direction);
        w.streamId = init.streamId.empty() ? "-" : init.streamId;
        w.trackId = init.trackId;
        int id = negotiator_.addMediaWish(w);
        // It may have taken over a transceiver made for the peer's offer (W3C addTrack): that
        // one's track is returned, now with our direction.
        std::shared_ptr<Track> track;
        if (auto it = tracks_.find(id); it != tracks_.end()) {
            track = it->second;
            track->direction_ = init.direction;
            track->init_ = init;
        } else {
            for (const auto& have : negotiator_.wishes())
                if (have.id == id) track = trackFor(have);
        }
        if (!track) return Error{"could not add the track"};
        if (callbacks_.onNegotiationNeeded) callbacks_.onNegotiationNeeded();
        return track;
    });
}

std::vector<std::shared_ptr<Track>> PeerConnection::tracks() const {
    return onLoop([this] {
        std::vector<std::shared_ptr<Track>> out;
        for (const auto& s : negotiator_.sections())
            if (s.wish)
                if (auto it = tracks_.find(*s.wish); it != tracks_.end()) out.push_back(it->second);
        for (const auto& [id, t] : tracks_)
            if (std::find(out.begin(), out.end(), t) == out.end()) out.push_back(t);
        return out;
    });
}

std::shared_ptr<Track> PeerConnection::trackFor(const jsep::MediaWish& wish) {
    if (auto it = tracks_.find(wish.id); it != tracks_.end()) return it->second;
    TrackInit init;
    init.direction = fromSdp(wish.direction);
    init.streamId = wish.streamId;
    init.trackId = wish.trackId;
    auto kind = wish.kind == jsep::SectionKind::Audio ? MediaKind::Audio : MediaKind::Video;
    std::shared_ptr<Track> track(new Track(weak_from_this(), wish.id, kind, std::move(init)));
    tracks_[wish.id] = track;
    return track;
}

// W3C ontrack at setRemoteDescription(offer): the peer's sections that it sends on, so that
// the application can attach (or add its own track) before answering.
void PeerConnection::announceRemoteTracks() {
    const auto* staged = negotiator_.staged();
    if (!staged) return;
    for (const auto& s : *staged) {
        if (!s.wish || s.rejected || !s.remote) continue;
        auto d = s.remote->direction;
        if (d != sdp::Direction::SendRecv && d != sdp::Direction::SendOnly) continue;
        const jsep::MediaWish* w = nullptr;
        for (const auto& have : negotiator_.wishes())
            if (have.id == *s.wish) w = &have;
        if (!w) continue;
        auto track = trackFor(*w);
        {
            std::lock_guard lock(track->mutex_);
            track->mid_ = s.mid;
        }
        if (announcedTracks_.insert(w->id).second && callbacks_.onTrack) callbacks_.onTrack(track);
    }
}

// After an answer: the media transport takes the agreed sections, the tracks their codecs.
void PeerConnection::applyMedia() {
    auto media = negotiator_.negotiatedMedia();
    if (media.empty() && !connection_->media()) return;
    MediaConfig config;
    config.cname = cname_;
    jsep::fillBundleMediaConfig(negotiator_.sections(), config);
    for (const auto& n : media) config.sections.push_back(n.config);
    connection_->configureMedia(runtime_.now(), config);

    std::map<std::string, std::shared_ptr<Track>> byMid;
    std::vector<std::pair<std::shared_ptr<Track>, RtpCodec>> negotiated;
    std::vector<std::shared_ptr<Track>> announce;
    for (const auto& n : media) {
        const jsep::MediaWish* w = nullptr;
        for (const auto& have : negotiator_.wishes())
            if (have.id == n.wish) w = &have;
        if (!w) continue;
        auto track = trackFor(*w);
        byMid[n.config.mid] = track;
        bool first = false;
        {
            std::lock_guard lock(track->mutex_);
            first = !track->codec_ || track->codec_->payloadType != n.config.codec.payloadType ||
                    track->mid_ != n.config.mid;
            track->mid_ = n.config.mid;
            track->codec_ = n.config.codec;
            track->currentDirection_ = fromSdp(n.current);
        }
        if (first) negotiated.emplace_back(track, n.config.codec);
        if (receives(fromSdp(n.current)) && announcedTracks_.insert(n.wish).second)
            announce.push_back(track);
    }
    // Tracks whose section was rejected or stopped end.
    for (auto& [mid, track] : tracksByMid_) {
        if (!byMid.count(mid)) track->end();
    }
    tracksByMid_ = std::move(byMid);
    markTracksReady();
    for (auto& track : announce)
        if (callbacks_.onTrack) callbacks_.onTrack(track);
    for (auto& [track, codec] : negotiated)
        track->fire([&codec = codec](const Track::Callbacks& c) {
            if (c.onNegotiated) c.onNegotiated(codec);
        });
}

void PeerConnection::onMediaEvent(MediaEvent& e) {
    if (auto* r = std::get_if<media_event::RtpReceived>(&e)) {
        auto it = tracksByMid_.find(r->mid);
        if (it == tracksByMid_.end()) return;
        RtpPacketIn p;
        p.ssrc = r->ssrc;
        p.payloadType = r->payloadType;
        p.sequenceNumber = r->sequenceNumber;
        p.rtpTimestamp = r->rtpTimestamp;
        p.marker = r->marker;
        p.retransmitted = r->retransmitted;
        p.payload = ByteView(r->packet.data() + r->payloadOffset, r->payloadSize);
        p.arrival = r->arrival;
        it->second->fire([&p](const Track::Callbacks& c) {
            if (c.onPacket) c.onPacket(p);
        });
    } else if (auto* k = std::get_if<media_event::KeyframeRequested>(&e)) {
        auto it = tracksByMid_.find(k->mid);
        if (it == tracksByMid_.end()) return;
        it->second->fire([](const Track::Callbacks& c) {
            if (c.onKeyframeRequest) c.onKeyframeRequest();
        });
    } else if (auto* sr = std::get_if<media_event::SenderReportReceived>(&e)) {
        auto it = tracksByMid_.find(sr->mid);
        if (it == tracksByMid_.end()) return;
        std::lock_guard lock(it->second->mutex_);
        it->second->senderClock_ =
            RemoteSenderClock{sr->ssrc, sr->ntpTime, sr->rtpTimestamp, sr->arrival};
    } else if (auto* b = std::get_if<media_event::TargetBitrate>(&e)) {
        auto it = tracksByMid_.find(b->mid);
        if (it == tracksByMid_.end()) return;
        it->second->targetBitrateBps_ = b->bitrateBps;
        uint32_t bps = b->bitrateBps;
        it->second->fire([bps](const Track::Callbacks& c) {
            if (c.onTargetBitrate) c.onTargetBitrate(bps);
        });
    }
}

// Frames can go out once the media transport has its SRTP keys.
void PeerConnection::markTracksReady() {
    const auto* media = connection_->media();
    if (!media || !media->ready()) return;
    for (auto& [mid, track] : tracksByMid_) track->ready_ = true;
}

void PeerConnection::endAllTracks() {
    for (auto& [id, track] : tracks_) track->end();
}

void PeerConnection::addMediaStats(StatsReport& report) const {
    const auto* media = connection_->media();
    if (!media) return;
    auto& t = *report.transport;
    const auto& ms = media->stats();
    if (auto srtp = media->srtpStats())
        t.srtpDropped = srtp->replayDropped + srtp->authFailed + srtp->otherDropped;
    t.rtpMalformedDropped = ms.rtpMalformedDropped + ms.rtxMalformedDropped;
    t.rtpUnknownSsrcDropped = ms.rtpUnknownSsrcDropped;
    t.rtcpMalformedDropped = ms.rtcpMalformedDropped;
    switch (media->srtpProfile()) {
        case 0x0001:
            t.srtpCipher = "AES_CM_128_HMAC_SHA1_80";
            break;
        case 0x0007:
            t.srtpCipher = "AEAD_AES_128_GCM";
            break;
        default:
            break;
    }
    // The track's `media-source` entry, when its capture side reported one; returns its id.
    auto addMediaSource = [&report](const Track& track) -> std::optional<std::string> {
        std::optional<CapturedMediaStats> captured;
        MediaSourceStats m;
        {
            std::lock_guard lock(track.mutex_);
            captured = track.captured_;
            m.id = std::string("SO") + (track.kind_ == MediaKind::Audio ? "A" : "V") + track.mid_;
        }
        if (!captured) return std::nullopt;
        m.kind = toString(track.kind_);
        m.trackIdentifier = track.init_.trackId;
        if (track.kind_ == MediaKind::Video) {
            m.width = captured->width;
            m.height = captured->height;
            m.frames = captured->frames;
            m.framesPerSecond = captured->framesPerSecond;
        } else {
            m.audioLevel = captured->audioLevel;
            m.totalAudioEnergy = captured->totalAudioEnergy;
            m.totalSamplesDuration = captured->totalSamplesDuration;
        }
        report.mediaSources.push_back(m);
        return m.id;
    };
    auto wallOffsetMs =
        report.timestampMs -
        std::chrono::duration<double, std::milli>(runtime_.now().time_since_epoch()).count();
    for (const auto& s : media->sectionStats()) {
        std::string kind = toString(s.kind);
        std::string codecId = "COT01_" + std::to_string(s.codec.payloadType);
        if (std::none_of(report.codecs.begin(), report.codecs.end(),
                         [&](const CodecStats& c) { return c.id == codecId; })) {
            CodecStats c;
            c.id = codecId;
            c.payloadType = s.codec.payloadType;
            c.mimeType = kind + "/" + s.codec.name;
            c.clockRate = s.codec.clockRate;
            if (s.codec.channels) c.channels = s.codec.channels;
            c.sdpFmtpLine = s.codec.fmtp;
            report.codecs.push_back(std::move(c));
        }
        auto track = tracksByMid_.find(s.mid);
        if (s.packetsSent > 0 || (track != tracksByMid_.end() && track->second->sending())) {
            OutboundRtpStats o;
            o.id = "OT01" + std::string(kind == "audio" ? "A" : "V") + std::to_string(s.localSsrc);
            o.kind = kind;
            o.mid = s.mid;
            o.ssrc = s.localSsrc;
            o.codecId = codecId;
            o.packetsSent = s.packetsSent;
            o.bytesSent = s.bytesSent;
            o.headerBytesSent = s.headerBytesSent;
            o.retransmittedPacketsSent = s.retransmittedPacketsSent;
            o.retransmittedBytesSent = s.retransmittedBytesSent;
            o.nackCount = s.nackCount;
            o.pliCount = s.pliCount;
            o.firCount = s.firCount;
            o.targetBitrate = s.targetBitrate;
            if (s.kind == MediaKind::Video) {
                o.framesEncoded = s.framesEncoded;
                o.keyFramesEncoded = s.keyFramesEncoded;
                o.qpSum = s.qpSum;
                o.totalEncodeTime = s.totalEncodeTime;
                if (s.frameWidth) o.frameWidth = s.frameWidth;
                if (s.frameHeight) o.frameHeight = s.frameHeight;
            }
            if (s.remoteReportSeen) {
                RemoteInboundRtpStats ri;
                ri.id = "RI" + o.id;
                ri.kind = kind;
                ri.ssrc = s.localSsrc;
                ri.localId = o.id;
                ri.codecId = codecId;
                ri.packetsLost = s.remotePacketsLost;
                ri.fractionLost = s.remoteFractionLost;
                ri.jitter = s.remoteJitter;
                ri.roundTripTime = s.roundTripTime;
                o.remoteId = ri.id;
                report.remoteInboundRtp.push_back(std::move(ri));
            }
            if (track != tracksByMid_.end()) o.mediaSourceId = addMediaSource(*track->second);
            report.outboundRtp.push_back(std::move(o));
        }
        if (s.remoteSsrc) {
            InboundRtpStats in;
            in.id =
                "IT01" + std::string(kind == "audio" ? "A" : "V") + std::to_string(*s.remoteSsrc);
            in.kind = kind;
            in.mid = s.mid;
            in.ssrc = *s.remoteSsrc;
            in.codecId = codecId;
            in.packetsReceived = s.packetsReceived;
            in.bytesReceived = s.bytesReceived;
            in.headerBytesReceived = s.headerBytesReceived;
            in.packetsLost = s.packetsLost;
            in.jitter = s.jitter;
            in.nackCount = s.nackSent;
            in.pliCount = s.pliSent;
            in.retransmittedPacketsReceived = s.retransmittedPacketsReceived;
            if (s.lastPacketReceived)
                in.lastPacketReceivedTimestamp =
                    wallOffsetMs + std::chrono::duration<double, std::milli>(
                                       s.lastPacketReceived->time_since_epoch())
                                       .count();
            if (track != tracksByMid_.end()) {
                ReceivedMediaStats r;
                {
                    std::lock_guard lock(track->second->mutex_);
                    r = track->second->received_;
                    in.trackIdentifier = track->second->init_.trackId;
                }
                in.jitterBufferDelay = r.jitterBufferDelay;
                in.jitterBufferEmittedCount = r.jitterBufferEmittedCount;
                if (s.kind == MediaKind::Video) {
                    in.framesDecoded = r.framesDecoded;
                    in.keyFramesDecoded = r.keyFramesDecoded;
                    in.framesDropped = r.framesDropped;
                    in.freezeCount = r.freezeCount;
                    in.totalFreezesDuration = r.totalFreezesDuration;
                    in.totalDecodeTime = r.totalDecodeTime;
                    in.framesPerSecond = r.framesPerSecond;
                    if (r.frameWidth) in.frameWidth = r.frameWidth;
                    if (r.frameHeight) in.frameHeight = r.frameHeight;
                } else {
                    in.totalSamplesReceived = r.totalSamplesReceived;
                    in.concealedSamples = r.concealedSamples;
                    in.concealmentEvents = r.concealmentEvents;
                }
            }
            report.inboundRtp.push_back(std::move(in));
        }
    }
}

}  // namespace pc
}  // namespace tincan
