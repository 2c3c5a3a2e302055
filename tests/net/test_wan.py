#!/usr/bin/env python3
"""Tincan data channels across a WAN link in the namespace lab (netlab.py + delayd), short
enough for CI:

  transfer-100ms-2pct  `tincan-cli send` -> `receive` of a 20 MB file through two cone NATs
                       with a 100 ms RTT and 2 % random loss each way: the file arrives
                       bit-exact and the receiver never goes 10 s without progress (the WAN
                       collapse of issue 7 left transfers crawling for minutes).
  echo-5pct            aiortc's echo client sends 300 messages (1 B..16 KiB, text and binary)
                       to `tincan-cli echo` through 5 % random loss each way at 40 ms RTT:
                       every echo comes back, in order and intact.

Exit 77 (skipped) when the lab cannot run here, unless CI=true. Prints one line per scenario,
then 'N passed, N failed'. --only NAME runs matching scenarios. TINCAN_LOG_LEVEL=debug makes
the peers' stderr verbose (shown on failure).
"""
import argparse
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import netlab  # noqa: E402
import scenarios  # noqa: E402
import wan_transfer  # noqa: E402
from tincan_peers import CLI, SIGNAL_PORT, start_signal  # noqa: E402

AIORTC_PEER = os.path.join(HERE, "..", "interop", "aiortc_peer.py")
FILE_SIZE = 20_000_003
MAX_GAP_S = 10.0  # "never stalls": a generous bound, so that a loaded CI machine does not flake


def transfer_100ms_2pct(workdir):
    src = os.path.join(workdir, "wan.bin")
    wan_transfer.make_file(src, FILE_SIZE, seed=7)
    link = netlab.WanLink(delay_ms=50, loss_pct=2)
    with netlab.Lab(wan_a=link) as lab:
        coturn = lab.start_coturn()
        sig = start_signal(lab)
        try:
            r = wan_transfer.run_transfer(lab, coturn, src, workdir, room="wan2", timeout=150)
        finally:
            sig.kill()
            sig.wait()
    problems = list(r["problems"])
    wan = r.get("wan", {}).get("ra", {})
    lost = {d: wan["after"][d].get("drop_loss", 0) - wan["before"][d].get("drop_loss", 0)
            for d in ("up", "down")} if wan else {}
    if not lost or lost["up"] == 0:
        problems.append(f"the WAN link dropped nothing on the way up: {wan}")
    if r.get("max_gap_s") is not None and r["max_gap_s"] > MAX_GAP_S:
        problems.append(f"the receiver went {r['max_gap_s']} s without progress")
    detail = (f"{FILE_SIZE / 1e6:.0f} MB in {r.get('seconds') or 0:.1f} s = {r.get('mb_s')} MB/s, "
              f"longest gap {r.get('max_gap_s')} s, link drops {lost}")
    return problems, detail, r


def aiortc_unavailable():
    if not os.path.exists(AIORTC_PEER):
        return f"{AIORTC_PEER} not found"
    r = subprocess.run(["/usr/bin/python3", "-c", "import aiortc, websockets"], capture_output=True, text=True)
    if r.returncode != 0:
        return "python3-aiortc or python3-websockets missing"
    return None


def echo_5pct(workdir):
    link = netlab.WanLink(delay_ms=20, loss_pct=5)
    count = 300
    with netlab.Lab(wan_a=link) as lab:
        coturn = lab.start_coturn()
        sig = start_signal(lab)
        url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/echo5"
        level = os.environ.get("TINCAN_LOG_LEVEL", "warn")
        t0 = time.monotonic()
        echo = wan_transfer.Peer(lab, "b", [CLI, "echo", "--signal", url, "--duration", "150", "--log-level", level,
                                            "--stun", coturn.stun_uri()],
                                 os.path.join(workdir, "echo-b.stderr"), t0)
        client = None
        problems = []
        try:
            if not echo.wait_event("signaling", 20, state="joined"):
                return ["tincan-cli echo did not join: " + echo.stderr()[-300:]], "", {}
            client = wan_transfer.Peer(lab, "a", ["/usr/bin/python3", AIORTC_PEER, "--signal", url,
                                                  "--mode", "echo-client", "--count", str(count),
                                                  "--sizes", "1,100,1000,16384", "--stun", coturn.stun_uri(),
                                                  "--timeout", "140"],
                                       os.path.join(workdir, "echo-a.stderr"), t0)
            client.wait(160)
            echo.wait(20)
            counters = lab.wan_counters("ra")
        finally:
            echo.kill()
            if client:
                client.kill()
            sig.kill()
            sig.wait()
    res = (client.of("result") or [{}])[-1] if client else {}
    if not res.get("ok"):
        problems.append(f"aiortc echo-client: {res.get('error') or res}"[:400] + " " + client.stderr()[-300:])
    elif res.get("sent") != count or res.get("received") != count or res.get("mismatches"):
        problems.append(f"sent {res.get('sent')}, received {res.get('received')}, mismatches {res.get('mismatches')}")
    dropped = counters["up"].get("drop_loss", 0) + counters["down"].get("drop_loss", 0)
    if dropped == 0:
        problems.append(f"the WAN link dropped nothing: {counters}")
    detail = f"{res.get('received')} of {count} echoes in order in {res.get('seconds')} s, link drops {dropped}"
    return problems, detail, {"echo_stderr": echo.stderr()[-1500:]}


SCENARIOS = [("transfer-100ms-2pct", transfer_100ms_2pct), ("echo-5pct", echo_5pct)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", help="run only scenarios whose name contains this")
    args = ap.parse_args()
    return scenarios.run(SCENARIOS, only=args.only, prefix="tincan-wan-",
                         skip=lambda name: aiortc_unavailable() if name.startswith("echo") else None)


if __name__ == "__main__":
    sys.exit(main())
