#!/usr/bin/env python3
"""Two real tincan-cli peers behind two real NATs (network namespaces + nftables masquerade),
with a real coturn and tincan-signal on the "internet": they must connect by the cheapest path
that exists and say which one it is.

Exit 77 (skipped) when the lab cannot run here, unless CI=true. Prints one line per scenario,
then 'N passed, N failed'. With --json FILE, writes the measured connect times there.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402
from tincan_peers import CLI, SIGNAL, SIGNAL_PORT, read_events, start_signal  # noqa: E402,F401


# (name, nat_a, nat_b, same_lan, expected path, expected relayProtocol, options)
SCENARIOS = [
    ("same-lan", "cone", "cone", True, "lan", None, {}),
    ("cone-cone", "cone", "cone", False, "direct", None, {}),
    ("cone-symmetric", "cone", "symmetric", False, "relay", None, {}),
    ("symmetric-symmetric", "symmetric", "symmetric", False, "relay", "udp", {}),
    ("udpblocked-udpblocked", "udp-blocked", "udp-blocked", False, "relay", "tcp", {}),
    ("udpblocked-cone-turns", "udp-blocked", "cone", False, "relay", "tls", {"turns_only": True}),
    ("cone-cone-relay-policy", "cone", "cone", False, "relay", None, {"relay_policy": True}),
    ("symmetric-symmetric-rest", "symmetric", "symmetric", False, "relay", "udp", {"rest": True}),
]

# (name, nat, expected nat_type)
BEHAVIOR = [("nat-behavior-cone", "cone", "port-restricted cone"),
            ("nat-behavior-symmetric", "symmetric", "symmetric")]


def peer_args(coturn, opts):
    args = []
    if opts.get("rest"):
        user, password = coturn.rest_credentials()
    else:
        user, password = "alice", coturn.users["alice"]
    if opts.get("turns_only"):
        args += ["--turn", coturn.turns_uri(), "--turn-ca", coturn.ca_file]
    else:
        args += ["--stun", coturn.stun_uri(), "--turn", coturn.turn_uri("udp"), "--turn", coturn.turn_uri("tcp")]
    args += ["--turn-user", user, "--turn-pass", password]
    if opts.get("relay_policy"):
        args += ["--ice-policy", "relay"]
    return args


def run_pair(lab, coturn, room, opts):
    results = {}
    procs = []
    t0 = time.monotonic()
    for host in ("a", "b"):
        stats = f"/tmp/{lab.prefix}-{host}-stats.json"
        argv = [CLI, "connect", "--signal", f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/{room}",
                "--duration", "25", "--stats-json", stats,
                "--log-level", os.environ.get("TINCAN_LOG_LEVEL", "warn")] + peer_args(coturn, opts)
        p = lab.popen(host, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        evs = []
        t = threading.Thread(target=read_events, args=(p, evs, t0), daemon=True)
        t.start()
        procs.append((host, p, evs, t, stats))
    for host, p, evs, t, stats in procs:
        try:
            p.wait(timeout=40)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        t.join(timeout=5)
        err = p.stderr.read()
        statsJson = None
        if os.path.exists(stats):
            with open(stats) as f:
                statsJson = json.load(f)
            os.unlink(stats)
        results[host] = {"rc": p.returncode, "events": evs, "stderr": err, "stats": statsJson}
    return results


def check_pair(name, results, path, relay_protocol):
    problems = []
    timing = {}
    for host, r in results.items():
        evs = r["events"]
        if r["rc"] != 0:
            problems.append(f"{host} exited {r['rc']}: {r['stderr'].strip()[-300:]}")
            continue
        sel = [e for e in evs if e.get("event") == "selected-pair"]
        con = [e for e in evs if e.get("event") == "connected"]
        if not sel or not con:
            problems.append(f"{host}: no selected-pair/connected event")
            continue
        last = sel[-1]
        if last.get("path") != path:
            problems.append(f"{host}: path {last.get('path')} ({last['local']['type']} -> {last['remote']['type']}), "
                            f"expected {path}")
        if relay_protocol and last.get("relayProtocol") != relay_protocol and last["local"]["type"] == "relay":
            problems.append(f"{host}: relayProtocol {last.get('relayProtocol')}, expected {relay_protocol}")
        joined = next((e["_t"] for e in evs if e.get("event") == "signaling"), None)
        if joined is not None:
            timing[host] = {"first_selected_ms": round((sel[0]["_t"] - joined) * 1000, 1),
                            "rtt_ms": con[-1].get("rtt_ms")}
        stats = r["stats"]
        if not stats or not any(s.get("type") == "transport" and s.get("selectedCandidatePairId") for s in stats):
            problems.append(f"{host}: --stats-json lacks a transport with a selected pair")
    return problems, timing


def check_behavior(lab, coturn, nat_type):
    r = lab.run("a", [CLI, "stun", coturn.stun_uri(), "--nat-behavior", "--duration", "20"],
                capture_output=True, text=True, timeout=40)
    if r.returncode != 0:
        return [f"exit {r.returncode}: {r.stderr.strip()}"], {}
    evs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    beh = next((e for e in evs if e.get("event") == "nat-behavior"), None)
    stun = next((e for e in evs if e.get("event") == "stun"), None)
    problems = []
    if not beh or beh.get("nat_type") != nat_type:
        problems.append(f"nat_type {beh and beh.get('nat_type')}, expected {nat_type}")
    if not stun or stun["mapped"]["address"] != netlab.ROUTER_A_WAN:
        problems.append(f"mapped address {stun and stun['mapped']}, expected {netlab.ROUTER_A_WAN}")
    return problems, beh or {}


def loopback_only():
    """A sealed namespace with nothing but lo (an offline laptop): two peers must still connect."""
    ns = f"tcnlo{os.getpid() % 10000}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    procs = []
    try:
        subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
        ex = ["ip", "netns", "exec", ns]
        sig = subprocess.Popen(ex + [SIGNAL, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        procs.append(sig)
        port = json.loads(sig.stdout.readline())["port"]
        outs = []
        for _ in range(2):
            p = subprocess.Popen(ex + [CLI, "connect", "--signal", f"ws://127.0.0.1:{port}/offline",
                                       "--duration", "20"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
            procs.append(p)
            outs.append(p)
        problems = []
        for p in outs:
            out, err = p.communicate(timeout=40)
            evs = [json.loads(l) for l in out.splitlines() if l.strip()]
            sel = [e for e in evs if e.get("event") == "selected-pair"]
            if p.returncode != 0:
                problems.append(f"exit {p.returncode}: {err.strip()[-300:]}")
            elif not sel or sel[-1]["path"] != "lan" or sel[-1]["local"]["address"] not in ("127.0.0.1", "::1"):
                problems.append(f"selected {sel[-1] if sel else None}")
        return problems
    finally:
        for p in procs:
            p.kill()
            p.wait()
        subprocess.run(["ip", "netns", "del", ns])


def turns_untrusted():
    """turns: to a server whose CA we were not told to trust: no relay, a clear reason, exit 1."""
    with netlab.Lab("cone", "cone") as lab:
        coturn = lab.start_coturn()
        sig = start_signal(lab)
        procs = []
        try:
            for host in ("a", "b"):
                procs.append(lab.popen(host, [CLI, "connect", "--signal", f"ws://{netlab.SERVER_IP}:{SIGNAL_PORT}/tls",
                                              "--turn", coturn.turns_uri(), "--turn-user", "alice",
                                              "--turn-pass", "secret", "--ice-policy", "relay", "--duration", "15"],
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            problems = []
            for p in procs:
                out, err = p.communicate(timeout=40)
                if p.returncode == 0:
                    problems.append("connected through an untrusted TURN server")
                if "certificate verification failed" not in err:
                    problems.append(f"no certificate reason on stderr: {err.strip()[-300:]!r}")
                if "selected-pair" in out:
                    problems.append("a pair was selected")
            return problems
        finally:
            for p in procs:
                p.kill()
            sig.kill()
            sig.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", help="write measured times here")
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
    for name, nat_a, nat_b, same_lan, path, relay_protocol, opts in SCENARIOS:
        if args.only and args.only not in name:
            continue
        with netlab.Lab(nat_a, nat_b, same_lan=same_lan) as lab:
            coturn = lab.start_coturn(rest_secret="tincan-rest-secret") if opts.get("rest") else lab.start_coturn()
            sig = start_signal(lab)
            try:
                t = time.monotonic()
                results = run_pair(lab, coturn, name.replace("_", "-"), opts)
                problems, timing = check_pair(name, results, path, relay_protocol)
                elapsed = time.monotonic() - t
            finally:
                sig.kill()
                sig.wait()
            report[name] = {"path": path, "timing": timing}
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
                for host, r in results.items():
                    print(f"  --- {host} stderr:\n{r['stderr'][-1500:]}")
                print(f"  --- coturn log tail:\n{coturn.log()[-1500:]}")
            else:
                passed += 1
                print(f"ok   {name}: path {path}{' (' + relay_protocol + ')' if relay_protocol else ''}, "
                      f"first selected pair after {timing}, {elapsed:.1f} s")
    for name, nat, nat_type in BEHAVIOR:
        if args.only and args.only not in name:
            continue
        with netlab.Lab(nat, "cone") as lab:
            coturn = lab.start_coturn()
            problems, beh = check_behavior(lab, coturn, nat_type)
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   {name}: {beh.get('mapping')} mapping, {beh.get('filtering')} filtering = {nat_type}")
    if not args.only or args.only in "loopback-only":
        problems = loopback_only()
        if problems:
            failed += 1
            print("FAIL loopback-only: " + "; ".join(problems))
        else:
            passed += 1
            print("ok   loopback-only: a namespace with only lo connects over loopback (path lan)")
    if not args.only or args.only in "turns-untrusted":
        problems = turns_untrusted()
        if problems:
            failed += 1
            print("FAIL turns-untrusted: " + "; ".join(problems))
        else:
            passed += 1
            print("ok   turns-untrusted: an untrusted TURN certificate is refused with its reason")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
