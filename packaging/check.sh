#!/usr/bin/env bash
# Static checks of the tree, run by test.sh (and so by CI) before the build:
#   1. layering: nothing in app/ or ui/ includes core/* (apps use include/tincan/ only);
#   2. formatting: every C++ file is clang-formatted (.clang-format at the root);
#      TINCAN_CHECK_FORMAT=0 skips it (e.g. with a clang-format of another major version).
#   3. clang-tidy (.clang-tidy) on the C++ files the newest commit changed, when a compile
#      database exists (TINCAN_BUILD_DIR, default build/).
# Exits non-zero, naming the files, if 1 or 2 fails or clang-tidy reports an error.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
build_dir=${TINCAN_BUILD_DIR:-build}
status=0

layering=$(git grep -nE '#include +"core/' -- 'app/*' 'ui/*' 2>/dev/null || true)
if [[ -n "$layering" ]]; then
  echo "check: app/ and ui/ must use the public API (include/tincan/), not core/:" >&2
  echo "$layering" >&2
  status=1
fi

if [[ ${TINCAN_CHECK_FORMAT:-1} == 1 ]] && command -v clang-format >/dev/null; then
  mapfile -t files < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc' | grep -v '/fixtures/' || true)
  unformatted=()
  for f in "${files[@]}"; do
    [[ -f "$f" ]] || continue
    clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || unformatted+=("$f")
  done
  if ((${#unformatted[@]})); then
    echo "check: not clang-formatted (run clang-format -i on them): ${unformatted[*]}" >&2
    status=1
  fi
fi

if command -v clang-tidy >/dev/null && [[ -f "$build_dir/compile_commands.json" ]] &&
   git rev-parse -q --verify HEAD~1 >/dev/null; then
  mapfile -t changed < <(git diff --name-only --diff-filter=AM HEAD~1 -- '*.cpp' | head -n 6)
  for f in "${changed[@]}"; do
    [[ -f "$f" ]] || continue
    grep -q "\"file\": \"$PWD/$f\"" "$build_dir/compile_commands.json" 2>/dev/null ||
      grep -q "$f\"" "$build_dir/compile_commands.json" || continue
    if ! timeout 60 clang-tidy -p "$build_dir" --quiet "$f" 2>/dev/null | tee /tmp/tidy.$$ | grep -q ' error: '; then
      :
    else
      echo "check: clang-tidy errors in $f:" >&2
      grep -A3 ' error: ' /tmp/tidy.$$ >&2 || true
      status=1
    fi
  done
  rm -f /tmp/tidy.$$
fi

((status == 0)) && echo "check: layering and clang-tidy clean (formatting: TINCAN_CHECK_FORMAT=${TINCAN_CHECK_FORMAT:-1})"
exit $status
