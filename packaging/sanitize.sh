#!/usr/bin/env bash
# Builds Tincan with sanitizers in a folder of its own and runs tests under them:
#   packaging/sanitize.sh asan        the whole suite (every CTest test) with ASan + UBSan,
#                                     in build-asan; extra arguments go to ctest (e.g. -L unit)
#   packaging/sanitize.sh tsan        ThreadSanitizer: the runtime (tests/core/net), the
#                                     PeerConnection API tests (tests/core/pc), the media call
#                                     streams and file transfer, in build-tsan
#   packaging/sanitize.sh asan-smoke  what CI runs (packaging/test.sh): ASan + UBSan on the
#                                     core unit tests that need no network and the PeerConnection
#                                     tests over loopback (test_pc) and examples/datachannel.cpp,
#                                     in build-asan-smoke
# Suppressions, each with the reason it is there, are in packaging/sanitizers/*.supp.
# TINCAN_SANITIZE_BUILD_DIR overrides the folder.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

mode=${1:-}
shift || true
supp=$PWD/packaging/sanitizers
export ASAN_OPTIONS="detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:abort_on_error=1"
export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:suppressions=$supp/ubsan.supp"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"

configure() {  # DIR SANITIZERS CMAKE_ARGS...
  local dir=$1 sanitizers=$2
  shift 2
  mkdir -p "$dir"
  # No -Werror: gcc's warnings change under instrumentation; the plain build checks them.
  # -O1 as the sanitizers' authors advise; -g1 (line tables, so reports keep file:line) compiles
  # a third faster than -g (sctp_transport.cpp: 22 s against 32 s), which matters for CI's smoke.
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTINCAN_WERROR=OFF \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -g1 -DNDEBUG" \
    -DTINCAN_SANITIZE="$sanitizers" -DTINCAN_BUILD_BENCHMARKS=OFF "$@" >"$dir/configure.log" ||
    { tail -n 40 "$dir/configure.log"; return 1; }
}

# TSan maps its shadow memory at fixed addresses, which the high mmap randomisation of recent
# kernels can collide with ("unexpected memory mapping"); run its binaries without ASLR.
no_aslr() {
  if setarch "$(uname -m)" -R true 2>/dev/null; then setarch "$(uname -m)" -R "$@"; else "$@"; fi
}

case $mode in
  asan)
    dir=${TINCAN_SANITIZE_BUILD_DIR:-build-asan}
    configure "$dir" address,undefined -DTINCAN_BUILD_APPS=ON
    cmake --build "$dir" -j "$(nproc)"
    if ((EUID == 0)); then /usr/bin/python3 tests/net/netlab.py cleanup-stale; fi
    # The tests that open PortAudio (through ALSA) run a second time, apart, with the slow
    # unwinder: the static constructors of the libraries ALSA loads and unloads again leak (see
    # lsan.supp, snd_dlopen), and only the whole stack, which the fast unwinder loses at the
    # unloaded module's frames, says so. The slow unwinder everywhere would double the suite's
    # time and make its timed tests (signaling reconnect, calls) miss their deadlines.
    alsa='^(PortAudio\.|ui_test_ui_(settings|error_states|devices)$)'
    rc=0
    ctest --test-dir "$dir" --output-on-failure -j2 --timeout 1200 --no-tests=error -E "$alsa" "$@" ||
      rc=$?
    # Those of them that "$@" selects (a second -R would replace this one, not narrow it, and
    # run the whole selection again with the slow unwinder): none, and there is no second pass.
    mapfile -t chosen < <(ctest --test-dir "$dir" -N "$@" | sed -n 's/^ *Test *#[0-9]*: //p' |
      grep -E "$alsa" | sed 's/[.]/\\./g')
    if ((${#chosen[@]})); then
      only="^($(IFS='|'; echo "${chosen[*]}"))$"
      ASAN_OPTIONS="$ASAN_OPTIONS:fast_unwind_on_malloc=0" \
        ctest --test-dir "$dir" --output-on-failure -j2 --timeout 1200 -R "$only" || rc=$?
    fi
    exit $rc
    ;;
  tsan)
    dir=${TINCAN_SANITIZE_BUILD_DIR:-build-tsan}
    configure "$dir" thread -DTINCAN_BUILD_APPS=OFF
    # The runtime, the PeerConnection API, the media call threads, file transfer over channels.
    tests=(core/test_net core/test_pc media/test_media_call transfer/test_transfer)
    cmake --build "$dir" -j "$(nproc)" --target "${tests[@]##*/}"
    rc=0
    for test in "${tests[@]}"; do
      echo "== $test (ThreadSanitizer)"
      no_aslr "$dir/tests/$test" "$@" || rc=1
    done
    exit $rc
    ;;
  asan-smoke)
    dir=${TINCAN_SANITIZE_BUILD_DIR:-build-asan-smoke}
    # test_pc: the PeerConnection loopback path (ICE, DTLS, SCTP, SRTP on the runtime, 127.0.0.1).
    tests=(test_common test_stun test_sdp test_ice test_turn test_dtls test_sctp test_pc)
    configure "$dir" address,undefined -DTINCAN_BUILD_APPS=OFF
    cmake --build "$dir" -j "$(nproc)" --target "${tests[@]}" example_datachannel
    rc=0
    for test in "${tests[@]}"; do
      # The coturn tests need a coturn of their own and are covered by the full run.
      if ! "$dir/tests/core/$test" --gtest_brief=1 --gtest_filter='-*Coturn*' >"$dir/$test.log" 2>&1
      then
        echo "sanitize: $test FAILED (log $dir/$test.log)"
        tail -n 60 "$dir/$test.log"
        rc=1
      else
        passed=$(grep -oE '^\[ *PASSED *\] [0-9]+' "$dir/$test.log" | grep -oE '[0-9]+$' || echo '?')
        echo "sanitize: $test ok ($passed tests passed)"
      fi
    done
    # The docs/API.md example: the process-wide NetworkThread, stopped while the process exits.
    log=$dir/example_datachannel.log
    if timeout 120 "$dir/examples/example_datachannel" >"$log" 2>&1 && grep -q '^hello' "$log"; then
      echo "sanitize: example_datachannel ok"
    else
      echo "sanitize: example_datachannel FAILED (log $log)"
      tail -n 60 "$log"
      rc=1
    fi
    exit $rc
    ;;
  *)
    echo "usage: packaging/sanitize.sh asan|tsan|asan-smoke [ctest or gtest arguments]" >&2
    exit 2
    ;;
esac
