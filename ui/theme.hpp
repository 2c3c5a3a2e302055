// System, light or dark: dark is Fusion with a dark palette, so it works on every platform.
#pragma once

#include "ui/models/app_settings.hpp"

namespace tincan::ui {

void applyTheme(Theme theme);
// The compiled-in icons (resources/tincan.qrc) in a static library need an explicit init;
// idempotent, called by the windows.
void initResources();

}  // namespace tincan::ui
