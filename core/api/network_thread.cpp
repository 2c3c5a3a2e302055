#include "tincan/network_thread.hpp"

#include <mutex>

#include "core/net/runtime.hpp"

namespace tincan {

NetworkThread::NetworkThread() : runtime_(std::make_unique<net::Runtime>()) {
    runtime_->start();
}

NetworkThread::~NetworkThread() {
    runtime_->stop();
}

std::shared_ptr<NetworkThread> NetworkThread::create() {
    return std::shared_ptr<NetworkThread>(new NetworkThread());
}

std::shared_ptr<NetworkThread> NetworkThread::shared() {
    // Kept for the process's life: connections may outlive main's locals.
    static std::mutex mutex;
    static std::shared_ptr<NetworkThread> thread;
    std::lock_guard lock(mutex);
    if (!thread) thread = create();
    return thread;
}

void NetworkThread::post(std::function<void()> fn) {
    runtime_->post(std::move(fn));
}

bool NetworkThread::isCurrent() const {
    return runtime_->onLoopThread();
}

}  // namespace tincan
