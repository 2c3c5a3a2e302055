// A tincan-cli peer: a PeerConnection negotiated through the signaling server
// (../shared/SIGNALING.md) by session::Negotiator (perfect negotiation, shared with the desktop
// app), with the CLI.md event lines printed as things happen. The commands (echo, send, receive)
// add what they do with data channels.
#pragma once

#include <QCoreApplication>
#include <QTimer>

#include <atomic>
#include <functional>
#include <memory>

#include "app/cli/commands.hpp"
#include "session/negotiator.hpp"
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
        // Network thread: a track the peer sends on (PeerConnectionCallbacks::onTrack).
        std::function<void(std::shared_ptr<Track>)> onTrack;
        // Qt thread, in start() once the PeerConnection exists and before the room is joined (so
        // before any offer): add tracks here. False aborts start() (the hook printed why).
        std::function<bool(PeerConnection&)> beforeNegotiation;
        // Qt thread: --duration ran out. Unset: the session gives up (exit 1).
        std::function<void()> onDeadline;
        // Qt thread, in finish(): append stats objects to the final report (--stats-json).
        std::function<void(nlohmann::json& report)> addStats;
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
    bool everConnected() const { return everConnected_; }
    // Exit code to return from main.
    int exec();

private:
    QCoreApplication& app_;
    CommonOptions options_;
    Hooks hooks_;
    std::shared_ptr<PeerConnection> pc_;
    std::unique_ptr<session::Negotiator> negotiator_;
    QObject qtContext_;
    bool finished_ = false;
    std::atomic<bool> everConnected_{false};
    int exitCode_ = 0;
    QTimer deadline_;
};

}  // namespace tincan::cli
