#include "tincan/version.hpp"

namespace tincan {

const char* version() {
    return TINCAN_VERSION;
}

}  // namespace tincan
