// getStats(): the W3C report of one PeerConnection (tincan/stats.hpp).
#include "core/pc/peer_connection.hpp"
#include "core/pc/stats.hpp"

namespace tincan::pc {

StatsReport PeerConnection::getStats() const {
    return onLoop([this] {
        StatsReport report;
        auto& conn = const_cast<Connection&>(*connection_);
        const auto& agent = conn.ice();
        auto iceStats = agent.stats();
        addIceStats(report, iceStats, agent.state(), agent.role());
        auto& t = *report.transport;
        auto* dtls = conn.dtls();
        if (dtls) {
            t.dtlsState = dtls::toString(dtls->state());
            t.dtlsRecordsDropped = dtls->stats().malformedDropped;
            if (dtls->state() == dtls::State::Connected) {
                t.tlsVersion = dtls->tlsVersion();
                t.dtlsCipher = dtls->cipherSuite();
                t.dtlsRole = dtls->role() == dtls::Role::Client ? "client" : "server";
            }
        }
        t.localCertificateId = "CERT-local";
        t.foreignPacketsDropped = iceStats.dataDroppedUnknownSource;
        t.rtpPacketsDropped = conn.stats().rtpDropped;
        t.unknownPacketsDropped = conn.stats().unknownDropped;
        t.earlyDtlsBuffered = conn.stats().earlyDtlsBuffered;
        auto local = conn.certificate()->fingerprint("sha-256");
        report.certificates.push_back(
            {"CERT-local", local.toString().substr(local.algorithm.size() + 1), local.algorithm});
        if (dtls && dtls->remoteFingerprint()) {
            t.remoteCertificateId = "CERT-remote";
            auto remote = *dtls->remoteFingerprint();
            report.certificates.push_back({"CERT-remote",
                                           remote.toString().substr(remote.algorithm.size() + 1),
                                           remote.algorithm});
        }
        for (const auto& [id, ch] : channels_) report.dataChannels.push_back(channelStats(id, *ch));
        for (const auto& closed : closedChannelStats_) report.dataChannels.push_back(closed);
        report.peerConnection = PeerConnectionStats{"P", channelsOpened_, channelsClosed_};
        addMediaStats(report);
        return report;
    });
}

}  // namespace tincan::pc
