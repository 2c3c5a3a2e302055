#!/usr/bin/env python3
"""An established call survives its signaling server: two tincan-cli peers start a file
transfer, the server is killed and restarted on the same port in the middle, both peers rejoin
the room, and the file still arrives intact. Ends with 'N passed, N failed'."""
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")
SIZE = 400_000_000


def start_signal(port):
    p = subprocess.Popen([SIGNAL, "--listen", f"127.0.0.1:{port}"], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, text=True)
    line = p.stdout.readline()
    return p, json.loads(line)["port"]


def follow(proc, sink):
    for line in proc.stdout:
        try:
            sink.append(json.loads(line))
        except ValueError:
            pass


def main():
    problems = []
    tmp = scratch_dir("tincan-reconnect-")
    src = os.path.join(tmp, "big.bin")
    with open(src, "wb") as f:  # patterned, not sparse: the hash must mean something
        block = hashlib.sha256(b"tincan").digest() * 32768
        for _ in range(SIZE // len(block)):
            f.write(block)
        f.write(block[:SIZE % len(block)])
    sig, port = start_signal(0)
    url = f"ws://127.0.0.1:{port}/reconnect"
    recv_ev, send_ev = [], []
    recv = subprocess.Popen([CLI, "receive", "--out", os.path.join(tmp, "out"), "--signal", url, "--duration", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threading.Thread(target=follow, args=(recv, recv_ev), daemon=True).start()
    while not any(e.get("event") == "signaling" for e in recv_ev):
        time.sleep(0.02)
    send = subprocess.Popen([CLI, "send", src, "--signal", url, "--duration", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    threading.Thread(target=follow, args=(send, send_ev), daemon=True).start()
    deadline = time.monotonic() + 30
    while not any(e.get("event") == "transfer-progress" and e.get("bytes", 0) > 0 for e in recv_ev):
        if time.monotonic() > deadline:
            break
        time.sleep(0.01)
    sig.kill()
    sig.wait()
    time.sleep(0.7)
    sig, _ = start_signal(port)
    try:
        rs, ss = recv.wait(timeout=120), send.wait(timeout=120)
    except subprocess.TimeoutExpired:
        recv.kill(), send.kill()
        rs = ss = None
    sig.kill()
    for name, code, proc, evs in (("receiver", rs, recv, recv_ev), ("sender", ss, send, send_ev)):
        if code != 0:
            problems.append(f"{name} exited {code}: {proc.stderr.read()[-300:]}")
        states = [e.get("state") for e in evs if e.get("event") == "signaling"]
        last_drop = max((i for i, st in enumerate(states) if st == "reconnecting"), default=None)
        if last_drop is None or "joined" not in states[last_drop:]:
            problems.append(f"{name} did not rejoin after the drop: {states}")
    h = hashlib.sha256()
    out = os.path.join(tmp, "out", "big.bin")
    if os.path.exists(out):
        with open(out, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    with open(src, "rb") as f:
        want = hashlib.sha256(f.read()).hexdigest()
    if h.hexdigest() != want:
        problems.append("the received file is missing or differs")
    if problems:
        print("FAIL signaling-reconnect: " + "; ".join(problems))
        print("0 passed, 1 failed")
        return 1
    print("ok   signaling-reconnect: the transfer survived a signaling restart; both peers rejoined")
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    exit_with(main())
