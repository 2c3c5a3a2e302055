#!/usr/bin/python3
"""WAN benchmark (issue 7): Tincan -> Tincan file transfer against TCP on the same lab path.

For each RTT (--rtts, ms) and loss (--loss, % each way) one netlab Lab is built with a WAN link
(delayd) on router a, half the RTT each way: host a -> NAT a -> WAN link -> internet -> NAT b.
In that lab, in this order:
  - `tincan-cli send` (a) -> `tincan-cli receive` (b) of one --size-mb file; the rate is the
    receiver's (bytes / seconds of its transfer-done), or, when --timeout cuts the transfer
    short (slow lossy paths), the rate between its first and last progress events (marked ~);
  - iperf3 TCP from a to an iperf3 server on the lab's server host (the same NAT a and WAN
    link; router b does not accept connections to itself, so the last hop is the server's veth
    instead of NAT b), --tcp-seconds long, once per congestion control (--cc, e.g. bbr,cubic).
It prints one table row per path with the ratio Tincan / TCP for each congestion control,
the machine's load average before and after (throughput here is CPU-bound and the machine is
shared: compare ratios from the same run), and with --json FILE writes every figure.
Needs root, iperf3, and a build (TINCAN_BUILD_DIR, default ./build).

    sudo tests/bench/bench_wan.py                       # 0/50/100/150 ms x 0/1 % loss, 100 MB
    sudo tests/bench/bench_wan.py --rtts 100 --loss 0 --repeat 3
    sudo tests/bench/bench_wan.py --sack-every 8,2   # Tincan with and without fewer SACKs
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NET = os.path.join(HERE, "..", "net")
sys.path.insert(0, NET)
import netlab  # noqa: E402
import wan_transfer  # noqa: E402
from tincan_peers import start_signal  # noqa: E402

IPERF_PORT = 5201


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def run_iperf(lab, cc, seconds):
    """iperf3 -c from host a to the lab's server host; payload MB/s received."""
    server = lab.popen("server", ["iperf3", "-s", "-1", "-B", netlab.SERVER_IP, "-p", str(IPERF_PORT)],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.3)
        r = lab.run("a", ["iperf3", "-c", netlab.SERVER_IP, "-p", str(IPERF_PORT), "-t", str(seconds),
                          "-C", cc, "--json"], capture_output=True, text=True, timeout=seconds + 30)
        try:
            out = json.loads(r.stdout)
            return round(out["end"]["sum_received"]["bytes"] / out["end"]["sum_received"]["seconds"] / 1e6, 2)
        except (ValueError, KeyError) as e:
            print(f"  iperf3 {cc}: no result ({e}): {r.stdout[-300:]} {r.stderr[-300:]}", flush=True)
            return None
    finally:
        server.kill()
        server.wait()


def run_tincan(lab, coturn, src, workdir, timeout, sack_every):
    extra = ["--sack-every", str(sack_every)]
    r = wan_transfer.run_transfer(lab, coturn, src, workdir, room=f"b{int(time.monotonic() * 1000)}",
                                  timeout=timeout, extra_send=extra, extra_receive=extra)
    if r.get("mb_s"):
        return r["mb_s"], False, r
    return r.get("progress_mb_s"), True, r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtts", default="0,50,100,150", help="round-trip times to emulate, ms")
    ap.add_argument("--loss", default="0,1", help="random loss each way, %%")
    ap.add_argument("--size-mb", type=float, default=100)
    ap.add_argument("--timeout", type=int, default=90, help="cut a Tincan transfer after this many seconds")
    ap.add_argument("--tcp-seconds", type=int, default=10)
    ap.add_argument("--cc", default="bbr,cubic", help="TCP congestion controls to measure")
    ap.add_argument("--repeat", type=int, default=1, help="runs per path (each with its own TCP anchor)")
    ap.add_argument("--sack-every", default="8",
                    help="tincan-cli --sack-every values; one Tincan transfer each, in the same lab")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()
    sacks = [int(x) for x in args.sack_every.split(",") if x]
    failed = wan_transfer.preflight()
    if failed is not None:
        return failed
    if not shutil.which("iperf3"):
        print("iperf3 not found (apt-get install iperf3)")
        return 1
    ccs = [c for c in args.cc.split(",") if c]
    workdir = tempfile.mkdtemp(prefix="tincan-benchwan-")
    rows = []
    try:
        src = os.path.join(workdir, "bench.bin")
        wan_transfer.make_file(src, int(args.size_mb * 1e6), seed=11)
        want = wan_transfer.sha256_file(src)
        print(f"load average at start: {loadavg()} ({os.cpu_count()} CPUs)", flush=True)
        name = {n: "Tincan" if len(sacks) == 1 else f"Tincan sack/{n}" for n in sacks}
        header = ("| RTT | loss | " + " | ".join(f"{name[n]} MB/s" for n in sacks) + " | "
                  + " | ".join(f"TCP {c} MB/s" for c in ccs) + " | "
                  + " | ".join(f"{name[n]}/{c}" for n in sacks for c in ccs) + " | load |")
        print(header)
        print("|" + " --- |" * (3 + len(sacks) + len(ccs) + len(sacks) * len(ccs)))
        for rtt in [float(x) for x in args.rtts.split(",")]:
            for loss in [float(x) for x in args.loss.split(",")]:
                for rep in range(args.repeat):
                    link = netlab.WanLink(delay_ms=rtt / 2, loss_pct=loss)
                    with netlab.Lab(wan_a=link) as lab:
                        coturn = lab.start_coturn()
                        sig = start_signal(lab)
                        try:
                            load = loadavg()
                            tin = {n: run_tincan(lab, coturn, src, workdir, args.timeout, n) for n in sacks}
                            tcp = {c: run_iperf(lab, c, args.tcp_seconds) for c in ccs}
                        finally:
                            sig.kill()
                            sig.wait()
                    mine = {}  # this path's row per --sack-every value
                    for n in sacks:
                        rate, partial, r = tin[n]
                        if not partial and r.get("ok") is False:
                            rate = None
                        ratio = {c: (round(rate / v, 2) if rate and v else None) for c, v in tcp.items()}
                        mine[n] = {"rtt_ms": rtt, "loss_pct": loss, "repeat": rep, "sack_every": n,
                                   "tincan_mb_s": rate, "tincan_partial": partial,
                                   "tincan_ok": r["ok"] or partial,
                                   "tincan_problems": [] if partial else r["problems"],
                                   "tincan_max_gap_s": r.get("max_gap_s"), "tcp_mb_s": tcp, "load": load,
                                   "sender_sctp": r.get("sender_stats"), "ratio": ratio}
                        rows.append(mine[n])
                    cells = ["fail" if m["tincan_mb_s"] is None
                             else f"{'~' if m['tincan_partial'] else ''}{m['tincan_mb_s']:g}" for m in mine.values()]
                    print(f"| {rtt:g} ms | {loss:g} % | " + " | ".join(cells) + " | "
                          + " | ".join(str(tcp[c]) for c in ccs) + " | "
                          + " | ".join(str(mine[n]["ratio"][c]) for n in sacks for c in ccs) + f" | {load} |",
                          flush=True)
                    for n, m in mine.items():
                        if m["tincan_problems"]:
                            print(f"  problems ({name[n]}): {m['tincan_problems']}", flush=True)
        print(f"load average at end: {loadavg()}")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"size_mb": args.size_mb, "sha256": want, "rows": rows}, f, indent=1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
