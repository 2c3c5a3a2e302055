#!/usr/bin/env python3
"""Tincan <-> Tincan data channels through real NATs (network namespaces + nftables
masquerade, netlab.py), with a real coturn and tincan-signal on the "internet": a ~20 MB
random file goes from `tincan-cli send` on host a to `tincan-cli receive` on host b over
DTLS/SCTP (FILE_TRANSFER.md), by the cheapest path each topology allows; the file must
arrive intact, both peers must report its sha256, the selected pair must be the expected
path, and --stats-json must show the data channel's bytes. Prints the throughput per
topology. Plus one echo case through two symmetric NATs against aiortc (tests/interop)
run inside host a's namespace.

Exit 77 (skipped) when the lab cannot run here, unless CI=true. Prints one line per
scenario, then 'N passed, N failed'. --only NAME runs matching scenarios; --json FILE writes
the measured throughputs there. TINCAN_LOG_LEVEL=debug makes the peers' stderr verbose (it
is shown on failure).
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netlab  # noqa: E402
from tincan_peers import CLI, SIGNAL, SIGNAL_PORT, read_events, start_signal  # noqa: E402,F401

AIORTC_PEER = os.path.join(HERE, "..", "interop", "aiortc_peer.py")
FILE_SIZE = 20_000_003  # not a multiple of the 64 KiB chunk
DURATION = 60

# (name, nat_a, nat_b, same_lan, expected path, expected relayProtocol, options)
SCENARIOS = [
    ("same-lan", "cone", "cone", True, "lan", None, {}),
    ("cone-cone", "cone", "cone", False, "direct", None, {}),
    ("symmetric-symmetric", "symmetric", "symmetric", False, "relay", "udp", {}),
    ("udpblocked-udpblocked", "udp-blocked", "udp-blocked", False, "relay", "tcp", {}),
    ("cone-cone-relay-policy", "cone", "cone", False, "relay", "udp", {"relay_policy": True}),
]
ECHO_NAME = "echo-symmetric-aiortc"
ECHO_SIZES = "0,1,2,100,1000,16384,65535,65536"  # aiortc takes at most 64 KiB messages


def server_args(coturn, opts):
    args = ["--stun", coturn.stun_uri(), "--turn", coturn.turn_uri("udp"), "--turn", coturn.turn_uri("tcp"),
            "--turn-user", "alice", "--turn-pass", coturn.users["alice"]]
    if opts.get("relay_policy"):
        args += ["--ice-policy", "relay"]
    return args


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


class Peer:
    """One process in a lab host: events from stdout (JSON lines), stderr to a file."""

    def __init__(self, lab, host, argv, workdir, name, t0):
        self.host, self.name = host, name
        self.stderr_path = os.path.join(workdir, f"{name}.stderr")
        self.events = []
        with open(self.stderr_path, "wb") as err:
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
                self.thread.join(timeout=2)
                return next((e for e in self.events if e.get("event") == name
                             and all(e.get(k) == v for k, v in fields.items())), None)
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


def load_stats(path):
    if not os.path.exists(path):
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except ValueError as e:
        return {"unparsable": str(e)}


def run_transfer(lab, coturn, room, opts, src, workdir):
    """receive on b (first in the room), then send on a (the newcomer, who offers)."""
    url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/{room}"
    level = os.environ.get("TINCAN_LOG_LEVEL", "warn")
    out = os.path.join(workdir, f"{room}-in")
    common = ["--signal", url, "--duration", str(DURATION), "--log-level", level] + server_args(coturn, opts)
    t0 = time.monotonic()
    peers = {}
    recv_stats = os.path.join(workdir, f"{room}-b-stats.json")
    send_stats = os.path.join(workdir, f"{room}-a-stats.json")
    peers["b"] = Peer(lab, "b", [CLI, "receive", "--out", out, "--stats-json", recv_stats] + common,
                      workdir, f"{room}-b", t0)
    try:
        if not peers["b"].wait_event("signaling", 15, state="joined"):
            return peers, {"b": None, "a": None}, out, ["receiver did not join the room: "
                                                        + peers["b"].stderr().strip()[-300:]]
        peers["a"] = Peer(lab, "a", [CLI, "send", src, "--stats-json", send_stats] + common, workdir, f"{room}-a", t0)
        for host in ("a", "b"):
            peers[host].wait(DURATION + 15)
    finally:
        for p in peers.values():
            p.kill()
    return peers, {"a": load_stats(send_stats), "b": load_stats(recv_stats)}, out, []


def check_transfer(peers, stats, out, src_name, want_sha, path, relay_protocol):
    problems = []
    info = {}
    for host in ("a", "b"):
        p = peers[host]
        role = "sender" if host == "a" else "receiver"
        rc = p.proc.returncode
        if rc != 0:
            err = [line for line in p.stderr().strip().splitlines() if line.startswith("tincan-cli")]
            problems.append(f"{role} ({host}) exited {rc}: {(err[-1] if err else p.stderr().strip()[-300:])}")
        done = p.of("transfer-done")
        if not done:
            problems.append(f"{role}: no transfer-done event")
        elif done[-1].get("sha256") != want_sha:
            problems.append(f"{role}: transfer-done sha256 {done[-1].get('sha256')}, expected {want_sha}")
        else:
            d = done[-1]
            info[role] = {"seconds": d.get("seconds"), "bytes": d.get("bytes"),
                          "mb_s": round(d["bytes"] / d["seconds"] / 1e6, 1) if d.get("seconds") else None}
        if not p.of("transfer-progress"):
            problems.append(f"{role}: no transfer-progress events")
        sel = p.of("selected-pair")
        if not sel:
            problems.append(f"{role}: no selected-pair event")
        else:
            last = sel[-1]
            desc = f"{last['local']['type']}/{last['local'].get('protocol')} -> {last['remote']['type']}"
            info.setdefault("pairs", {})[host] = desc + (f" ({last['relayProtocol']})" if last.get("relayProtocol")
                                                         else "")
            if last.get("path") != path:
                problems.append(f"{role}: path {last.get('path')} ({desc}), expected {path}")
            elif relay_protocol:
                if last.get("relayProtocol") != relay_protocol:
                    problems.append(f"{role}: relayProtocol {last.get('relayProtocol')} ({desc}), "
                                    f"expected {relay_protocol}")
                # A peer knows its own allocation's transport only (for a remote relayed
                # candidate the pair's relayProtocol is a default): ask the peer that gathered
                # it, in its --stats-json local-candidate entries (the send/receive
                # local-candidate events do not carry relayProtocol).
                other = "b" if host == "a" else "a"
                for end in ("local", "remote"):
                    cand = last[end]
                    if cand.get("type") != "relay":
                        continue
                    if end == "local":
                        proto = cand.get("relayProtocol", last.get("relayProtocol"))
                    else:
                        theirs = [c for c in (stats[other] if isinstance(stats[other], list) else [])
                                  if c.get("type") == "local-candidate" and c.get("candidateType") == "relay"
                                  and c.get("address") == cand.get("address") and c.get("port") == cand.get("port")]
                        proto = (theirs[-1].get("relayProtocol") if theirs
                                 else "unknown (not in the peer's --stats-json)")
                    if proto != relay_protocol:
                        problems.append(f"{role}: {end} relayed candidate {cand.get('address')}:{cand.get('port')} "
                                        f"is relayed over {proto}, expected {relay_protocol}")
        st = stats[host]
        if not isinstance(st, list):
            problems.append(f"{role}: --stats-json {'missing' if st is None else st}")
            continue
        transports = [s for s in st if s.get("type") == "transport"]
        if not any(s.get("dtlsState") in ("connected", "closed") and s.get("selectedCandidatePairId")
                   for s in transports):
            problems.append(f"{role}: no transport with dtlsState connected/closed and a selectedCandidatePairId: "
                            f"{json.dumps(transports)[:300]}")
        dcs = [s for s in st if s.get("type") == "data-channel"]
        if not dcs:
            problems.append(f"{role}: --stats-json has no data-channel entry")
        elif host == "b":
            got = max(s.get("bytesReceived", 0) for s in dcs)
            if got < FILE_SIZE:
                problems.append(f"receiver: data-channel bytesReceived {got} < {FILE_SIZE}")
            info["dc_bytes_received"] = got
    dst = os.path.join(out, src_name)
    if not os.path.exists(dst):
        problems.append(f"receiver: no {src_name} in --out (has {os.listdir(out) if os.path.isdir(out) else None})")
    elif sha256_file(dst) != want_sha:
        problems.append(f"receiver: {dst} ({os.path.getsize(dst)} B) does not match the source's sha256")
    return problems, info


def aiortc_unavailable():
    """Why the aiortc peer cannot run inside a namespace here, or None."""
    if not os.path.exists(AIORTC_PEER):
        return f"{AIORTC_PEER} not found"
    r = subprocess.run(["/usr/bin/python3", "-c", "import aiortc, websockets"], capture_output=True, text=True)
    if r.returncode != 0:
        return "python3-aiortc or python3-websockets missing: " + r.stderr.strip().splitlines()[-1]
    return None


def run_echo(lab, coturn, room, workdir):
    """tincan-cli echo on b (first), aiortc echo-client on a (the newcomer): both behind
    symmetric NATs, so only a relay works. aiortc 1.4 uses one TURN server: the UDP one."""
    url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/{room}"
    level = os.environ.get("TINCAN_LOG_LEVEL", "warn")
    t0 = time.monotonic()
    stats_path = os.path.join(workdir, f"{room}-b-stats.json")
    echo = Peer(lab, "b", [CLI, "echo", "--signal", url, "--duration", "40", "--log-level", level,
                           "--stats-json", stats_path] + server_args(coturn, {}), workdir, f"{room}-b", t0)
    client = None
    problems = []
    try:
        if not echo.wait_event("signaling", 15, state="joined"):
            return ["tincan-cli echo did not join the room: " + echo.stderr().strip()[-300:]], {}
        client = Peer(lab, "a", ["/usr/bin/python3", AIORTC_PEER, "--signal", url, "--mode", "echo-client",
                                 "--count", "20", "--sizes", ECHO_SIZES, "--stun", coturn.stun_uri(),
                                 "--turn", coturn.turn_uri("udp"), "--turn-user", "alice",
                                 "--turn-pass", coturn.users["alice"], "--timeout", "40"],
                      workdir, f"{room}-a", t0)
        client.wait(50)
        echo.wait(15)
    finally:
        echo.kill()
        if client:
            client.kill()
    res = (client.of("result") or [{}])[-1]
    info = {"rtt_ms": res.get("rtt_ms"), "selected_pair": res.get("selected_pair")}
    if client.proc.returncode != 0 or not res.get("ok"):
        problems.append(f"aiortc echo-client exited {client.proc.returncode}: {res.get('error') or res}"[:400])
        problems.append("aiortc stderr: " + client.stderr().strip()[-400:])
    elif res.get("received") != res.get("sent") or res.get("mismatches"):
        problems.append(f"aiortc: sent {res.get('sent')}, received {res.get('received')}, "
                        f"mismatches {res.get('mismatches')}")
    if echo.proc.returncode != 0:
        problems.append(f"tincan-cli echo exited {echo.proc.returncode}: {echo.stderr().strip()[-300:]}")
    sel = echo.of("selected-pair")
    if not sel or sel[-1].get("path") != "relay":
        problems.append(f"tincan-cli echo: selected pair {sel[-1] if sel else None}, expected path relay")
    else:
        last = sel[-1]
        info["tincan_pair"] = (f"{last['local']['type']}/{last['local'].get('protocol')} -> {last['remote']['type']}"
                               + (f" ({last['relayProtocol']})" if last.get("relayProtocol") else ""))
    return problems, info


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write measured throughputs here")
    ap.add_argument("--only", help="run only scenarios whose name contains this")
    args = ap.parse_args()
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        netlab.exit_unavailable(e)
    for exe in (CLI, SIGNAL):
        if not os.path.exists(exe):
            print(f"FAIL: {exe} is not built")
            print("0 passed, 1 failed")
            return 1
    passed = failed = 0
    report = {}
    workdir = tempfile.mkdtemp(prefix="tincan-pcnat-")
    try:
        src = os.path.join(workdir, "random.bin")
        with open(src, "wb") as f:
            left = FILE_SIZE
            while left:
                n = min(left, 1 << 20)
                f.write(os.urandom(n))
                left -= n
        want_sha = sha256_file(src)
        for name, nat_a, nat_b, same_lan, path, relay_protocol, opts in SCENARIOS:
            if args.only and args.only not in name:
                continue
            t = time.monotonic()
            with netlab.Lab(nat_a, nat_b, same_lan=same_lan) as lab:
                coturn = lab.start_coturn()
                sig = start_signal(lab)
                try:
                    peers, stats, out, problems = run_transfer(lab, coturn, name, opts, src, workdir)
                    if not problems:
                        problems, info = check_transfer(peers, stats, out, os.path.basename(src), want_sha,
                                                        path, relay_protocol)
                    else:
                        info = {}
                finally:
                    sig.kill()
                    sig.wait()
                elapsed = time.monotonic() - t
                report[name] = {"path": path, "relayProtocol": relay_protocol, **info}
                if problems:
                    failed += 1
                    print(f"FAIL {name}: " + "; ".join(problems), flush=True)
                    for host, p in peers.items():
                        print(f"  --- {host} stderr:\n{p.stderr()[-2000:]}")
                        print(f"  --- {host} last events: "
                              + "\n    ".join(json.dumps(e) for e in p.events
                                              if e.get("event") != "transfer-progress")[-2500:])
                    print(f"  --- coturn log tail:\n{coturn.log()[-1500:]}", flush=True)
                else:
                    passed += 1
                    r, s = info.get("receiver", {}), info.get("sender", {})
                    print(f"ok   {name}: path {path}{' (' + relay_protocol + ')' if relay_protocol else ''}, "
                          f"{FILE_SIZE / 1e6:.0f} MB in {r.get('seconds', 0):.2f} s = {r.get('mb_s')} MB/s "
                          f"(sender {s.get('mb_s')} MB/s), pairs a: {info['pairs'].get('a')}, "
                          f"b: {info['pairs'].get('b')}; {elapsed:.1f} s", flush=True)
            shutil.rmtree(os.path.join(workdir, f"{name}-in"), ignore_errors=True)

        if not args.only or args.only in ECHO_NAME:
            why = aiortc_unavailable()
            if why:
                print(f"skip {ECHO_NAME}: {why}", flush=True)
            else:
                t = time.monotonic()
                with netlab.Lab("symmetric", "symmetric") as lab:
                    coturn = lab.start_coturn()
                    sig = start_signal(lab)
                    try:
                        problems, info = run_echo(lab, coturn, "echo-sym", workdir)
                    finally:
                        sig.kill()
                        sig.wait()
                    report[ECHO_NAME] = info
                    if problems:
                        failed += 1
                        print(f"FAIL {ECHO_NAME}: " + "; ".join(problems), flush=True)
                        print(f"  --- coturn log tail:\n{coturn.log()[-1500:]}", flush=True)
                    else:
                        passed += 1
                        print(f"ok   {ECHO_NAME}: 20 echoes through two symmetric NATs, tincan pair "
                              f"{info.get('tincan_pair')}, aiortc pair {info.get('selected_pair')}, "
                              f"rtt {info.get('rtt_ms')}; {time.monotonic() - t:.1f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
