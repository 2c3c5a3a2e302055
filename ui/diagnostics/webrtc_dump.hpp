// Exports: a JSON dump in the shape chrome://webrtc-internals writes (so existing dump viewers
// load it), optionally with every IP address replaced, and a plain-text report to paste.
#pragma once

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <vector>

#include "tincan/stats.hpp"

namespace tincan::ui {

struct TimelineEntry {
    double timeMs = 0;  // since the Unix epoch
    QString what;       // "ice: checking"
};

struct DumpInput {
    QString label;  // "tincan room abc-def"
    std::vector<TimelineEntry> events;
    std::vector<StatsReport> history;  // oldest first, one a second
    bool stripAddresses = false;
};

// {"getUserMedia":[],"PeerConnections":{"1-1":{"pid":..,"rtcConfiguration":..,"url":..,
//  "updateLog":[{"time","type","value"}],"stats":{"<id>-<member>":{"startTime","endTime",
//  "statsType","values":"[..]"}}}},"UserAgent":..}
QByteArray webrtcInternalsDump(const DumpInput& input);
// IPv4 and IPv6 literals replaced by "x.x.x.x" / "x:x::x".
QString stripAddresses(const QString& text);
// The report a person pastes into a bug: summary, why-this-path, tables, timeline.
QString textReport(const QString& summary, const QStringList& why, const StatsReport& latest,
                   const std::vector<TimelineEntry>& events, bool strip);

}  // namespace tincan::ui
