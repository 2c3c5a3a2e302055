#include "ui/models/call_quality.hpp"

#include <QObject>

namespace tincan::ui {

Quality CallQuality::judge(const QualitySample& s, QString* why) {
    if (s.stalled) {
        *why = QObject::tr("nothing arrived from the other side in the last second");
        return Quality::Poor;
    }
    double rtt = s.rttMs.value_or(0);
    if (rtt > 400 || s.lossFraction > 0.10) {
        *why = QObject::tr("round trip %1 ms, loss %2%")
                   .arg(rtt, 0, 'f', 0)
                   .arg(s.lossFraction * 100, 0, 'f', 1);
        return Quality::Poor;
    }
    if (rtt > 150 || s.lossFraction > 0.02) {
        *why = QObject::tr("round trip %1 ms, loss %2% (a little slow)")
                   .arg(rtt, 0, 'f', 0)
                   .arg(s.lossFraction * 100, 0, 'f', 1);
        return Quality::Fair;
    }
    *why = s.rttMs ? QObject::tr("round trip %1 ms, no loss").arg(rtt, 0, 'f', 0)
                   : QObject::tr("no round trip measured yet");
    return Quality::Good;
}

Quality CallQuality::update(const QualitySample& sample) {
    QString why;
    Quality verdict = judge(sample, &why);
    if (verdict == level_) {
        pendingCount_ = 0;
        reason_ = why;
        return level_;
    }
    // Hysteresis: flapping between two levels on single samples would make the light useless.
    if (verdict != pending_) {
        pending_ = verdict;
        pendingCount_ = 0;
    }
    if (++pendingCount_ >= kSamplesToChange) {
        level_ = verdict;
        pendingCount_ = 0;
        reason_ = why;
    }
    return level_;
}

}  // namespace tincan::ui
