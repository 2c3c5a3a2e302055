#include "ui/diagnostics/timeline.hpp"

#include <QDateTime>
#include <QHeaderView>
#include <QLabel>
#include <QTreeWidget>
#include <QVBoxLayout>

namespace tincan::ui {

TimelineView::TimelineView(QWidget* parent) : QWidget(parent) {
    clock_.start();
    auto* v = new QVBoxLayout(this);
    summary_ = new QLabel(tr("Time to connected: not connected yet"));
    tree_ = new QTreeWidget;
    tree_->setColumnCount(3);
    tree_->setHeaderLabels({tr("Time"), tr("Layer"), tr("State")});
    tree_->setRootIsDecorated(false);
    tree_->header()->setSectionResizeMode(QHeaderView::ResizeToContents);
    v->addWidget(summary_);
    v->addWidget(tree_, 1);
}

void TimelineView::add(const QString& layer, const QString& state) {
    double sinceMs = double(clock_.nsecsElapsed()) / 1e6;
    entries_.push_back({double(QDateTime::currentMSecsSinceEpoch()), layer + ": " + state});
    auto* item = new QTreeWidgetItem({QString("+%1 ms").arg(sinceMs, 0, 'f', 0), layer, state});
    tree_->addTopLevelItem(item);
    tree_->scrollToItem(item);
}

void TimelineView::markConnected() {
    if (connectedMs_) return;
    connectedMs_ = double(clock_.nsecsElapsed()) / 1e6;
    summary_->setText(tr("Time to connected: %1 ms").arg(*connectedMs_, 0, 'f', 0));
}

}  // namespace tincan::ui
