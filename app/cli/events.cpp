#include "app/cli/events.hpp"

#include <cstdio>

namespace tincan::cli {

void EventWriter::print(const Json& event) {
    std::string line = event.dump(-1, ' ', false, Json::error_handler_t::replace);
    line.push_back('\n');
    std::lock_guard lock(mutex_);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fflush(stdout);
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
