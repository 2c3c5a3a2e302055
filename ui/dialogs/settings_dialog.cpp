#include "ui/dialogs/settings_dialog.hpp"

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

    field(tr("STUN servers"), stun_, "stun");
    field(tr("TURN servers"), turn_, "turn");
    field(tr("TURN user"), turnUser_, "turnUser");
    form->addRow(tr("TURN password"), turnPassword_);
    form->addRow(QString(), relay_);
    field(tr("Signaling server"), signaling_, "signaling");
    field(tr("Download folder"), downloadRow, "download");
    form->addRow(tr("Accept files without asking up to"), autoAcceptMb_);
    form->addRow(tr("Theme"), theme_);

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

QString SettingsDialog::errorFor(const QString& field) const {
    auto* label = errors_.value(field);
    return label && !label->isHidden() ? label->text() : QString();
}

}  // namespace tincan::ui
