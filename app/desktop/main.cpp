// tincan: the desktop app. A start window (create or join a room), a call window per call,
// and `--demo` (two peers in one process; screenshots and a summary when there is no display).
#include <QApplication>
#include <QCommandLineParser>
#include <QLineEdit>
#include <QSettings>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "app/desktop/demo.hpp"
#include "tincan/version.hpp"
#include "ui/bridge/local_signal_server.hpp"
#include "ui/dialogs/settings_dialog.hpp"
#include "ui/theme.hpp"
#include "ui/windows/call_window.hpp"
#include "ui/windows/start_window.hpp"

using namespace tincan::ui;

namespace {

bool headless() {
    const QString p = QGuiApplication::platformName();
    return p == "offscreen" || p == "minimal";
}

int runApp(QApplication& app, const QString& joinLink) {
    QSettings store;
    AppSettings settings = AppSettings::load(store);
    StartWindow start(store);
    std::unique_ptr<CallWindow> call;
    // With no server configured, the app is the server, on this computer's LAN address: the
    // link carries that address, so someone on the same network needs nothing else.
    start.setEmbeddedServer(LocalSignalServer::Scope::Lan, LocalSignalServer::kDefaultPort);
    QObject::connect(&start, &StartWindow::settingsRequested, &start, [&] {
        SettingsDialog dialog(store, &start);
        if (dialog.exec() == QDialog::Accepted) {
            settings = AppSettings::load(store);
            applyTheme(settings.theme);
            start.reloadSettings();
        }
    });
    QObject::connect(&start, &StartWindow::joinRequested, &start, [&](const RoomAddress& room) {
        settings = AppSettings::load(store);
        call = std::make_unique<CallWindow>(settings, room);
        QObject::connect(call.get(), &CallWindow::ended, &start, [&] { start.show(); });
        CallConfig config;
        config.iceServers = settings.iceServers();
        config.relayOnly = settings.alwaysRelay;
        call->start(config);
        call->show();
        start.hide();
    });
    start.show();
    if (!joinLink.isEmpty()) start.joinField()->setText(joinLink);
    return app.exec();
}

// Qt's offscreen plugin warns about window features it lacks; not news for a person.
void quietHandler(QtMsgType type, const QMessageLogContext& context, const QString& message) {
    if (message.startsWith("This plugin does not support") ||
        message.startsWith("QStandardPaths: XDG_RUNTIME_DIR"))
        return;
    qt_message_output(type, context, message);
}

}  // namespace

int main(int argc, char** argv) {
    // No display at all (a server, CI): render offscreen, so --help, --version and --demo work.
    if (!qEnvironmentVariableIsSet("QT_QPA_PLATFORM") && !qEnvironmentVariableIsSet("DISPLAY") &&
        !qEnvironmentVariableIsSet("WAYLAND_DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    qInstallMessageHandler(quietHandler);
    QApplication app(argc, argv);
    QApplication::setApplicationName("tincan");
    QApplication::setOrganizationName("tincan");
    QApplication::setApplicationVersion(tincan::version());
    initResources();
    QApplication::setWindowIcon(QIcon(":/tincan/tincan.svg"));

    QCommandLineParser parser;
    parser.setApplicationDescription(
        "Tincan: calls, chat and files straight between two computers, with the connection "
        "explained.");
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption demo(
        "demo",
        "Two peers in this process call each other over loopback (test pattern and tone), "
        "chat and send a file, "
        "with the diagnostics open. Without a display: screenshots, a summary, exit.");
    QCommandLineOption shots("screenshots",
                             "Where --demo saves its screenshots (default ./tincan-screenshots "
                             "when there is no display).",
                             "DIR");
    QCommandLineOption fileMb("demo-file-mb", "Size of the file --demo sends (default 4).", "MB",
                              "4");
    parser.addOption(demo);
    parser.addOption(fileMb);
    parser.addOption(shots);
    parser.addPositionalArgument("link", "A room to join: a code or a tincan://join/... link.",
                                 "[link]");
    parser.process(app);

    QSettings store;
    applyTheme(AppSettings::load(store).theme);
    if (parser.isSet(demo)) {
        tincan::app::DemoOptions options;
        options.screenshotDir = parser.value(shots);
        options.fileMegabytes = std::clamp(parser.value(fileMb).toInt(), 1, 4096);
        options.timeoutSeconds = 45 + options.fileMegabytes / 4;
        if (options.screenshotDir.isEmpty() && headless())
            options.screenshotDir = "tincan-screenshots";
        return tincan::app::runDemo(app, options);
    }
    const QStringList args = parser.positionalArguments();
    return runApp(app, args.isEmpty() ? QString() : args.first());
}
