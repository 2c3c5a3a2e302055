#include "ui/models/room.hpp"

#include <QRandomGenerator>
#include <QRegularExpression>
#include <QUrl>
#include <QUrlQuery>

namespace tincan::ui {

QString RoomAddress::link() const {
    QString link = "tincan://join/" + code;
    if (!server.isEmpty()) link += "?server=" + QString::fromUtf8(QUrl::toPercentEncoding(server));
    return link;
}

QString newRoomCode() {
    static const char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";  // no i, l, o, 0, 1
    QString code;
    for (int i = 0; i < 6; ++i) {
        if (i == 3) code += '-';
        code += QChar(alphabet[QRandomGenerator::global()->bounded(int(sizeof(alphabet) - 1))]);
    }
    return code;
}

static bool validCode(const QString& code) {
    static const QRegularExpression re("^[A-Za-z0-9_-]{1,64}$");
    return re.match(code).hasMatch();
}

std::optional<RoomAddress> parseRoom(const QString& input) {
    const QString text = input.trimmed();
    if (validCode(text)) return RoomAddress{text, {}};
    QUrl url(text, QUrl::StrictMode);
    if (!url.isValid()) return std::nullopt;
    if (url.scheme() == "tincan" && url.host() == "join") {
        QString code = url.path().mid(1);
        if (!validCode(code)) return std::nullopt;
        QString server = QUrlQuery(url).queryItemValue("server", QUrl::FullyDecoded);
        if (!server.isEmpty() && !server.startsWith("ws://") && !server.startsWith("wss://"))
            return std::nullopt;
        return RoomAddress{code, server};
    }
    if ((url.scheme() == "ws" || url.scheme() == "wss") && !url.host().isEmpty() &&
        !url.hasQuery()) {
        QString code = url.path().mid(1);
        if (!validCode(code)) return std::nullopt;
        url.setPath({});
        return RoomAddress{code, url.toString()};
    }
    return std::nullopt;
}

}  // namespace tincan::ui
