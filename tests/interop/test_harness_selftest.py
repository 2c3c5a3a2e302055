#!/usr/bin/python3
"""Proves the interop harness without Tincan: headless Chromium (page/) <-> aiortc
(aiortc_peer.py) through tincan-signal on loopback, in the modes tincan-cli will be tested in.

- echo, Chromium offering (newcomer with its own channel) / aiortc echoing,
- echo, aiortc offering over two channels / Chromium echoing,
- ~20 MB file Chromium -> aiortc (aiortc offers with only a placeholder m=application, Chromium
  opens the file channel after answering),
- ~20 MB file aiortc -> Chromium (the same the other way round),
- a refusal: aiortc sends more bytes than its header says, Chromium must close the channel.

Every file is checked against the pattern's sha256 computed here. Exit 77 (skipped) when
Chromium or aiortc is missing, unless CI=true. Prints one line per case, then
'N passed, N failed'. --json FILE writes every result.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiortc_peer import AiortcPeer  # noqa: E402
from chromium import ChromiumPeer  # noqa: E402
from common import (SignalServer, find_chromium, find_signal, have_aiortc, loopback_only,  # noqa: E402
                    pattern_sha256, skip_or_fail)

FILE_SIZE = 20_000_003  # not a multiple of the 64 KiB chunk nor of 4: the tail is exercised
SEED = 11


def pair(sig, room, first, second, timeout=45):
    """Starts `first` (kind, mode, params), waits until it is in the room, then `second`;
    returns both results."""
    def make(kind, mode, params):
        params = dict({"timeout": timeout}, **params)
        if kind == "chromium":
            return ChromiumPeer(sig.base, room, mode, mdns=not LOOPBACK_ONLY, **params)
        return AiortcPeer(sig.base, room, mode, **params)

    with make(*first) as a:
        if not a.wait_event("signaling", 20, state="joined"):
            return (a.result or {"ok": False, "error": "first peer never joined the room"},
                    {"ok": False, "error": "not started"})
        with make(*second) as b:
            rb = b.wait(timeout + 5)
            ra = a.wait(10)
            for p, r in ((a, ra), (b, rb)):
                if not r.get("ok") and hasattr(p, "log_tail"):
                    r.setdefault("chromium_log", p.log_tail(5))
                if not r.get("ok") and getattr(p, "stderr_lines", None):
                    r.setdefault("stderr", "\n".join(p.stderr_lines[-10:]))
    return ra, rb


def check_echo(server, client, expect_channels):
    problems = []
    if not client.get("ok"):
        problems.append(f"client: {client.get('error') or client.get('mismatches')}")
    if not server.get("ok"):
        problems.append(f"server: {server.get('error')}")
    if client.get("sent") != server.get("messages"):
        problems.append(f"server echoed {server.get('messages')} of {client.get('sent')} messages")
    if server.get("channels") != expect_channels:
        problems.append(f"server saw {server.get('channels')} channels, expected {expect_channels}")
    if any(s["size"] <= 65536 for s in client.get("skipped", [])):
        problems.append(f"skipped sizes within 64 KiB: {client['skipped']}")
    if (client.get("received") or 0) < 16:
        problems.append(f"only {client.get('received')} echoes")
    return problems


def check_file(sender, receiver):
    problems = []
    want = pattern_sha256(SEED, FILE_SIZE)
    if not sender.get("ok"):
        problems.append(f"sender: {sender.get('error') or sender.get('files')}")
    if not receiver.get("ok"):
        problems.append(f"receiver: {receiver.get('error') or receiver.get('errors')}")
    files = receiver.get("files") or []
    if len(files) != 1 or files[0].get("sha256") != want or files[0].get("bytes") != FILE_SIZE:
        problems.append(f"receiver got {files}, expected {FILE_SIZE} bytes with sha256 {want}")
    sent = (sender.get("files") or [{}])[0]
    if sent.get("sha256") != want:
        problems.append(f"sender's sha256 {sent.get('sha256')} is not the pattern's {want}")
    return problems


def check_refusal(sender, receiver):
    problems = []
    outcome = (sender.get("files") or [{}])[0].get("outcome")
    if outcome != "closed-by-receiver":
        problems.append(f"sender outcome {outcome!r}, expected closed-by-receiver")
    reasons = [e.get("reason") for e in receiver.get("errors") or []]
    if not any("more bytes" in (r or "") for r in reasons):
        problems.append(f"receiver errors {reasons}, expected 'more bytes than size'")
    return problems


def file_params():
    return {"size": FILE_SIZE, "seed": SEED}


CASES = [
    # (name, first peer, second peer (newcomer: offers), check(first result, second result))
    ("echo-chromium-offers",
     ("aiortc", "echo-server", {}), ("chromium", "echo-client", {"count": 20}),
     lambda a, b: check_echo(a, b, 1)),
    ("echo-aiortc-offers",
     ("chromium", "echo-server", {}), ("aiortc", "echo-client", {"count": 20, "channels": 2}),
     lambda a, b: check_echo(a, b, 2)),
    ("file-chromium-to-aiortc",
     ("chromium", "send", file_params()), ("aiortc", "receive", {"count": 1}),
     lambda a, b: check_file(a, b)),
    ("file-aiortc-to-chromium",
     ("aiortc", "send", file_params()), ("chromium", "receive", {"count": 1}),
     lambda a, b: check_file(a, b)),
    ("refusal-extra-bytes",
     ("chromium", "receive", {"count": 1, "timeout": 10}),
     ("aiortc", "send", {"size": 100_000, "corrupt": "extra-bytes", "timeout": 10}),
     lambda a, b: check_refusal(b, a)),
]

LOOPBACK_ONLY = False


def main():
    global LOOPBACK_ONLY
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", help="run only the cases whose name contains this")
    ap.add_argument("--json", help="write every result to this file")
    a = ap.parse_args()

    if not find_chromium():
        skip_or_fail("chromium is not installed (apt-get install chromium)")
    if not have_aiortc():
        skip_or_fail("aiortc, websockets or numpy missing for /usr/bin/python3 "
                     "(apt-get install python3-aiortc python3-websockets)")
    if not find_signal():
        print("FAIL: tincan-signal is not built (set TINCAN_BUILD_DIR or build the tincan-signal target)", flush=True)
        return 1
    LOOPBACK_ONLY = loopback_only()
    if LOOPBACK_ONLY:
        print("note: loopback-only machine: Chromium runs with mdns=False (README.md)", flush=True)

    passed = failed = 0
    report = {}
    t_all = time.monotonic()
    with SignalServer() as sig:
        for i, (name, first, second, check) in enumerate(CASES):
            if a.k and a.k not in name:
                continue
            t0 = time.monotonic()
            ra, rb = pair(sig, f"selftest-{i}-{os.getpid()}", first, second)
            problems = check(ra, rb)
            dt = time.monotonic() - t0
            report[name] = {"first": ra, "second": rb, "problems": problems, "seconds": round(dt, 3)}
            pairs = " / ".join(
                f"{k}: {r['selected_pair']['local']['type']}->{r['selected_pair']['remote']['type']}"
                for k, r in ((first[0], ra), (second[0], rb)) if (r.get("selected_pair") or {}).get("local"))
            if problems:
                failed += 1
                print(f"FAIL {name} ({dt:.1f} s): " + "; ".join(problems), flush=True)
            else:
                passed += 1
                print(f"PASS {name} ({dt:.1f} s) [{pairs}]", flush=True)
    print(f"{passed} passed, {failed} failed ({time.monotonic() - t_all:.1f} s)", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
