// Devices in Settings and in a call: the pickers follow devices plugged in and out (the
// QMediaDevices signals), "Test sound" plays a tone on the chosen speaker through PortAudio
// (checked for real on a user-space PulseAudio: the tone is recorded from the null sink's
// monitor and measured), a missing speaker is said in words, and a camera that goes away
// mid-call is replaced by the test pattern with a message in the window.
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QMediaDevices>
#include <QProcess>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <atomic>
#include <chrono>
#include <thread>

#include "media/audio/tone.hpp"
#include "media/video/i420_frame.hpp"
#include "media/video/video_source.hpp"
#include "ui/bridge/local_signal_server.hpp"
#include "ui/dialogs/settings_dialog.hpp"
#include "ui/widgets/video_view.hpp"
#include "ui/windows/call_window.hpp"

using namespace tincan;
using namespace tincan::ui;

namespace {

// A camera that sends plain green frames at 30 fps until it is "unplugged": then it stops and
// reports the loss from its own thread, as Qt Multimedia's camera does.
class FakeCamera : public media::VideoSource {
public:
    ~FakeCamera() override { stop(); }
    bool start(std::string&) override {
        frame_.resize(640, 480);
        std::fill(frame_.y(), frame_.y() + frame_.sizeY(), uint8_t(145));  // green: Y 145,
        std::fill(frame_.u(), frame_.u() + frame_.sizeUV(), uint8_t(54));  // U 54, V 34
        std::fill(frame_.v(), frame_.v() + frame_.sizeUV(), uint8_t(34));
        thread_ = std::thread([this] {
            while (!stopping_) {
                if (unplugged_) {
                    if (onError) onError("camera disconnected");
                    return;
                }
                if (onFrame) onFrame(frame_.view());
                ++sent_;
                std::this_thread::sleep_for(std::chrono::milliseconds(33));
            }
        });
        return true;
    }
    void stop() override {
        stopping_ = true;
        if (thread_.joinable()) thread_.join();
    }
    void unplug() { unplugged_ = true; }
    static inline std::atomic<int> sent_{0};

private:
    media::I420Frame frame_;
    std::thread thread_;
    std::atomic<bool> stopping_{false}, unplugged_{false};
};

FakeCamera* g_camera = nullptr;

// Share of sampled pixels that are the fake camera's green.
double greenShare(const QImage& image) {
    int green = 0, total = 0;
    for (int y = 0; y < image.height(); y += 4)
        for (int x = 0; x < image.width(); x += 4) {
            const QColor c = image.pixelColor(x, y);
            green += c.green() > 150 && c.red() < 80 && c.blue() < 80;
            ++total;
        }
    return total ? double(green) / total : 0;
}

}  // namespace

class TestUiDevices : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString pulseDir_;
    qint64 pulsePid_ = 0;
    QString pulseProblem_;

    // A user-space PulseAudio with a null sink (the speaker) and a sine source (LAB_NOTES).
    void startPulse() {
        pulseDir_ = dir_.filePath("pulse-runtime");
        QDir().mkpath(pulseDir_);
        qputenv("XDG_RUNTIME_DIR", pulseDir_.toUtf8());
        qputenv("PULSE_RUNTIME_PATH", (pulseDir_ + "/pulse").toUtf8());
        qunsetenv("PULSE_SERVER");
        const QString log = pulseDir_ + "/pulse.log";
        const int rc = QProcess::execute(
            "pulseaudio", {"-n", "--daemonize=yes", "--exit-idle-time=-1",
                           "--log-target=file:" + log, "--load=module-native-protocol-unix",
                           "--load=module-null-sink sink_name=vspk rate=48000",
                           "--load=module-sine-source source_name=vmic rate=48000 frequency=440"});
        if (rc != 0) {
            pulseProblem_ = QString("pulseaudio did not start (exit %1; see %2)").arg(rc).arg(log);
            return;
        }
        QFile pid(pulseDir_ + "/pulse/pid");
        if (pid.open(QIODevice::ReadOnly)) pulsePid_ = pid.readAll().trimmed().toLongLong();
        if (QProcess::execute("pactl", {"set-default-sink", "vspk"}) != 0)
            pulseProblem_ = "pactl could not set the default sink";
    }

    void requirePulse() {
        if (pulseProblem_.isEmpty()) return;
        if (qEnvironmentVariable("CI") == "true") QFAIL(qPrintable(pulseProblem_));
        QSKIP(qPrintable(pulseProblem_));
    }

private slots:
    void initTestCase() { startPulse(); }

    void pickersFollowHotPlug() {
        QSettings store(dir_.filePath("hotplug.ini"), QSettings::IniFormat);
        SettingsDialog dialog(store);
        QTRY_VERIFY_WITH_TIMEOUT(dialog.audioDevicesListed(), 10000);
        const int before = dialog.audioListings();
        QStringList speakers{"Speakers", "USB headset"};
        dialog.setAudioLister([&speakers] {
            AudioDeviceLists l;
            l.microphones = {"Built-in mic"};
            l.speakers = speakers;
            return l;
        });
        // A headset is plugged in: Qt Multimedia says so, the lists are read again.
        emit dialog.mediaDevices()->audioOutputsChanged();
        QTRY_VERIFY_WITH_TIMEOUT(dialog.speakerBox()->findData("USB headset") >= 0, 5000);
        QVERIFY(dialog.audioListings() > before);
        QVERIFY(dialog.microphoneBox()->findData("Built-in mic") >= 0);
        dialog.speakerBox()->setCurrentIndex(dialog.speakerBox()->findData("USB headset"));
        // ... and pulled out again: the choice stays, marked not connected.
        speakers = {"Speakers"};
        const int listed = dialog.audioListings();
        emit dialog.mediaDevices()->audioInputsChanged();
        QTRY_VERIFY_WITH_TIMEOUT(dialog.audioListings() > listed, 5000);
        QCOMPARE(dialog.speakerBox()->currentData().toString(), QString("USB headset"));
        QCOMPARE(dialog.speakerBox()->currentText(), QString("USB headset (not connected)"));
        QVERIFY(dialog.speakerBox()->findText("Speakers") >= 0);
        // Cameras too (none on this machine: the choice is kept, marked).
        dialog.setCameras({{"cam-1", "Front camera"}});
        dialog.cameraBox()->setCurrentIndex(dialog.cameraBox()->findData("cam-1"));
        emit dialog.mediaDevices()->videoInputsChanged();
        QCOMPARE(dialog.cameraBox()->currentData().toString(), QString("cam-1"));
    }

    void testSoundPlaysOnTheSpeaker() {
        requirePulse();
        QSettings store(dir_.filePath("sound.ini"), QSettings::IniFormat);
        SettingsDialog dialog(store);
        QTRY_VERIFY_WITH_TIMEOUT(dialog.audioDevicesListed(), 10000);
        QVERIFY2(dialog.testSoundButton()->isEnabled(), qPrintable(dialog.deviceNote()));
        // Record what reaches the null sink while the tone plays.
        QProcess rec;
        rec.start("parec", {"-d", "vspk.monitor", "--raw", "--format=s16le", "--rate=48000",
                            "--channels=1"});
        QVERIFY(rec.waitForStarted(5000));
        QTest::qWait(300);
        QSignalSpy finished(&dialog, &SettingsDialog::testSoundFinished);
        QTest::mouseClick(dialog.testSoundButton(), Qt::LeftButton);
        QVERIFY(!dialog.testSoundButton()->isEnabled());  // one at a time
        QCOMPARE(dialog.testSoundText(), QString("Playing a tone…"));
        QVERIFY(finished.wait(10000));
        QVERIFY2(finished.at(0).at(0).toBool(), qPrintable(dialog.testSoundText()));
        QVERIFY2(dialog.testSoundText().startsWith("Played a tone on "),
                 qPrintable(dialog.testSoundText()));
        if (QString dir = qEnvironmentVariable("TINCAN_SCREENSHOTS"); !dir.isEmpty()) {
            QDir().mkpath(dir);
            QVERIFY(dialog.grab().save(dir + "/settings-test-sound.png"));
        }
        QTest::qWait(200);
        rec.terminate();
        rec.waitForFinished(3000);
        const QByteArray raw = rec.readAllStandardOutput();
        std::vector<int16_t> samples(size_t(raw.size()) / 2);
        std::memcpy(samples.data(), raw.constData(), samples.size() * 2);
        QVERIFY2(samples.size() > 48000 / 2, qPrintable(QString::number(samples.size())));
        // The loudest 100 ms window holds the 660 Hz tone, far above anything at 440 Hz.
        double best660 = 0, at440 = 0;
        for (size_t i = 0; i + 4800 <= samples.size(); i += 2400) {
            std::span<const int16_t> w(samples.data() + i, 4800);
            const double p = media::goertzelPower(w, 1, 660.0);
            if (p > best660) {
                best660 = p;
                at440 = media::goertzelPower(w, 1, 440.0);
            }
        }
        qInfo("test sound at the sink: 660 Hz power %.5f, 440 Hz %.5f", best660, at440);
        QVERIFY(best660 > 0.001);  // -12 dBFS is ~0.0039; silence is ~0
        QVERIFY(best660 > 100 * at440);
    }

    void testSoundSaysWhyNot() {
        requirePulse();
        QSettings store(dir_.filePath("missing.ini"), QSettings::IniFormat);
        AppSettings s = AppSettings::load(store);
        s.downloadFolder = dir_.path();
        s.speaker = "Old USB speaker";
        QVERIFY(s.save(store));
        SettingsDialog dialog(store);
        QTRY_VERIFY_WITH_TIMEOUT(dialog.audioDevicesListed(), 10000);
        QCOMPARE(dialog.speakerBox()->currentText(), QString("Old USB speaker (not connected)"));
        QSignalSpy finished(&dialog, &SettingsDialog::testSoundFinished);
        dialog.playTestSound();
        QVERIFY(finished.wait(10000));
        QCOMPARE(finished.at(0).at(0).toBool(), false);
        QCOMPARE(dialog.testSoundText(), QString("No sound: Old USB speaker is not connected."));
    }

    void cameraUnpluggedMidCall() {
        LocalSignalServer server;
        QSignalSpy ready(&server, &LocalSignalServer::ready);
        server.start(LocalSignalServer::Scope::ThisComputer);
        QVERIFY(ready.wait(5000));
        AppSettings settings;
        settings.downloadFolder = dir_.path();
        CallWindow window(settings, RoomAddress{"devices-room", server.url()});
        window.show();
        CallConfig config;
        config.allowLoopback = true;
        config.interfaces = {"lo"};
        config.media.synthetic = true;  // the tone; the camera is the fake one
        config.media.cameraFactory = [] {
            auto camera = std::make_unique<FakeCamera>();
            g_camera = camera.get();
            return camera;
        };
        window.start(config);
        auto* note = window.findChild<QLabel*>("mediaNote");
        QTRY_VERIFY_WITH_TIMEOUT(note->text().contains("Sending your camera"), 5000);
        QTRY_VERIFY_WITH_TIMEOUT(window.selfVideo()->framesPainted() > 5, 5000);
        const QImage before = window.selfVideo()->grab(window.selfVideo()->frameRect()).toImage();
        QVERIFY2(greenShare(before) > 0.9, qPrintable(QString::number(greenShare(before))));

        QVERIFY(g_camera);
        g_camera->unplug();
        QTRY_VERIFY_WITH_TIMEOUT(
            note->text().contains(
                "The camera stopped (camera disconnected) — sending a test pattern instead"),
            5000);
        // The self view goes on, now with the test pattern.
        const quint64 painted = window.selfVideo()->framesPainted();
        QTRY_VERIFY_WITH_TIMEOUT(window.selfVideo()->framesPainted() > painted + 10, 5000);
        const QImage after = window.selfVideo()->grab(window.selfVideo()->frameRect()).toImage();
        QVERIFY2(greenShare(after) < 0.5, qPrintable(QString::number(greenShare(after))));
        // Joining the room is asynchronous (under ASan it can still be going on here).
        QTRY_COMPARE_WITH_TIMEOUT(window.headlineText(),
                                  QString("Waiting for the other person to join"), 5000);
        window.hangUp();
    }

    void cleanupTestCase() {
        if (pulsePid_ > 0) {
            QProcess::execute("kill", {QString::number(pulsePid_)});
            QTest::qWait(300);
            QProcess::execute("kill", {"-9", QString::number(pulsePid_)});
        }
    }
};

QTEST_MAIN(TestUiDevices)
#include "test_ui_devices.moc"
