// The state timeline: signaling, gathering, ICE, DTLS, data channel and connection states with
// their time since the call started, and the time to connected.
#pragma once

#include <QElapsedTimer>
#include <QWidget>
#include <optional>
#include <vector>

#include "ui/diagnostics/webrtc_dump.hpp"

class QTreeWidget;
class QLabel;

namespace tincan::ui {

class TimelineView : public QWidget {
    Q_OBJECT
public:
    explicit TimelineView(QWidget* parent = nullptr);
    void add(const QString& layer, const QString& state);
    void markConnected();
    const std::vector<TimelineEntry>& entries() const { return entries_; }
    std::optional<double> timeToConnectedMs() const { return connectedMs_; }

private:
    QTreeWidget* tree_ = nullptr;
    QLabel* summary_ = nullptr;
    QElapsedTimer clock_;
    std::vector<TimelineEntry> entries_;
    std::optional<double> connectedMs_;
};

}  // namespace tincan::ui
