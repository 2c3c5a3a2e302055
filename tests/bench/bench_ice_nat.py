#!/usr/bin/env python3
"""Connect time through real NATs (network namespaces, nftables, coturn), Tincan against
aiortc's ICE (aioice) measured in the same run, same topology, same coturn.

Time is wall time from launching both peers to both reporting ICE connected (Tincan: the
first `selected-pair` event; aioice: connect() returned). Tincan's includes joining the
signaling server; aioice's includes Python start-up. Medians of --runs runs.
Run as root: /usr/bin/python3 tests/bench/bench_ice_nat.py [--runs 5] [--json out.json]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))
import netlab  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")

TOPOLOGIES = [("cone-cone", "cone", "cone", "udp"),
              ("symmetric-symmetric", "symmetric", "symmetric", "udp"),
              ("udpblocked-udpblocked (TURN/TCP)", "udp-blocked", "udp-blocked", "tcp")]


def tincan_once(lab, coturn, room, transport):
    sig = lab.popen("server", [SIGNAL, "--listen", f"{netlab.SERVER_IP}:8765"], stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL, text=True)
    sig.stdout.readline()
    done = {}
    procs = []
    t0 = time.monotonic()
    for host in ("a", "b"):
        argv = [CLI, "connect", "--signal", f"ws://{netlab.SERVER_IP}:8765/{room}", "--duration", "30",
                "--stun", coturn.stun_uri(), "--turn", coturn.turn_uri(transport),
                "--turn-user", "alice", "--turn-pass", "secret"]
        p = lab.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        procs.append((host, p))

    def watch(host, p):
        for line in p.stdout:
            if '"selected-pair"' in line and host not in done:
                done[host] = (time.monotonic() - t0, json.loads(line)["path"])
    threads = [threading.Thread(target=watch, args=hp, daemon=True) for hp in procs]
    for t in threads:
        t.start()
    for _, p in procs:
        p.wait(timeout=60)
    sig.kill()
    sig.wait()
    if len(done) != 2:
        return None, None
    return max(v[0] for v in done.values()), done["a"][1]


def aioice_once(lab, coturn, transport):
    procs = {}
    t0 = time.monotonic()
    for host, controlling in (("a", True), ("b", False)):
        argv = ["/usr/bin/python3", os.path.join(HERE, "aioice_peer.py"), "--stun",
                f"{coturn.ip}:{coturn.port}", "--turn", f"{coturn.ip}:{coturn.port}",
                "--turn-transport", transport, "--turn-user", "alice", "--turn-pass", "secret"]
        if controlling:
            argv.append("--controlling")
        procs[host] = lab.popen(host, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
    offers = {h: p.stdout.readline() for h, p in procs.items()}
    procs["a"].stdin.write(offers["b"])
    procs["a"].stdin.flush()
    procs["b"].stdin.write(offers["a"])
    procs["b"].stdin.flush()
    times, kinds = [], []
    for h, p in procs.items():
        line = p.stdout.readline()
        ev = json.loads(line) if line else {"event": "failed"}
        if ev.get("event") != "connected":
            times = None
            break
        times.append(time.monotonic() - t0)
        kinds.append(f"{ev['local']}->{ev['remote']}")
    for p in procs.values():
        try:
            p.stdin.write("\n")
            p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()
    return (max(times), kinds[0]) if times else (None, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json")
    args = ap.parse_args()
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        netlab.exit_unavailable(e)
    results = {}
    for name, nat_a, nat_b, transport in TOPOLOGIES:
        tin, aio = [], []
        tpath = apath = None
        with netlab.Lab(nat_a, nat_b) as lab:
            coturn = lab.start_coturn()
            for i in range(args.runs):
                t, tpath = tincan_once(lab, coturn, f"bench{i}", transport)
                if t is not None:
                    tin.append(t)
                a, apath = aioice_once(lab, coturn, transport)
                if a is not None:
                    aio.append(a)
        r = {"tincan_ms": round(statistics.median(tin) * 1000, 1) if tin else None,
             "tincan_path": tpath, "tincan_ok": len(tin),
             "aioice_ms": round(statistics.median(aio) * 1000, 1) if aio else None,
             "aioice_pair": apath, "aioice_ok": len(aio), "runs": args.runs}
        if r["tincan_ms"] and r["aioice_ms"]:
            r["aioice_over_tincan"] = round(r["aioice_ms"] / r["tincan_ms"], 1)
        results[name] = r
        print(f"{name:36s} tincan {r['tincan_ms']} ms ({tpath}, {len(tin)}/{args.runs} ok)   "
              f"aioice {r['aioice_ms']} ms ({apath}, {len(aio)}/{args.runs} ok)   "
              f"ratio {r.get('aioice_over_tincan')}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)


if __name__ == "__main__":
    sys.exit(main())
