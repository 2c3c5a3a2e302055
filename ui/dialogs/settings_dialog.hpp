// Settings: ICE servers, always relay, signaling server, download folder, auto-accept limit,
// theme, and the camera, microphone and speaker (the audio lists come from a worker: PortAudio
// probes the sound system; they follow devices plugged in or out), with a test sound. Save checks
// every field (tincan::validateIceServer for the servers) and shows what is wrong next to the
// field; nothing is stored until all of it is valid.
#pragma once

#include <QDialog>
#include <QFutureWatcher>
#include <QMap>

#include <functional>

#include "ui/bridge/media_devices.hpp"

#include "ui/models/app_settings.hpp"

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QMediaDevices;
class QPushButton;
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
    // Lists the audio devices again on a worker (a device came or went); the choice stays.
    void relistAudio();
    // Tests: where the audio lists come from (default: listAudioDevices, i.e. PortAudio).
    void setAudioLister(std::function<AudioDeviceLists()> lister);
    int audioListings() const { return audioListings_; }
    QMediaDevices* mediaDevices() const { return devices_; }
    // "Test sound": a tone on the chosen speaker, played on a worker.
    void playTestSound();
    QPushButton* testSoundButton() const { return testSound_; }
    QString testSoundText() const;

signals:
    void testSoundFinished(bool ok);

private:
    void showTestSoundResult(const TestSoundResult& result);

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
    bool camerasListed_ = false;
    bool relistPending_ = false;
    int audioListings_ = 0;
    std::function<AudioDeviceLists()> lister_;
    QFutureWatcher<AudioDeviceLists> audioDevices_;
    QMediaDevices* devices_ = nullptr;
    QPushButton* testSound_ = nullptr;
    QLabel* testSoundResult_ = nullptr;
    QFutureWatcher<TestSoundResult> testSoundRun_;
    QMap<QString, QLabel*> errors_;
};

}  // namespace tincan::ui
