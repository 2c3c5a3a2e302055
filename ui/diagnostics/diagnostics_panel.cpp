#include "ui/diagnostics/diagnostics_panel.hpp"

#include <QApplication>
#include <QCheckBox>
#include <QClipboard>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
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
    media_ = new QLabel;
    media_->setObjectName("mediaSummary");
    media_->setWordWrap(true);
    media_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    media_->hide();
    why_ = new QTextBrowser;
    v->addWidget(path_);
    v->addWidget(pair_);
    v->addWidget(media_);
    v->addWidget(new QLabel(tr("<b>Why this path</b>")));
    v->addWidget(why_, 1);
    return w;
}

QWidget* DiagnosticsPanel::buildGraphs() {
    auto* w = new QWidget;
    auto* grid = new QGridLayout(w);
    const QColor send(46, 160, 67), recv(219, 97, 36), extra(47, 129, 247);
    rtt_ = new GraphWidget(tr("Round trip"), "ms");
    rtt_->addSeries(tr("ICE"), extra);
    rtt_->addSeries(tr("RTCP"), QColor(163, 113, 247));
    bitrate_ = new GraphWidget(tr("Transport bitrate"), "kbit/s");
    bitrate_->addSeries(tr("send"), send);
    bitrate_->addSeries(tr("recv"), recv);
    videoBitrate_ = new GraphWidget(tr("Video bitrate"), "kbit/s");
    videoBitrate_->addSeries(tr("send"), send);
    videoBitrate_->addSeries(tr("recv"), recv);
    videoBitrate_->addSeries(tr("target"), extra);
    fps_ = new GraphWidget(tr("Frames per second"), "fps");
    fps_->addSeries(tr("sent"), send);
    fps_->addSeries(tr("decoded"), recv);
    resolution_ = new GraphWidget(tr("Resolution (frame height)"), "px");
    resolution_->addSeries(tr("sent"), send);
    resolution_->addSeries(tr("received"), recv);
    loss_ = new GraphWidget(tr("Packet loss"), "%");
    loss_->addSeries(tr("of ours (peer's report)"), send);
    loss_->addSeries(tr("of theirs"), recv);
    jitter_ = new GraphWidget(tr("Jitter (received)"), "ms");
    jitter_->addSeries(tr("video"), recv);
    jitter_->addSeries(tr("audio"), extra);
    channels_ = new GraphWidget(tr("Data channels"), "kB/s");
    channels_->addSeries(tr("send"), send);
    channels_->addSeries(tr("recv"), recv);
    GraphWidget* order[] = {rtt_,        bitrate_, videoBitrate_, fps_,
                            resolution_, loss_,    jitter_,       channels_};
    for (int i = 0; i < 8; ++i) grid->addWidget(order[i], i / 2, i % 2);
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
    if (!history_.empty()) {
        const double seconds = (report.timestampMs - history_.back().timestampMs) / 1000.0;
        if (seconds > 0) addMediaSamples(report, history_.back(), seconds);
    }
    history_.push_back(report);
    while (history_.size() > kHistorySeconds) history_.pop_front();
    candidateModel_->setReport(report);
    pairModel_->setReport(report);
    refreshSummary();
}

template <typename T>
static const T* ofKind(const std::vector<T>& list, const char* kind) {
    for (const auto& x : list)
        if (x.kind == kind) return &x;
    return nullptr;
}

// Counters only grow, but a new stream (a renegotiation) starts from zero: never negative.
static double perSecond(uint64_t now, uint64_t before, double seconds) {
    return now >= before ? double(now - before) / seconds : 0;
}

void DiagnosticsPanel::addMediaSamples(const StatsReport& report, const StatsReport& prev,
                                       double seconds) {
    const auto* out = ofKind(report.outboundRtp, "video");
    const auto* outPrev = ofKind(prev.outboundRtp, "video");
    const auto* in = ofKind(report.inboundRtp, "video");
    const auto* inPrev = ofKind(prev.inboundRtp, "video");
    const auto* remote = ofKind(report.remoteInboundRtp, "video");
    const auto* audioIn = ofKind(report.inboundRtp, "audio");
    if (out && outPrev) {
        videoBitrate_->append(0, perSecond(out->bytesSent, outPrev->bytesSent, seconds) * 8 / 1000);
        if (out->framesEncoded && outPrev->framesEncoded)
            fps_->append(0, perSecond(*out->framesEncoded, *outPrev->framesEncoded, seconds));
    }
    if (out) {
        videoBitrate_->append(2, out->targetBitrate / 1000);
        if (out->frameHeight) resolution_->append(0, *out->frameHeight);
    }
    if (in && inPrev) {
        videoBitrate_->append(
            1, perSecond(in->bytesReceived, inPrev->bytesReceived, seconds) * 8 / 1000);
        if (in->framesDecoded && inPrev->framesDecoded)
            fps_->append(1, perSecond(*in->framesDecoded, *inPrev->framesDecoded, seconds));
        // Over this interval: of the packets that should have arrived, the share that did not.
        const double received = perSecond(in->packetsReceived, inPrev->packetsReceived, 1.0);
        const double lost = std::max<int64_t>(0, in->packetsLost - inPrev->packetsLost);
        loss_->append(1, received + lost > 0 ? 100 * lost / (received + lost) : 0);
    }
    if (in) {
        if (in->frameHeight) resolution_->append(1, *in->frameHeight);
        jitter_->append(0, in->jitter * 1000);
    }
    if (audioIn) jitter_->append(1, audioIn->jitter * 1000);
    if (remote) {
        loss_->append(0, remote->fractionLost * 100);
        if (remote->roundTripTime) rtt_->append(1, *remote->roundTripTime * 1000);
    }
}

void DiagnosticsPanel::setRemoteFramesDecoded(quint64 frames) {
    remoteFramesDecoded_ = frames;
    refreshSummary();
}

QString DiagnosticsPanel::mediaText() const {
    if (history_.empty()) return {};
    const auto& r = history_.back();
    const auto* in = ofKind(r.inboundRtp, "video");
    const auto* out = ofKind(r.outboundRtp, "video");
    const auto* audioIn = ofKind(r.inboundRtp, "audio");
    const auto* audioOut = ofKind(r.outboundRtp, "audio");
    QStringList parts;
    auto size = [](const std::optional<uint32_t>& w, const std::optional<uint32_t>& h) {
        return w && h && *w ? QString("%1x%2").arg(*w).arg(*h) : QString();
    };
    if (in) {
        QString s = tr("Video received: %1 frames decoded here").arg(in->framesDecoded.value_or(0));
        if (QString wh = size(in->frameWidth, in->frameHeight); !wh.isEmpty())
            s += tr(" (%1 at %2 fps)").arg(wh).arg(in->framesPerSecond.value_or(0), 0, 'f', 0);
        parts << s;
    }
    if (out) {
        QString s = tr("video sent: %1 frames encoded").arg(out->framesEncoded.value_or(0));
        if (QString wh = size(out->frameWidth, out->frameHeight); !wh.isEmpty())
            s += tr(" (%1)").arg(wh);
        if (remoteFramesDecoded_)
            s += tr(", %1 decoded by the other side").arg(*remoteFramesDecoded_);
        parts << s;
    }
    if (audioIn || audioOut)
        parts << tr("audio: %1 packets sent, %2 received")
                     .arg(audioOut ? audioOut->packetsSent : 0)
                     .arg(audioIn ? audioIn->packetsReceived : 0);
    return parts.join("; ");
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
    const QString media = mediaText();
    media_->setText(media);
    media_->setVisible(!media.isEmpty());
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
