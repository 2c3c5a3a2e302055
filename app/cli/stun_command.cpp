#include "app/cli/commands.hpp"
#include "app/cli/events.hpp"
#include "tincan/nat.hpp"

namespace tincan::cli {

namespace {

Json endpointJson(const HostPort& ep) {
    return {{"address", ep.address}, {"port", ep.port}};
}

}  // namespace

int runStun(const CommonOptions& common, const StunOptions& options) {
    NatProbeOptions probe;
    probe.behaviorTests = options.natBehavior;
    probe.timeoutSeconds = common.durationSeconds.value_or(0);
    auto r = probeNat(options.uri, probe);
    if (!r) {
        printError(r.message());
        return r.message().rfind("bad STUN URI", 0) == 0 ? 2 : 1;
    }
    Json ev = {{"event", "stun"},
               {"server", r->serverUrl},
               {"local", endpointJson(r->local)},
               {"mapped", endpointJson(r->mapped)},
               {"rtt_ms", r->rttMs}};
    if (r->otherAddress) ev["other_address"] = endpointJson(*r->otherAddress);
    events().print(ev);
    if (!options.natBehavior) return 0;
    if (!r->behaviorError.empty()) {
        printError("NAT behaviour discovery failed: " + r->behaviorError);
        return 1;
    }
    events().print({{"event", "nat-behavior"},
                    {"mapping", toString(r->mapping)},
                    {"filtering", toString(r->filtering)},
                    {"nat_type", r->natType},
                    {"explanation", r->explanation()}});
    return 0;
}

}  // namespace tincan::cli
