// The public API: each call is posted to the loop (or run at once on it); see runtime.hpp.
#include "core/net/runtime.hpp"

#include <sys/epoll.h>
#include <unistd.h>

#include <thread>

#include "core/net/runtime_impl.hpp"

namespace tincan::net {

using namespace detail;

Runtime::Runtime(RuntimeConfig config) : impl_(std::make_unique<Impl>(std::move(config))) {}

Runtime::~Runtime() {
    if (impl_->onLoopThread()) {
        // The last owner let go inside a task of this very loop (a NetworkThread whose last
        // reference was a posted function, a connection dropped from its own callback): the
        // loop cannot join itself, and its state must outlive the task still on its stack. A
        // short-lived thread stops it, joins it once that task has returned, and frees it.
        impl_->stopRequested = true;
        std::thread([impl = std::move(impl_)]() mutable {
            impl->stop();
            impl.reset();
        }).detach();
        return;
    }
    impl_->stop();
}

void Runtime::start() {
    impl_->start();
}
void Runtime::stop() {
    impl_->stop();
}
void Runtime::run() {
    impl_->run();
}
bool Runtime::onLoopThread() const {
    return impl_->onLoopThread();
}

MachineId Runtime::attach(SansIoMachine& m, std::function<void()> onActivity) {
    auto entry = std::make_shared<Impl::Machine>();
    entry->id = impl_->nextMachineId++;
    entry->machine = &m;
    entry->onActivity = std::move(onActivity);
    {
        std::lock_guard lk(impl_->liveMu);
        impl_->liveIds.insert(entry->id);
    }
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, entry] {
            impl->machines[entry->id] = entry;
            // Its first transmits and deadline, once the current dispatch is over.
            impl->deferred.push_back([impl, id = entry->id] {
                if (auto m = impl->findMachine(id)) impl->afterInput(m);
            });
            spdlog::debug("net: machine {} attached", entry->id);
        },
        false);
    return entry->id;
}

void Runtime::detach(MachineId id) {
    {
        std::lock_guard lk(impl_->liveMu);
        if (!impl_->liveIds.erase(id)) return;
    }
    Impl* impl = impl_.get();
    impl->execOnLoop([impl, id] { impl->detachNow(id); }, true);
}

Result<Endpoint> Runtime::openUdp(MachineId id, const Endpoint& bind) {
    {
        std::lock_guard lk(impl_->liveMu);
        if (!impl_->liveIds.count(id)) {
            spdlog::debug("net: openUdp {}: unknown machine", bind.toString());
            return Error{"unknown machine"};
        }
    }
    auto sock = impl_->bindUdpSocket(id, bind);
    if (!sock) return sock.error();
    Impl* impl = impl_.get();
    impl->execOnLoop([impl, s = *sock] { impl->registerUdpSocket(s); }, false);
    return sock->bound;
}

void Runtime::closeUdp(MachineId id, const Endpoint& local) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, id, local] {
            auto m = impl->findMachine(id);
            if (!m) return;
            auto it = m->udpByLocal.find(local);
            if (it != m->udpByLocal.end()) impl->closeUdpSocket(it->second);
        },
        false);
}

void Runtime::closeStream(MachineId id, TransportProtocol protocol, const Endpoint& local,
                          const Endpoint& remote) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, id, protocol, localIp = local.ip, remote] {
            auto m = impl->findMachine(id);
            if (!m) return;
            auto it = m->streamByKey.find(StreamKey{protocol, localIp, remote});
            if (it == m->streamByKey.end()) return;
            auto s = impl->streams.find(it->second);
            if (s != impl->streams.end()) impl->beginLinger(*s->second);
        },
        false);
}

Result<void> Runtime::setTlsOptions(const Endpoint& remote, TlsOptions options) {
    Result<void> ok;
    if (!options.caFile.empty()) {
        // Just this file, to report errors now; the full context is built off the loop.
        ok = Impl::checkCaFile(options.caFile);
        if (!ok) spdlog::warn("net: TLS options for {}: {}", remote.toString(), ok.message());
    }
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, remote, options] {
            impl->tlsDestinations[remote] = options;
            impl->requestTlsContext(options.caFile);
        },
        false);
    return ok;
}

void Runtime::post(std::function<void()> fn) {
    impl_->enqueue(std::move(fn));
}

void Runtime::resolveMdns(const std::string& name,
                          std::function<void(std::optional<IpAddress>)> done, Duration timeout) {
    Impl* impl = impl_.get();
    impl->execOnLoop(
        [impl, name, done = std::move(done), timeout]() mutable {
            impl->startMdns(std::move(name), std::move(done), timeout);
        },
        false);
}

RuntimeStats Runtime::stats() const {
    const Counters& c = impl_->counters;
    auto get = [](const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    return RuntimeStats{get(c.udpRx),          get(c.udpTx),          get(c.udpTxDropped),
                        get(c.bytesRx),        get(c.bytesTx),        get(c.streamConnects),
                        get(c.streamFailures), get(c.droppedNoSocket)};
}

}  // namespace tincan::net
