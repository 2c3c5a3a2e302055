// Perfect negotiation between one PeerConnection and its room on the signaling server
// (../shared/SIGNALING.md "Who offers"): the newcomer offers, the first-in-room peer is polite
// in glare, candidates trickle both ways, and a dropped signaling socket is reopened while the
// call carries on. Shared by tincan-cli and the desktop app.
//
// Qt thread only. The owner forwards PeerConnectionCallbacks::onIceCandidate here (after
// hopping to the Qt thread) and closes the PeerConnection before destroying the Negotiator.
#pragma once

#include <QObject>
#include <QUrl>

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "session/signaling_client.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::session {

class Negotiator : public QObject {
    Q_OBJECT
public:
    struct Hooks {
        std::function<void(int peers)> onJoined;  // every welcome, a rejoin after a drop too
        std::function<void()> onPeerJoined;
        std::function<void()> onPeerLeft;
        // The peer said bye, or left while the connection was not up: the call is over.
        std::function<void()> onRemoteHangup;
        // A remote candidate that parsed, before it is handed to the PeerConnection.
        std::function<void(const CandidateInfo&)> onRemoteCandidate;
        std::function<void(const std::string& why)> onReconnecting;
        // Fatal: the server refused us, or an offer/answer could not be applied.
        std::function<void(const std::string& why)> onError;
    };

    Negotiator(QUrl url, std::shared_ptr<PeerConnection> pc, Hooks hooks,
               QObject* parent = nullptr);

    // Joins the room (and keeps rejoining after drops).
    void start();
    // A local candidate (nullopt: end-of-candidates) to relay to the peer.
    void sendLocalCandidate(const std::optional<IceCandidate>& candidate);
    // Says bye and closes the socket; nothing is sent afterwards.
    void hangup();

    bool polite() const { return polite_; }
    bool joined() const { return joinedOnce_; }
    // Relayed messages of the wrong shape, ignored (SIGNALING.md: peer input is untrusted).
    uint64_t ignoredSignals() const { return ignoredSignals_; }

private:
    void onSignal(const signal::Message& msg);
    void onDescription(SdpType type, const std::string& sdp);
    void onCandidate(const signal::Candidate& candidate);
    void makeOffer();
    void send(const nlohmann::json& msg);
    void ignore(const std::string& why);
    void fail(const std::string& why);

    std::shared_ptr<PeerConnection> pc_;
    Hooks hooks_;
    SignalingClient signaling_;
    bool polite_ = true;
    bool joinedOnce_ = false;  // a later welcome is a rejoin after a signaling drop
    bool done_ = false;        // nothing more is sent or applied
    bool closed_ = false;      // the socket was closed
    uint64_t ignoredSignals_ = 0;
};

}  // namespace tincan::session
