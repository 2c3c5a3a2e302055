#!/usr/bin/env bash
# Installs the dependencies, then configures (CMake + Ninja, RelWithDebInfo) and builds
# Tincan into build/. Extra arguments go to the configure step, e.g.
#   bash packaging/build.sh -DTINCAN_BUILD_APPS=OFF
# TINCAN_BUILD_DIR=<dir> builds elsewhere. With CI=true warnings are errors.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash packaging/install-deps.sh

build_dir=${TINCAN_BUILD_DIR:-build}
config=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
if [[ "${CI:-}" == true ]]; then
  config+=(-DTINCAN_WERROR=ON)
fi
# A folder configured with another generator cannot be reused with Ninja.
if [[ -f "$build_dir/CMakeCache.txt" ]] &&
   ! grep -qx 'CMAKE_GENERATOR:INTERNAL=Ninja' "$build_dir/CMakeCache.txt"; then
  rm -rf "$build_dir"
fi
cmake -S . -B "$build_dir" -G Ninja "${config[@]}" "$@"
cmake --build "$build_dir" -j "$(nproc)"
