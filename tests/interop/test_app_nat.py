#!/usr/bin/env python3
"""`tincan` call windows through the namespace NATs (tests/net/netlab.py): what the window says.

Two tincan-app-call drivers (one offscreen call window each, app_call.cpp) on hosts a and b,
each behind a symmetric NAT (masquerade fully-random), with tincan-signal and coturn on the
lab's "internet". Both windows are given the coturn's two addresses as STUN servers, so each
can see that its NAT maps every destination to a new port.

  no-turn:   no TURN server. The call must fail, and each window must say why and what to do:
             the headline says the call failed, the line under it says no candidate pair
             succeeded and that no TURN server is configured (add one in Settings), and the
             "why this path" lines say the NAT is symmetric.
  with-turn: the same with coturn as TURN (UDP). The call must connect relayed, the window's
             headline must say "Relayed via", the why-lines that the relay was used because
             no direct pair answered, and the window must paint the other side's video.

Exit 77 (skipped) when the lab cannot run here (needs root, nftables), unless CI=true.
Prints one line per case, then 'N passed, N failed'.
"""
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "net"))
import netlab  # noqa: E402
from tincan_peers import SIGNAL, SIGNAL_PORT, start_signal  # noqa: E402
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(HERE, "..", "..", "build"))
DRIVER = os.path.join(BUILD, "tests", "interop", "tincan-app-call")
TIMEOUT_S = 90  # ICE gives up well before this without a relay


def run_pair(lab, room, extra, workdir, shots):
    """b joins first, then a; returns each side's result event (or None) and its log tail."""
    url = f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    procs, results, logs = {}, {}, {}

    def reader(host, proc):
        for raw in proc.stdout:
            try:
                ev = json.loads(raw)
            except ValueError:
                continue
            if isinstance(ev, dict) and ev.get("event") == "result":
                results[host] = ev

    for host in ("b", "a"):
        logs[host] = os.path.join(workdir, f"{room}-{host}.stderr")
        argv = [DRIVER, "--signal", url, "--room", room, "--duration", "4", "--timeout", str(TIMEOUT_S),
                "--min-frames", "10", "--screenshot", os.path.join(shots, f"app-nat-{room}-{host}.png")] + extra
        with open(logs[host], "wb") as err:
            procs[host] = lab.popen(host, argv, stdout=subprocess.PIPE, stderr=err, text=True, env=env)
        threading.Thread(target=reader, args=(host, procs[host]), daemon=True).start()
        time.sleep(1.0)  # b first in the room
    for host, proc in procs.items():
        try:
            proc.wait(TIMEOUT_S + 20)
        except subprocess.TimeoutExpired:
            proc.kill()
    time.sleep(0.5)
    tails = {}
    for host, path in logs.items():
        with open(path, errors="replace") as f:
            tails[host] = f.read()[-400:]
    return results, tails


def hosts_with_results(results, tails, problems):
    """Each host's result in turn; a host without one is a problem (with its log's tail)."""
    for host in ("a", "b"):
        r = results.get(host)
        if not r:
            problems.append(f"{host}: no result ({tails[host]!r})")
            continue
        yield host, r


def check_no_turn(results, tails):
    problems = []
    for host, r in hosts_with_results(results, tails, problems):
        if not r.get("failed"):
            problems.append(f"{host}: the call did not fail: {r.get('headline')!r}")
            continue
        if "failed" not in r.get("headline", "").lower():
            problems.append(f"{host}: headline does not say it failed: {r.get('headline')!r}")
        detail = r.get("detail", "")
        for words in ("no candidate pair succeeded", "no TURN server is configured: add one in Settings"):
            if words not in detail:
                problems.append(f"{host}: the window does not say {words!r}: {detail!r}")
        if "symmetric" not in r.get("why", ""):
            problems.append(f"{host}: 'why this path' does not name the symmetric NAT: {r.get('why')!r}")
    return problems


def check_with_turn(results, tails):
    problems = []
    for host, r in hosts_with_results(results, tails, problems):
        if r.get("failed") or not r.get("ok"):
            problems.append(f"{host}: {r.get('headline')!r} {r.get('detail')!r} {r.get('error', '')} "
                            f"painted {r.get('framesPainted')}")
            continue
        if "Relayed via" not in r.get("headline", ""):
            problems.append(f"{host}: headline does not say relayed: {r.get('headline')!r}")
        if "The relay was used because no direct pair answered" not in r.get("why", ""):
            problems.append(f"{host}: 'why this path' does not say why relayed: {r.get('why')!r}")
    return problems


def main():
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        netlab.exit_unavailable(e)
    for exe in (DRIVER, SIGNAL):
        if not os.path.exists(exe):
            print(f"FAIL: {exe} is not built")
            print("0 passed, 1 failed")
            return 1
    workdir = scratch_dir("tincan-appnat-")
    shots = os.environ.get("TINCAN_SCREENSHOTS") or workdir
    os.makedirs(shots, exist_ok=True)
    passed = failed = 0
    with netlab.Lab(nat_a="symmetric", nat_b="symmetric") as lab:
        coturn = lab.start_coturn()
        start_signal(lab)
        stuns = ["--stun", coturn.stun_uri(), "--stun", f"stun:{netlab.SERVER_IP2}:{coturn.port}"]
        cases = [
            ("no-turn", stuns, check_no_turn),
            ("with-turn", stuns + ["--turn", coturn.turn_uri("udp"), "--turn-user", "alice",
                                   "--turn-pass", coturn.users["alice"]], check_with_turn),
        ]
        for name, extra, check in cases:
            t = time.monotonic()
            results, tails = run_pair(lab, name, extra, workdir, shots)
            problems = check(results, tails)
            dt = time.monotonic() - t
            if problems:
                failed += 1
                print(f"FAIL {name} ({dt:.1f} s): " + "; ".join(problems), flush=True)
            else:
                passed += 1
                r = results["a"]
                print(f"ok   {name} ({dt:.1f} s): a's window says {r['headline']!r} / {r['detail']!r}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    exit_with(main())
