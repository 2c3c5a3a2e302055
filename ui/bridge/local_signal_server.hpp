// A tincan-signal child process for when no signaling server is configured: started on a free
// port, its readiness line read for the port, stopped with the app. (The issue asks for the
// server in-process; app/signal/ is being reworked, so a child process keeps the two apart.)
#pragma once

#include <QObject>
#include <QProcess>
#include <QString>

namespace tincan::ui {

class LocalSignalServer : public QObject {
    Q_OBJECT
public:
    explicit LocalSignalServer(QObject* parent = nullptr);
    ~LocalSignalServer() override;

    // `listenHost` "127.0.0.1" for this computer only, "0.0.0.0" for the LAN. Asynchronous:
    // `ready` or `failed` follows.
    void start(const QString& listenHost = "127.0.0.1");
    void stop();
    bool isReady() const { return port_ != 0; }
    quint16 port() const { return port_; }
    // ws://ADDRESS:PORT, with the LAN address when listening on all interfaces.
    QString url() const { return url_; }
    // $TINCAN_SIGNAL, else tincan-signal next to this program (or in the build tree), else on PATH.
    static QString program();

signals:
    void ready(const QString& url);
    void failed(const QString& why);

private:
    QProcess process_;
    QString buffer_;
    QString host_;
    QString url_;
    quint16 port_ = 0;
};

}  // namespace tincan::ui
