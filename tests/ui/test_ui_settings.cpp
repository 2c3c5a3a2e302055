// Settings: a valid set round-trips through QSettings; a bad entry is refused with a message
// next to its field, and nothing of the set is written.
#include <QComboBox>
#include <QDir>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QSettings>
#include <QTemporaryDir>
#include <QTest>

#include "ui/dialogs/settings_dialog.hpp"
#include "ui/models/app_settings.hpp"
#include "ui/theme.hpp"

using namespace tincan::ui;

class TestUiSettings : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    QString iniPath() const { return dir_.filePath("tincan.ini"); }

    AppSettings valid() const {
        AppSettings a;
        a.stunUrls = {"stun:stun.example.org:3478"};
        a.turnUrls = {"turn:turn.example.org:3478?transport=tcp"};
        a.turnUser = "alice";
        a.turnPassword = "secret";
        a.alwaysRelay = true;
        a.signalingServer = "ws://192.0.2.1:8765";
        a.downloadFolder = dir_.path();
        a.autoAcceptBytes = 5 * 1024 * 1024;
        a.theme = Theme::Dark;
        a.recentRooms = {"tincan://join/abc-def"};
        a.camera = "/dev/video7";
        a.microphone = "USB mic";
        a.speaker = "Speakers";
        return a;
    }

private slots:
    void roundTrip() {
        QSettings store(iniPath(), QSettings::IniFormat);
        store.clear();
        AppSettings a = valid();
        QVERIFY(a.validate().isEmpty());
        QVERIFY(a.save(store));
        QSettings again(iniPath(), QSettings::IniFormat);
        AppSettings b = AppSettings::load(again);
        QCOMPARE(b.stunUrls, a.stunUrls);
        QCOMPARE(b.turnUrls, a.turnUrls);
        QCOMPARE(b.turnUser, a.turnUser);
        QCOMPARE(b.turnPassword, a.turnPassword);
        QCOMPARE(b.alwaysRelay, true);
        QCOMPARE(b.signalingServer, a.signalingServer);
        QCOMPARE(b.downloadFolder, a.downloadFolder);
        QCOMPARE(b.autoAcceptBytes, a.autoAcceptBytes);
        QCOMPARE(b.theme, Theme::Dark);
        QCOMPARE(b.recentRooms, a.recentRooms);
        QCOMPARE(b.camera, a.camera);
        QCOMPARE(b.microphone, QString("USB mic"));
        QCOMPARE(b.speaker, QString("Speakers"));
        QCOMPARE(b.iceServers().size(), size_t(2));
        QCOMPARE(b.iceServers()[1].username, std::string("alice"));
    }

    void badEntriesRefusedAndNotSaved_data() {
        QTest::addColumn<QString>("field");
        QTest::addColumn<QString>("stun");
        QTest::addColumn<QString>("turn");
        QTest::addColumn<QString>("user");
        QTest::addColumn<QString>("signaling");
        QTest::newRow("bad stun port") << "stun"
                                       << "stun:host:99999"
                                       << ""
                                       << ""
                                       << "";
        QTest::newRow("not a url") << "stun"
                                   << "hello"
                                   << ""
                                   << ""
                                   << "";
        QTest::newRow("turn in stun list") << "stun"
                                           << "turn:host:3478"
                                           << ""
                                           << ""
                                           << "";
        QTest::newRow("turn without user") << "turnUser"
                                           << ""
                                           << "turn:host:3478"
                                           << ""
                                           << "";
        QTest::newRow("stun in turn list") << "turn"
                                           << ""
                                           << "stun:host:3478"
                                           << "u"
                                           << "";
        QTest::newRow("signaling with room") << "signaling"
                                             << ""
                                             << ""
                                             << ""
                                             << "ws://host:1/room";
        QTest::newRow("signaling http") << "signaling"
                                        << ""
                                        << ""
                                        << ""
                                        << "http://host:1";
    }
    void badEntriesRefusedAndNotSaved() {
        QFETCH(QString, field);
        QFETCH(QString, stun);
        QFETCH(QString, turn);
        QFETCH(QString, user);
        QFETCH(QString, signaling);
        QSettings store(iniPath(), QSettings::IniFormat);
        store.clear();
        store.sync();
        AppSettings a;
        a.downloadFolder = dir_.path();
        if (!stun.isEmpty()) a.stunUrls = {stun};
        if (!turn.isEmpty()) a.turnUrls = {turn};
        a.turnUser = user;
        a.turnPassword = user.isEmpty() ? "" : "pw";
        a.signalingServer = signaling;
        a.theme = Theme::Light;
        auto problems = a.validate();
        QVERIFY2(problems.contains(field), qPrintable(QStringList(problems.keys()).join(",")));
        QVERIFY(!problems.value(field).isEmpty());
        QVERIFY(!a.save(store));
        // Nothing of it was written: not even the valid fields.
        QSettings again(iniPath(), QSettings::IniFormat);
        QVERIFY(again.allKeys().isEmpty());
    }

    void dialogShowsTheMessageNextToTheField() {
        QSettings store(iniPath(), QSettings::IniFormat);
        store.clear();
        QVERIFY(valid().save(store));
        SettingsDialog dialog(store);
        auto edits = dialog.findChildren<QPlainTextEdit*>();
        QCOMPARE(edits.size(), 2);
        edits[0]->setPlainText("stun:bad host name:3478");
        QVERIFY(!dialog.trySave());
        QVERIFY(!dialog.errorFor("stun").isEmpty());
        auto* label = dialog.findChild<QLabel*>("error_stun");
        QVERIFY(label && !label->isHidden());
        // The stored settings are the valid ones from before.
        QSettings again(iniPath(), QSettings::IniFormat);
        QCOMPARE(AppSettings::load(again).stunUrls, valid().stunUrls);
        dialog.resize(620, 640);
        dialog.show();
        QString shots = qEnvironmentVariable("TINCAN_SCREENSHOTS");
        if (!shots.isEmpty()) {
            QDir().mkpath(shots);
            dialog.grab().save(shots + "/settings-error.png");
        }
        edits[0]->setPlainText("stun:stun.example.org:19302");
        QVERIFY(dialog.trySave());
        QVERIFY(label->isHidden());
        QSettings third(iniPath(), QSettings::IniFormat);
        QCOMPARE(AppSettings::load(third).stunUrls, QStringList{"stun:stun.example.org:19302"});
    }

    void devicePickers() {
        QSettings store(iniPath(), QSettings::IniFormat);
        store.clear();
        QVERIFY(valid().save(store));
        SettingsDialog dialog(store);
        // The real lists come from a worker first; then the test's own.
        QTRY_VERIFY_WITH_TIMEOUT(dialog.audioDevicesListed(), 10000);
        // No device: said in plain words, and the choice is what happens instead.
        dialog.setAudioDevices({{}, {}, {}});
        QVERIFY(
            dialog.deviceNote().contains("No microphone found: the other person hears silence"));
        QVERIFY(dialog.deviceNote().contains("No speaker found"));
        QCOMPARE(dialog.microphoneBox()->itemText(0), QString("No microphone (send silence)"));
        // The saved microphone is not connected: it stays chosen, marked as such.
        QCOMPARE(dialog.microphoneBox()->currentText(), QString("USB mic (not connected)"));
        dialog.setCameras({});
        QVERIFY(dialog.deviceNote().contains("No camera found"));
        QCOMPARE(dialog.cameraBox()->currentText(),
                 QString("The camera chosen before (not connected)"));
        // With devices: the saved ones are picked by name; a new choice is stored.
        dialog.setAudioDevices({{"Built-in mic", "USB mic"}, {"Speakers", "Headphones"}, {}});
        QCOMPARE(dialog.microphoneBox()->currentText(), QString("USB mic"));
        QCOMPARE(dialog.speakerBox()->currentText(), QString("Speakers"));
        QVERIFY(!dialog.deviceNote().contains("microphone"));
        dialog.speakerBox()->setCurrentIndex(dialog.speakerBox()->findData("Headphones"));
        dialog.cameraBox()->setCurrentIndex(0);  // the default
        QVERIFY(dialog.trySave());
        QSettings again(iniPath(), QSettings::IniFormat);
        AppSettings saved = AppSettings::load(again);
        QCOMPARE(saved.speaker, QString("Headphones"));
        QCOMPARE(saved.microphone, QString("USB mic"));
        QCOMPARE(saved.camera, QString());
    }

    void darkThemeIsDark() {
        applyTheme(Theme::Dark);
        QVERIFY(qApp->palette().color(QPalette::Window).lightness() < 80);
        QVERIFY(qApp->palette().color(QPalette::WindowText).lightness() > 180);
        QSettings store(iniPath(), QSettings::IniFormat);
        SettingsDialog dialog(store);
        dialog.resize(620, 640);
        dialog.show();
        QImage image = dialog.grab().toImage();
        // The dialog really paints dark: sample its background.
        QVERIFY(QColor(image.pixel(5, image.height() - 5)).lightness() < 80);
        QString shots = qEnvironmentVariable("TINCAN_SCREENSHOTS");
        if (!shots.isEmpty()) image.save(shots + "/settings-dark.png");
        applyTheme(Theme::Light);
        QVERIFY(qApp->palette().color(QPalette::Window).lightness() > 180);
    }
};

QTEST_MAIN(TestUiSettings)
#include "test_ui_settings.moc"
