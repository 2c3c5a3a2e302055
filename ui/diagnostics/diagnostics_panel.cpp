#include "ui/diagnostics/diagnostics_panel.hpp"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QFileDialog>
#include <QFormLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSaveFile>
#include <QScrollArea>
#include <QTabWidget>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include "ui/bridge/network_probe.hpp"
#include "ui/diagnostics/path_words.hpp"
#include "ui/diagnostics/timeline.hpp"
#include "ui/diagnostics/webrtc_dump.hpp"
#include "ui/models/stats_tables.hpp"
#include "ui/widgets/graph_widget.hpp"

namespace tincan::ui {

static constexpr size_t kHistorySeconds = 600;

DiagnosticsPanel::DiagnosticsPanel(QWidget* parent) : QWidget(parent) {
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    tabs_ = new QTabWidget;
    v->addWidget(tabs_);
    probe_ = new NetworkProbe(this);
    connect(probe_, &NetworkProbe::finished, this, &DiagnosticsPanel::showProbe);

    candidateModel_ = new CandidateTableModel(this);
    pairModel_ = new PairTableModel(this);
    auto table = [](QAbstractItemModel* model) {
        auto* t = new QTableView;
        t->setModel(model);
        t->verticalHeader()->hide();
        t->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
        t->setSelectionBehavior(QAbstractItemView::SelectRows);
        return t;
    };
    candidates_ = table(candidateModel_);
    pairs_ = table(pairModel_);
    timeline_ = new TimelineView;

    tabs_->addTab(buildSummary(), tr("Summary"));
    tabs_->addTab(candidates_, tr("Candidates"));
    tabs_->addTab(pairs_, tr("Pairs"));
    tabs_->addTab(timeline_, tr("Timeline"));
    tabs_->addTab(buildGraphs(), tr("Graphs"));
    tabs_->addTab(buildTests(), tr("Tests"));
    tabs_->addTab(buildExport(), tr("Export"));
}

QWidget* DiagnosticsPanel::buildSummary() {
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    path_ = new QLabel(tr("Not connected yet"));
    QFont big = path_->font();
    big.setPointSizeF(big.pointSizeF() * 1.3);
    big.setBold(true);
    path_->setFont(big);
    path_->setObjectName("pathLabel");
    pair_ = new QLabel;
    pair_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    pair_->setWordWrap(true);
    why_ = new QTextBrowser;
    v->addWidget(path_);
    v->addWidget(pair_);
    v->addWidget(new QLabel(tr("<b>Why this path</b>")));
    v->addWidget(why_, 1);
    return w;
}

QWidget* DiagnosticsPanel::buildGraphs() {
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    rtt_ = new GraphWidget(tr("Round trip"), "ms");
    rtt_->addSeries(tr("RTT"), QColor(47, 129, 247));
    bitrate_ = new GraphWidget(tr("Transport bitrate"), "kbit/s");
    bitrate_->addSeries(tr("send"), QColor(46, 160, 67));
    bitrate_->addSeries(tr("recv"), QColor(219, 97, 36));
    channels_ = new GraphWidget(tr("Data channels"), "kB/s");
    channels_->addSeries(tr("send"), QColor(46, 160, 67));
    channels_->addSeries(tr("recv"), QColor(219, 97, 36));
    for (auto* g : {rtt_, bitrate_, channels_}) v->addWidget(g);
    v->addWidget(new QLabel(
        tr("<i>Media graphs (frames per second, resolution, loss, jitter, target bitrate) appear "
           "once audio and video are in the call.</i>")));
    return w;
}

QWidget* DiagnosticsPanel::buildTests() {
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    auto* form = new QFormLayout;
    stunField_ = new QLineEdit;
    stunField_->setPlaceholderText("stun:stun.example.org:3478");
    form->addRow(tr("STUN server for the NAT test:"), stunField_);
    v->addLayout(form);
    natButton_ = new QPushButton(tr("Run NAT behaviour test (RFC 5780)"));
    preCallButton_ = new QPushButton(tr("Run pre-call test with the configured servers"));
    testResults_ = new QTextBrowser;
    v->addWidget(natButton_);
    v->addWidget(preCallButton_);
    v->addWidget(testResults_, 1);
    connect(natButton_, &QPushButton::clicked, this, [this] {
        QString url = stunField_->text().trimmed();
        auto parsed = parseIceServerUrl(url.toStdString());
        if (!parsed) {
            testResults_->append(
                tr("<b>NAT test</b>: %1")
                    .arg(QString::fromStdString(parsed.message()).toHtmlEscaped()));
            return;
        }
        testResults_->append(tr("<b>NAT test</b>: asking %1…").arg(url.toHtmlEscaped()));
        probe_->natTest(url);
    });
    connect(preCallButton_, &QPushButton::clicked, this, [this] {
        testResults_->append(tr("<b>Pre-call test</b>: gathering…"));
        probe_->preCallTest(servers_, allowLoopback_);
    });
    return w;
}

QWidget* DiagnosticsPanel::buildExport() {
    auto* w = new QWidget;
    auto* v = new QVBoxLayout(w);
    strip_ = new QCheckBox(tr("Strip IP addresses"));
    strip_->setChecked(true);
    auto* save = new QPushButton(tr("Export webrtc-internals dump…"));
    auto* copy = new QPushButton(tr("Copy report"));
    auto* note = new QLabel;
    note->setWordWrap(true);
    v->addWidget(strip_);
    v->addWidget(save);
    v->addWidget(copy);
    v->addWidget(note);
    v->addStretch();
    connect(save, &QPushButton::clicked, this, [this, note] {
        QString file = QFileDialog::getSaveFileName(this, tr("Export dump"), "tincan-dump.json",
                                                    "JSON (*.json)");
        if (file.isEmpty()) return;
        QSaveFile out(file);
        bool ok = out.open(QIODevice::WriteOnly) &&
                  out.write(exportJson(strip_->isChecked())) >= 0 && out.commit();
        note->setText(ok ? tr("Saved %1 (load it in any webrtc-internals dump viewer).").arg(file)
                         : tr("Could not save %1: %2").arg(file, out.errorString()));
    });
    connect(copy, &QPushButton::clicked, this, [this, note] {
        QApplication::clipboard()->setText(reportText(strip_->isChecked()));
        note->setText(tr("The report is on the clipboard."));
    });
    return w;
}

void DiagnosticsPanel::setServers(std::vector<IceServer> servers, bool relayOnly,
                                  bool allowLoopback) {
    servers_ = std::move(servers);
    relayOnly_ = relayOnly;
    allowLoopback_ = allowLoopback;
    for (const auto& s : servers_)
        for (const auto& url : s.urls)
            if (stunField_->text().isEmpty() && url.rfind("stun:", 0) == 0)
                stunField_->setText(QString::fromStdString(url));
}

bool DiagnosticsPanel::hasTurnServer() const {
    for (const auto& s : servers_)
        for (const auto& url : s.urls)
            if (url.rfind("turn", 0) == 0) return true;
    return false;
}

void DiagnosticsPanel::addStats(const StatsReport& report) {
    if (!history_.empty()) {
        const auto& prev = history_.back();
        double seconds = (report.timestampMs - prev.timestampMs) / 1000.0;
        if (seconds > 0 && report.transport && prev.transport) {
            bitrate_->append(0, double(report.transport->bytesSent - prev.transport->bytesSent) *
                                    8 / 1000 / seconds);
            bitrate_->append(
                1, double(report.transport->bytesReceived - prev.transport->bytesReceived) * 8 /
                       1000 / seconds);
        }
        auto sum = [](const StatsReport& r, bool sent) {
            uint64_t total = 0;
            for (const auto& d : r.dataChannels) total += sent ? d.bytesSent : d.bytesReceived;
            return total;
        };
        if (seconds > 0) {
            channels_->append(
                0, double(sum(report, true) - std::min(sum(report, true), sum(prev, true))) / 1000 /
                       seconds);
            channels_->append(
                1, double(sum(report, false) - std::min(sum(report, false), sum(prev, false))) /
                       1000 / seconds);
        }
    }
    if (const auto* sel = report.selectedPair(); sel && sel->currentRoundTripTime)
        rtt_->append(0, *sel->currentRoundTripTime * 1000);
    history_.push_back(report);
    while (history_.size() > kHistorySeconds) history_.pop_front();
    candidateModel_->setReport(report);
    pairModel_->setReport(report);
    refreshSummary();
}

void DiagnosticsPanel::setSelectedPair(const CandidatePair& pair) {
    selected_ = pair;
    refreshSummary();
}

QString DiagnosticsPanel::pathText() const {
    return selected_ ? pathInWords(*selected_) : QString();
}

QString DiagnosticsPanel::pairText() const {
    if (!selected_) return {};
    return QString("%1 ↔ %2").arg(candidateInWords(selected_->local),
                                  candidateInWords(selected_->remote));
}

QStringList DiagnosticsPanel::whyText() const {
    if (history_.empty()) return {tr("No statistics yet.")};
    return whyThisPath(history_.back(), relayOnly_);
}

void DiagnosticsPanel::refreshSummary() {
    if (selected_) {
        path_->setText(pathText());
        pair_->setText(tr("Selected pair: %1, round trip %2 ms")
                           .arg(pairText())
                           .arg(selected_->rttMs, 0, 'f', 1));
        if (!history_.empty())
            if (const auto* sel = history_.back().selectedPair(); sel && sel->currentRoundTripTime)
                pair_->setText(tr("Selected pair: %1, round trip %2 ms")
                                   .arg(pairText())
                                   .arg(*sel->currentRoundTripTime * 1000, 0, 'f', 1));
    }
    QString html;
    for (const auto& line : whyText()) html += "<p>" + line.toHtmlEscaped() + "</p>";
    if (why_->toHtml() != html) why_->setHtml(html);
}

QByteArray DiagnosticsPanel::exportJson(bool strip) const {
    DumpInput in;
    in.label = label_;
    in.events = timeline_->entries();
    in.history.assign(history_.begin(), history_.end());
    in.stripAddresses = strip;
    return webrtcInternalsDump(in);
}

QString DiagnosticsPanel::reportText(bool strip) const {
    StatsReport empty;
    return textReport(pathText().isEmpty() ? tr("not connected") : pathText() + " — " + pairText(),
                      whyText(), history_.empty() ? empty : history_.back(), timeline_->entries(),
                      strip);
}

void DiagnosticsPanel::showProbe(const QString& title, const ProbeReport& report) {
    testResults_->append(
        QString("<b>%1</b>: %2")
            .arg(title.toHtmlEscaped(), report.ok ? tr("ok") : tr("problems found")));
    for (const auto& line : report.lines)
        testResults_->append("&nbsp;&nbsp;" + line.toHtmlEscaped());
}

}  // namespace tincan::ui
