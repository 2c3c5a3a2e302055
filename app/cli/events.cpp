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

Json candidateJson(const CandidateInfo& c) {
    Json j = {{"type", toString(c.type)},
              {"protocol", toString(c.protocol)},
              {"address", c.address},
              {"port", c.port},
              {"priority", c.priority}};
    if (c.relayProtocol) j["relayProtocol"] = toString(*c.relayProtocol);
    if (!c.url.empty()) j["url"] = c.url;
    return j;
}

Json selectedPairJson(const CandidatePair& pair) {
    Json j = {{"event", "selected-pair"},
              {"local", candidateJson(pair.local)},
              {"remote", candidateJson(pair.remote)},
              {"path", toString(pair.path)},
              {"rtt_ms", pair.rttMs}};
    if (pair.relayProtocol) j["relayProtocol"] = toString(*pair.relayProtocol);
    return j;
}

}  // namespace tincan::cli
