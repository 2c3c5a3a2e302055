// The thread that runs Tincan's network: every socket, timer and protocol machine of the
// connections that share it, and every callback they make.
//
// One is plenty for a process (it serves thousands of connections); PeerConnection and
// IceTransport use NetworkThread::shared() unless their configuration names another.
#pragma once

#include <functional>
#include <memory>

namespace tincan {

namespace net {
class Runtime;
}

class NetworkThread {
public:
    // A new thread of its own, running until the last reference goes.
    static std::shared_ptr<NetworkThread> create();
    // The process-wide thread, started on first use.
    static std::shared_ptr<NetworkThread> shared();
    ~NetworkThread();
    NetworkThread(const NetworkThread&) = delete;
    NetworkThread& operator=(const NetworkThread&) = delete;

    // Runs fn on this thread, after what was posted before it.
    void post(std::function<void()> fn);
    bool isCurrent() const;

    // Core's runtime, for layers below the apps (media); not part of the stable API.
    net::Runtime& runtime() { return *runtime_; }

private:
    NetworkThread();
    std::unique_ptr<net::Runtime> runtime_;
};

}  // namespace tincan
