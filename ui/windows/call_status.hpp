// The call's state in words, from the bridge's events: "Waiting for the other person",
// "Connecting — checking 4 candidate pairs", "Connected — Direct (same network)",
// "Reconnecting…", "Call failed: <reason>. Try: <what>".
#pragma once

#include <QString>
#include <optional>

#include "tincan/peer_connection.hpp"

namespace tincan::ui {

enum class CallPhase : uint8_t {
    Starting = 1,
    Waiting,
    Connecting,
    Connected,
    Reconnecting,
    Ended,
    Failed
};

class CallStatus {
public:
    void joined(int peers);
    void peerJoined();
    void gathering(IceGatheringState s);
    void ice(IceConnectionState s);
    void dtls(DtlsState s);
    void connection(PeerConnectionState s);
    void pairsChecking(int count);
    void selectedPath(const QString& pathWords);
    void signalingLost(const QString& why);
    void ended(const QString& why);
    void failed(const QString& reason, const QString& advice);

    CallPhase phase() const { return phase_; }
    QString headline() const;  // one line for the status bar of the call window
    QString detail() const;    // the longer explanation under it (failures: what to try)

private:
    CallPhase phase_ = CallPhase::Starting;
    IceGatheringState gathering_ = IceGatheringState::New;
    IceConnectionState ice_ = IceConnectionState::New;
    DtlsState dtls_ = DtlsState::New;
    int pairs_ = 0;
    QString path_, reason_, advice_;
    bool signalingDown_ = false;
};

}  // namespace tincan::ui
