// The devices a call can use, by name: cameras (Qt Multimedia), microphones and speakers
// (PortAudio). Listing audio devices initialises PortAudio, which probes the sound system and
// can take a noticeable moment: call listAudioDevices() on a worker (QtConcurrent), never on the
// UI thread. Names are what Settings stores (PortAudio's indexes change as devices come and go).
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

#include <QtGlobal>

#include <mutex>

namespace tincan::ui {

struct AudioDeviceLists {
    QStringList microphones, speakers;  // default first
    QString error;                      // PortAudio could not start, in words
};

// PortAudio's initialisation is not thread-safe: every UI worker that starts it holds this.
std::mutex& portAudioMutex();

// Blocking; any thread.
AudioDeviceLists listAudioDevices();
// What "Test sound" did: ok, or why not in words. `device` is the name of the device played on.
struct TestSoundResult {
    bool ok = false;
    QString device;
    QString error;
    quint64 callbacks = 0;  // PortAudio buffers the device took
};

// Blocking for about `durationMs` (plus the device's start-up); never on the UI thread. Plays a
// 660 Hz tone at -12 dBFS on the speaker named `speaker` (empty: the default), through the same
// PortAudio code as a call.
TestSoundResult playTestSound(const QString& speaker, int durationMs = 700);

// Qt thread (Qt Multimedia); "description" strings, the default first. Empty: no camera.
struct CameraEntry {
    QString id, description;
};
QList<CameraEntry> listCameras();

}  // namespace tincan::ui
