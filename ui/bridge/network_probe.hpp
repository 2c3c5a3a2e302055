// The diagnostics panel's network tests, run on a worker thread (they block for seconds):
// the RFC 5780 NAT behaviour test against a STUN server, and a pre-call test that gathers
// candidates with the configured servers and says which kinds came back.
#pragma once

#include <QFutureWatcher>
#include <QObject>
#include <QStringList>

#include <vector>

#include "tincan/ice_server.hpp"

namespace tincan::ui {

struct ProbeReport {
    bool ok = false;    // everything asked for worked
    QStringList lines;  // plain words, one finding a line
};

// Blocking; for the worker. Exposed for tests.
ProbeReport runNatTest(const QString& stunUrl, double timeoutSeconds);
ProbeReport runPreCallTest(const std::vector<IceServer>& servers, bool allowLoopback,
                           double timeoutSeconds);

class NetworkProbe : public QObject {
    Q_OBJECT
public:
    explicit NetworkProbe(QObject* parent = nullptr);
    ~NetworkProbe() override;
    void natTest(const QString& stunUrl);
    void preCallTest(const std::vector<IceServer>& servers, bool allowLoopback);
    bool busy() const { return watcher_.isRunning(); }

signals:
    void finished(const QString& title, const tincan::ui::ProbeReport& report);

private:
    QFutureWatcher<ProbeReport> watcher_;
    QString title_;
};

}  // namespace tincan::ui
