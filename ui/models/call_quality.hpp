// The call-quality indicator's logic: three levels from RTT, loss and throughput stalls, with
// hysteresis (a level changes only after the same verdict three seconds running), and the
// reason in words for the tooltip.
#pragma once

#include <QString>
#include <optional>

namespace tincan::ui {

enum class Quality : uint8_t { Good = 1, Fair, Poor };

struct QualitySample {
    std::optional<double> rttMs;
    double lossFraction = 0;  // 0..1, from media stats once media is wired
    bool stalled = false;     // nothing received for a second while connected
};

class CallQuality {
public:
    // One sample a second; returns the (possibly unchanged) level.
    Quality update(const QualitySample& sample);
    Quality level() const { return level_; }
    const QString& reason() const { return reason_; }

    static constexpr int kSamplesToChange = 3;

private:
    static Quality judge(const QualitySample& s, QString* why);
    Quality level_ = Quality::Good;
    Quality pending_ = Quality::Good;
    int pendingCount_ = 0;
    QString reason_ = QStringLiteral("no measurements yet");
};

}  // namespace tincan::ui
