#!/usr/bin/env bash
# README command (1): installs everything, builds, and runs Tincan's main job on this
# machine: the headless peer (tincan-cli) asks a private STUN/TURN server (coturn on
# 127.0.0.1, a random free port, stopped on exit) for its mapped address, then two local
# agents connect to each other.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash packaging/build.sh

build_dir=${TINCAN_BUILD_DIR:-build}
cli=$build_dir/app/cli/tincan-cli
if [[ ! -x $cli ]]; then
  echo "demo: $cli was not built: the headless peer (app/cli) is missing from this build" >&2
  exit 1
fi

# --- a private coturn ---------------------------------------------------------------
# netlab.py writes its config, certificate and log into a temp dir, prints one JSON line,
# and stops coturn (SIGKILL after a grace period) and removes the dir on SIGTERM or when
# its stdin closes.
coproc TURN { exec /usr/bin/python3 tests/net/netlab.py coturn; }
helper_pid=$TURN_PID turn_pid="" step_pid=""
stop_turn() {
  if [[ -n $step_pid ]]; then kill -TERM "$step_pid" 2>/dev/null || true; fi
  kill -TERM "$helper_pid" 2>/dev/null || true
  for _ in $(seq 30); do
    kill -0 "$helper_pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$helper_pid" 2>/dev/null; then  # stuck: kill it and the coturn it started
    kill -KILL "$helper_pid" 2>/dev/null || true
    if [[ -n $turn_pid ]]; then kill -KILL "$turn_pid" 2>/dev/null || true; fi
  fi
  wait "$helper_pid" 2>/dev/null || true
}
trap stop_turn EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Runs one step of the demo in the background and waits for it, so that a SIGTERM to this
# script is handled at once rather than after the step ends.
step() {
  "$@" &
  step_pid=$!
  wait "$step_pid"
  step_pid=""
}

if ! read -r -t 30 -u "${TURN[0]}" turn_info; then
  echo "demo: the private coturn did not start" >&2
  exit 1
fi
read -r turn_pid turn_port turn_tls_port turn_ca < <(/usr/bin/python3 -c '
import json, sys
d = json.load(sys.stdin)
print(d["pid"], d["port"], d["tls_port"], d["ca_file"])' <<<"$turn_info")
echo "demo: coturn (pid $turn_pid) on 127.0.0.1:$turn_port (TLS $turn_tls_port), users alice/bob, password secret"

# --- 1. STUN: this host's mapped address ----------------------------------------------
echo "== tincan-cli stun stun:127.0.0.1:$turn_port"
step "$cli" stun "stun:127.0.0.1:$turn_port"

# --- 2. Two agents connect over the local machine --------------------------------------
# Available here: $cli, the TURN server at 127.0.0.1:$turn_port (TLS :$turn_tls_port, CA
# certificate $turn_ca, long-term users alice and bob with password "secret").
demo_connect() {
  local signal=$build_dir/app/signal/tincan-signal
  if [[ ! -x $signal ]]; then
    echo "demo: $signal was not built" >&2
    return 1
  fi
  coproc SIG { exec "$signal" --listen 127.0.0.1:0; }
  local sig_pid=$SIG_PID line port
  if ! read -r -t 10 -u "${SIG[0]}" line; then
    echo "demo: tincan-signal did not start" >&2
    return 1
  fi
  port=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["port"])' "$line")
  echo "demo: tincan-signal on 127.0.0.1:$port"
  local servers=(--stun "stun:127.0.0.1:$turn_port" --turn "turn:127.0.0.1:$turn_port"
                 --turn-user alice --turn-pass secret)
  local rc=0 policy
  for policy in all relay; do
    echo "== two peers meet in room demo-$policy and connect (--ice-policy $policy)"
    "$cli" connect --signal "ws://127.0.0.1:$port/demo-$policy" "${servers[@]}" --ice-policy "$policy" \
      --duration 20 | sed -u 's/^/  [alice] /' &
    local a=$!
    "$cli" connect --signal "ws://127.0.0.1:$port/demo-$policy" "${servers[@]}" --ice-policy "$policy" \
      --duration 20 | sed -u 's/^/  [bob]   /' &
    local b=$!
    wait "$a" || rc=1
    wait "$b" || rc=1
  done
  kill "$sig_pid" 2>/dev/null || true
  wait "$sig_pid" 2>/dev/null || true
  return $rc
}
demo_connect || demo_rc=1

# The desktop app: two peers in one process call each other over loopback (chat, a file, the
# diagnostics). Without a display it saves screenshots and prints a summary.
app=${build_dir:-build}/app/desktop/tincan
if [[ -x "$app" ]]; then
  echo "== the desktop app: tincan --demo"
  shots=${TINCAN_SCREENSHOTS:-$PWD/tincan-screenshots}
  if [[ -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ]]; then
    QT_QPA_PLATFORM=offscreen "$app" --demo --screenshots "$shots" || demo_rc=1
    echo "demo: screenshots in $shots"
  else
    "$app" --demo || demo_rc=1
  fi
fi

echo "demo: done"
exit ${demo_rc:-0}
