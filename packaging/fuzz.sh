#!/usr/bin/env bash
# Runs every libFuzzer target (tests/fuzz/fuzz_*) for as long as asked, one after another:
#   packaging/fuzz.sh [SECONDS] [TARGET...]        (SECONDS per target, default 60)
# TINCAN_FUZZ_RUNS=N also stops a target after N executions (e.g. 10000000, the issue 8 goal).
# TINCAN_FUZZ_NICE (19) is the niceness of the fuzzers, so that long runs yield to everything.
# TINCAN_FUZZ_WORKERS=N runs N processes per target on one corpus (one per free core), each
# stopping after its share of TINCAN_FUZZ_RUNS; the summary adds up their executions.
# The working corpus of each target lives in $TINCAN_FUZZ_BUILD_DIR/corpus/<target> (seeded from
# tests/fuzz/corpus/<target>) and grows from run to run; crash inputs land beside it as
# <target>-crash-*, leak-* or timeout-*. Ends with one line per target: executions, seconds,
# corpus size and findings; exits non-zero if any target found something.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds=${1:-60}
shift || true
fuzz_dir=${TINCAN_FUZZ_BUILD_DIR:-build-fuzz}
runs=${TINCAN_FUZZ_RUNS:--1}
niceness=${TINCAN_FUZZ_NICE:-19}
workers=${TINCAN_FUZZ_WORKERS:-1}
if ! [[ $workers =~ ^[1-9][0-9]*$ ]]; then
  echo "fuzz.sh: TINCAN_FUZZ_WORKERS must be a whole number from 1 (it is '$workers')" >&2
  exit 2
fi

if ! command -v clang++ >/dev/null; then
  echo "fuzz.sh: clang++ is needed (packaging/install-deps.sh installs it)" >&2
  exit 1
fi
mkdir -p "$fuzz_dir"
cmake -S . -B "$fuzz_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER=clang++ -DTINCAN_BUILD_FUZZERS=ON -DTINCAN_BUILD_APPS=OFF \
  -DTINCAN_BUILD_TESTS=OFF -DTINCAN_BUILD_BENCHMARKS=OFF >"$fuzz_dir/configure.log"
# The harnesses compile the code under test themselves: the plain libraries are not needed.
cmake --build "$fuzz_dir" -j "$(nproc)" --target fuzzers

if (($# > 0)); then
  targets=("$@")
else
  mapfile -t targets < <(find "$fuzz_dir/tests/fuzz" -maxdepth 1 -type f -name 'fuzz_*' \
                           -perm -u+x -printf '%f\n' | sort)
fi

summary=()
failed=0
for name in "${targets[@]}"; do
  target=$fuzz_dir/tests/fuzz/$name
  [[ -x $target ]] || { echo "fuzz.sh: no target $target" >&2; exit 1; }
  corpus=$fuzz_dir/corpus/$name
  mkdir -p "$corpus"
  seeds=()
  if [[ -d tests/fuzz/corpus/$name ]]; then seeds=("tests/fuzz/corpus/$name"); fi
  # Each worker stops after its share of TINCAN_FUZZ_RUNS; they share the working corpus
  # (libFuzzer reloads it every second, so one worker's finds reach the others).
  per_worker=$runs
  if ((runs > 0)); then per_worker=$(((runs + workers - 1) / workers)); fi
  args=(-max_total_time="$seconds" -runs="$per_worker" -timeout=10 -rss_limit_mb=2048
        -print_final_stats=1 -artifact_prefix="$fuzz_dir/$name-")
  if [[ -f tests/fuzz/$name.dict ]]; then args+=(-dict="tests/fuzz/$name.dict"); fi
  logs=()
  pids=()
  for ((w = 1; w <= workers; w++)); do
    log=$fuzz_dir/$name.long.log
    if ((w > 1)); then log=$fuzz_dir/$name.worker$w.log; fi
    logs+=("$log")
  done
  echo "== $name: up to $seconds s${TINCAN_FUZZ_RUNS:+ or $runs executions}," \
       "$workers worker(s) (log ${logs[*]})"
  start=$(date +%s)
  for log in "${logs[@]}"; do
    nice -n "$niceness" "$target" "${args[@]}" "$corpus" "${seeds[@]}" >"$log" 2>&1 &
    pids+=($!)
  done
  found=none
  executed=0
  for i in "${!pids[@]}"; do
    log=${logs[$i]}
    if ! wait "${pids[$i]}" && [[ $found == none ]]; then
      found="FOUND ($(grep -m1 -oE 'ERROR: [A-Za-z]+: [a-z-]+|deadly signal|timeout|out-of-memory' \
        "$log" || echo "exit status"); input under $fuzz_dir/$name-*)"
      failed=1
    fi
    n=$(grep -o 'number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    if [[ $n == '?' || $executed == '?' ]]; then executed='?'; else executed=$((executed + n)); fi
  done
  summary+=("$(printf '%-18s %12s executions in %5d s, corpus %5d, findings: %s' "$name" \
    "$executed" "$(($(date +%s) - start))" "$(find "$corpus" -type f | wc -l)" "$found")")
done
printf '%s\n' "${summary[@]}"
exit "$failed"
