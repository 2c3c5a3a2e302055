#include "ui/bridge/local_signal_server.hpp"

#include <QHostAddress>
#include <QNetworkInterface>
#include <QThread>

#include <string>

#include "signal/server.hpp"

namespace tincan::ui {

namespace {

// Plain words for what SignalServer::listen reports (QAbstractSocket's error strings).
QString listenProblem(const QString& host, quint16 port, const std::string& error) {
    const QString what = QString::fromStdString(error);
    if (what.contains("in use", Qt::CaseInsensitive))
        return QObject::tr("port %1 on %2 is already in use by another program")
            .arg(port)
            .arg(host);
    if (what.contains("permission denied", Qt::CaseInsensitive))
        return QObject::tr("this computer does not allow Tincan to use port %1").arg(port);
    if (what.contains("not available", Qt::CaseInsensitive) ||
        what.contains("cannot assign", Qt::CaseInsensitive))
        return QObject::tr("this computer no longer has the address %1 (did the network change?)")
            .arg(host);
    return QObject::tr("cannot listen on %1:%2 (%3)").arg(host).arg(port).arg(what);
}

}  // namespace

LocalSignalServer::LocalSignalServer(QObject* parent) : QObject(parent) {}

LocalSignalServer::~LocalSignalServer() {
    stop();
}

QString LocalSignalServer::lanAddress() {
    QString fallback;
    for (const QNetworkInterface& nic : QNetworkInterface::allInterfaces()) {
        const auto flags = nic.flags();
        if (!(flags & QNetworkInterface::IsUp) || !(flags & QNetworkInterface::IsRunning) ||
            (flags & QNetworkInterface::IsLoopBack))
            continue;
        for (const QNetworkAddressEntry& entry : nic.addressEntries()) {
            const QHostAddress a = entry.ip();
            if (a.protocol() != QAbstractSocket::IPv4Protocol || a.isLoopback() || a.isLinkLocal())
                continue;
            // 10/8, 172.16/12, 192.168/16: what a home or office LAN hands out.
            for (const char* range : {"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"})
                if (a.isInSubnet(QHostAddress::parseSubnet(range))) return a.toString();
            if (fallback.isEmpty()) fallback = a.toString();
        }
    }
    return fallback;
}

void LocalSignalServer::start(Scope scope, quint16 port) {
    QString host = "127.0.0.1";
    QString notice;
    if (scope == Scope::Lan) {
        host = lanAddress();
        if (host.isEmpty()) {
            host = "127.0.0.1";
            notice =
                tr("This computer is on no network, so the room link works only on this "
                   "computer. Connect to a network and restart Tincan to call someone else.");
        }
    }
    startOn(host, port, notice);
}

void LocalSignalServer::startOn(const QString& host, quint16 port, const QString& notice) {
    stop();
    thread_ = new QThread;
    thread_->setObjectName("tincan-signal");
    context_ = new QObject;
    context_->moveToThread(thread_);
    thread_->start();
    // The server's sockets are made on its thread, and only ever touched there.
    QMetaObject::invokeMethod(context_, [this, host, port, notice] {
        auto* server = new signaling::SignalServer(signaling::ServerConfig{});
        std::string error;
        QString why = notice;
        bool ok = server->listen(QHostAddress(host), port, error);
        if (!ok && port != 0 && error == "address already in use") {
            // Another Tincan or a tincan-signal has it: any port will do, only old links break.
            why = tr("%1, so the signaling server took another port: links made before will "
                     "not reach it.")
                      .arg(listenProblem(host, port, error));
            why[0] = why[0].toUpper();
            ok = server->listen(QHostAddress(host), 0, error);
        }
        if (!ok) {
            const QString failure = listenProblem(host, port, error);
            delete server;
            QMetaObject::invokeMethod(this, [this, failure] { emit failed(failure); });
            return;
        }
        const quint16 bound = server->port();
        server_ = server;
        QMetaObject::invokeMethod(this, [this, host, bound, why] { listened(host, bound, why); });
    });
}

void LocalSignalServer::listened(const QString& host, quint16 port, const QString& why) {
    host_ = host;
    port_ = port;
    notice_ = why;
    url_ = QString("ws://%1:%2").arg(host).arg(port);
    if (!notice_.isEmpty()) emit notice(notice_);
    emit ready(url_);
}

void LocalSignalServer::stop() {
    if (!thread_) return;
    // Close every WebSocket (1001, "going away") on the server's own thread, then end it. The
    // clients of this process's own calls cannot answer while this thread waits, so the
    // server's grace period (1 s) bounds the wait.
    QThread* thread = thread_;
    QMetaObject::invokeMethod(context_, [this, thread] {
        if (!server_) return thread->quit();
        server_->shutdown([this, thread] {
            server_->deleteLater();  // not from inside its own shutdown()
            server_ = nullptr;
            thread->quit();
        });
    });
    if (!thread_->wait(3000)) {
        thread_->terminate();
        thread_->wait();
    }
    delete context_;
    delete thread_;
    context_ = nullptr;
    thread_ = nullptr;
    port_ = 0;
    url_.clear();
}

}  // namespace tincan::ui
