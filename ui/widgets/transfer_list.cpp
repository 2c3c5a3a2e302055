#include "ui/widgets/transfer_list.hpp"

#include <QApplication>
#include <QClipboard>
#include <QDesktopServices>
#include <QFileInfo>
#include <QFontDatabase>
#include <QHBoxLayout>
#include <QLabel>
#include <QProgressBar>
#include <QPushButton>
#include <QUrl>
#include <QVBoxLayout>

namespace tincan::ui {

TransferList::TransferList(QWidget* parent) : QWidget(parent) {
    layout_ = new QVBoxLayout(this);
    layout_->setContentsMargins(0, 0, 0, 0);
    layout_->addStretch();
}

QString TransferList::humanSize(quint64 bytes) {
    const char* units[] = {"B", "KB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = 0;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    return QString("%1 %2").arg(v, 0, 'f', u == 0 ? 0 : 1).arg(units[u]);
}

void TransferList::addRow(int id, bool outgoing, const QString& name, quint64 size) {
    Row row;
    row.outgoing = outgoing;
    row.box = new QWidget(this);
    auto* v = new QVBoxLayout(row.box);
    v->setContentsMargins(4, 4, 4, 4);
    row.title = new QLabel(QString("%1 <b>%2</b> (%3)")
                               .arg(outgoing ? "↑" : "↓", name.toHtmlEscaped(), humanSize(size)));
    row.title->setWordWrap(true);
    row.status = new QLabel;
    row.status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row.status->setWordWrap(true);
    row.hash = new QLabel;
    row.hash->setObjectName("sha256");
    row.hash->setTextInteractionFlags(Qt::TextSelectableByMouse);
    row.hash->setWordWrap(true);
    row.hash->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    row.hash->setVisible(false);
    row.bar = new QProgressBar;
    row.bar->setRange(0, 1000);
    row.bar->setValue(0);
    row.bar->setTextVisible(false);
    row.bar->setMaximumHeight(10);
    auto* buttons = new QHBoxLayout;
    row.accept = new QPushButton(tr("Accept"));
    row.reject = new QPushButton(tr("Reject"));
    row.cancel = new QPushButton(tr("Cancel"));
    row.resume = new QPushButton(tr("Resume"));
    row.resume->setObjectName("resume");
    row.resume->setToolTip(tr("Send the rest of the file; what the other person has is kept"));
    row.show = new QPushButton(tr("Show in folder"));
    row.copyHash = new QPushButton(tr("Copy SHA-256"));
    row.copyHash->setObjectName("copySha256");
    for (auto* b : {row.accept, row.reject, row.cancel, row.resume, row.show, row.copyHash}) {
        buttons->addWidget(b);
        b->setVisible(false);
    }
    row.cancel->setVisible(true);
    buttons->addStretch();
    v->addWidget(row.title);
    v->addWidget(row.bar);
    v->addWidget(row.status);
    v->addWidget(row.hash);
    v->addLayout(buttons);
    connect(row.accept, &QPushButton::clicked, this, [this, id] { emit acceptClicked(id); });
    connect(row.reject, &QPushButton::clicked, this, [this, id] { emit rejectClicked(id); });
    connect(row.cancel, &QPushButton::clicked, this, [this, id] { emit cancelClicked(id); });
    connect(row.resume, &QPushButton::clicked, this, [this, id] { emit resumeClicked(id); });
    connect(row.copyHash, &QPushButton::clicked, this,
            [this, id] { QApplication::clipboard()->setText(sha256(id)); });
    layout_->insertWidget(layout_->count() - 1, row.box);
    rows_.insert(id, row);
    setWaiting(id,
               outgoing ? tr("waiting for the other person to accept") : tr("waiting for data"));
}

void TransferList::askToAccept(int id) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    it->accept->setVisible(true);
    it->reject->setVisible(true);
    it->cancel->setVisible(false);
    it->status->setText(tr("The other person wants to send you this file."));
}

void TransferList::setWaiting(int id, const QString& text) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    it->accept->setVisible(false);
    it->reject->setVisible(false);
    it->cancel->setVisible(true);
    it->status->setText(text);
}

void TransferList::setProgress(int id, quint64 bytes, quint64 size) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    if (!it->clock.isValid()) {
        it->clock.start();
        it->firstBytes = bytes;
    }
    it->bar->setValue(size ? int(1000 * bytes / size) : 0);
    double seconds = double(it->clock.elapsed()) / 1000.0;
    double rate = seconds > 0.2 ? double(bytes - it->firstBytes) / seconds : 0;
    QString text = QString("%1 of %2").arg(humanSize(bytes), humanSize(size));
    if (it->resumedFrom) text += tr(" (resumed from %1)").arg(humanSize(it->resumedFrom));
    if (rate > 0) {
        double left = double(size - bytes) / rate;
        text += tr(" — %1/s, %2 s left").arg(humanSize(quint64(rate))).arg(left, 0, 'f', 0);
    }
    it->status->setText(text);
}

void TransferList::setDone(int id, const QString& path, const QString& sha256, double seconds) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    it->bar->setValue(1000);
    it->cancel->setVisible(false);
    it->sha256 = sha256;
    it->resume->setVisible(false);
    it->status->setText(
        it->resumedFrom ? tr("Done in %1 s, resumed from %2 — SHA-256 of the whole file verified:")
                              .arg(seconds, 0, 'f', 2)
                              .arg(humanSize(it->resumedFrom))
                        : tr("Done in %1 s — SHA-256 verified:").arg(seconds, 0, 'f', 2));
    // 64 hex digits do not fit a side panel on one line: groups of 8 wrap at its edge (an
    // unbreakable run would be cut off, or widen the panel).
    it->hash->setText(groupedHash(sha256));
    it->hash->setToolTip(tr("SHA-256 %1").arg(sha256));
    it->hash->setVisible(true);
    it->copyHash->setVisible(true);
    if (!it->outgoing) {
        it->show->setVisible(true);
        QString folder = QFileInfo(path).absolutePath();
        connect(it->show, &QPushButton::clicked, this,
                [folder] { QDesktopServices::openUrl(QUrl::fromLocalFile(folder)); });
    }
}

void TransferList::setFailed(int id, const QString& why) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    for (auto* b : {it->accept, it->reject, it->cancel}) b->setVisible(false);
    // A declined file is not resumed; anything else that stopped short can be.
    it->resume->setVisible(it->outgoing && !why.contains("declined"));
    it->status->setText(tr("Stopped: %1").arg(failureInWords(why, it->outgoing)));
}

void TransferList::restart(int id, const QString& text) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    it->resume->setVisible(false);
    it->resumedFrom = 0;
    it->clock.invalidate();  // the speed is this leg's
    setWaiting(id, text);
}

void TransferList::setResumed(int id, quint64 fromBytes) {
    auto it = rows_.find(id);
    if (it == rows_.end()) return;
    it->resumedFrom = fromBytes;
    if (!it->clock.isValid())
        it->status->setText(
            it->outgoing
                ? tr("resumed from %1").arg(humanSize(fromBytes))
                : tr("continuing a partial download: %1 already here").arg(humanSize(fromBytes)));
}

quint64 TransferList::resumedFrom(int id) const {
    auto it = rows_.find(id);
    return it == rows_.end() ? 0 : it->resumedFrom;
}

QString TransferList::failureInWords(const QString& why, bool outgoing) {
    // The library's messages name the protocol step; the row says what happened and what
    // can be done. Anything not recognised is shown as it is.
    if (why == "cancelled")
        return outgoing ? tr("cancelled. Resume sends the rest.")
                        : tr("cancelled. The part received is kept in case the sender resumes.");
    if (why.contains("channel closed") || why.contains("closed the channel")) {
        if (outgoing)
            return tr(
                "the connection to the other person dropped before the whole file "
                "arrived. Resume sends the rest.");
        // The receiver says "(kept for a later resume)" only when it kept something.
        return why.contains("kept")
                   ? tr("the connection dropped before the whole file arrived. The part "
                        "received is kept; the rest follows if the sender resumes.")
                   : tr("the connection dropped before the file arrived; nothing was kept.");
    }
    if (why.contains("checksum mismatch"))
        return tr("the file arrived damaged (its SHA-256 did not match) and was not kept.");
    return why;
}

QString TransferList::statusText(int id) const {
    auto it = rows_.find(id);
    if (it == rows_.end()) return {};
    return it->sha256.isEmpty() ? it->status->text() : it->status->text() + " " + it->sha256;
}

QString TransferList::sha256(int id) const {
    auto it = rows_.find(id);
    return it == rows_.end() ? QString() : it->sha256;
}

QString TransferList::groupedHash(const QString& hex) {
    QStringList groups;
    for (qsizetype i = 0; i < hex.size(); i += 8) groups << hex.mid(i, 8);
    return groups.join(' ');
}

}  // namespace tincan::ui
