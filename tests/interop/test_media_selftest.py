#!/usr/bin/python3
"""Proves the media side of the interop harness without Tincan: headless Chromium (page/,
mode=call, fake camera and microphone) and aiortc (aiortc_peer.py --mode call, a moving
pattern and a 440 Hz tone) call each other through tincan-signal on loopback:

- Chromium <-> Chromium (the newcomer sends 320x240, the first peer its fake camera's 640x480),
- Chromium offers (its default codec list) / aiortc answers,
- aiortc offers / Chromium answers (aiortc's extmap ids fixed, see aiortc_peer.py),
- Chromium offers audio + video + a data channel / aiortc answers,
- and one that must be caught: Chromium sends no video, so aiortc's check must fail.

Each side must have decoded the other's VP8 video at the size sent and received Opus audio,
checked from both sides' stats (common.check_received / check_sent), and the data channel must
open on both. Exit 77 (skipped) when Chromium or aiortc is missing, unless CI=true. Prints one
line per case, then 'N passed, N failed'. --json FILE writes every result.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from aiortc_peer import AiortcPeer  # noqa: E402
from chromium import ChromiumPeer  # noqa: E402
from common import (SignalServer, check_received, check_sent, find_chromium, find_signal, have_aiortc,  # noqa: E402
                    loopback_only, skip_or_fail)

CALL_S = 6  # seconds of call once connected; each case takes about twice that
CHROMIUM_SIZE = (640, 480)  # its fake camera (LAB_NOTES)


def make(sig, room, kind, params):
    params = dict({"timeout": 40, "duration": CALL_S}, **params)
    if kind == "chromium":
        return ChromiumPeer(sig.base, room, "call", media=True, mdns=not loopback_only(), **params)
    return AiortcPeer(sig.base, room, "call", **params)


def sent_size(kind, params):
    if "width" in params:
        return (params["width"], params["height"])
    return CHROMIUM_SIZE if kind == "chromium" else (640, 480)


def run(sig, room, first, second):
    with make(sig, room, *first) as a:
        if not a.wait_event("signaling", 20, state="joined"):
            return a.result or {"ok": False, "error": "first peer never joined"}, {"ok": False, "error": "not started"}
        with make(sig, room, *second) as b:
            rb = b.wait(50)
            ra = a.wait(15)
            for p, r in ((a, ra), (b, rb)):
                if not r.get("ok") and hasattr(p, "log_tail"):
                    r.setdefault("chromium_log", p.log_tail(5))
                if not r.get("ok") and getattr(p, "stderr_lines", None):
                    r.setdefault("stderr", "\n".join(p.stderr_lines[-10:]))
    return ra, rb


def check_call(first, second, ra, rb, want_dc=False):
    problems = []
    for (kind, params), r, (okind, oparams), who in ((first, ra, second, "first"), (second, rb, first, "second")):
        name = f"{who} ({kind})"
        if not r.get("ok"):
            problems.append(f"{name}: {r.get('error')}")
        problems += check_received(name, r, sent_size(okind, oparams))  # always both kinds
        problems += check_sent(name, r, sent_size(kind, params), video=params.get("video", 1) != 0)
        if want_dc:
            chans = r.get("datachannels") or []
            if not any(c.get("label") == "chat" and c.get("opened") for c in chans):
                problems.append(f"{name}: data channel chat not open: {chans}")
    return problems


CASES = [
    # (name, first peer (answers), second peer (newcomer: offers), wants a data channel,
    #  None or the problem the checks must find)
    ("chromium-chromium", ("chromium", {}), ("chromium", {"width": 320, "height": 240}), False, None),
    ("chromium-offers-aiortc-answers", ("aiortc", {"width": 320, "height": 240}), ("chromium", {}), False, None),
    ("aiortc-offers-chromium-answers", ("chromium", {}), ("aiortc", {"width": 320, "height": 240}), False, None),
    ("chromium-av-dc-offer-aiortc-answers", ("aiortc", {"dc": 1}), ("chromium", {"dc": 1}), True, None),
    ("caught-chromium-sends-no-video", ("aiortc", {}), ("chromium", {"video": 0}), False,
     "first (aiortc): no inbound-rtp video"),
]


def main():
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

    passed = failed = 0
    report = {}
    t_all = time.monotonic()
    with SignalServer() as sig:
        for i, (name, first, second, want_dc, must_find) in enumerate(CASES):
            if a.k and a.k not in name:
                continue
            t0 = time.monotonic()
            ra, rb = run(sig, f"media-{i}-{os.getpid()}", first, second)
            problems = check_call(first, second, ra, rb, want_dc)
            if must_find:
                # The checks must be able to fail: here they must find exactly this problem.
                problems = [] if must_find in problems else [f"the checks missed '{must_find}': {problems}"]
            dt = time.monotonic() - t0
            report[name] = {"first": ra, "second": rb, "problems": problems, "seconds": round(dt, 3)}
            seen = " / ".join(
                f"{k}: video {r.get('inbound', {}).get('video', {}).get('framesDecoded')} frames "
                f"{r.get('inbound', {}).get('video', {}).get('frameWidth')}x"
                f"{r.get('inbound', {}).get('video', {}).get('frameHeight')}"
                for k, r in ((first[0], ra), (second[0], rb)))
            if problems:
                failed += 1
                print(f"FAIL {name} ({dt:.1f} s): " + "; ".join(problems), flush=True)
            else:
                passed += 1
                print(f"PASS {name} ({dt:.1f} s) [{seen}]", flush=True)
    print(f"{passed} passed, {failed} failed ({time.monotonic() - t_all:.1f} s)", flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
