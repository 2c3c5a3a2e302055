#!/usr/bin/env bash
# Builds Tincan (build.sh) and runs the whole test suite:
#   0. packaging/check.sh (layering, clang-format, clang-tidy on the last commit's files),
#   1. every CTest test (unit tests, and the network-namespace tests, which need root),
#   2. each libFuzzer target for TINCAN_FUZZ_SECONDS (20) seconds, when clang is installed,
#      then an ASan + UBSan smoke of the core unit tests (TINCAN_SANITIZE_SMOKE=0: not run),
#   3. each benchmark once, as a smoke run.
# Exits non-zero if anything failed. With CI=true nothing may be skipped for want of root.
# TINCAN_BUILD_DIR (build) and TINCAN_FUZZ_BUILD_DIR (build-fuzz) choose the folders.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

build_dir=${TINCAN_BUILD_DIR:-build}
fuzz_dir=${TINCAN_FUZZ_BUILD_DIR:-build-fuzz}
fuzz_seconds=${TINCAN_FUZZ_SECONDS:-20}
failed=()

if [[ "${CI:-}" == true && $EUID -ne 0 ]]; then
  echo "test.sh: CI must run as root: the network tests (tests/net) need it" >&2
  exit 1
fi

bash packaging/build.sh

# --- 0. Static checks: layering (apps use include/tincan/ only), clang-format, clang-tidy ---
if bash packaging/check.sh; then
  check_ok=1
else
  check_ok=0
  failed+=(check)
fi

# --- 1. CTest ----------------------------------------------------------------------------
if ((EUID == 0)); then
  /usr/bin/python3 tests/net/netlab.py cleanup-stale  # namespaces left by killed runs
fi
ctest_log=$build_dir/ctest.log
set +e
ctest --test-dir "$build_dir" --output-on-failure -j2 --timeout 600 --no-tests=error 2>&1 |
  tee "$ctest_log"
ctest_rc=${PIPESTATUS[0]}
set -e
((ctest_rc == 0)) || failed+=(ctest)

# --- 2. Fuzz targets (tests/fuzz/fuzz_*, built with clang and libFuzzer) ----------------
fuzz_summary="fuzz: skipped (no clang++)"
extra_passed=0 extra_failed=0  # fuzz targets and benchmarks
if command -v clang++ >/dev/null; then
  echo "== fuzz targets: building in $fuzz_dir"
  mkdir -p "$fuzz_dir"
  if cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
       -DCMAKE_CXX_COMPILER=clang++ -DTINCAN_BUILD_FUZZERS=ON -DTINCAN_BUILD_APPS=OFF \
       -DTINCAN_BUILD_TESTS=OFF -DTINCAN_BUILD_BENCHMARKS=OFF >"$fuzz_dir/configure.log" 2>&1 &&
     cmake --build "$fuzz_dir" -j "$(nproc)" --target fuzzers; then
    mapfile -t targets < <(find "$fuzz_dir/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' \
                             -perm -u+x 2>/dev/null | sort)
    for target in "${targets[@]}"; do
      name=$(basename "$target")
      # libFuzzer writes new inputs into its corpus folder: give it a copy, not the source tree.
      corpus=$(mktemp -d)
      if [[ -d tests/fuzz/corpus/$name ]]; then cp -r "tests/fuzz/corpus/$name/." "$corpus/"; fi
      args=(-max_total_time="$fuzz_seconds" -timeout=10 -print_final_stats=1
            -artifact_prefix="$fuzz_dir/$name-")
      if [[ -f tests/fuzz/$name.dict ]]; then args+=(-dict="tests/fuzz/$name.dict"); fi
      log=$fuzz_dir/$name.log
      if "$target" "${args[@]}" "$corpus" >"$log" 2>&1; then
        runs=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz $name: ok, $runs runs in ${fuzz_seconds} s"
        extra_passed=$((extra_passed + 1))
      else
        echo "fuzz $name: FAILED (log $log, crash input under $fuzz_dir/$name-*)"
        tail -n 60 "$log"
        failed+=("fuzz:$name")
        extra_failed=$((extra_failed + 1))
      fi
      rm -rf "$corpus"
    done
    if ((${#targets[@]} == 0)); then
      fuzz_summary="fuzz: no fuzz targets yet ($fuzz_dir/tests/fuzz/fuzz_*)"
    else
      fuzz_summary="fuzz: ${#targets[@]} target(s), $extra_failed failed"
    fi
  else
    tail -n 40 "$fuzz_dir/configure.log" 2>/dev/null || true
    failed+=(fuzz-build)
    extra_failed=$((extra_failed + 1))
    fuzz_summary="fuzz: build FAILED"
  fi
fi
echo "$fuzz_summary"

# --- 2b. Sanitizer smoke: ASan + UBSan over the core unit tests and the PeerConnection tests
# (build-asan-smoke). TINCAN_SANITIZE_SMOKE=0 leaves it out; the full runs are
# packaging/sanitize.sh asan (whole suite) and tsan (docs/SECURITY.md, "Sanitizers").
if [[ ${TINCAN_SANITIZE_SMOKE:-1} == 1 ]]; then
  echo "== sanitizers: ASan + UBSan smoke (packaging/sanitize.sh asan-smoke)"
  smoke_start=$SECONDS
  if bash packaging/sanitize.sh asan-smoke; then
    extra_passed=$((extra_passed + 1))
  else
    failed+=(sanitize-smoke)
    extra_failed=$((extra_failed + 1))
  fi
  echo "sanitizers: smoke took $((SECONDS - smoke_start)) s"
fi

# --- 3. Benchmarks, once each (build/tests/bench/bench_*) ------------------------------
mapfile -t benches < <(find "$build_dir/tests/bench" -type f -name 'bench_*' -perm -u+x \
                         -not -path '*/CMakeFiles/*' 2>/dev/null | sort)
for bench in "${benches[@]}"; do
  echo "== $bench"
  if "$bench" --benchmark_min_time=0.01; then
    extra_passed=$((extra_passed + 1))
  else
    failed+=("bench:$(basename "$bench")")
    extra_failed=$((extra_failed + 1))
  fi
done
if ((${#benches[@]} == 0)); then
  echo "bench: no benchmarks yet ($build_dir/tests/bench/bench_*)"
fi

# The closing lines: CTest's own, then one total over tests, fuzz targets and benchmarks.
ctest_line=$(grep -E 'tests passed|tests failed|No tests were found' "$ctest_log" | tail -n 1 || true)
total=0 ctest_failed=0
if [[ $ctest_line =~ ([0-9]+)\ tests\ failed\ out\ of\ ([0-9]+) ]]; then
  ctest_failed=${BASH_REMATCH[1]} total=${BASH_REMATCH[2]}
fi
skipped=$(grep -cE '^[[:space:]]*[0-9]+ - .* \(Skipped\)$' "$ctest_log" || true)
n_passed=$((total - ctest_failed - skipped + extra_passed + check_ok))
n_failed=$((ctest_failed + extra_failed + 1 - check_ok))
if ((${#failed[@]})); then
  echo "test.sh: FAILED: ${failed[*]}" >&2
fi
echo "$ctest_line"
echo "summary: $n_passed passed, $n_failed failed, $skipped skipped"
((${#failed[@]} == 0))
