// What the settings dialog edits, persisted with QSettings. validate() says what is wrong with
// each field in words; save() refuses anything invalid, so nothing is ever stored half-valid.
#pragma once

#include <QMap>
#include <QSettings>
#include <QString>
#include <QStringList>

#include <vector>

#include "tincan/ice_server.hpp"

namespace tincan::ui {

enum class Theme : uint8_t { System = 1, Light, Dark };

struct AppSettings {
    QStringList stunUrls;  // "stun:host:port"
    QStringList turnUrls;  // "turn:host:port?transport=udp", "turns:host:port"
    QString turnUser;
    QString turnPassword;
    bool alwaysRelay = false;
    QString signalingServer;  // ws://HOST:PORT; empty: run a local tincan-signal
    QString downloadFolder;
    quint64 autoAcceptBytes = 0;  // accept files up to this size without asking; 0: always ask
    Theme theme = Theme::System;
    // Devices by name (PortAudio's indexes change as devices come and go); empty: the default.
    QString camera;           // a Qt camera id
    QString microphone;       // a PortAudio input device name
    QString speaker;          // a PortAudio output device name
    QStringList recentRooms;  // newest first, at most 8

    static AppSettings load(QSettings& settings);
    // Field name ("stun", "turn", "turnUser", "signaling", "download") → what is wrong.
    QMap<QString, QString> validate() const;
    // False (and nothing written) when validate() found anything.
    bool save(QSettings& settings) const;
    std::vector<IceServer> iceServers() const;
    void addRecentRoom(const QString& room);
};

}  // namespace tincan::ui
