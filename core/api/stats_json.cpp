// StatsReport → JSON with the W3C member names (tincan/stats.hpp).
#include <nlohmann/json.hpp>

#include "tincan/stats.hpp"

namespace tincan {

namespace {

using Json = nlohmann::json;

template <typename T>
void put(Json& j, const char* key, const std::optional<T>& v) {
    if (v) j[key] = *v;
}

Json candidateJson(const IceCandidateStats& c, double ts) {
    Json j = {{"id", c.id},
              {"timestamp", ts},
              {"type", c.local ? "local-candidate" : "remote-candidate"},
              {"candidateType", c.candidateType},
              {"protocol", c.protocol},
              {"address", c.address},
              {"port", c.port},
              {"priority", c.priority},
              {"foundation", c.foundation}};
    put(j, "relayProtocol", c.relayProtocol);
    put(j, "url", c.url);
    return j;
}

Json pairJson(const CandidatePairStats& p, double ts) {
    Json j = {{"id", p.id},
              {"timestamp", ts},
              {"type", "candidate-pair"},
              {"transportId", "T01"},
              {"localCandidateId", p.localCandidateId},
              {"remoteCandidateId", p.remoteCandidateId},
              {"state", p.state},
              {"nominated", p.nominated},
              {"priority", p.priority},
              {"requestsSent", p.requestsSent},
              {"requestsReceived", p.requestsReceived},
              {"responsesSent", p.responsesSent},
              {"responsesReceived", p.responsesReceived},
              {"consentRequestsSent", p.consentRequestsSent},
              {"packetsSent", p.packetsSent},
              {"packetsReceived", p.packetsReceived},
              {"bytesSent", p.bytesSent},
              {"bytesReceived", p.bytesReceived},
              {"totalRoundTripTime", p.totalRoundTripTime}};
    put(j, "currentRoundTripTime", p.currentRoundTripTime);
    return j;
}

Json transportJson(const TransportStats& t, double ts) {
    Json j = {{"id", t.id},
              {"timestamp", ts},
              {"type", "transport"},
              {"bytesSent", t.bytesSent},
              {"bytesReceived", t.bytesReceived},
              {"packetsSent", t.packetsSent},
              {"packetsReceived", t.packetsReceived},
              {"iceState", t.iceState},
              {"dtlsState", t.dtlsState},
              {"iceRole", t.iceRole},
              {"localCertificateId", t.localCertificateId},
              {"stunMalformedDropped", t.stunMalformedDropped},
              {"stunUnauthorized", t.stunUnauthorized},
              {"iceRoleConflicts", t.iceRoleConflicts},
              {"dtlsRecordsDropped", t.dtlsRecordsDropped},
              {"rtpPacketsDropped", t.rtpPacketsDropped},
              {"unknownPacketsDropped", t.unknownPacketsDropped},
              {"foreignPacketsDropped", t.foreignPacketsDropped},
              {"earlyDtlsBuffered", t.earlyDtlsBuffered},
              {"srtpDropped", t.srtpDropped},
              {"rtpMalformedDropped", t.rtpMalformedDropped},
              {"rtpUnknownSsrcDropped", t.rtpUnknownSsrcDropped},
              {"rtcpMalformedDropped", t.rtcpMalformedDropped}};
    put(j, "selectedCandidatePairId", t.selectedCandidatePairId);
    put(j, "remoteCertificateId", t.remoteCertificateId);
    put(j, "tlsVersion", t.tlsVersion);
    put(j, "dtlsCipher", t.dtlsCipher);
    put(j, "dtlsRole", t.dtlsRole);
    put(j, "srtpCipher", t.srtpCipher);
    return j;
}

void rtpJson(Json& out, const StatsReport& r, double ts) {
    for (const auto& c : r.codecs) {
        Json j = {{"id", c.id},
                  {"timestamp", ts},
                  {"type", "codec"},
                  {"transportId", c.transportId},
                  {"payloadType", c.payloadType},
                  {"mimeType", c.mimeType},
                  {"clockRate", c.clockRate}};
        put(j, "channels", c.channels);
        if (!c.sdpFmtpLine.empty()) j["sdpFmtpLine"] = c.sdpFmtpLine;
        out.push_back(j);
    }
    for (const auto& m : r.mediaSources) {
        Json j = {{"id", m.id},
                  {"timestamp", ts},
                  {"type", "media-source"},
                  {"kind", m.kind},
                  {"trackIdentifier", m.trackIdentifier}};
        put(j, "width", m.width);
        put(j, "height", m.height);
        put(j, "frames", m.frames);
        put(j, "framesPerSecond", m.framesPerSecond);
        put(j, "audioLevel", m.audioLevel);
        put(j, "totalAudioEnergy", m.totalAudioEnergy);
        put(j, "totalSamplesDuration", m.totalSamplesDuration);
        out.push_back(j);
    }
    for (const auto& o : r.outboundRtp) {
        Json j = {{"id", o.id},
                  {"timestamp", ts},
                  {"type", "outbound-rtp"},
                  {"kind", o.kind},
                  {"mid", o.mid},
                  {"ssrc", o.ssrc},
                  {"codecId", o.codecId},
                  {"transportId", o.transportId},
                  {"packetsSent", o.packetsSent},
                  {"bytesSent", o.bytesSent},
                  {"headerBytesSent", o.headerBytesSent},
                  {"retransmittedPacketsSent", o.retransmittedPacketsSent},
                  {"retransmittedBytesSent", o.retransmittedBytesSent},
                  {"nackCount", o.nackCount},
                  {"pliCount", o.pliCount},
                  {"firCount", o.firCount},
                  {"targetBitrate", o.targetBitrate}};
        put(j, "framesEncoded", o.framesEncoded);
        put(j, "keyFramesEncoded", o.keyFramesEncoded);
        put(j, "qpSum", o.qpSum);
        put(j, "totalEncodeTime", o.totalEncodeTime);
        put(j, "frameWidth", o.frameWidth);
        put(j, "frameHeight", o.frameHeight);
        put(j, "remoteId", o.remoteId);
        put(j, "mediaSourceId", o.mediaSourceId);
        out.push_back(j);
    }
    for (const auto& ri : r.remoteInboundRtp) {
        Json j = {{"id", ri.id},
                  {"timestamp", ts},
                  {"type", "remote-inbound-rtp"},
                  {"kind", ri.kind},
                  {"ssrc", ri.ssrc},
                  {"localId", ri.localId},
                  {"codecId", ri.codecId},
                  {"packetsLost", ri.packetsLost},
                  {"fractionLost", ri.fractionLost},
                  {"jitter", ri.jitter}};
        put(j, "roundTripTime", ri.roundTripTime);
        out.push_back(j);
    }
    for (const auto& in : r.inboundRtp) {
        Json j = {{"id", in.id},
                  {"timestamp", ts},
                  {"type", "inbound-rtp"},
                  {"kind", in.kind},
                  {"mid", in.mid},
                  {"ssrc", in.ssrc},
                  {"codecId", in.codecId},
                  {"transportId", in.transportId},
                  {"trackIdentifier", in.trackIdentifier},
                  {"packetsReceived", in.packetsReceived},
                  {"bytesReceived", in.bytesReceived},
                  {"headerBytesReceived", in.headerBytesReceived},
                  {"packetsLost", in.packetsLost},
                  {"jitter", in.jitter},
                  {"nackCount", in.nackCount},
                  {"pliCount", in.pliCount},
                  {"retransmittedPacketsReceived", in.retransmittedPacketsReceived},
                  {"jitterBufferDelay", in.jitterBufferDelay},
                  {"jitterBufferEmittedCount", in.jitterBufferEmittedCount}};
        put(j, "lastPacketReceivedTimestamp", in.lastPacketReceivedTimestamp);
        put(j, "framesDecoded", in.framesDecoded);
        put(j, "keyFramesDecoded", in.keyFramesDecoded);
        put(j, "framesDropped", in.framesDropped);
        put(j, "freezeCount", in.freezeCount);
        put(j, "frameWidth", in.frameWidth);
        put(j, "frameHeight", in.frameHeight);
        put(j, "framesPerSecond", in.framesPerSecond);
        put(j, "totalFreezesDuration", in.totalFreezesDuration);
        put(j, "totalDecodeTime", in.totalDecodeTime);
        put(j, "totalSamplesReceived", in.totalSamplesReceived);
        put(j, "concealedSamples", in.concealedSamples);
        put(j, "concealmentEvents", in.concealmentEvents);
        out.push_back(j);
    }
}

}  // namespace

const CandidatePairStats* StatsReport::selectedPair() const {
    for (const auto& p : candidatePairs)
        if (p.selected) return &p;
    return nullptr;
}

const IceCandidateStats* StatsReport::candidate(const std::string& id) const {
    for (const auto& c : candidates)
        if (c.id == id) return &c;
    return nullptr;
}

std::string toJson(const StatsReport& r, int indent) {
    Json out = Json::array();
    const double ts = r.timestampMs;
    for (const auto& c : r.candidates) out.push_back(candidateJson(c, ts));
    for (const auto& p : r.candidatePairs) out.push_back(pairJson(p, ts));
    if (r.transport) out.push_back(transportJson(*r.transport, ts));
    for (const auto& c : r.certificates)
        out.push_back({{"id", c.id},
                       {"timestamp", ts},
                       {"type", "certificate"},
                       {"fingerprint", c.fingerprint},
                       {"fingerprintAlgorithm", c.fingerprintAlgorithm}});
    for (const auto& d : r.dataChannels) {
        Json j = {{"id", d.id},
                  {"timestamp", ts},
                  {"type", "data-channel"},
                  {"label", d.label},
                  {"protocol", d.protocol},
                  {"state", d.state},
                  {"messagesSent", d.messagesSent},
                  {"bytesSent", d.bytesSent},
                  {"messagesReceived", d.messagesReceived},
                  {"bytesReceived", d.bytesReceived}};
        put(j, "dataChannelIdentifier", d.dataChannelIdentifier);
        out.push_back(j);
    }
    if (r.peerConnection)
        out.push_back({{"id", r.peerConnection->id},
                       {"timestamp", ts},
                       {"type", "peer-connection"},
                       {"dataChannelsOpened", r.peerConnection->dataChannelsOpened},
                       {"dataChannelsClosed", r.peerConnection->dataChannelsClosed}});
    rtpJson(out, r, ts);
    return out.dump(indent);
}

}  // namespace tincan
