// Settings: ICE servers, always relay, signaling server, download folder, auto-accept limit,
// theme, and the camera, microphone and speaker (the audio lists come from a worker: PortAudio
// probes the sound system). Save checks every field (tincan::validateIceServer for the servers) and
// shows what is wrong next to the field; nothing is stored until all of it is valid.
#pragma once

#include <QDialog>
#include <QFutureWatcher>
#include <QMap>

#include "ui/bridge/media_devices.hpp"

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
    // The device pickers, and a line under each when there is nothing to pick.
    QComboBox* cameraBox() const { return camera_; }
    QComboBox* microphoneBox() const { return microphone_; }
    QComboBox* speakerBox() const { return speaker_; }
    QString deviceNote() const;
    bool audioDevicesListed() const { return audioListed_; }
    // Fills the audio pickers (normally from the worker; tests call it with their own lists).
    void setAudioDevices(const AudioDeviceLists& lists);
    void setCameras(const QList<CameraEntry>& cameras);

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
    QComboBox* camera_ = nullptr;
    QComboBox* microphone_ = nullptr;
    QComboBox* speaker_ = nullptr;
    QLabel* deviceNote_ = nullptr;
    QString cameraNote_, audioNote_;
    bool audioListed_ = false;
    QFutureWatcher<AudioDeviceLists> audioDevices_;
    QMap<QString, QLabel*> errors_;
};

}  // namespace tincan::ui
