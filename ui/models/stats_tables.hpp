// Qt item models over one stats snapshot: the candidates (priority split into type, local
// and component preference, RFC 8445 §5.1.2.1) and the candidate pairs, selected pair first
// and bold.
#pragma once

#include <QAbstractTableModel>

#include "tincan/stats.hpp"

namespace tincan::ui {

class CandidateTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const StatsReport& report);
    int rowCount(const QModelIndex& = {}) const override { return int(rows_.size()); }
    int columnCount(const QModelIndex& = {}) const override { return 11; }
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<IceCandidateStats> rows_;
    std::string selectedLocal_, selectedRemote_;
};

class PairTableModel : public QAbstractTableModel {
    Q_OBJECT
public:
    using QAbstractTableModel::QAbstractTableModel;
    void setReport(const StatsReport& report);
    int rowCount(const QModelIndex& = {}) const override { return int(rows_.size()); }
    int columnCount(const QModelIndex& = {}) const override { return 9; }
    QVariant data(const QModelIndex& index, int role) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role) const override;

private:
    std::vector<CandidatePairStats> rows_;
    StatsReport report_;
};

}  // namespace tincan::ui
