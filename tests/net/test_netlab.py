#!/usr/bin/python3
"""Self-test of the NAT lab: each NAT mode behaves as named, coturn answers from inside it,
and teardown leaves nothing behind. Exits 77 (skip) when the lab can't run here, except
with CI=true. Prints `N passed, N failed` last."""

import os
import select
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import netlab  # noqa: E402
from netlab import (HOST_A_IP, HOST_B_SAME_LAN_IP, ROUTER_A_WAN, ROUTER_B_WAN,  # noqa: E402
                    SERVER_IP, SERVER_IP2, Lab)

results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    results["passed" if ok else "failed"] += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}{'' if ok else ': ' + str(detail)}", flush=True)


def start_echo(lab, host, *addrs):
    """udp_probe.py serve in `host`, UDP and TCP on each address; waits until it listens."""
    proc = lab.popen(host, [sys.executable, netlab.PROBE, "serve", "--tcp", *addrs],
                     stdout=subprocess.PIPE, text=True)
    ready, _, _ = select.select([proc.stdout], [], [], 5)
    if not ready or "listening" not in proc.stdout.readline():
        raise RuntimeError(f"echo server in {host} did not start")
    return proc


def port(addr):
    return int(addr.rpartition(":")[2]) if addr else None


def ip(addr):
    return addr.rpartition(":")[0] if addr else None


def test_nat_modes_and_coturn():
    with Lab(nat_a="cone", nat_b="symmetric") as lab:
        start_echo(lab, "server", f"{SERVER_IP}:7000", f"{SERVER_IP2}:7000", f"{SERVER_IP}:7001")
        servers = [f"{SERVER_IP}:7000", f"{SERVER_IP2}:7000"]

        rc, out = lab.probe("a", "client", *servers)
        seen = [r["seen"] for r in out.get("results", [])]
        check("cone: same public address and port towards two server addresses",
              rc == 0 and len(set(seen)) == 1 and ip(seen[0]) == ROUTER_A_WAN, out)
        check("cone: mapping keeps the host's port (endpoint-independent)",
              rc == 0 and port(seen[0]) == port(out["local"]), out)

        rc, out = lab.probe("a", "client", f"{SERVER_IP}:7000", "--reply-from",
                            f"{SERVER_IP}:7001", "--timeout", "0.5")
        check("cone: filters a reply from another server port (port-restricted)", rc == 1, out)

        rc, out = lab.probe("b", "client", *servers)
        seen = [r["seen"] for r in out.get("results", [])]
        check("symmetric: a new public port per destination",
              rc == 0 and len(set(seen)) == 2 and {ip(s) for s in seen} == {ROUTER_B_WAN}, out)

        # LAB_NOTES: an unsolicited packet to the router before the host speaks must not make
        # masquerade pick another port later (same server address and port, as an ICE check).
        lab.probe("server", "send", f"{ROUTER_A_WAN}:41000", "--bind", f"{SERVER_IP}:7002")
        start_echo(lab, "server", f"{SERVER_IP}:7002")
        rc, out = lab.probe("a", "client", f"{SERVER_IP}:7002", "--bind", "0.0.0.0:41000")
        seen = out.get("results", [{}])[0].get("seen")
        check("cone: unsolicited inbound to the router does not move the mapping",
              rc == 0 and seen == f"{ROUTER_A_WAN}:41000", out)

        turn = lab.start_coturn()
        rc, out = lab.probe("a", "stun", f"{SERVER_IP}:{turn.port}")
        check("coturn: STUN binding from A reports the router's public address",
              rc == 0 and ip(out.get("mapped")) == ROUTER_A_WAN, out)
        check("coturn: RFC 5780 OTHER-ADDRESS is the second address and port",
              out.get("other") == f"{SERVER_IP2}:{turn.alt_port}", out)
        rc, out = lab.probe("a", "stun", f"{SERVER_IP}:{turn.tls_port}", "--tls", "--ca",
                            turn.ca_file)
        check("coturn: TLS listener verifies against ca_file",
              rc == 0 and ip(out.get("mapped")) == ROUTER_A_WAN, out)
        rc, out = lab.probe("b", "turn", f"{SERVER_IP}:{turn.port}", "--user", "alice",
                            "--password", turn.users["alice"])
        check("coturn: TURN allocation with a static user",
              rc == 0 and ip(out.get("relayed")) == SERVER_IP, out)

        rest = lab.start_coturn(rest_secret="tincan-rest-secret")
        user, password = rest.rest_credentials()
        rc, out = lab.probe("a", "turn", f"{SERVER_IP}:{rest.port}", "--tcp", "--user", user,
                            "--password", password)
        check("coturn: REST instance allocates with ephemeral credentials over TCP",
              rc == 0 and ip(out.get("relayed")) == SERVER_IP, out)
        prefix = lab.prefix
    left = [n for n in netlab._namespaces() if n.startswith(prefix + "-")]
    check("teardown removes every namespace", not left, left)


def test_udp_blocked_and_loss():
    with Lab(nat_a="udp-blocked", nat_b="cone", loss_b=30) as lab:
        start_echo(lab, "server", f"{SERVER_IP}:7000")
        rc, out = lab.probe("a", "client", f"{SERVER_IP}:7000", "--timeout", "0.5")
        check("udp-blocked: no UDP gets out", rc == 1, out)
        rc, out = lab.probe("a", "tcp", f"{SERVER_IP}:7000")
        check("udp-blocked: TCP gets out through the NAT",
              rc == 0 and ip(out.get("seen")) == ROUTER_A_WAN, out)
        rc, out = lab.probe("b", "client", f"{SERVER_IP}:7000", "--count", "200")
        got = out.get("results", [{}])[0].get("received", 0)
        # 30 % loss each way: about 49 % of round trips survive.
        check("loss 30 %: roughly half of 200 round trips survive", 40 <= got <= 160, out)

        rc, before = lab.probe("b", "client", f"{SERVER_IP}:7000", "--bind", "0.0.0.0:42000",
                               "--count", "20")
        lab.set_loss("rb", 100)
        rc_cut, out = lab.probe("b", "client", f"{SERVER_IP}:7000", "--bind", "0.0.0.0:42000",
                                "--count", "5", "--timeout", "0.3")
        lab.set_loss("rb", 0)
        rc, after = lab.probe("b", "client", f"{SERVER_IP}:7000", "--bind", "0.0.0.0:42000",
                              "--count", "20")
        check("set_loss: 100 cuts B off, 0 restores it on the same mapping",
              rc_cut == 1 and rc == 0 and after["results"][0]["received"] == 20
              and after["results"][0]["seen"] == before["results"][0]["seen"],
              f"before={before} cut={out} after={after}")


RTT_SCRIPT = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
rtts, lost = [], 0
for i in range(int(sys.argv[2])):
    t = time.monotonic()
    s.sendto(b"x" * 100, (sys.argv[1], 7000))
    try:
        s.recvfrom(2000)
        rtts.append((time.monotonic() - t) * 1000)
    except socket.timeout:
        lost += 1
print(min(rtts) if rtts else -1, len(rtts), lost)
"""


def rtt_probe(lab, host, count):
    r = lab.run(host, [sys.executable, "-c", RTT_SCRIPT, SERVER_IP, str(count)],
                capture_output=True, text=True, timeout=60)
    best, got, lost = r.stdout.split()
    return float(best), int(got), int(lost)


def test_wan_link():
    up = netlab.WanLink(delay_ms=40)
    down = netlab.WanLink(delay_ms=10, loss_pct=20)
    with Lab(nat_a="cone", nat_b="cone", wan_a=(up, down)) as lab:
        start_echo(lab, "server", f"{SERVER_IP}:7000")
        rc, out = lab.probe("a", "client", f"{SERVER_IP}:7000", "--count", "10")
        check("wan link: NAT a still maps to its own public address",
              rc == 0 and ip(out["results"][0]["seen"]) == ROUTER_A_WAN, out)
        before = lab.wan_counters("ra")
        best, got, lost = rtt_probe(lab, "a", 100)
        after = lab.wan_counters("ra")
        check("wan link: RTT through it is at least 40 + 10 ms", 50 <= best < 200, best)
        dropped = after["down"]["drop_loss"] - before["down"]["drop_loss"]
        check("wan link: the down direction's loss drops about 20 % and is counted",
              5 <= dropped <= 40 and lost == dropped and got == 100 - dropped,
              f"dropped={dropped} got={got} lost={lost} counters={after}")
        check("wan link: nothing dropped on the up direction",
              after["up"]["drop_loss"] == 0 and after["up"]["rx"] - before["up"]["rx"] == 100,
              after)
        best_b, got_b, _ = rtt_probe(lab, "b", 20)
        check("wan link: b's path (no link) is not delayed", 0 <= best_b < 40 and got_b == 20,
              best_b)
    try:
        netlab.WanLink(loss_pct=101)
        check("WanLink refuses loss over 100 %", False, "accepted")
    except ValueError:
        check("WanLink refuses loss over 100 %", True)


def test_same_lan():
    with Lab(nat_a="cone", same_lan=True) as lab:
        start_echo(lab, "b", f"{HOST_B_SAME_LAN_IP}:7000")
        start_echo(lab, "server", f"{SERVER_IP}:7000")
        rc, out = lab.probe("a", "client", f"{HOST_B_SAME_LAN_IP}:7000")
        seen = out.get("results", [{}])[0].get("seen")
        check("same LAN: A reaches B directly, no NAT", rc == 0 and ip(seen) == HOST_A_IP, out)
        rc, out = lab.probe("b", "client", f"{SERVER_IP}:7000")
        seen = out.get("results", [{}])[0].get("seen")
        check("same LAN: B goes out through the shared router",
              rc == 0 and ip(seen) == ROUTER_A_WAN, out)


CHILD = """
import sys, time
sys.path.insert(0, {here!r})
import netlab
lab = netlab.Lab()
lab.popen("server", ["sleep", "60"])
print(lab.prefix, flush=True)
time.sleep(60)
"""


def test_teardown_on_signal_and_stale_cleanup():
    here = os.path.dirname(os.path.abspath(__file__))

    def spawn():
        proc = subprocess.Popen([sys.executable, "-c", CHILD.format(here=here)],
                                stdout=subprocess.PIPE, text=True)
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        return proc, (proc.stdout.readline().strip() if ready else "")

    def leftovers(prefix):
        return [n for n in netlab._namespaces() if n.startswith(prefix + "-")]

    proc, prefix = spawn()
    proc.send_signal(signal.SIGTERM)
    proc.wait(10)
    check("SIGTERM tears the lab down", prefix and not leftovers(prefix),
          f"prefix={prefix!r} left={leftovers(prefix) if prefix else '?'}")

    proc, prefix = spawn()
    proc.kill()
    proc.wait()
    had = bool(prefix and leftovers(prefix))
    stale = netlab.cleanup_stale()
    check("cleanup-stale removes what a SIGKILLed run left",
          had and prefix in stale and not leftovers(prefix), f"prefix={prefix!r} stale={stale}")


def main():
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        netlab.exit_unavailable(e)
    start = time.monotonic()
    for test in (test_nat_modes_and_coturn, test_udp_blocked_and_loss, test_wan_link, test_same_lan,
                 test_teardown_on_signal_and_stale_cleanup):
        try:
            test()
        except Exception as e:  # a broken lab is a failure, not a crash
            check(test.__name__, False, f"{type(e).__name__}: {e}")
    print(f"({time.monotonic() - start:.1f} s)")
    print(f"{results['passed']} passed, {results['failed']} failed", flush=True)
    return 1 if results["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
