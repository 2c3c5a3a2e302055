#include "tincan/network_thread.hpp"

#include <mutex>

#include <openssl/crypto.h>

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
    // Kept for the process's life: connections may outlive main's locals. OpenSSL is set up
    // first, so that its exit handler runs after this thread has stopped: a thread still running
    // at OPENSSL_cleanup() leaks its error queue and random generators (LeakSanitizer). (With no
    // option bit OPENSSL_init_crypto() returns at once; the strings are loaded anyway for errors.)
    [[maybe_unused]] static const bool opensslFirst =
        OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS, nullptr);
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
