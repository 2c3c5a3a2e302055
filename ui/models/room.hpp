// Rooms as people share them: a short code ("k7m-2qx") and a link that carries the code and
// the signaling server ("tincan://join/k7m-2qx?server=ws://192.0.2.1:8765").
#pragma once

#include <QString>
#include <optional>

namespace tincan::ui {

struct RoomAddress {
    QString code;    // 1-64 of [A-Za-z0-9_-] (SIGNALING.md room names)
    QString server;  // ws://HOST:PORT, empty when the link did not say
    QString signalingUrl() const { return server + "/" + code; }
    QString link() const;
};

// A fresh code: 6 characters from an alphabet without look-alikes, as "abc-def".
QString newRoomCode();
// A code, a tincan:// link, or a ws(s)://HOST:PORT/ROOM URL; nullopt when it is none of them.
std::optional<RoomAddress> parseRoom(const QString& text);

}  // namespace tincan::ui
