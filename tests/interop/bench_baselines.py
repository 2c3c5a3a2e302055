#!/usr/bin/python3
"""Tincan's data-channel benchmarks and their baselines (not a test): the same measurements with
Tincan (tincan-cli) and two reference stacks, side by side in one run, on loopback through
tincan-signal.

- open time: signaling `welcome` -> `datachannel-open` on the newcomer (the offerer), i.e.
  offer, answer, ICE, DTLS, SCTP and DCEP; `--rounds` sessions per pair (default 12), in fresh
  rooms but the same two browsers/processes, median reported (round 0 is also shown alone:
  the first connection of a fresh process);
- throughput: `--bytes` (default 1 GiB) over one ordered reliable channel in 64 KiB messages,
  paced with bufferedAmount (high 4 MiB, low 1 MiB), measured by the receiver from the
  header message to the last byte; MB = 10^6 bytes.

Pairs (first in the room - newcomer): chromium-chromium, aiortc-aiortc and tincan-tincan by
default; --pairs takes any two of chromium, aiortc, tincan (e.g. tincan-chromium: Tincan first
in the room, Chromium the newcomer and sender). Tincan is `tincan-cli bench-open` /
`bench-throughput` (--cli, else $TINCAN_CLI, $TINCAN_BUILD_DIR/app/cli, the newest
build*/app/cli/tincan-cli that has them). Prints a table and the ratios against Chromium and
aiortc measured in the same run, writes --json.

    bench_baselines.py                         # everything, 1 GiB
    bench_baselines.py --bytes 200000000 --rounds 10 --json /tmp/baselines.json
    bench_baselines.py --pairs tincan-tincan --tincan-bytes 4294967296
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
from common import REPO, ProcessPeer, SignalServer, build_dir, find_chromium, loopback_only, median, room_url  # noqa: E402

LOOPBACK_ONLY = False
KINDS = ("chromium", "aiortc", "tincan")
TINCAN_CLI = None
TINCAN_EXTRA = {}  # --tincan-high/--tincan-low/--tincan-chunk for bench-throughput


def has_bench(cli):
    try:
        return subprocess.run([cli, "bench-open", "--help"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def find_cli():
    """tincan-cli with the bench commands: $TINCAN_CLI, $TINCAN_BUILD_DIR/app/cli, else the most
    recently built build*/app/cli/tincan-cli."""
    if os.environ.get("TINCAN_CLI"):
        return os.environ["TINCAN_CLI"]
    if os.environ.get("TINCAN_BUILD_DIR"):
        return os.path.join(build_dir(), "app", "cli", "tincan-cli")
    found = [os.path.join(REPO, d, "app", "cli", "tincan-cli") for d in os.listdir(REPO) if d.startswith("build")]
    found = sorted((c for c in found if os.access(c, os.X_OK)), key=os.path.getmtime, reverse=True)
    return next((c for c in found if has_bench(c)), None)


class TincanPeer(ProcessPeer):
    """tincan-cli bench-open / bench-throughput with the harness peers' parameters
    (rounds, bytes, role, chunk, high, low; timeout -> --duration)."""

    def __init__(self, signal_url, room, mode, *, timeout=120, **params):
        argv = [TINCAN_CLI, mode, "--signal", room_url(signal_url, room), "--duration", str(timeout)]
        for k, v in params.items():
            if v is not None:
                argv += ["--" + k, str(v)]
        super().__init__(argv, name="tincan-cli")


def make(kind, sig, room, mode, **params):
    if kind == "chromium":
        return ChromiumPeer(sig.base, room, mode, mdns=not LOOPBACK_ONLY, **params)
    if kind == "tincan":
        if mode == "bench-throughput":
            params = {**params, **TINCAN_EXTRA}
        return TincanPeer(sig.base, room, mode, **params)
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
            "tincan_cli": TINCAN_CLI, "loopback_only": LOOPBACK_ONLY}


def ratios(out, pairs):
    """Same-stack anchors measured in this run against every pair with tincan in it: open
    time anchor/tincan (how many times faster), throughput tincan/anchor."""
    res = {}
    names = {"-".join(p) for p in pairs}
    for anchor in ("chromium-chromium", "aiortc-aiortc"):
        if anchor not in names:
            continue
        for p in pairs:
            name = "-".join(p)
            if "tincan" not in p:
                continue
            o_a = ((out["open"].get(anchor) or {}).get("open_ms") or {}).get("median")
            o_t = ((out["open"].get(name) or {}).get("open_ms") or {}).get("median")
            t_a = (out["throughput"].get(anchor) or {}).get("receiver_mbps")
            t_t = (out["throughput"].get(name) or {}).get("receiver_mbps")
            res[f"{name} vs {anchor}"] = {
                "open_speedup": round(o_a / o_t, 2) if o_a and o_t else None,
                "throughput_ratio": round(t_t / t_a, 2) if t_a and t_t else None}
    return res


def main():
    global LOOPBACK_ONLY
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pairs", default="chromium-chromium,aiortc-aiortc,tincan-tincan")
    ap.add_argument("--rounds", type=int, default=12, help="open-time sessions per pair (>= 10 for a median)")
    ap.add_argument("--bytes", type=int, default=1 << 30, help="throughput bytes per pair (default 1 GiB)")
    ap.add_argument("--skip-open", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--json", default="bench_baselines.json", help="where to write the results")
    ap.add_argument("--cli", help="tincan-cli to use (default: see above)")
    ap.add_argument("--tincan-bytes", type=int, help="throughput bytes when a Tincan peer sends (default --bytes)")
    ap.add_argument("--tincan-high", type=int, help="tincan-cli bench-throughput --high (bufferedAmount high mark)")
    ap.add_argument("--tincan-low", type=int, help="tincan-cli bench-throughput --low (bufferedamountlow threshold)")
    ap.add_argument("--tincan-chunk", type=int, help="tincan-cli bench-throughput --chunk (message size)")
    a = ap.parse_args()
    global TINCAN_CLI
    LOOPBACK_ONLY = loopback_only()
    pairs = [tuple(p.split("-")) for p in a.pairs.split(",") if p]
    for p in pairs:
        if len(p) != 2 or not set(p) <= set(KINDS):
            ap.error(f"bad pair {'-'.join(p)}")
    if any("tincan" in p for p in pairs):
        TINCAN_CLI = a.cli or find_cli()
        if not TINCAN_CLI or not has_bench(TINCAN_CLI):
            ap.error(f"no tincan-cli with bench-open/bench-throughput ({TINCAN_CLI}); build it or pass --cli")
        TINCAN_EXTRA.update({k: v for k, v in (("high", a.tincan_high), ("low", a.tincan_low),
                                               ("chunk", a.tincan_chunk)) if v is not None})
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
                nbytes = a.tincan_bytes if a.tincan_bytes and second == "tincan" else a.bytes
                out["throughput"][name] = r = bench_throughput(sig, first, second, nbytes)
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
    out["ratios"] = ratios(out, pairs)
    for k, v in out["ratios"].items():
        print(f"{k:44} open {v['open_speedup'] or '-'}x faster, throughput {v['throughput_ratio'] or '-'}x")
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
