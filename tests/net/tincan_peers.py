"""Helpers shared by the tests that run tincan-cli peers in the NAT lab (netlab.py)."""
import json
import os
import subprocess
import time

import netlab

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")
SIGNAL_PORT = 8765


def read_events(proc, sink, t0):
    """Appends each JSON line of proc's stdout to sink, with _t = seconds since t0."""
    for line in proc.stdout:
        line = line.strip()
        if not line:
            continue
        try:
            ev = json.loads(line)
        except ValueError:
            sink.append({"event": "unparsable", "line": line})
            continue
        ev["_t"] = time.monotonic() - t0
        sink.append(ev)


def start_signal(lab):
    """tincan-signal in the lab's server namespace, on SERVER_IP:SIGNAL_PORT, once listening."""
    proc = lab.popen("server", [SIGNAL, "--listen", f"{netlab.SERVER_IP}:{SIGNAL_PORT}"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if '"listening"' not in line:
        raise RuntimeError(f"tincan-signal did not start: {line!r} {proc.stderr.read()[-500:]}")
    return proc
