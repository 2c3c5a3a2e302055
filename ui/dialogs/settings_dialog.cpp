#include "ui/dialogs/settings_dialog.hpp"

#include <algorithm>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QtConcurrent/QtConcurrentRun>

namespace tincan::ui {

SettingsDialog::SettingsDialog(QSettings& store, QWidget* parent)
    : QDialog(parent), store_(store), original_(AppSettings::load(store)) {
    setWindowTitle(tr("Tincan settings"));
    auto* form = new QFormLayout;
    auto field = [&](const QString& label, QWidget* w, const QString& key) {
        auto* box = new QVBoxLayout;
        box->addWidget(w);
        auto* err = new QLabel;
        err->setStyleSheet("color: #cf222e");
        err->setWordWrap(true);
        err->hide();
        err->setObjectName("error_" + key);
        box->addWidget(err);
        errors_[key] = err;
        form->addRow(label, box);
    };
    stun_ = new QPlainTextEdit(original_.stunUrls.join('\n'));
    stun_->setPlaceholderText("stun:stun.example.org:3478  (one per line)");
    stun_->setMaximumHeight(60);
    turn_ = new QPlainTextEdit(original_.turnUrls.join('\n'));
    turn_->setPlaceholderText("turn:turn.example.org:3478?transport=udp  (one per line)");
    turn_->setMaximumHeight(60);
    turnUser_ = new QLineEdit(original_.turnUser);
    turnPassword_ = new QLineEdit(original_.turnPassword);
    turnPassword_->setEchoMode(QLineEdit::Password);
    relay_ = new QCheckBox(tr("Always relay (hide my address; needs a TURN server)"));
    relay_->setChecked(original_.alwaysRelay);
    signaling_ = new QLineEdit(original_.signalingServer);
    signaling_->setPlaceholderText(tr("empty: run a signaling server on this computer"));
    download_ = new QLineEdit(original_.downloadFolder);
    auto* browse = new QPushButton(tr("Choose…"));
    auto* downloadRow = new QWidget;
    auto* h = new QHBoxLayout(downloadRow);
    h->setContentsMargins(0, 0, 0, 0);
    downloadRow->setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    h->addWidget(download_, 1);
    h->addWidget(browse);
    connect(browse, &QPushButton::clicked, this, [this] {
        QString dir =
            QFileDialog::getExistingDirectory(this, tr("Download folder"), download_->text());
        if (!dir.isEmpty()) download_->setText(dir);
    });
    autoAcceptMb_ = new QSpinBox;
    autoAcceptMb_->setRange(0, 100000);
    autoAcceptMb_->setSuffix(" MB");
    autoAcceptMb_->setSpecialValueText(tr("always ask"));
    autoAcceptMb_->setValue(int(original_.autoAcceptBytes / (1024 * 1024)));
    theme_ = new QComboBox;
    theme_->addItems({tr("System"), tr("Light"), tr("Dark")});
    theme_->setCurrentIndex(int(original_.theme) - 1);

    camera_ = new QComboBox;
    camera_->setObjectName("cameraBox");
    microphone_ = new QComboBox;
    microphone_->setObjectName("microphoneBox");
    speaker_ = new QComboBox;
    speaker_->setObjectName("speakerBox");
    microphone_->addItem(tr("Looking for devices…"), original_.microphone);
    speaker_->addItem(tr("Looking for devices…"), original_.speaker);
    microphone_->setEnabled(false);
    speaker_->setEnabled(false);
    deviceNote_ = new QLabel;
    deviceNote_->setObjectName("deviceNote");
    deviceNote_->setWordWrap(true);
    setCameras(listCameras());
    connect(&audioDevices_, &QFutureWatcherBase::finished, this,
            [this] { setAudioDevices(audioDevices_.result()); });
    audioDevices_.setFuture(QtConcurrent::run(listAudioDevices));

    field(tr("STUN servers"), stun_, "stun");
    field(tr("TURN servers"), turn_, "turn");
    field(tr("TURN user"), turnUser_, "turnUser");
    form->addRow(tr("TURN password"), turnPassword_);
    form->addRow(QString(), relay_);
    field(tr("Signaling server"), signaling_, "signaling");
    field(tr("Download folder"), downloadRow, "download");
    form->addRow(tr("Accept files without asking up to"), autoAcceptMb_);
    form->addRow(tr("Theme"), theme_);
    form->addRow(tr("Camera"), camera_);
    form->addRow(tr("Microphone"), microphone_);
    form->addRow(tr("Speaker"), speaker_);
    form->addRow(QString(), deviceNote_);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Save | QDialogButtonBox::Cancel);
    connect(buttons, &QDialogButtonBox::accepted, this, [this] {
        if (trySave()) accept();
    });
    connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
    auto* v = new QVBoxLayout(this);
    v->addLayout(form);
    v->addStretch(1);  // extra height goes below the fields, not between them
    v->addWidget(buttons);
}

static QStringList lines(const QPlainTextEdit* edit) {
    QStringList out;
    for (const auto& line : edit->toPlainText().split('\n', Qt::SkipEmptyParts))
        if (!line.trimmed().isEmpty()) out << line.trimmed();
    return out;
}

AppSettings SettingsDialog::edited() const {
    AppSettings a = original_;
    a.stunUrls = lines(stun_);
    a.turnUrls = lines(turn_);
    a.turnUser = turnUser_->text().trimmed();
    a.turnPassword = turnPassword_->text();
    a.alwaysRelay = relay_->isChecked();
    a.signalingServer = signaling_->text().trimmed();
    a.downloadFolder = download_->text().trimmed();
    a.autoAcceptBytes = quint64(autoAcceptMb_->value()) * 1024 * 1024;
    a.theme = Theme(theme_->currentIndex() + 1);
    a.camera = camera_->currentData().toString();
    a.microphone = microphone_->currentData().toString();
    a.speaker = speaker_->currentData().toString();
    return a;
}

bool SettingsDialog::trySave() {
    AppSettings a = edited();
    auto problems = a.validate();
    for (auto it = errors_.begin(); it != errors_.end(); ++it) {
        it.value()->setText(problems.value(it.key()));
        it.value()->setVisible(problems.contains(it.key()));
    }
    return problems.isEmpty() && a.save(store_);
}

// "Default", then each device; a saved device that is not connected stays choosable, marked.
static void fillDevices(QComboBox* box, const QStringList& names, const QString& saved,
                        const QString& defaultText) {
    box->clear();
    box->addItem(defaultText, QString());
    for (const auto& n : names) box->addItem(n, n);
    if (!saved.isEmpty() && !names.contains(saved))
        box->addItem(SettingsDialog::tr("%1 (not connected)").arg(saved), saved);
    box->setCurrentIndex(std::max(0, box->findData(saved)));
    box->setEnabled(true);
}

void SettingsDialog::setCameras(const QList<CameraEntry>& cameras) {
    camera_->clear();
    camera_->addItem(
        cameras.isEmpty() ? tr("No camera (send a test pattern)") : tr("Default camera"),
        QString());
    for (const auto& c : cameras) camera_->addItem(c.description, c.id);
    if (!original_.camera.isEmpty() && camera_->findData(original_.camera) < 0)
        camera_->addItem(tr("The camera chosen before (not connected)"), original_.camera);
    camera_->setCurrentIndex(std::max(0, camera_->findData(original_.camera)));
    cameraNote_ = cameras.isEmpty()
                      ? tr("No camera found: calls send a moving test pattern instead.")
                      : QString();
    deviceNote_->setText(deviceNote());
}

void SettingsDialog::setAudioDevices(const AudioDeviceLists& lists) {
    audioListed_ = true;
    fillDevices(microphone_, lists.microphones, original_.microphone,
                lists.microphones.isEmpty() ? tr("No microphone (send silence)")
                                            : tr("Default microphone"));
    fillDevices(speaker_, lists.speakers, original_.speaker,
                lists.speakers.isEmpty() ? tr("No speaker (play nothing)") : tr("Default speaker"));
    QStringList notes;
    if (!lists.error.isEmpty()) notes << tr("Sound is unavailable: %1.").arg(lists.error);
    if (lists.microphones.isEmpty())
        notes << tr("No microphone found: the other person hears silence.");
    if (lists.speakers.isEmpty())
        notes << tr("No speaker found: you will not hear the other person.");
    audioNote_ = notes.join('\n');
    deviceNote_->setText(deviceNote());
}

QString SettingsDialog::deviceNote() const {
    QStringList lines;
    for (const auto& n : {cameraNote_, audioNote_})
        if (!n.isEmpty()) lines << n;
    return lines.join('\n');
}

QString SettingsDialog::errorFor(const QString& field) const {
    auto* label = errors_.value(field);
    return label && !label->isHidden() ? label->text() : QString();
}

}  // namespace tincan::ui
