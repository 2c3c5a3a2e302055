#include "ui/dialogs/settings_dialog.hpp"

#include <algorithm>
#include <utility>

#include <QCheckBox>
#include <QComboBox>
#include <QDialogButtonBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QMediaDevices>
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
    testSound_ = new QPushButton(tr("Test sound"));
    testSound_->setObjectName("testSound");
    testSound_->setToolTip(tr("Plays a short tone on the chosen speaker"));
    testSound_->setEnabled(false);
    testSoundResult_ = new QLabel;
    testSoundResult_->setObjectName("testSoundResult");
    testSoundResult_->setWordWrap(true);
    testSoundResult_->hide();
    auto* speakerRow = new QHBoxLayout;
    speakerRow->setContentsMargins(0, 0, 0, 0);
    speakerRow->addWidget(speaker_, 1);
    speakerRow->addWidget(testSound_);
    connect(testSound_, &QPushButton::clicked, this, &SettingsDialog::playTestSound);
    connect(&testSoundRun_, &QFutureWatcherBase::finished, this,
            [this] { showTestSoundResult(testSoundRun_.result()); });

    setCameras(listCameras());
    connect(&audioDevices_, &QFutureWatcherBase::finished, this, [this] {
        setAudioDevices(audioDevices_.result());
        if (std::exchange(relistPending_, false)) relistAudio();
    });
    relistAudio();
    // Hot-plug: the pickers follow devices as they come and go, keeping what is chosen (a
    // chosen device that went away stays in the list, marked not connected).
    devices_ = new QMediaDevices(this);
    connect(devices_, &QMediaDevices::videoInputsChanged, this,
            [this] { setCameras(listCameras()); });
    connect(devices_, &QMediaDevices::audioInputsChanged, this, &SettingsDialog::relistAudio);
    connect(devices_, &QMediaDevices::audioOutputsChanged, this, &SettingsDialog::relistAudio);

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
    form->addRow(tr("Speaker"), speakerRow);
    form->addRow(QString(), testSoundResult_);
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
    // The first time, the saved camera; later (hot-plug), whatever is chosen now.
    const QString chosen = camerasListed_ ? camera_->currentData().toString() : original_.camera;
    camerasListed_ = true;
    camera_->clear();
    camera_->addItem(
        cameras.isEmpty() ? tr("No camera (send a test pattern)") : tr("Default camera"),
        QString());
    for (const auto& c : cameras) camera_->addItem(c.description, c.id);
    if (!chosen.isEmpty() && camera_->findData(chosen) < 0)
        camera_->addItem(tr("The camera chosen before (not connected)"), chosen);
    camera_->setCurrentIndex(std::max(0, camera_->findData(chosen)));
    cameraNote_ = cameras.isEmpty()
                      ? tr("No camera found: calls send a moving test pattern instead.")
                      : QString();
    deviceNote_->setText(deviceNote());
}

void SettingsDialog::setAudioDevices(const AudioDeviceLists& lists) {
    const QString mic = audioListed_ ? microphone_->currentData().toString() : original_.microphone;
    const QString spk = audioListed_ ? speaker_->currentData().toString() : original_.speaker;
    audioListed_ = true;
    ++audioListings_;
    fillDevices(microphone_, lists.microphones, mic,
                lists.microphones.isEmpty() ? tr("No microphone (send silence)")
                                            : tr("Default microphone"));
    fillDevices(speaker_, lists.speakers, spk,
                lists.speakers.isEmpty() ? tr("No speaker (play nothing)") : tr("Default speaker"));
    QStringList notes;
    if (!lists.error.isEmpty()) notes << tr("Sound is unavailable: %1.").arg(lists.error);
    if (lists.microphones.isEmpty())
        notes << tr("No microphone found: the other person hears silence.");
    if (lists.speakers.isEmpty())
        notes << tr("No speaker found: you will not hear the other person.");
    audioNote_ = notes.join('\n');
    deviceNote_->setText(deviceNote());
    testSound_->setEnabled(!lists.speakers.isEmpty() && !testSoundRun_.isRunning());
}

void SettingsDialog::setAudioLister(std::function<AudioDeviceLists()> lister) {
    lister_ = std::move(lister);
}

void SettingsDialog::relistAudio() {
    // PortAudio only sees a new device after a fresh start, which listAudioDevices() does.
    if (audioDevices_.isRunning()) {
        relistPending_ = true;
        return;
    }
    audioDevices_.setFuture(QtConcurrent::run(lister_ ? lister_ : listAudioDevices));
}

void SettingsDialog::playTestSound() {
    if (testSoundRun_.isRunning()) return;
    const QString speaker = speaker_->currentData().toString();
    testSound_->setEnabled(false);
    testSoundResult_->setStyleSheet({});
    testSoundResult_->setText(tr("Playing a tone…"));
    testSoundResult_->show();
    testSoundRun_.setFuture(
        QtConcurrent::run([speaker] { return tincan::ui::playTestSound(speaker); }));
}

void SettingsDialog::showTestSoundResult(const TestSoundResult& result) {
    testSound_->setEnabled(speaker_->isEnabled());
    if (result.ok) {
        testSoundResult_->setStyleSheet({});
        testSoundResult_->setText(
            tr("Played a tone on “%1”. If you heard nothing, check the volume or pick another "
               "speaker.")
                .arg(result.device));
    } else {
        testSoundResult_->setStyleSheet("color: #cf222e");
        testSoundResult_->setText(tr("No sound: %1.").arg(result.error));
    }
    emit testSoundFinished(result.ok);
}

QString SettingsDialog::testSoundText() const {
    return testSoundResult_->isHidden() ? QString() : testSoundResult_->text();
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
