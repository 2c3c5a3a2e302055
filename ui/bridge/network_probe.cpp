#include "ui/bridge/network_probe.hpp"

#include <QtConcurrent/QtConcurrentRun>

#include <chrono>
#include <condition_variable>
#include <mutex>

#include "tincan/ice_transport.hpp"
#include "tincan/nat.hpp"

namespace tincan::ui {

ProbeReport runNatTest(const QString& stunUrl, double timeoutSeconds) {
    ProbeReport out;
    NatProbeOptions options;
    options.behaviorTests = true;
    options.timeoutSeconds = timeoutSeconds;
    auto result = probeNat(stunUrl.toStdString(), options);
    if (!result) {
        out.lines << QObject::tr("The STUN server %1 did not answer: %2")
                         .arg(stunUrl, QString::fromStdString(result.message()));
        return out;
    }
    out.ok = true;
    out.lines << QObject::tr("The server saw us as %1:%2 (we sent from %3:%4), round trip %5 ms.")
                     .arg(QString::fromStdString(result->mapped.address))
                     .arg(result->mapped.port)
                     .arg(QString::fromStdString(result->local.address))
                     .arg(result->local.port)
                     .arg(result->rttMs, 0, 'f', 1);
    if (!result->behaviorError.empty())
        out.lines << QObject::tr("Behaviour tests not possible: %1")
                         .arg(QString::fromStdString(result->behaviorError));
    else
        out.lines << QObject::tr("NAT type: %1 (mapping %2, filtering %3).")
                         .arg(QString::fromStdString(result->natType), toString(result->mapping),
                              toString(result->filtering));
    out.lines << QString::fromStdString(result->explanation());
    return out;
}

ProbeReport runPreCallTest(const std::vector<IceServer>& servers, bool allowLoopback,
                           double timeoutSeconds) {
    ProbeReport out;
    struct Shared {
        std::mutex mutex;
        std::condition_variable cv;
        std::vector<CandidateInfo> candidates;
        bool complete = false;
    };
    auto shared = std::make_shared<Shared>();
    IceTransportConfig config;
    config.iceServers = servers;
    config.allowLoopback = allowLoopback;
    IceTransportCallbacks cb;
    cb.onLocalCandidate = [shared](const CandidateInfo& c) {
        std::lock_guard lock(shared->mutex);
        shared->candidates.push_back(c);
    };
    cb.onGatheringState = [shared](IceGatheringState s) {
        if (s != IceGatheringState::Complete) return;
        std::lock_guard lock(shared->mutex);
        shared->complete = true;
        shared->cv.notify_all();
    };
    auto transport = IceTransport::create(config, cb);
    if (!transport) {
        out.lines
            << QObject::tr("Could not start: %1").arg(QString::fromStdString(transport.message()));
        return out;
    }
    {
        std::unique_lock lock(shared->mutex);
        shared->cv.wait_for(lock, std::chrono::duration<double>(timeoutSeconds),
                            [&] { return shared->complete; });
    }
    (*transport)->close();
    std::lock_guard lock(shared->mutex);
    int host = 0;
    for (const auto& c : shared->candidates) host += c.type == CandidateType::Host;
    out.lines << (host ? QObject::tr("Host addresses: ok (%1)").arg(host)
                       : QObject::tr("Host addresses: none — no usable network interface"));
    out.ok = host > 0;
    for (const auto& server : servers) {
        for (const auto& url : server.urls) {
            auto parsed = parseIceServerUrl(url);
            if (!parsed) continue;
            bool turn = parsed->isTurn();
            int srflx = 0, relay = 0;
            for (const auto& c : shared->candidates) {
                if (c.url != parsed->text && c.url != url) continue;
                srflx += c.type == CandidateType::ServerReflexive;
                relay += c.type == CandidateType::Relayed;
            }
            QString name = QString::fromStdString(url);
            if (!turn) {
                out.lines << (srflx
                                  ? QObject::tr("%1: server-reflexive ok").arg(name)
                                  : QObject::tr("%1: server not reachable (no answer)").arg(name));
                out.ok = out.ok && srflx;
                continue;
            }
            if (relay) {
                out.lines << QObject::tr("%1: relay ok").arg(name);
                continue;
            }
            out.ok = false;
            // A TURN server answers Binding requests without credentials: if it does, the
            // missing relay means it refused our credentials.
            auto reach = parsed->transport == IceServerUrl::Transport::Udp
                             ? probeNat(url, {false, 3.0})
                             : Result<NatProbeResult>(Error{"not UDP"});
            out.lines
                << (reach
                        ? QObject::tr("%1: TURN authentication failed (the server answers but gave "
                                      "no relay: "
                                      "check the user name and password)")
                              .arg(name)
                        : QObject::tr("%1: server not reachable (no relay, no answer)").arg(name));
        }
    }
    if (servers.empty())
        out.lines << QObject::tr(
            "No STUN or TURN server configured: only direct calls on one network will work.");
    if (!shared->complete)
        out.lines << QObject::tr("Gathering did not finish within %1 s.").arg(timeoutSeconds);
    return out;
}

NetworkProbe::NetworkProbe(QObject* parent) : QObject(parent) {
    connect(&watcher_, &QFutureWatcherBase::finished, this,
            [this] { emit finished(title_, watcher_.result()); });
}

NetworkProbe::~NetworkProbe() {
    watcher_.waitForFinished();
}

void NetworkProbe::natTest(const QString& stunUrl) {
    if (busy()) return;
    title_ = tr("NAT behaviour test");
    watcher_.setFuture(QtConcurrent::run([stunUrl] { return runNatTest(stunUrl, 5.0); }));
}

void NetworkProbe::preCallTest(const std::vector<IceServer>& servers, bool allowLoopback) {
    if (busy()) return;
    title_ = tr("Pre-call test");
    watcher_.setFuture(QtConcurrent::run(
        [servers, allowLoopback] { return runPreCallTest(servers, allowLoopback, 10.0); }));
}

}  // namespace tincan::ui
