#include "tincan/candidate.hpp"
#include "core/api/convert.hpp"

namespace tincan {

const char* toString(CandidateType t) {
    return ice::toString(ice::CandidateType(uint8_t(t)));
}
const char* toString(PathType p) {
    return ice::toString(ice::PathType(uint8_t(p)));
}

Result<CandidateInfo> parseCandidate(const std::string& text) {
    auto parsed = ice::parseCandidate(text);
    if (!parsed) return Error{"bad candidate: " + parsed.error().message};
    return api::toPublic(*parsed);
}

}  // namespace tincan
