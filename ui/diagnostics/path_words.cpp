#include "ui/diagnostics/path_words.hpp"

#include <QObject>
#include <map>
#include <set>

namespace tincan::ui {

static QString protoName(TransportProtocol p) {
    return p == TransportProtocol::Tcp ? "TCP" : "UDP";
}

// "192.0.2.1:5000", "[::1]:5000".
static QString hostPort(const std::string& address, uint16_t port) {
    QString a = QString::fromStdString(address);
    return (a.contains(':') ? "[" + a + "]" : a) + ":" + QString::number(port);
}

QString candidateInWords(const CandidateInfo& c) {
    return QString("%1 %2 %3")
        .arg(toString(c.type), c.protocol == TransportProtocol::Tcp ? "tcp" : "udp",
             hostPort(c.address, c.port));
}

QString pathInWords(const CandidatePair& pair) {
    if (pair.path == PathType::Relay || pair.local.type == CandidateType::Relayed ||
        pair.remote.type == CandidateType::Relayed) {
        QString over = "UDP";
        auto relay = pair.relayProtocol ? pair.relayProtocol : pair.local.relayProtocol;
        if (relay) over = *relay == TransportProtocol::Tcp ? "TCP" : protoName(*relay);
        if (pair.local.url.rfind("turns:", 0) == 0) over = "TLS";
        QString server = QString::fromStdString(pair.local.url);
        if (pair.local.type != CandidateType::Relayed)
            return QObject::tr("Relayed via the other side's TURN server over %1").arg(over);
        return QObject::tr("Relayed via TURN over %1 — server %2")
            .arg(over, server.isEmpty() ? QObject::tr("(unknown)") : server);
    }
    if (pair.path == PathType::Lan) return QObject::tr("Direct (same network)");
    return QObject::tr("Direct (hole-punched through NAT)");
}

namespace {

const char* kindWord(const std::string& type) {
    if (type == "host") return "host";
    if (type == "srflx") return "server-reflexive";
    if (type == "prflx") return "peer-reflexive";
    if (type == "relay") return "relayed";
    return "unknown";
}

// A pair that ended without success, in words: what the checks say.
QString pairOutcome(const CandidatePairStats& p) {
    if (p.state == "failed") {
        if (p.requestsSent > 0 && p.responsesReceived == 0)
            return QObject::tr("failed: no response after %1 checks").arg(p.requestsSent);
        return QObject::tr("failed after %1 checks and %2 responses")
            .arg(p.requestsSent)
            .arg(p.responsesReceived);
    }
    if (p.state == "succeeded")
        return QObject::tr("succeeded (%1 check(s), %2 response(s))")
            .arg(p.requestsSent)
            .arg(p.responsesReceived);
    if (p.state == "frozen" || p.state == "waiting")
        return QObject::tr("never needed (a pair ahead of it succeeded first)");
    if (p.state == "in-progress")
        return QObject::tr("still checking (%1 checks sent)").arg(p.requestsSent);
    return QString::fromStdString(p.state);
}

}  // namespace

QStringList whyThisPath(const StatsReport& report, bool relayOnly) {
    QStringList out;
    std::map<std::string, int> localKinds, remoteKinds;
    for (const auto& c : report.candidates) {
        (c.local ? localKinds : remoteKinds)[c.candidateType]++;
    }
    auto kinds = [](const std::map<std::string, int>& m) {
        QStringList parts;
        for (const auto& [k, n] : m) parts << QString("%1 %2").arg(n).arg(kindWord(k));
        return parts.isEmpty() ? QObject::tr("none") : parts.join(", ");
    };
    out << QObject::tr("This side offered: %1.").arg(kinds(localKinds));
    out << QObject::tr("The other side offered: %1.").arg(kinds(remoteKinds));
    if (relayOnly)
        out << QObject::tr("\"Always relay\" is on: only relayed candidates were used, by choice.");

    // Several server-reflexive candidates of one socket with different ports: the NAT maps
    // each destination to a new port (symmetric), so the other side cannot reach the port we saw.
    std::map<std::string, std::set<uint16_t>> mapped;
    for (const auto& c : report.candidates)
        if (c.local && c.candidateType == "srflx") mapped[c.address].insert(c.port);
    for (const auto& [addr, ports] : mapped)
        if (ports.size() > 1)
            out << QObject::tr(
                       "Our NAT gave %1 a different port per STUN server (%2 ports): it is "
                       "symmetric, so "
                       "direct paths through it rarely work and a relay is the way through.")
                       .arg(QString::fromStdString(addr))
                       .arg(ports.size());

    int failed = 0, succeeded = 0;
    for (const auto& p : report.candidatePairs) {
        if (p.state == "failed") failed++;
        if (p.state == "succeeded") succeeded++;
    }
    out << QObject::tr("%1 candidate pair(s) were formed: %2 succeeded, %3 failed.")
               .arg(report.candidatePairs.size())
               .arg(succeeded)
               .arg(failed);
    for (const auto& p : report.candidatePairs) {
        const auto* l = report.candidate(p.localCandidateId);
        const auto* r = report.candidate(p.remoteCandidateId);
        if (!l || !r) continue;
        QString line =
            QString("• %1 %2 ↔ %3 %4 — %5")
                .arg(QString::fromStdString(l->candidateType), hostPort(l->address, l->port),
                     QString::fromStdString(r->candidateType), hostPort(r->address, r->port),
                     pairOutcome(p));
        if (p.selected) line += QObject::tr(" ← selected");
        out << line;
    }
    const auto* sel = report.selectedPair();
    if (sel) {
        const auto* l = report.candidate(sel->localCandidateId);
        const auto* r = report.candidate(sel->remoteCandidateId);
        if (l && r) {
            if (l->candidateType == "relay" || r->candidateType == "relay") {
                out << (relayOnly
                            ? QObject::tr("The relay was used because \"Always relay\" is on.")
                            : QObject::tr(
                                  "The relay was used because no direct pair answered: the NATs or "
                                  "firewalls between you drop unsolicited packets."));
            } else if (l->candidateType == "host" && r->candidateType == "host") {
                out << QObject::tr(
                    "Both host addresses answered each other directly: you are on the same "
                    "network, "
                    "no NAT in between.");
            } else {
                out << QObject::tr(
                    "A server-reflexive or peer-reflexive pair answered: the NATs kept the hole "
                    "open for both sides' checks, so no relay was needed.");
            }
        }
    } else if (report.candidatePairs.empty()) {
        out << QObject::tr("No pair yet: waiting for the other side's candidates.");
    }
    if (report.transport && report.transport->iceRoleConflicts)
        out << QObject::tr("%1 ICE role conflict(s) were resolved on the way.")
                   .arg(report.transport->iceRoleConflicts);
    return out;
}

QString failureAdvice(const StatsReport& report, bool hasTurnServer) {
    bool remoteSrflx = false, localRelay = false;
    uint64_t unanswered = 0;
    for (const auto& c : report.candidates) {
        if (!c.local && c.candidateType == "srflx") remoteSrflx = true;
        if (c.local && c.candidateType == "relay") localRelay = true;
    }
    for (const auto& p : report.candidatePairs)
        if (p.requestsSent > 0 && p.responsesReceived == 0) unanswered++;
    QString what =
        report.candidatePairs.empty()
            ? QObject::tr(
                  "no candidate pair could be formed (the other side sent no usable candidates)")
            : QObject::tr("no candidate pair succeeded (%1 of %2 never got an answer)")
                  .arg(unanswered)
                  .arg(report.candidatePairs.size());
    QString tryThis;
    if (!hasTurnServer)
        tryThis = QObject::tr(
            "the networks block direct UDP and no TURN server is configured: add one in Settings");
    else if (!localRelay)
        tryThis = QObject::tr(
            "the TURN server gave no relayed candidate: check its address and credentials with "
            "the pre-call test in Diagnostics");
    else
        tryThis = QObject::tr(
            "even the relay did not answer: a firewall may block the TURN server; try turns: over "
            "TCP port 443");
    if (!remoteSrflx && !hasTurnServer)
        tryThis += QObject::tr(" (the other side also has no STUN server)");
    return what + "; " + tryThis + ".";
}

}  // namespace tincan::ui
