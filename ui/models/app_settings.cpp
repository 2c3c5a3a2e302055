#include "ui/models/app_settings.hpp"

#include <QDir>
#include <QStandardPaths>
#include <QUrl>

namespace tincan::ui {

AppSettings AppSettings::load(QSettings& s) {
    AppSettings a;
    a.stunUrls = s.value("ice/stun").toStringList();
    a.turnUrls = s.value("ice/turn").toStringList();
    a.turnUser = s.value("ice/turnUser").toString();
    a.turnPassword = s.value("ice/turnPassword").toString();
    a.alwaysRelay = s.value("ice/alwaysRelay", false).toBool();
    a.signalingServer = s.value("signaling/server").toString();
    a.downloadFolder = s.value("files/downloadFolder",
                               QStandardPaths::writableLocation(QStandardPaths::DownloadLocation))
                           .toString();
    a.autoAcceptBytes = s.value("files/autoAcceptBytes", 0).toULongLong();
    int theme = s.value("ui/theme", int(Theme::System)).toInt();
    a.theme =
        theme >= int(Theme::System) && theme <= int(Theme::Dark) ? Theme(theme) : Theme::System;
    a.recentRooms = s.value("rooms/recent").toStringList();
    a.camera = s.value("devices/camera").toString();
    a.microphone = s.value("devices/microphone").toString();
    a.speaker = s.value("devices/speaker").toString();
    return a;
}

QMap<QString, QString> AppSettings::validate() const {
    QMap<QString, QString> errors;
    for (const auto& url : stunUrls) {
        auto ok = validateIceServer(IceServer{{url.toStdString()}, {}, {}});
        if (!ok) {
            errors["stun"] = QString::fromStdString(ok.message());
            break;
        }
        auto parsed = parseIceServerUrl(url.toStdString());
        if (parsed && parsed->isTurn()) {
            errors["stun"] = QObject::tr("%1 is a TURN server: put it in the TURN list").arg(url);
            break;
        }
    }
    for (const auto& url : turnUrls) {
        auto parsed = parseIceServerUrl(url.toStdString());
        if (parsed && !parsed->isTurn()) {
            errors["turn"] = QObject::tr("%1 is not a turn: or turns: URL").arg(url);
            break;
        }
        auto ok = validateIceServer(
            IceServer{{url.toStdString()}, turnUser.toStdString(), turnPassword.toStdString()});
        if (!ok) {
            errors[turnUser.isEmpty() || turnPassword.isEmpty() ? "turnUser" : "turn"] =
                QString::fromStdString(ok.message());
            break;
        }
    }
    if (alwaysRelay && turnUrls.isEmpty())
        errors["turn"] = QObject::tr("\"Always relay\" needs a TURN server");
    if (!signalingServer.isEmpty()) {
        QUrl url(signalingServer, QUrl::StrictMode);
        if (!url.isValid() || (url.scheme() != "ws" && url.scheme() != "wss") ||
            url.host().isEmpty() || (!url.path().isEmpty() && url.path() != "/"))
            errors["signaling"] = QObject::tr(
                "expected ws://HOST:PORT or wss://HOST:PORT (the room is added per call)");
    }
    if (downloadFolder.isEmpty() || !QDir(downloadFolder).exists())
        errors["download"] = QObject::tr("the folder does not exist");
    return errors;
}

bool AppSettings::save(QSettings& s) const {
    if (!validate().isEmpty()) return false;
    s.setValue("ice/stun", stunUrls);
    s.setValue("ice/turn", turnUrls);
    s.setValue("ice/turnUser", turnUser);
    s.setValue("ice/turnPassword", turnPassword);
    s.setValue("ice/alwaysRelay", alwaysRelay);
    s.setValue("signaling/server", signalingServer);
    s.setValue("files/downloadFolder", downloadFolder);
    s.setValue("files/autoAcceptBytes", autoAcceptBytes);
    s.setValue("ui/theme", int(theme));
    s.setValue("rooms/recent", recentRooms);
    s.setValue("devices/camera", camera);
    s.setValue("devices/microphone", microphone);
    s.setValue("devices/speaker", speaker);
    s.sync();
    return true;
}

std::vector<IceServer> AppSettings::iceServers() const {
    std::vector<IceServer> out;
    for (const auto& url : stunUrls) out.push_back(IceServer{{url.toStdString()}, {}, {}});
    for (const auto& url : turnUrls)
        out.push_back(
            IceServer{{url.toStdString()}, turnUser.toStdString(), turnPassword.toStdString()});
    return out;
}

void AppSettings::addRecentRoom(const QString& room) {
    recentRooms.removeAll(room);
    recentRooms.prepend(room);
    while (recentRooms.size() > 8) recentRooms.removeLast();
}

}  // namespace tincan::ui
