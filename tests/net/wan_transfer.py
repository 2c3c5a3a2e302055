"""One `tincan-cli send` -> `tincan-cli receive` file transfer (a -> b) through a netlab Lab
(usually with WAN links), for tests/net/test_wan.py and tests/bench/bench_wan.py.

run_transfer() returns a dict: ok, problems, seconds (the receiver's transfer-done), mb_s,
bytes, max_gap_s (the longest time without new bytes in the receiver's progress events, from
its first progress event to transfer-done), progress [(t, bytes)], sender_stats /
receiver_stats (--stats-json), wan (delayd counters before/after), progress_mb_s (the rate
from the first to the last progress event, also for a transfer the timeout cut short).
"""
import hashlib
import json
import os
import subprocess
import threading
import time

import netlab
from tincan_peers import CLI, SIGNAL, SIGNAL_PORT, read_events

__all__ = ["make_file", "sha256_file", "run_transfer", "Peer", "preflight"]


def preflight():
    """For the WAN benchmarks: None when the namespace lab and the binaries are there, else the
    exit code to return (77 = skipped: no lab here), after one line saying why."""
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        print(f"SKIP: {e}")
        return 77
    for exe in (CLI, SIGNAL):
        if not os.path.exists(exe):
            print(f"{exe} is not built (TINCAN_BUILD_DIR)")
            return 1
    return None


def make_file(path, size, seed=1):
    """`size` bytes of a seeded pseudo-random stream (cheap: sha256 in counter mode)."""
    with open(path, "wb") as f:
        block = bytearray()
        counter = 0
        left = size
        while left:
            while len(block) < (1 << 20):
                block += hashlib.sha256(f"{seed}:{counter}".encode()).digest() * 64
                counter += 1
            n = min(left, len(block))
            f.write(block[:n])
            del block[:n]
            left -= n


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Peer:
    """One process in a lab host: JSON events from stdout, stderr to a file."""

    def __init__(self, lab, host, argv, stderr_path, t0):
        self.stderr_path = stderr_path
        self.events = []
        with open(stderr_path, "wb") as err:
            self.proc = lab.popen(host, argv, stdout=subprocess.PIPE, stderr=err, text=True)
        self.thread = threading.Thread(target=read_events, args=(self.proc, self.events, t0), daemon=True)
        self.thread.start()

    def wait_event(self, name, timeout, **fields):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for ev in list(self.events):
                if ev.get("event") == name and all(ev.get(k) == v for k, v in fields.items()):
                    return ev
            if self.proc.poll() is not None:
                return None
            time.sleep(0.02)
        return None

    def wait(self, timeout):
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.thread.join(timeout=5)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr(self):
        try:
            with open(self.stderr_path, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def of(self, name):
        return [e for e in self.events if e.get("event") == name]


def _load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _sctp_stats(stats):
    """The sctp-transport and data-channel entries of a --stats-json list, if any."""
    if not isinstance(stats, list):
        return None
    keep = [s for s in stats if s.get("type") in ("sctp-transport", "data-channel", "candidate-pair")
            and (s.get("type") != "candidate-pair" or s.get("nominated"))]
    return keep


def run_transfer(lab, coturn, src, workdir, *, room="wan", timeout=120, extra_send=(), extra_receive=(),
                 want_sha=None):
    url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/{room}"
    level = os.environ.get("TINCAN_LOG_LEVEL", "warn")
    out = os.path.join(workdir, f"{room}-in")
    common = ["--signal", url, "--duration", str(timeout), "--log-level", level, "--stun", coturn.stun_uri()]
    recv_stats = os.path.join(workdir, f"{room}-b-stats.json")
    send_stats = os.path.join(workdir, f"{room}-a-stats.json")
    t0 = time.monotonic()
    wan_before = {r: lab.wan_counters(r) for r in lab.wan}
    res = {"ok": False, "problems": []}
    recv = Peer(lab, "b", [CLI, "receive", "--out", out, "--stats-json", recv_stats, *extra_receive] + common,
                os.path.join(workdir, f"{room}-b.stderr"), t0)
    send = None
    try:
        if not recv.wait_event("signaling", 20, state="joined"):
            res["problems"].append("receiver did not join: " + recv.stderr()[-300:])
            return res
        send = Peer(lab, "a", [CLI, "send", src, "--stats-json", send_stats, *extra_send] + common,
                    os.path.join(workdir, f"{room}-a.stderr"), t0)
        recv.wait(timeout + 20)
        send.wait(20)
    finally:
        recv.kill()
        if send:
            send.kill()
    res["wan"] = {r: {"before": wan_before[r], "after": lab.wan_counters(r)} for r in lab.wan}
    res["sender_stats"] = _sctp_stats(_load(send_stats))
    res["receiver_stats"] = _sctp_stats(_load(recv_stats))
    prog = [(e["_t"], e.get("bytes", 0)) for e in recv.of("transfer-progress")]
    res["progress"] = prog
    if len(prog) >= 2 and prog[-1][0] > prog[0][0]:
        # The rate so far, for transfers cut short by the timeout (benchmarks under loss).
        res["progress_mb_s"] = round((prog[-1][1] - prog[0][1]) / (prog[-1][0] - prog[0][0]) / 1e6, 3)
        res["progress_bytes"] = prog[-1][1]
    done = recv.of("transfer-done")
    if prog:
        # The longest time without new bytes, from the first progress event to transfer-done
        # (or to the last progress event of a transfer the timeout cut short).
        marks = [prog[0][0]]
        last_bytes = prog[0][1]
        for t, b in prog[1:]:
            if b > last_bytes:
                marks.append(t)
                last_bytes = b
        if done:
            marks.append(done[-1]["_t"])
        res["max_gap_s"] = round(max((b - a for a, b in zip(marks, marks[1:])), default=0), 3)
        res["progress_span_s"] = round(marks[-1] - marks[0], 3)
    want = want_sha or sha256_file(src)
    if recv.proc.returncode != 0:
        res["problems"].append(f"receiver exited {recv.proc.returncode}: {recv.stderr().strip()[-400:]}")
    if send is not None and send.proc.returncode != 0:
        res["problems"].append(f"sender exited {send.proc.returncode}: {send.stderr().strip()[-400:]}")
    if not done:
        got = prog[-1][1] if prog else 0
        res["problems"].append(f"no transfer-done on the receiver ({got} of {os.path.getsize(src)} bytes)")
    else:
        d = done[-1]
        res["seconds"] = d.get("seconds")
        res["bytes"] = d.get("bytes")
        if d.get("seconds"):
            res["mb_s"] = round(d["bytes"] / d["seconds"] / 1e6, 2)
        if d.get("sha256") != want:
            res["problems"].append(f"receiver sha256 {d.get('sha256')} != {want}")
        dst = os.path.join(out, os.path.basename(src))
        if not os.path.exists(dst) or sha256_file(dst) != want:
            res["problems"].append(f"{dst} is missing or differs from the source")
        try:
            os.remove(dst)
        except OSError:
            pass
    res["ok"] = not res["problems"]
    res["stderr_tail"] = {"a": send.stderr()[-1500:] if send else "", "b": recv.stderr()[-1500:]}
    return res
