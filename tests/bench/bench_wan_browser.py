#!/usr/bin/python3
"""WAN benchmark beside the browser (issue 7): one file across a 100 ms path, Tincan and
headless Chromium in every pairing, against Chromium <-> Chromium from the same lab.

One netlab Lab (tests/net/netlab.py) is built with a WAN link (delayd) on NAT a: --rtt ms
round trip, half each way, --loss % random loss each way: host a -> NAT a -> WAN link ->
internet -> NAT b -> host b; coturn (STUN only) and tincan-signal run on the lab's server
host, which both hosts reach through their NATs. In that lab, one after another, a --size-mb
file (tincan pattern v1, tests/interop/README.md) is sent from host a to host b
(FILE_TRANSFER.md) by each pair, sender -> receiver:
  - chromium-chromium   the page (tests/interop/page, mode send) -> the page (mode receive)
  - tincan-chromium     `tincan-cli send`                        -> the page
  - chromium-tincan     the page                                 -> `tincan-cli receive`
  - tincan-tincan       `tincan-cli send`                        -> `tincan-cli receive`
Chromium runs inside the host's namespace: `ip netns exec NS tests/interop/chromium.py`, i.e.
headless Chromium (--no-sandbox: root) with its page server on the namespace's own loopback;
it reaches the other host with STUN (server-reflexive candidates), like Tincan. The receiver
joins the room first, the sender is the newcomer and offers. The rate is the receiver's (file
bytes / seconds of its transfer-done: header -> last byte and hash check, for both stacks;
MB = 10^6 B); when --timeout cuts a transfer (seconds from the sender's start) the rate between
the receiver's first and last progress events is reported instead, marked ~. Each pair's
ratio is against Chromium -> Chromium of the same repeat; with --repeat N the lab is built
again per repeat and the pairs' order rotates. Beside the rate: the bytes that crossed the WAN
link up during the transfer (delayd's counters: proof of the path, and retransmissions show as
bytes above the file's size) and the UDP datagrams the receiving host's kernel dropped at a
full socket buffer (RcvbufErrors: the receiver did not read in time). The load average is printed
before and after (throughput here is CPU-bound and the machine is shared: compare ratios from
the same run); --json FILE writes every figure.

Needs root, Debian's chromium and python3-numpy (tests/interop/README.md), a build
(TINCAN_BUILD_DIR, default ./build); nothing leaves the lab's namespaces.

    sudo tests/bench/bench_wan_browser.py                          # 100 ms, 0 % loss, 20 MB
    sudo tests/bench/bench_wan_browser.py --repeat 2 --json /tmp/wanb.json
    sudo tests/bench/bench_wan_browser.py --loss 1 --timeout 60 --pairs chromium-chromium,tincan-tincan
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NET = os.path.join(HERE, "..", "net")
INTEROP = os.path.join(HERE, "..", "interop")
sys.path.insert(0, NET)
sys.path.insert(0, INTEROP)
import netlab  # noqa: E402
from common import find_chromium, pattern_sha256, write_pattern_file  # noqa: E402
from tincan_peers import CLI, SIGNAL_PORT, start_signal  # noqa: E402
import wan_transfer  # noqa: E402
from wan_transfer import Peer, sha256_file  # noqa: E402

CHROMIUM_PY = os.path.join(INTEROP, "chromium.py")
PYTHON = "/usr/bin/python3"
PAIRS = ("chromium-chromium", "tincan-chromium", "chromium-tincan", "tincan-tincan")
ANCHOR = "chromium-chromium"
NAMES = {"chromium": "Chromium", "tincan": "Tincan"}
FILE_NAME = "bench.bin"
SEED = 7


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def udp_counters(lab, host):
    """The host namespace's UDP counters (/proc/net/snmp): RcvbufErrors counts datagrams the
    kernel dropped because a socket's receive buffer was full (the process did not read in
    time)."""
    r = lab.run(host, ["cat", "/proc/net/snmp"], capture_output=True, text=True)
    lines = [line.split() for line in r.stdout.splitlines() if line.startswith("Udp:")]
    if len(lines) < 2:
        return {}
    return {k: int(v) for k, v in zip(lines[0][1:], lines[1][1:])}


def peer_argv(kind, role, url, stun, src, out_dir, size, give_up, stats_path, page_params):
    """The command line of one side. give_up: the peer's own time limit (a backstop: the
    harness cuts at --timeout)."""
    if kind == "tincan":
        level = os.environ.get("TINCAN_LOG_LEVEL", "warn")
        common = ["--signal", url, "--duration", str(give_up), "--log-level", level, "--stun", stun,
                  "--stats-json", stats_path]
        if role == "send":
            return [CLI, "send", src] + common
        return [CLI, "receive", "--out", out_dir] + common
    argv = [PYTHON, CHROMIUM_PY, "--signal", url, "--mode", role, "--stun", stun, "--timeout", str(give_up)]
    if role == "send":
        argv += ["--size", str(size), "--seed", str(SEED), "--name", FILE_NAME]
        argv += [f"--param={k}={v}" for k, v in page_params.items()]
    return argv


def stop(peer, kind, grace=10):
    """Ends one side: chromium.py on SIGINT closes its Chromium's process group and reaps it;
    tincan-cli is killed."""
    netlab.stop_process(peer.proc, grace, signal.SIGINT if kind == "chromium" else signal.SIGTERM)
    peer.thread.join(timeout=5)


def wait_for(peer, name, deadline):
    while time.monotonic() < deadline:
        if peer.of(name) or peer.proc.poll() is not None:
            break
        time.sleep(0.05)
    return peer.of(name)


def run_pair(lab, stun, pair, src, size, want, workdir, timeout, page_params):
    """One transfer a -> b; a dict with mb_s (None if it failed), partial, problems, ..."""
    snd_kind, rcv_kind = pair.split("-")
    room = f"w{pair.replace('-', '')[:12]}{int(time.monotonic() * 1000) % 10**8}"
    url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/{room}"
    out_dir = os.path.join(workdir, f"{room}-in")
    os.makedirs(out_dir, exist_ok=True)
    give_up = timeout + 30
    res = {"pair": pair, "sender": snd_kind, "receiver": rcv_kind, "ok": False, "partial": False,
           "mb_s": None, "problems": []}
    t0 = time.monotonic()
    wan_before = lab.wan_counters("ra")
    udp_before = {h: udp_counters(lab, h) for h in ("a", "b")}
    recv = Peer(lab, "b", peer_argv(rcv_kind, "receive", url, stun, src, out_dir, size, give_up,
                                    os.path.join(workdir, f"{room}-b-stats.json"), page_params),
                os.path.join(workdir, f"{room}-b.stderr"), t0)
    send = None
    try:
        if not recv.wait_event("signaling", 60, state="joined"):
            res["problems"].append(f"{rcv_kind} receiver did not join: {recv.stderr()[-400:]}")
            return res
        res["receiver_joined_s"] = round(time.monotonic() - t0, 3)
        send = Peer(lab, "a", peer_argv(snd_kind, "send", url, stun, src, out_dir, size, give_up,
                                        os.path.join(workdir, f"{room}-a-stats.json"), page_params),
                    os.path.join(workdir, f"{room}-a.stderr"), t0)
        t_send = time.monotonic()
        done = wait_for(recv, "transfer-done", t_send + timeout)
        res["cut"] = not done and recv.proc.poll() is None
        if done:
            # Normal end: the receiver acks, the sender closes and hangs up, both exit.
            for p in (send, recv):
                end = time.monotonic() + 20
                while p.proc.poll() is None and time.monotonic() < end:
                    time.sleep(0.05)
    finally:
        for p, kind in ((send, snd_kind), (recv, rcv_kind)):
            if p is not None:
                stop(p, kind)
    wan_after = lab.wan_counters("ra")
    udp_after = {h: udp_counters(lab, h) for h in ("a", "b")}
    res["udp"] = {h: {k: udp_after[h].get(k, 0) - udp_before[h].get(k, 0)
                      for k in ("InDatagrams", "OutDatagrams", "RcvbufErrors", "SndbufErrors")}
                  for h in ("a", "b")}
    res["wan_up_packets"] = (wan_after["up"].get("tx", 0) - wan_before["up"].get("tx", 0))
    res["wan_down_packets"] = (wan_after["down"].get("tx", 0) - wan_before["down"].get("tx", 0))
    res["wan_up_bytes"] = (wan_after["up"].get("tx_bytes", 0) - wan_before["up"].get("tx_bytes", 0))
    res["wan_drops"] = {d: {k: wan_after[d].get(k, 0) - wan_before[d].get(k, 0)
                            for k in ("drop_loss", "drop_queue", "drop_full")} for d in ("up", "down")}
    prog = [(e["_t"], e.get("bytes", 0)) for e in recv.of("transfer-progress")]
    if len(prog) >= 2 and prog[-1][0] > prog[0][0]:
        res["progress_mb_s"] = round((prog[-1][1] - prog[0][1]) / (prog[-1][0] - prog[0][0]) / 1e6, 3)
        res["progress_bytes"] = prog[-1][1]
    for who, p in (("sender", send), ("receiver", recv)):
        if p is None:
            continue
        pairs = p.of("selected-pair")
        if pairs:
            sp = pairs[-1]
            res[f"{who}_selected_pair"] = {k: sp.get(k) for k in ("local", "remote")}
        results = p.of("result")
        if results:
            r = results[-1]
            res[f"{who}_result"] = {k: r.get(k) for k in ("ok", "error", "files", "selected_pair") if k in r}
    done = recv.of("transfer-done")
    if done:
        d = done[-1]
        res["seconds"], res["bytes"] = d.get("seconds"), d.get("bytes")
        if d.get("sha256") != want:
            res["problems"].append(f"receiver sha256 {d.get('sha256')} != {want}")
        if d.get("bytes") != size:
            res["problems"].append(f"receiver got {d.get('bytes')} of {size} bytes")
        if rcv_kind == "tincan":
            dst = os.path.join(out_dir, FILE_NAME)
            if not os.path.exists(dst) or sha256_file(dst) != want:
                res["problems"].append(f"{dst} is missing or differs from the source")
        if d.get("seconds"):
            res["mb_s"] = round(d["bytes"] / d["seconds"] / 1e6, 2)
        else:
            res["problems"].append(f"transfer-done without seconds: {d}")
    elif res.get("cut") and res.get("progress_mb_s"):
        res["partial"] = True
        res["mb_s"] = res["progress_mb_s"]
        res["problems"].append(f"cut at --timeout {timeout} s after {res.get('progress_bytes', 0)} of {size} bytes")
    else:
        got = prog[-1][1] if prog else 0
        why = {who: res[f"{who}_result"] for who in ("sender", "receiver") if f"{who}_result" in res}
        for who in why:
            why[who] = why[who].get("error") or [f.get("outcome") for f in why[who].get("files") or []]
        res["problems"].append(f"no transfer-done on the receiver ({got} of {size} bytes); results: {why}; "
                               f"stderr: receiver {recv.stderr()[-300:]!r}, "
                               f"sender {send.stderr()[-300:] if send else ''!r}")
    if done:
        for who, p in (("sender", send), ("receiver", recv)):
            if p is not None and p.proc.returncode not in (0, None) and not res.get("cut"):
                res.setdefault("exit_codes", {})[who] = p.proc.returncode
    if done and res["wan_up_packets"] < size / 1500:
        res["problems"].append(f"only {res['wan_up_packets']} packets crossed the WAN link up: "
                               "not through the lab path?")
    res["ok"] = bool(done) and not res["problems"]
    if done and res["problems"]:
        res["mb_s"] = None  # a wrong file is no figure
    shutil.rmtree(out_dir, ignore_errors=True)
    return res


def fmt_rate(r):
    if r is None or r.get("mb_s") is None:
        return "fail"
    return f"{'~' if r.get('partial') else ''}{r['mb_s']:g}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rtt", type=float, default=100, help="round-trip time of the WAN link, ms")
    ap.add_argument("--loss", type=float, default=0, help="random loss each way, %%")
    ap.add_argument("--size-mb", type=float, default=20)
    ap.add_argument("--timeout", type=int, default=120,
                    help="cut a transfer this many seconds after its sender started")
    ap.add_argument("--repeat", type=int, default=1, help="labs to build (each measures every pair)")
    ap.add_argument("--pairs", default=",".join(PAIRS), help="sender-receiver pairs, of " + ", ".join(PAIRS))
    ap.add_argument("--page-high", type=int, help="the page sender's bufferedAmount high mark (default 4 MiB; "
                    "Chromium refuses send() once 16 MiB are queued)")
    ap.add_argument("--page-low", type=int, help="the page sender's bufferedamountlow mark (default 1 MiB)")
    ap.add_argument("--json", help="write all figures here")
    args = ap.parse_args()
    pairs = [p for p in args.pairs.split(",") if p]
    for p in pairs:
        if p not in PAIRS:
            ap.error(f"unknown pair {p!r}")
    failed = wan_transfer.preflight()
    if failed is not None:
        return failed
    if any("chromium" in p for p in pairs) and not find_chromium():
        print("SKIP: chromium not found (apt-get install chromium)")
        return 77
    page_params = {k: v for k, v in (("high", args.page_high), ("low", args.page_low)) if v is not None}
    size = int(args.size_mb * 1e6)
    workdir = tempfile.mkdtemp(prefix="tincan-benchwanb-")
    runs = []
    try:
        src = os.path.join(workdir, FILE_NAME)
        want = write_pattern_file(src, SEED, size)
        assert want == pattern_sha256(SEED, size)
        load_start = loadavg()
        print(f"load average at start: {load_start} ({os.cpu_count()} CPUs); {args.rtt:g} ms RTT, "
              f"{args.loss:g} % loss each way, {size} bytes", flush=True)
        print("| run | sender -> receiver | MB/s | / Chromium↔Chromium | seconds | WAN MB up | "
              "receiver's socket drops | load |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- |")
        for rep in range(args.repeat):
            k = rep % len(pairs)
            order = pairs[k:] + pairs[:k]
            link = netlab.WanLink(delay_ms=args.rtt / 2, loss_pct=args.loss)
            rows = {}
            with netlab.Lab(wan_a=link) as lab:
                coturn = lab.start_coturn()
                sig = start_signal(lab)
                try:
                    for pair in order:
                        load = loadavg()
                        r = run_pair(lab, coturn.stun_uri(), pair, src, size, want, workdir, args.timeout,
                                     page_params)
                        r["load"] = load
                        rows[pair] = r
                        print(f"  {pair}: {fmt_rate(r)} MB/s, load {load}"
                              + (f"; problems: {r['problems']}" if r["problems"] else ""), flush=True)
                finally:
                    sig.kill()
                    sig.wait()
            anchor = rows.get(ANCHOR, {}).get("mb_s")
            for pair in pairs:
                r = rows[pair]
                r["ratio"] = round(r["mb_s"] / anchor, 2) if r.get("mb_s") and anchor else None
                s, d = pair.split("-")
                approx = "~" if r.get("partial") or rows.get(ANCHOR, {}).get("partial") else ""
                print(f"| {rep + 1} | {NAMES[s]} → {NAMES[d]} | {fmt_rate(r)} | "
                      f"{approx + str(r['ratio']) if r['ratio'] is not None else '-'} | "
                      f"{round(r['seconds'], 2) if r.get('seconds') else '-'} | {r.get('wan_up_bytes', 0) / 1e6:.2f} | "
                      f"{r.get('udp', {}).get('b', {}).get('RcvbufErrors', '-')} | {r['load']} |", flush=True)
            runs.append({"repeat": rep, "order": order, "pairs": rows})
        load_end = loadavg()
        print(f"load average at end: {load_end}")
        if args.repeat > 1:
            print("\n| sender -> receiver | MB/s (runs) | / Chromium↔Chromium (runs) |")
            print("| --- | --- | --- |")
            for pair in pairs:
                s, d = pair.split("-")
                rates = " · ".join(fmt_rate(run["pairs"][pair]) for run in runs)
                ratios = " · ".join(str(run["pairs"][pair]["ratio"]) for run in runs)
                print(f"| {NAMES[s]} → {NAMES[d]} | {rates} | {ratios} |")
        if args.json:
            with open(args.json, "w") as f:
                json.dump({"rtt_ms": args.rtt, "loss_pct": args.loss, "size_bytes": size, "sha256": want,
                           "timeout_s": args.timeout, "page_params": page_params, "load_start": load_start,
                           "load_end": load_end, "cpus": os.cpu_count(), "runs": runs}, f, indent=1)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
