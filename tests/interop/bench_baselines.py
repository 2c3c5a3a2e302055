#!/usr/bin/python3
"""Baseline numbers for Tincan's data channels to be compared against (not a test): the same
measurements with two reference stacks, on loopback through tincan-signal.

- open time: signaling `welcome` -> `datachannel-open` on the newcomer (the offerer), i.e.
  offer, answer, ICE, DTLS, SCTP and DCEP; `--rounds` sessions per pair (default 12), in fresh
  rooms but the same two browsers/processes, median reported (round 0 is also shown alone:
  the first connection of a fresh process);
- throughput: `--bytes` (default 1 GiB) over one ordered reliable channel in 64 KiB messages,
  paced with bufferedAmount (high 4 MiB, low 1 MiB), measured by the receiver from the
  header message to the last byte; MB = 10^6 bytes.

Pairs (first in the room - newcomer): chromium-chromium and aiortc-aiortc by default;
--pairs also takes chromium-aiortc and aiortc-chromium. Prints a table, writes --json.

    bench_baselines.py                         # everything, 1 GiB
    bench_baselines.py --bytes 200000000 --rounds 10 --json /tmp/baselines.json
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiortc_peer import AiortcPeer  # noqa: E402
from chromium import ChromiumPeer  # noqa: E402
from common import SignalServer, find_chromium, loopback_only, median  # noqa: E402

LOOPBACK_ONLY = False


def make(kind, sig, room, mode, **params):
    if kind == "chromium":
        return ChromiumPeer(sig.base, room, mode, mdns=not LOOPBACK_ONLY, **params)
    return AiortcPeer(sig.base, room, mode, **params)


def run_pair(sig, first, second, room, mode, timeout, p_first, p_second):
    with make(first, sig, room, mode, timeout=timeout, **p_first) as a:
        if not a.wait_event("signaling", 30, state="joined"):
            return {"ok": False, "error": "first peer never joined"}, {"ok": False, "error": "not started"}
        with make(second, sig, room, mode, timeout=timeout, **p_second) as b:
            rb = b.wait(timeout + 10)
            ra = a.wait(15)
    return ra, rb


def summary(values):
    if not values:
        return None
    s = sorted(values)
    return {"n": len(s), "median": round(median(s), 3), "min": round(s[0], 3),
            "p90": round(s[min(len(s) - 1, int(0.9 * len(s)))], 3), "max": round(s[-1], 3)}


def bench_open(sig, first, second, rounds):
    room = f"open-{first}-{second}-{os.getpid()}"
    ra, rb = run_pair(sig, first, second, room, "bench-open", 30 + 10 * rounds, {"rounds": rounds}, {"rounds": rounds})
    newcomer = {}
    phases = {"answer": [], "ice": [], "open": []}
    for r in (ra, rb):
        for x in r.get("rounds") or []:
            if x.get("role") == "newcomer" and x.get("open_ms") is not None:
                newcomer[x["round"]] = x["open_ms"]
                t = x.get("times", {})
                w = t.get("welcome")
                if w is not None:
                    for name, key in (("answer", "answer-received"), ("ice", "ice-connected"),
                                      ("open", "datachannel-open")):
                        if t.get(key) is not None:
                            phases[name].append(t[key] - w)
    samples = [newcomer[k] for k in sorted(newcomer)]
    errors = [r.get("error") for r in (ra, rb) if not r.get("ok")]
    errors += [x.get("error") for r in (ra, rb) for x in r.get("rounds") or [] if x.get("error")]
    return {"ok": not errors and len(samples) == rounds, "errors": errors, "open_ms": summary(samples),
            "round0_ms": newcomer.get(0), "warm_ms": summary(samples[1:]), "samples_ms": samples,
            "phases_median_ms": {k: round(median(v), 3) if v else None for k, v in phases.items()}}


def bench_throughput(sig, first, second, nbytes):
    room = f"tput-{first}-{second}-{os.getpid()}"
    timeout = nbytes / 2e6 + 60  # at least 2 MB/s
    ra, rb = run_pair(sig, first, second, room, "bench-throughput", timeout, {"role": "receive"},
                      {"role": "send", "bytes": nbytes})
    return {"ok": bool(ra.get("ok") and rb.get("ok")), "errors": [r.get("error") for r in (ra, rb) if not r.get("ok")],
            "bytes": nbytes, "receiver_mbps": ra.get("mbps"), "sender_mbps": rb.get("mbps"),
            "seconds": ra.get("seconds"), "selected_pair": ra.get("selected_pair")}


def machine():
    def cmd(argv):
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return None
    chromium = find_chromium()
    return {"cpus": os.cpu_count(), "loadavg_before": os.getloadavg(), "kernel": platform.release(),
            "chromium": cmd([chromium, "--version"]) if chromium else None,
            "aiortc": cmd(["/usr/bin/python3", "-c", "import aiortc; print(aiortc.__version__)"]),
            "loopback_only": LOOPBACK_ONLY}


def main():
    global LOOPBACK_ONLY
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="chromium-chromium,aiortc-aiortc")
    ap.add_argument("--rounds", type=int, default=12, help="open-time sessions per pair (>= 10 for a median)")
    ap.add_argument("--bytes", type=int, default=1 << 30, help="throughput bytes per pair (default 1 GiB)")
    ap.add_argument("--skip-open", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--json", default="bench_baselines.json", help="where to write the results")
    a = ap.parse_args()
    LOOPBACK_ONLY = loopback_only()
    pairs = [tuple(p.split("-")) for p in a.pairs.split(",") if p]
    for p in pairs:
        if len(p) != 2 or not set(p) <= {"chromium", "aiortc"}:
            ap.error(f"bad pair {'-'.join(p)}")
    out = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
           "machine": machine(), "rounds": a.rounds, "bytes": a.bytes, "open": {}, "throughput": {}}
    with SignalServer() as sig:
        for first, second in pairs:
            name = f"{first}-{second}"
            if not a.skip_open:
                t = time.monotonic()
                out["open"][name] = r = bench_open(sig, first, second, a.rounds)
                print(f"open       {name:18} median {r['open_ms'] and r['open_ms']['median']} ms "
                      f"({time.monotonic() - t:.0f} s){'' if r['ok'] else ' ERRORS ' + str(r['errors'])}", flush=True)
            if not a.skip_throughput:
                t = time.monotonic()
                out["throughput"][name] = r = bench_throughput(sig, first, second, a.bytes)
                print(f"throughput {name:18} {r['receiver_mbps']} MB/s ({time.monotonic() - t:.0f} s)"
                      f"{'' if r['ok'] else ' ERRORS ' + str(r['errors'])}", flush=True)
    out["machine"]["loadavg_after"] = os.getloadavg()

    print()
    print(f"{'pair (first-newcomer)':24} {'open median':>12} {'min':>7} {'p90':>7} {'max':>7} {'round 0':>8} {'n':>3}"
          f" | {'MB/s':>7} {'bytes':>11} {'s':>7}")
    for first, second in pairs:
        name = f"{first}-{second}"
        o = (out["open"].get(name) or {}).get("open_ms") or {}
        r0 = (out["open"].get(name) or {}).get("round0_ms")
        t = out["throughput"].get(name) or {}

        def f(v, unit=""):
            return "-" if v is None else f"{v:.1f}{unit}"
        print(f"{name:24} {f(o.get('median'), ' ms'):>12} {f(o.get('min')):>7} {f(o.get('p90')):>7} "
              f"{f(o.get('max')):>7} {f(r0):>8} {o.get('n', '-'):>3} | {f(t.get('receiver_mbps')):>7} "
              f"{t.get('bytes', '-'):>11} {f(t.get('seconds')):>7}")
    print(f"(load average before {out['machine']['loadavg_before'][0]:.2f}, after "
          f"{out['machine']['loadavg_after'][0]:.2f}, {out['machine']['cpus']} CPUs)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(out, fh, indent=1)
        print(f"wrote {a.json}")
    ok = all(r.get("ok") for r in list(out["open"].values()) + list(out["throughput"].values()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
