// One JSON object per line on stdout, flushed as it happens (../shared/CLI.md "Events on
// stdout"). Thread-safe: the network thread and the Qt thread both write events.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "tincan/candidate.hpp"

namespace tincan::cli {

using Json = nlohmann::json;

class EventWriter {
public:
    using Observer = std::function<void(const Json& event)>;

    void print(const Json& event);
    // Also hands every printed event to `observer` (on the printing thread, after the line is
    // out, outside the writer's lock), so that a command can follow its own session's
    // milestones (the bench commands time `signaling joined` etc.). Empty: none.
    void setObserver(Observer observer);

private:
    std::mutex mutex_;
    std::shared_ptr<const Observer> observer_;
};

EventWriter& events();

// {"type":"srflx","protocol":"udp","address":"...","port":1,"priority":...[,"relayProtocol":"tcp"][,"url":...]}
Json candidateJson(const CandidateInfo& c);
// The selected-pair event of CLI.md.
Json selectedPairJson(const CandidatePair& pair);

}  // namespace tincan::cli
