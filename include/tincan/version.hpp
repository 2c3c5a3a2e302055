// Tincan's version ("0.1.0"), the same for the library and every app.
#pragma once

namespace tincan {

const char* version();

}  // namespace tincan
