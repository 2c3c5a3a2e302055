#include "app/cli/events.hpp"

#include <cstdio>

namespace tincan::cli {

void EventWriter::print(const Json& event) {
    std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
    line.push_back('\n');
    std::shared_ptr<const Observer> observer;
    {
        std::lock_guard lock(mutex_);
        std::fwrite(line.data(), 1, line.size(), stdout);
        std::fflush(stdout);
        observer = observer_;
    }
    if (observer && *observer) (*observer)(event);
}

void EventWriter::setObserver(Observer observer) {
    auto p = observer ? std::make_shared<const Observer>(std::move(observer)) : nullptr;
    std::lock_guard lock(mutex_);
    observer_ = std::move(p);
}

EventWriter& events() {
    static EventWriter writer;
    return writer;
}

Json selectedPairJson(const ice::CandidatePairInfo& pair) {
    Json j = {{"event", "selected-pair"},
              {"local", candidateJson(pair.local)},
              {"remote", candidateJson(pair.remote)},
              {"path", ice::toString(pair.path)},
              {"rtt_ms", toMillis(pair.rtt)}};
    if (pair.relayProtocol) j["relayProtocol"] = tincan::toString(*pair.relayProtocol);
    return j;
}

}  // namespace tincan::cli
