#include "ui/diagnostics/webrtc_dump.hpp"

#include <QCoreApplication>
#include <QDateTime>
#include <QRegularExpression>
#include <QSysInfo>

#include <map>
#include <nlohmann/json.hpp>

#include "tincan/version.hpp"

namespace tincan::ui {

using Json = nlohmann::json;

QString stripAddresses(const QString& text) {
    static const QRegularExpression v4(R"(\b(?:\d{1,3}\.){3}\d{1,3}\b)");
    // Full or "::"-compressed IPv6, not inside a longer run of hex and colons (a certificate
    // fingerprint is 32 colon-separated bytes: it must stay as it is).
    static const QRegularExpression v6(
        R"((?<![0-9A-Fa-f:])(?:(?:[0-9A-Fa-f]{1,4}:){7}[0-9A-Fa-f]{1,4}|[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*::(?:[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)?|::[0-9A-Fa-f]{1,4}(?::[0-9A-Fa-f]{1,4})*)(?![0-9A-Fa-f:]))");
    QString out = text;
    out.replace(v4, "x.x.x.x");
    out.replace(v6, "x:x::x");
    return out;
}

static std::string maybeStrip(const std::string& s, bool strip) {
    return strip ? stripAddresses(QString::fromStdString(s)).toStdString() : s;
}

QByteArray webrtcInternalsDump(const DumpInput& in) {
    Json pc;
    pc["pid"] = QCoreApplication::applicationPid();
    pc["url"] = in.label.toStdString();
    pc["rtcConfiguration"] = "{}";
    pc["constraints"] = "";
    Json log = Json::array();
    for (const auto& e : in.events)
        log.push_back({{"time", QDateTime::fromMSecsSinceEpoch(qint64(e.timeMs))
                                    .toString(Qt::ISODateWithMs)
                                    .toStdString()},
                       {"type", e.what.section(':', 0, 0).toStdString()},
                       {"value", maybeStrip(e.what.section(':', 1).trimmed().toStdString(),
                                            in.stripAddresses)}});
    pc["updateLog"] = log;
    // webrtc-internals keeps one series per stats object member: "<id>-<member>" with the values
    // as a JSON array in a string, and the type beside it.
    struct Series {
        std::string type;
        double start = 0, end = 0;
        Json values = Json::array();
    };
    std::map<std::string, Series> series;
    for (const auto& report : in.history) {
        Json objects = Json::parse(toJson(report));
        for (const auto& obj : objects) {
            std::string id = obj.value("id", "");
            for (const auto& [member, value] : obj.items()) {
                if (member == "id" || member == "type" || member == "timestamp") continue;
                auto& s = series[id + "-" + member];
                s.type = obj.value("type", "");
                if (s.values.empty()) s.start = report.timestampMs;
                s.end = report.timestampMs;
                Json v = value;
                if (in.stripAddresses && v.is_string()) v = maybeStrip(v.get<std::string>(), true);
                s.values.push_back(v);
            }
        }
    }
    Json stats = Json::object();
    for (const auto& [key, s] : series) {
        auto fmt = [](double ms) {
            return QDateTime::fromMSecsSinceEpoch(qint64(ms))
                .toString(Qt::ISODateWithMs)
                .toStdString();
        };
        stats[maybeStrip(key, in.stripAddresses)] = {{"startTime", fmt(s.start)},
                                                     {"endTime", fmt(s.end)},
                                                     {"statsType", s.type},
                                                     {"values", s.values.dump()}};
    }
    pc["stats"] = stats;
    Json dump;
    dump["getUserMedia"] = Json::array();
    dump["PeerConnections"] = {{"1-1", pc}};
    dump["UserAgent"] = "Tincan/" + std::string(version()) + " (" +
                        QSysInfo::prettyProductName().toStdString() + ")";
    return QByteArray::fromStdString(dump.dump(1));
}

QString textReport(const QString& summary, const QStringList& why, const StatsReport& latest,
                   const std::vector<TimelineEntry>& events, bool strip) {
    QString out;
    out += "Tincan " + QString(version()) + " connection report\n\n";
    out += "Path: " + summary + "\n\nWhy this path:\n";
    for (const auto& line : why) out += "  " + line + "\n";
    out += "\nCandidates:\n";
    for (const auto& c : latest.candidates)
        out += QString("  %1 %2 %3 %4:%5 prio %6%7\n")
                   .arg(c.local ? "local " : "remote", QString::fromStdString(c.candidateType),
                        QString::fromStdString(c.protocol), QString::fromStdString(c.address))
                   .arg(c.port)
                   .arg(c.priority)
                   .arg(c.url ? " " + QString::fromStdString(*c.url) : QString());
    out += "\nCandidate pairs:\n";
    for (const auto& p : latest.candidatePairs)
        out += QString("  %1%2 %3 ↔ %4 req %5/%6 rtt %7 ms\n")
                   .arg(p.selected ? "* " : "  ", QString::fromStdString(p.state),
                        QString::fromStdString(p.localCandidateId),
                        QString::fromStdString(p.remoteCandidateId))
                   .arg(p.requestsSent)
                   .arg(p.responsesReceived)
                   .arg(p.currentRoundTripTime.value_or(0) * 1000, 0, 'f', 1);
    out += "\nTimeline:\n";
    double t0 = events.empty() ? 0 : events.front().timeMs;
    for (const auto& e : events)
        out += QString("  +%1 ms  %2\n").arg(e.timeMs - t0, 0, 'f', 0).arg(e.what);
    return strip ? stripAddresses(out) : out;
}

}  // namespace tincan::ui
