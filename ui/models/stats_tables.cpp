#include "ui/models/stats_tables.hpp"

#include <QFont>
#include <algorithm>

namespace tincan::ui {

void CandidateTableModel::setReport(const StatsReport& report) {
    beginResetModel();
    rows_ = report.candidates;
    selectedLocal_.clear();
    selectedRemote_.clear();
    if (const auto* sel = report.selectedPair()) {
        selectedLocal_ = sel->localCandidateId;
        selectedRemote_ = sel->remoteCandidateId;
    }
    // The selected pair's candidates first.
    std::stable_partition(rows_.begin(), rows_.end(), [this](const IceCandidateStats& c) {
        return c.id == selectedLocal_ || c.id == selectedRemote_;
    });
    endResetModel();
}

QVariant CandidateTableModel::headerData(int section, Qt::Orientation o, int role) const {
    static const char* names[] = {"Side",      "Type",     "Protocol",  "Address",
                                  "Port",      "Priority", "Type pref", "Local pref",
                                  "Component", "Relay",    "Server"};
    if (o == Qt::Horizontal && role == Qt::DisplayRole) return tr(names[section]);
    return {};
}

QVariant CandidateTableModel::data(const QModelIndex& index, int role) const {
    const auto& c = rows_[size_t(index.row())];
    bool selected = c.id == selectedLocal_ || c.id == selectedRemote_;
    if (role == Qt::FontRole && selected) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role != Qt::DisplayRole) return {};
    switch (index.column()) {
        case 0:
            return c.local ? tr("local") : tr("remote");
        case 1:
            return QString::fromStdString(c.candidateType);
        case 2:
            return QString::fromStdString(c.protocol);
        case 3:
            return QString::fromStdString(c.address);
        case 4:
            return c.port;
        case 5:
            return c.priority;
        case 6:
            return c.priority >> 24;  // RFC 8445 §5.1.2.1
        case 7:
            return (c.priority >> 8) & 0xFFFF;
        case 8:
            return 256 - (c.priority & 0xFF);  // the component id
        case 9:
            return c.relayProtocol ? QString::fromStdString(*c.relayProtocol) : QString();
        case 10:
            return c.url ? QString::fromStdString(*c.url) : QString();
    }
    return {};
}

void PairTableModel::setReport(const StatsReport& report) {
    beginResetModel();
    report_ = report;
    rows_ = report.candidatePairs;
    std::stable_sort(rows_.begin(), rows_.end(),
                     [](const CandidatePairStats& a, const CandidatePairStats& b) {
                         if (a.selected != b.selected) return a.selected;
                         return a.priority > b.priority;
                     });
    endResetModel();
}

QVariant PairTableModel::headerData(int section, Qt::Orientation o, int role) const {
    static const char* names[] = {"Local",
                                  "Remote",
                                  "State",
                                  "Nominated",
                                  "Priority",
                                  "RTT ms",
                                  "Requests sent/recv",
                                  "Responses sent/recv",
                                  "Bytes sent/recv"};
    if (o == Qt::Horizontal && role == Qt::DisplayRole) return tr(names[section]);
    return {};
}

QVariant PairTableModel::data(const QModelIndex& index, int role) const {
    const auto& p = rows_[size_t(index.row())];
    if (role == Qt::FontRole && p.selected) {
        QFont f;
        f.setBold(true);
        return f;
    }
    if (role != Qt::DisplayRole) return {};
    auto side = [this](const std::string& id) {
        const auto* c = report_.candidate(id);
        return c ? QString("%1 %2:%3")
                       .arg(QString::fromStdString(c->candidateType),
                            QString::fromStdString(c->address))
                       .arg(c->port)
                 : QString::fromStdString(id);
    };
    switch (index.column()) {
        case 0:
            return side(p.localCandidateId);
        case 1:
            return side(p.remoteCandidateId);
        case 2:
            return QString::fromStdString(p.state) + (p.selected ? tr(" (selected)") : QString());
        case 3:
            return p.nominated ? tr("yes") : tr("no");
        case 4:
            return QString::number(p.priority);
        case 5:
            return p.currentRoundTripTime ? QString::number(*p.currentRoundTripTime * 1000, 'f', 2)
                                          : QString("–");
        case 6:
            return QString("%1 / %2").arg(p.requestsSent).arg(p.requestsReceived);
        case 7:
            return QString("%1 / %2").arg(p.responsesSent).arg(p.responsesReceived);
        case 8:
            return QString("%1 / %2").arg(p.bytesSent).arg(p.bytesReceived);
    }
    return {};
}

}  // namespace tincan::ui
