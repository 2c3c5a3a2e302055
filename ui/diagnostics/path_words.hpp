// The connection's path in words, from the selected pair and the stats report: what a person
// reads in the summary ("Direct (hole-punched through NAT)") and under "Why this path".
#pragma once

#include <QString>
#include <QStringList>

#include "tincan/candidate.hpp"
#include "tincan/stats.hpp"

namespace tincan::ui {

// "Direct (same network)", "Direct (hole-punched through NAT)", "Relayed via TURN over UDP — server
// X".
QString pathInWords(const CandidatePair& pair);
// "host udp 192.0.2.1:50000" for one side of a pair.
QString candidateInWords(const CandidateInfo& c);
// Sentences: which pairs were tried and how they ended, what the candidates say about the two
// networks, and why the selected pair won. `relayOnly`: the user chose "always relay".
QStringList whyThisPath(const StatsReport& report, bool relayOnly);
// What went wrong and what to try, when ICE failed.
QString failureAdvice(const StatsReport& report, bool hasTurnServer);

}  // namespace tincan::ui
