#include "ui/windows/call_status.hpp"

#include <QObject>

namespace tincan::ui {

void CallStatus::joined(int peers) {
    signalingDown_ = false;
    if (phase_ == CallPhase::Starting)
        phase_ = peers == 0 ? CallPhase::Waiting : CallPhase::Connecting;
}

void CallStatus::peerJoined() {
    if (phase_ == CallPhase::Waiting) phase_ = CallPhase::Connecting;
}

void CallStatus::gathering(IceGatheringState s) {
    gathering_ = s;
}

void CallStatus::ice(IceConnectionState s) {
    ice_ = s;
    if (s == IceConnectionState::Disconnected && phase_ == CallPhase::Connected)
        phase_ = CallPhase::Reconnecting;
    if ((s == IceConnectionState::Connected || s == IceConnectionState::Completed) &&
        phase_ == CallPhase::Reconnecting)
        phase_ = CallPhase::Connected;
    if (s == IceConnectionState::Checking && phase_ == CallPhase::Waiting)
        phase_ = CallPhase::Connecting;
}

void CallStatus::dtls(DtlsState s) {
    dtls_ = s;
}

void CallStatus::connection(PeerConnectionState s) {
    if (phase_ == CallPhase::Failed || phase_ == CallPhase::Ended) return;
    if (s == PeerConnectionState::Connected) phase_ = CallPhase::Connected;
    if (s == PeerConnectionState::Disconnected) phase_ = CallPhase::Reconnecting;
}

void CallStatus::pairsChecking(int count) {
    pairs_ = count;
}
void CallStatus::selectedPath(const QString& words) {
    path_ = words;
}
void CallStatus::signalingLost(const QString&) {
    signalingDown_ = true;
}

void CallStatus::ended(const QString& why) {
    if (phase_ == CallPhase::Failed) return;
    phase_ = CallPhase::Ended;
    reason_ = why;
}

void CallStatus::failed(const QString& reason, const QString& advice) {
    phase_ = CallPhase::Failed;
    reason_ = reason;
    advice_ = advice;
}

QString CallStatus::headline() const {
    switch (phase_) {
        case CallPhase::Starting:
            return QObject::tr("Starting…");
        case CallPhase::Waiting:
            return QObject::tr("Waiting for the other person to join");
        case CallPhase::Connecting:
            if (dtls_ == DtlsState::Connecting)
                return QObject::tr("Connecting — securing the connection (DTLS)");
            if (ice_ == IceConnectionState::Checking)
                return QObject::tr("Connecting — checking %1 candidate pair(s)").arg(pairs_);
            if (gathering_ == IceGatheringState::Gathering)
                return QObject::tr("Connecting — gathering network addresses");
            return QObject::tr("Connecting — exchanging call details");
        case CallPhase::Connected:
            return QObject::tr("Connected — %1")
                .arg(path_.isEmpty() ? QObject::tr("path being determined") : path_);
        case CallPhase::Reconnecting:
            return QObject::tr("Reconnecting — the network path stopped answering");
        case CallPhase::Ended:
            return QObject::tr("Call ended");
        case CallPhase::Failed:
            return QObject::tr("Call failed");
    }
    return {};
}

QString CallStatus::detail() const {
    if (phase_ == CallPhase::Failed)
        return advice_.isEmpty() ? reason_ : QObject::tr("%1: %2").arg(reason_, advice_);
    if (phase_ == CallPhase::Ended) return reason_;
    if (signalingDown_)
        return QObject::tr(
            "The signaling server is unreachable; the call goes on and Tincan keeps retrying.");
    return {};
}

}  // namespace tincan::ui
