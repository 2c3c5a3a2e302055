#!/usr/bin/env bash
# Installs every Debian package Tincan needs to build, test and demo, idempotently.
# Quick (well under a second) when everything is already installed: only the missing
# packages trigger `apt-get update` and `apt-get install`.
set -euo pipefail

# The one list. Add new dependencies here (one per line, a comment if it is not obvious).
PACKAGES=(
  # toolchain and build
  build-essential g++ cmake ninja-build pkg-config git
  # libraries
  libssl-dev openssl libfmt-dev libspdlog-dev nlohmann-json3-dev libcli11-dev
  libsrtp2-dev libusrsctp-dev
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # media (tincan_media): codecs, audio I/O, camera
  libvpx-dev libopus-dev portaudio19-dev qt6-multimedia-dev
  # desktop app
  qt6-base-dev qt6-websockets-dev qt6-svg-dev
  # sound and windows on machines without either (tests, demo): a user-space PulseAudio,
  # PortAudio's ALSA->pulse bridge, Xvfb, and ImageMagick for screenshots
  pulseaudio pulseaudio-utils libasound2-plugins xvfb xauth imagemagick
  # WAN benchmarks: TCP on the same lab path as the anchor
  iperf3
  # network lab (tests/net): TURN/STUN server, NAT, namespaces
  coturn nftables iproute2 procps python3
  # interop peers and anchors (tests/interop, tests/bench): aiortc and headless Chromium
  python3-aioice python3-aiortc python3-websockets chromium
  # fuzzing (libFuzzer with clang)
  clang libclang-rt-14-dev libfuzzer-14-dev
  # static checks (packaging/check.sh): formatting and clang-tidy
  clang-format clang-tidy
  ca-certificates
)

# One dpkg-query for the whole list; packages it does not know are simply absent from its output.
declare -A installed=()
while read -r name status; do
  [[ "$status" == "install ok installed" ]] && installed[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
  [[ -n "${installed[$pkg]:-}" ]] || missing+=("$pkg")
done

if ((${#missing[@]})); then
  if ((EUID != 0)); then
    echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
    exit 1
  fi
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
fi

# Debian's coturn package enables a system daemon on port 3478; the tests run their own
# turnserver instances, so keep the system one disabled and stopped.
if [[ -x /usr/bin/turnserver ]] && ((EUID == 0)); then
  if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null; then
    if systemctl is-enabled --quiet coturn 2>/dev/null || systemctl is-active --quiet coturn 2>/dev/null; then
      systemctl disable --now coturn >/dev/null 2>&1 || true
    fi
  fi
  # Without systemd, the sysv script starts it only if /etc/default/coturn enables it, but
  # keep it off at boot anyway.
  if [[ ! -d /run/systemd/system ]] && compgen -G '/etc/rc[2-5].d/S*coturn' >/dev/null; then
    update-rc.d coturn disable >/dev/null 2>&1 || true
  fi
  # Without systemd (containers) the sysv script may have started it. The system daemon is
  # the only turnserver running as user "turnserver"; test instances run as root. Do not use
  # `service coturn stop`: it kills every turnserver on the machine.
  if id turnserver >/dev/null 2>&1; then
    pids=$(pgrep -u turnserver -x turnserver || true)
    if [[ -n "$pids" ]]; then
      kill $pids 2>/dev/null || true
      sleep 1
      kill -9 $pids 2>/dev/null || true
    fi
  fi
fi
exit 0
