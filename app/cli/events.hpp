// One JSON object per line on stdout, flushed as it happens (../shared/CLI.md "Events on
// stdout"). Thread-safe: the network thread and the Qt thread both write events.
#pragma once

#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "core/ice/agent.hpp"
#include "core/pc/stats.hpp"

namespace tincan::cli {

using Json = nlohmann::json;

class EventWriter {
public:
    void print(const Json& event);

private:
    std::mutex mutex_;
};

EventWriter& events();

using pc::candidateJson;
// The selected-pair event of CLI.md.
Json selectedPairJson(const ice::CandidatePairInfo& pair);

}  // namespace tincan::cli
