// A tincan-cli peer: a PeerConnection negotiated through the signaling server
// (../shared/SIGNALING.md) — the newcomer offers, the first-in-room peer is polite in glare
// (perfect negotiation), candidates trickle both ways — with the CLI.md event lines printed as
// things happen. The commands (echo, send, receive) add what they do with data channels.
#pragma once

#include <QCoreApplication>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>

#include "app/cli/commands.hpp"
#include "app/cli/signaling_client.hpp"
#include "tincan/peer_connection.hpp"

namespace tincan::cli {

class PeerSession {
public:
    struct Hooks {
        // Network thread.
        std::function<void(std::shared_ptr<DataChannel>)> onDataChannel;
        std::function<void()> onConnected;
        // Qt thread: the peer said bye (or left while we were not connected).
        std::function<void()> onRemoteHangup;
    };

    PeerSession(QCoreApplication& app, const CommonOptions& options, Hooks hooks);
    ~PeerSession();

    // Creates the PeerConnection and joins the room; false (and the error printed) on failure.
    bool start();
    PeerConnection& pc() { return *pc_; }

    // Runs fn on the Qt thread.
    void onQt(std::function<void()> fn);
    // Ends the session (Qt thread): stats, bye, close; the app exits with `code` shortly after.
    void finish(int code, const std::string& error = {});
    bool finished() const { return finished_; }
    // Exit code to return from main.
    int exec();

private:
    void onSignal(const nlohmann::json& msg);
    void makeOffer();
    void sendSignal(const nlohmann::json& msg);

    QCoreApplication& app_;
    CommonOptions options_;
    Hooks hooks_;
    std::shared_ptr<PeerConnection> pc_;
    std::unique_ptr<SignalingClient> signaling_;
    QObject qtContext_;
    bool polite_ = true;
    bool finished_ = false;
    bool everConnected_ = false;
    bool joinedOnce_ = false;  // a later welcome is a rejoin after a signaling drop
    int exitCode_ = 0;
    uint64_t ignoredSignals_ = 0;  // relayed messages of the wrong shape
    QTimer deadline_;
};

}  // namespace tincan::cli
