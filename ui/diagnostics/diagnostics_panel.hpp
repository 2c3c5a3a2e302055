// The connection diagnostics panel: summary and "why this path", candidate and pair tables,
// the timeline, graphs, the network tests, and the exports. Fed at 1 Hz with stats snapshots
// and at once with the selected pair; it never talks to the network itself.
#pragma once

#include <QWidget>
#include <deque>
#include <optional>
#include <vector>

#include "tincan/candidate.hpp"
#include "tincan/ice_server.hpp"
#include "tincan/stats.hpp"

class QLabel;
class QTabWidget;
class QTextBrowser;
class QTableView;
class QCheckBox;
class QLineEdit;
class QPushButton;

namespace tincan::ui {

class CandidateTableModel;
class PairTableModel;
class GraphWidget;
class TimelineView;
class NetworkProbe;
struct ProbeReport;

class DiagnosticsPanel : public QWidget {
    Q_OBJECT
public:
    explicit DiagnosticsPanel(QWidget* parent = nullptr);

    void setServers(std::vector<IceServer> servers, bool relayOnly, bool allowLoopback);
    void setLabel(const QString& label) { label_ = label; }
    void addStats(const StatsReport& report);
    void setSelectedPair(const CandidatePair& pair);
    TimelineView* timeline() const { return timeline_; }
    QTabWidget* tabs() const { return tabs_; }

    QString pathText() const;  // "Direct (same network)", or empty before a pair
    QString pairText() const;  // "host udp 127.0.0.1:5000 ↔ host udp 127.0.0.1:5001"
    QStringList whyText() const;
    // "Video: receiving 640x480 at 30 fps, 812 frames decoded here; sending …", or empty.
    QString mediaText() const;
    // What the peer says it decoded of our video (its "media" message), for the summary.
    void setRemoteFramesDecoded(quint64 frames);
    std::optional<quint64> remoteFramesDecoded() const { return remoteFramesDecoded_; }
    QByteArray exportJson(bool stripAddresses) const;
    QString reportText(bool stripAddresses) const;
    const StatsReport* latest() const { return history_.empty() ? nullptr : &history_.back(); }
    bool relayOnly() const { return relayOnly_; }
    bool hasTurnServer() const;

private:
    QWidget* buildSummary();
    QWidget* buildGraphs();
    QWidget* buildTests();
    QWidget* buildExport();
    void refreshSummary();
    void addMediaSamples(const StatsReport& report, const StatsReport& prev, double seconds);
    void showProbe(const QString& title, const ProbeReport& report);

    QTabWidget* tabs_ = nullptr;
    QLabel* path_ = nullptr;
    QLabel* pair_ = nullptr;
    QLabel* media_ = nullptr;
    QTextBrowser* why_ = nullptr;
    QTableView* candidates_ = nullptr;
    QTableView* pairs_ = nullptr;
    CandidateTableModel* candidateModel_ = nullptr;
    PairTableModel* pairModel_ = nullptr;
    TimelineView* timeline_ = nullptr;
    GraphWidget* rtt_ = nullptr;
    GraphWidget* bitrate_ = nullptr;
    GraphWidget* channels_ = nullptr;
    GraphWidget* videoBitrate_ = nullptr;
    GraphWidget* fps_ = nullptr;
    GraphWidget* resolution_ = nullptr;
    GraphWidget* loss_ = nullptr;
    GraphWidget* jitter_ = nullptr;
    QLineEdit* stunField_ = nullptr;
    QTextBrowser* testResults_ = nullptr;
    QPushButton* natButton_ = nullptr;
    QPushButton* preCallButton_ = nullptr;
    QCheckBox* strip_ = nullptr;
    NetworkProbe* probe_ = nullptr;

    std::optional<CandidatePair> selected_;
    std::deque<StatsReport> history_;  // the last 10 minutes
    std::vector<IceServer> servers_;
    bool relayOnly_ = false;
    bool allowLoopback_ = false;
    QString label_;
    std::optional<quint64> remoteFramesDecoded_;
};

}  // namespace tincan::ui
