#include "ui/bridge/local_signal_server.hpp"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkInterface>
#include <QStandardPaths>

namespace tincan::ui {

LocalSignalServer::LocalSignalServer(QObject* parent) : QObject(parent) {
    process_.setProcessChannelMode(QProcess::SeparateChannels);
    process_.setStandardErrorFile(QProcess::nullDevice());
    connect(&process_, &QProcess::readyReadStandardOutput, this, [this] {
        buffer_ += QString::fromUtf8(process_.readAllStandardOutput());
        int nl = 0;
        while (port_ == 0 && (nl = int(buffer_.indexOf('\n'))) >= 0) {
            QString line = buffer_.left(nl);
            buffer_.remove(0, nl + 1);
            auto doc = QJsonDocument::fromJson(line.toUtf8());
            if (!doc.isObject() || doc.object().value("event").toString() != "listening") continue;
            port_ = quint16(doc.object().value("port").toInt());
            QString address = host_;
            if (host_ == "0.0.0.0") {
                address = "127.0.0.1";
                for (const auto& a : QNetworkInterface::allAddresses())
                    if (a.protocol() == QAbstractSocket::IPv4Protocol && !a.isLoopback()) {
                        address = a.toString();
                        break;
                    }
            }
            url_ = QString("ws://%1:%2").arg(address).arg(port_);
            emit ready(url_);
        }
    });
    connect(&process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError) {
        if (port_ == 0)
            emit failed(tr("could not start %1: %2").arg(program(), process_.errorString()));
    });
    connect(&process_, &QProcess::finished, this, [this](int code) {
        if (port_ == 0)
            emit failed(tr("the signaling server exited (code %1) before it was ready").arg(code));
        port_ = 0;
    });
}

LocalSignalServer::~LocalSignalServer() {
    stop();
}

QString LocalSignalServer::program() {
    // Tests and packagers point at a particular build.
    if (QString env = qEnvironmentVariable("TINCAN_SIGNAL"); !env.isEmpty()) return env;
    QString here = QDir(QCoreApplication::applicationDirPath()).filePath("tincan-signal");
    if (QFileInfo(here).isExecutable()) return here;
    // The build tree: app/desktop/tincan → app/signal/tincan-signal; tests/ui/x → app/signal.
    for (const char* rel : {"../signal/tincan-signal", "../../app/signal/tincan-signal"}) {
        QString p = QDir(QCoreApplication::applicationDirPath()).filePath(rel);
        if (QFileInfo(p).isExecutable()) return QFileInfo(p).canonicalFilePath();
    }
    QString onPath = QStandardPaths::findExecutable("tincan-signal");
    return onPath.isEmpty() ? QString("tincan-signal") : onPath;
}

void LocalSignalServer::start(const QString& listenHost) {
    host_ = listenHost;
    process_.start(program(), {"--listen", listenHost + ":0", "--log-level", "warn"});
}

void LocalSignalServer::stop() {
    if (process_.state() == QProcess::NotRunning) return;
    process_.terminate();
    if (!process_.waitForFinished(2000)) process_.kill();
    process_.waitForFinished(1000);
}

}  // namespace tincan::ui
