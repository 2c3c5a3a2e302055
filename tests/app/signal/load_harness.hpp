// Many signaling clients in one Qt event loop, for the load test (test_load.cpp) and the load
// benchmark (tests/bench/bench_signal_load.cpp).
//
// LoadClients: `sockets` WebSockets joined pairwise into rooms "load<i>"; in the first
// `activeRooms` rooms the first peer keeps `window` messages in flight to the second, which
// echoes each back, for as long as traffic runs. Every frame a peer receives is checked: the
// right room, in order, and nothing but SIGNALING.md frames before it. Hostile: strangers that
// send garbage instead of an upgrade, peers that send an oversize frame, connections that never
// send a byte and a slowloris; each counted when the server closes it.
#pragma once

#include <QByteArray>
#include <QElapsedTimer>
#include <QTcpSocket>
#include <QUrl>
#include <QWebSocket>

#include <cstdint>
#include <memory>
#include <vector>

namespace tincan::signaling::load {

inline QString relayed(int room, std::int64_t seq) {
    return QStringLiteral(R"({"type":"m","r":%1,"s":%2})").arg(room).arg(seq);
}

class LoadClients {
public:
    LoadClients(QUrl server, int sockets, int activeRooms, int window)
        : server_(std::move(server)), activeRooms_(activeRooms), window_(window) {
        peers_.reserve(static_cast<std::size_t>(sockets));
        for (int i = 0; i < sockets; ++i) peers_.push_back(std::make_unique<Peer>(i / 2, i % 2));
    }

    // Opens every socket; joined() tells when all have their welcome.
    void open() {
        for (auto& p : peers_) {
            Peer* peer = p.get();
            peer->socket.setOutgoingFrameSize(4 * 1024 * 1024);
            QObject::connect(&peer->socket, &QWebSocket::textMessageReceived,
                             [this, peer](const QString& text) { received(*peer, text); });
            QObject::connect(&peer->socket, &QWebSocket::disconnected, [this, peer] {
                if (!closingDown_) ++unexpectedCloses_;
                peer->closed = true;
            });
            QUrl url = server_;
            url.setPath(QStringLiteral("/load%1").arg(peer->room));
            peer->socket.open(url);
        }
    }
    int welcomed() const { return welcomed_; }
    bool joined() const {
        return welcomed_ == int(peers_.size()) && peerJoined_ * 2 == int(peers_.size());
    }

    void startTraffic() {
        running_ = true;
        for (int room = 0; room < activeRooms_ && 2 * room + 1 < int(peers_.size()); ++room) {
            Peer& first = *peers_[std::size_t(2 * room)];
            for (int i = 0; i < window_; ++i)
                first.socket.sendTextMessage(relayed(room, first.sent++));
        }
    }
    void stopTraffic() { running_ = false; }
    // Every message sent has come back (after stopTraffic()).
    bool drained() const {
        for (int room = 0; room < activeRooms_ && 2 * room + 1 < int(peers_.size()); ++room) {
            const Peer& first = *peers_[std::size_t(2 * room)];
            if (first.echoes != first.sent) return false;
        }
        return true;
    }
    void closeAll() {
        closingDown_ = true;
        for (auto& p : peers_) p->socket.abort();
    }

    std::uint64_t delivered() const { return delivered_; }  // relayed messages received
    std::uint64_t errors() const { return errors_; }        // wrong room, order or frame
    std::uint64_t unexpectedCloses() const { return unexpectedCloses_; }
    // The fewest and most messages any active room delivered.
    std::pair<std::uint64_t, std::uint64_t> roomSpread() const {
        std::uint64_t lo = UINT64_MAX, hi = 0;
        for (int room = 0; room < activeRooms_ && 2 * room + 1 < int(peers_.size()); ++room) {
            const std::uint64_t n = peers_[std::size_t(2 * room)]->echoes;
            lo = std::min(lo, n);
            hi = std::max(hi, n);
        }
        return {lo == UINT64_MAX ? 0 : lo, hi};
    }

private:
    struct Peer {
        Peer(int r, int s) : room(r), side(s) {}
        int room;
        int side;  // 0 sends and counts echoes, 1 echoes
        bool welcome = false;
        bool closed = false;
        std::int64_t sent = 0;
        std::int64_t echoes = 0;    // side 0: echoes received, in order
        std::int64_t expected = 0;  // side 1: next sequence number
        QWebSocket socket;
    };

    void received(Peer& peer, const QString& text) {
        if (!peer.welcome) {
            if (text.startsWith(QLatin1String(R"({"type":"welcome")"))) {
                peer.welcome = true;
                ++welcomed_;
            } else {
                ++errors_;
            }
            return;
        }
        if (text == QLatin1String(R"({"type":"peer-joined"})")) {
            ++peerJoined_;
            return;
        }
        if (peer.room >= activeRooms_) {  // idle rooms hear nothing else
            ++errors_;
            return;
        }
        ++delivered_;
        if (peer.side == 1) {
            if (text != relayed(peer.room, peer.expected++)) ++errors_;
            peer.socket.sendTextMessage(text);
            return;
        }
        if (text != relayed(peer.room, peer.echoes++)) ++errors_;
        if (running_) peer.socket.sendTextMessage(relayed(peer.room, peer.sent++));
    }

    QUrl server_;
    int activeRooms_;
    int window_;
    std::vector<std::unique_ptr<Peer>> peers_;
    int welcomed_ = 0;
    int peerJoined_ = 0;
    bool running_ = false;
    bool closingDown_ = false;
    std::uint64_t delivered_ = 0;
    std::uint64_t errors_ = 0;
    std::uint64_t unexpectedCloses_ = 0;
};

// Strangers and misbehaving peers, `each` of every kind.
class Hostile {
public:
    Hostile(QHostAddress host, quint16 port, int each) {
        QUrl url;
        url.setScheme(QStringLiteral("ws"));
        url.setHost(host.toString());
        url.setPort(port);
        for (int i = 0; i < each; ++i) {
            // Garbage where the HTTP upgrade should be.
            auto garbage = raw(host, port);
            QObject::connect(garbage.get(), &QTcpSocket::connected, [s = garbage.get(), i] {
                QByteArray junk(4096, '\0');
                for (int k = 0; k < junk.size(); ++k) junk[k] = char((k * 131 + i * 7) & 0xFF);
                s->write(junk);
            });
            tcp_.push_back(std::move(garbage));
            // Never a byte; and half a request, never finished.
            tcp_.push_back(raw(host, port));
            auto slow = raw(host, port);
            QObject::connect(slow.get(), &QTcpSocket::connected, [s = slow.get()] {
                s->write("GET /slow HTTP/1.1\r\nHost: x\r\nUpgrade: websock");
            });
            tcp_.push_back(std::move(slow));
            // A peer that upgrades, joins, then announces a 2 MiB text frame (over the transport
            // limit) and starts sending it: refused on the header, the rest never read.
            auto big = raw(host, port);
            QObject::connect(big.get(), &QTcpSocket::connected, [s = big.get(), i] {
                s->write("GET /oversize" + QByteArray::number(i) +
                         " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                         "Sec-WebSocket-Version: 13\r\n\r\n");
                // RFC 6455 §5.2: FIN + text, masked, 64-bit length 2 MiB, mask key, payload.
                QByteArray frame("\x81\xff\x00\x00\x00\x00\x00\x20\x00\x00\x01\x02\x03\x04", 14);
                frame += QByteArray(16 * 1024, 'x');
                s->write(frame);
            });
            tcp_.push_back(std::move(big));
        }
    }
    // Connections of each kind the server has closed so far.
    int closedRaw() const {
        int n = 0;
        for (const auto& s : tcp_) n += s->state() == QAbstractSocket::UnconnectedState;
        return n;
    }
    int rawCount() const { return int(tcp_.size()); }

private:
    static std::unique_ptr<QTcpSocket> raw(const QHostAddress& host, quint16 port) {
        auto s = std::make_unique<QTcpSocket>();
        s->connectToHost(host, port);
        return s;
    }

    std::vector<std::unique_ptr<QTcpSocket>> tcp_;
};

}  // namespace tincan::signaling::load
