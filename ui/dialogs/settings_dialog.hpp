// Settings: ICE servers, always relay, signaling server, download folder, auto-accept limit,
// theme. Save checks every field (tincan::validateIceServer for the servers) and shows what is
// wrong next to the field; nothing is stored until all of it is valid.
#pragma once

#include <QDialog>
#include <QMap>

#include "ui/models/app_settings.hpp"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QSpinBox;

namespace tincan::ui {

class SettingsDialog : public QDialog {
    Q_OBJECT
public:
    SettingsDialog(QSettings& store, QWidget* parent = nullptr);
    AppSettings edited() const;
    // Validates and saves; false (with the messages shown) when anything is wrong.
    bool trySave();
    QString errorFor(const QString& field) const;

private:
    QSettings& store_;
    AppSettings original_;
    QPlainTextEdit* stun_ = nullptr;
    QPlainTextEdit* turn_ = nullptr;
    QLineEdit* turnUser_ = nullptr;
    QLineEdit* turnPassword_ = nullptr;
    QCheckBox* relay_ = nullptr;
    QLineEdit* signaling_ = nullptr;
    QLineEdit* download_ = nullptr;
    QSpinBox* autoAcceptMb_ = nullptr;
    QComboBox* theme_ = nullptr;
    QMap<QString, QLabel*> errors_;
};

}  // namespace tincan::ui
