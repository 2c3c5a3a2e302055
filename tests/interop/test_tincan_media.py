#!/usr/bin/env python3
"""tincan-cli call against real WebRTC stacks through tincan-signal on loopback: headless
Chromium (page/ mode=call: fake camera 640x480 and microphone) and aiortc (aiortc_peer.py
--mode call: a moving 320x240 pattern and a 440 Hz tone). Tincan sends its test pattern at
640x480 and its tone.

Cases: Chromium offers (its whole default codec list) / Tincan answers; Tincan offers /
Chromium answers; Chromium offers audio + video + a data channel; Chromium offers with VP8 and
Opus moved to the end of its lists (Tincan must still choose them) and a 480x360 Y4M camera;
aiortc both ways.

Pass = each side decoded the other's VP8 video at the size sent and received Opus audio,
checked from BOTH sides' stats: the page's getStats() / aiortc's counters, and tincan-cli's
--stats-json (W3C inbound-rtp / outbound-rtp / codec), plus tincan-cli's `track` events and
exit code 0.

The same cases (but the data channel one) also run with tincan-rtp-reflector (rtp_reflector.cpp)
in Tincan's place when it is built: it sends back the RTP payloads it receives, so the other
side must decode its OWN video and audio after the round trip through Tincan's negotiation,
SRTP, RTP/RTCP, RTX and PLI relay; Tincan's stats must show Opus and VP8 packets both ways.
That tests the transport apart from the media pipeline (and before tincan-cli call exists). A failing case writes everything needed to diagnose it (both SDPs, tincan-cli's
stderr, events and stats, the other side's result) to DIR/<case>.json (--keep DIR, default a
temp dir) and prints the path.

Exit 77 (skipped) when Chromium or aiortc is missing, or when there is neither the reflector
nor tincan-cli call, unless CI=true. Ends with 'N passed, N failed'. -k NAME runs only matching cases.
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (MIN_AUDIO_PACKETS, ProcessPeer, SignalServer, check_received, check_sent,  # noqa: E402
                    find_chromium, have_aiortc, loopback_only, skip_or_fail, w3c_call_view, write_y4m)
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
REFLECTOR = os.path.join(BUILD, "tests", "interop", "tincan-rtp-reflector")
TINCAN_SIZE = (640, 480)    # tincan-cli call --width/--height
CHROMIUM_SIZE = (640, 480)  # Chromium's fake camera (LAB_NOTES)
AIORTC_SIZE = (320, 240)    # not Tincan's size: a view mixed up between the sides cannot pass
Y4M_SIZE = (480, 360)       # Chromium's camera from a Y4M file (--use-file-for-fake-video-capture)
CALL_S = 8                  # the other side's call, from 'connected'
TINCAN_S = 14               # tincan-cli --duration (from its start; the other side ends first)


def other_peer(kind, sig, room, **params):
    params = dict({"timeout": 40, "duration": CALL_S}, **params)
    if kind == "chromium":
        from chromium import ChromiumPeer
        return ChromiumPeer(sig.base, room, "call", media=True, mdns=not loopback_only(), **params)
    from aiortc_peer import AiortcPeer
    return AiortcPeer(sig.base, room, "call", width=AIORTC_SIZE[0], height=AIORTC_SIZE[1], **params)


def tincan_view(cli, stats_path):
    """tincan-cli's call view from --stats-json, else from its last stats event with a report."""
    try:
        with open(stats_path) as f:
            return w3c_call_view(json.load(f)), "stats-json"
    except (OSError, ValueError):
        pass
    for ev in reversed(cli.events):
        if ev.get("event") == "stats" and isinstance(ev.get("report"), (list, dict)):
            return w3c_call_view(ev["report"]), "stats event"
    return {"inbound": {}, "outbound": {}, "remote_inbound": {}}, "none"


def tincan_argv(tool, stats_path, url):
    if tool == "reflector":
        # --duration counts from 'connected' there; the other side hangs up first.
        return [REFLECTOR, "--duration", str(CALL_S + 4), "--stats-json", stats_path, "--signal", url]
    return [CLI, "call", "--video", "test", "--audio", "tone", "--width", str(TINCAN_SIZE[0]), "--height",
            str(TINCAN_SIZE[1]), "--fps", "30", "--duration", str(TINCAN_S), "--stats-json", stats_path,
            # The size is checked exactly, as for Chromium's sender (the page sets the same).
            "--degradation-preference", "maintain-resolution", "--signal", url]


def run_call(sig, tool, kind, tincan_first, other_params, stats_path):
    room = f"m{int(time.monotonic() * 1000) % 10**9}"
    argv = tincan_argv(tool, stats_path, sig.url(room))
    if tincan_first:
        with ProcessPeer(argv, name="tincan") as cli:
            if not cli.wait_event("signaling", 15, state="joined"):
                return cli, cli.wait(5), {"ok": False, "error": "not started", "setup": "tincan-cli did not join the room"}
            with other_peer(kind, sig, room, **other_params) as other:
                res = other.wait(60)
                cres = cli.wait(30)
                extra = other
    else:
        with other_peer(kind, sig, room, **other_params) as other:
            if not other.wait_event("signaling", 30, state="joined"):
                return None, {"ok": False}, {"ok": False, "error": "not started", "setup": f"{kind} did not join the room"}
            with ProcessPeer(argv, name="tincan") as cli:
                cres = cli.wait(60)
                res = other.wait(30)
                extra = other
    if not res.get("ok") and hasattr(extra, "log_tail"):
        res.setdefault("chromium_log", extra.log_tail(10))
    if not res.get("ok") and getattr(extra, "stderr_lines", None):
        res.setdefault("stderr", "\n".join(extra.stderr_lines[-20:]))
    return cli, cres, res


def check_transport(view):
    """What the reflector's stats must show: Opus and VP8 chosen, packets in and out of each."""
    problems = []
    for kind, mime in (("audio", "audio/opus"), ("video", "video/vp8")):
        i = view["inbound"].get(kind) or {}
        o = view["outbound"].get(kind) or {}
        if str((i.get("codec") or {}).get("mimeType", "")).lower() != mime:
            problems.append(f"tincan: inbound {kind} codec {i.get('codec')}, expected {mime}")
        if (i.get("packetsReceived") or 0) < MIN_AUDIO_PACKETS:
            problems.append(f"tincan: {i.get('packetsReceived')} {kind} packets received")
        if (o.get("packetsSent") or 0) < MIN_AUDIO_PACKETS:
            problems.append(f"tincan: {o.get('packetsSent')} {kind} packets sent")
    return problems


def check_case(tool, kind, other_size, cli, cres, res, view, want_dc):
    if res.get("setup"):  # no call happened: the rest would only repeat it
        return [res["setup"] + (f"; tincan exited {cres.get('exit_code')}: {cres.get('stderr', '')[-300:]}"
                                if cres.get("exit_code") is not None else "")]
    problems = []
    if cres.get("exit_code") != 0:
        problems.append(f"tincan exited {cres.get('exit_code')}: {cres.get('stderr', '')[-300:]}")
    if not res.get("ok"):
        problems.append(f"{kind}: {str(res.get('error'))[:300]}")
    if tool == "reflector":
        # The other side decodes its own media after the round trip through Tincan.
        problems += check_transport(view)
        problems += check_received(kind, res, other_size)
        problems += check_sent(kind, res, other_size)
    else:
        # What each side received of the other's media, and what each says it sent.
        problems += check_received("tincan", view, other_size)
        problems += check_sent("tincan", view, TINCAN_SIZE)
        problems += check_received(kind, res, TINCAN_SIZE)
        problems += check_sent(kind, res, other_size)
    tracks = sorted(e.get("kind") for e in (cli.events if cli else []) if e.get("event") == "track")
    if tracks != ["audio", "video"]:
        problems.append(f"tincan track events: {tracks}, expected audio and video")
    other_tracks = sorted(t.get("kind") for t in res.get("tracks") or [])
    if other_tracks != ["audio", "video"]:
        problems.append(f"{kind} got tracks {other_tracks}, expected audio and video")
    if want_dc:
        chans = res.get("datachannels") or []
        if not any(c.get("label") == "chat" and c.get("opened") for c in chans):
            problems.append(f"{kind}: data channel chat did not open: {chans}")
        opened = [e.get("label") for e in (cli.events if cli else []) if e.get("event") == "datachannel-open"]
        if "chat" not in opened:
            problems.append(f"tincan-cli printed no datachannel-open for chat (got {opened})")
    return problems


def diagnosis(kind, tincan_first, cli, cres, res, view, source, stats_path):
    """Everything the lead needs to see why a case failed, in one JSON document."""
    # The other side's result holds both descriptions: its own (local) and Tincan's (remote).
    if tincan_first:
        offer, answer = res.get("local_sdp"), res.get("remote_sdp")
    else:
        offer, answer = res.get("remote_sdp"), res.get("local_sdp")
    events = cli.events if cli else []
    stats_lines = [e for e in events if e.get("event") == "stats"]
    raw = None
    try:
        with open(stats_path) as f:
            raw = json.load(f)
    except (OSError, ValueError):
        pass
    transports = [o for o in raw if isinstance(o, dict) and o.get("type") == "transport"] if isinstance(raw, list) else []
    return {
        "offerer": "tincan" if not tincan_first else kind,
        "offer_sdp": offer, "answer_sdp": answer,
        "tincan": {"exit_code": cres.get("exit_code"), "stderr": cres.get("stderr"),
                   "errors": [l for l in (cres.get("stderr") or "").splitlines() if l.startswith("tincan-cli:")],
                   "events": [e for e in events if e.get("event") not in ("stats", "local-candidate",
                                                                          "remote-candidate")],
                   "last_stats_lines": stats_lines[-3:], "view_from": source, "view": view,
                   "transport": transports, "stats_json": raw},
        kind: {k: v for k, v in res.items() if k not in ("local_sdp", "remote_sdp")},
    }


def make_cases(tool, y4m):
    """(name, tool, other kind, Tincan first in the room (answers), other's params, the size the
    other side sends, wants a data channel)."""
    pre = "reflect" if tool == "reflector" else "call"
    cases = []
    for tincan_first in (True, False):
        role = "answerer" if tincan_first else "offerer"
        cases.append((f"chromium-{pre}-tincan-{role}", tool, "chromium", tincan_first, {}, CHROMIUM_SIZE, False))
    if tool == "cli":
        # A browser call's offer: audio + video + data in one BUNDLE.
        cases.append(("chromium-call-av-dc-offer-tincan-answerer", tool, "chromium", True, {"dc": 1}, CHROMIUM_SIZE,
                      True))
    # VP8 and Opus last in Chromium's lists: Tincan must choose them, not the first codec; and
    # a camera of another size than Tincan's (a Y4M clip).
    cases.append((f"chromium-{pre}-vp8-last-y4m-offer-tincan-answerer", tool, "chromium", True,
                  {"codecs": "vp8-last", "flags": [f"--use-file-for-fake-video-capture={y4m}"]}, Y4M_SIZE, False))
    for tincan_first in (True, False):
        role = "answerer" if tincan_first else "offerer"
        cases.append((f"aiortc-{pre}-tincan-{role}", tool, "aiortc", tincan_first, {}, AIORTC_SIZE, False))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-k", help="run only cases whose name contains this")
    ap.add_argument("--keep", help="write each failing case's diagnosis (and stats files) here")
    args = ap.parse_args()
    if not os.path.exists(CLI) and not os.path.exists(REFLECTOR):
        print(f"FAIL: neither {CLI} nor {REFLECTOR} is built")
        print("0 passed, 1 failed")
        return 1
    if not find_chromium() or not have_aiortc():
        skip_or_fail("Chromium or aiortc is not installed (packaging/install-deps.sh installs them)")
    tools = []
    if os.path.exists(REFLECTOR):
        tools.append("reflector")
    else:
        print(f"note: {REFLECTOR} is not built: no reflect cases", flush=True)
    # CLI11 answers `call --help` with the main help when there is no `call`: read the list.
    probe = subprocess.run([CLI], capture_output=True, text=True, timeout=10) if os.path.exists(CLI) else None
    helptext = subprocess.run([CLI, "--help"], capture_output=True, text=True, timeout=10).stdout if probe else ""
    if any(line.split()[:1] == ["call"] for line in helptext.splitlines()):
        tools.append("cli")
    else:
        print("note: tincan-cli has no call subcommand (yet): no call cases", flush=True)
    if not tools:
        skip_or_fail("neither tincan-rtp-reflector nor tincan-cli call is available")

    out = args.keep or scratch_dir("tincan-media-")
    os.makedirs(out, exist_ok=True)
    y4m = write_y4m(os.path.join(out, "camera.y4m"), *Y4M_SIZE, frames=30)
    cases = [c for tool in tools for c in make_cases(tool, y4m)]

    passed = failed = 0
    t_all = time.monotonic()
    with SignalServer() as sig:
        for name, tool, kind, tincan_first, params, other_size, want_dc in cases:
            if args.k and args.k not in name:
                continue
            t = time.monotonic()
            stats_path = os.path.join(out, f"{name}.stats.json")
            if os.path.exists(stats_path):
                os.unlink(stats_path)
            cli, cres, res = run_call(sig, tool, kind, tincan_first, params, stats_path)
            view, source = tincan_view(cli, stats_path) if cli else ({"inbound": {}, "outbound": {}}, "none")
            problems = check_case(tool, kind, other_size, cli, cres, res, view, want_dc)
            dt = time.monotonic() - t
            if problems:
                failed += 1
                diag = os.path.join(out, f"{name}.json")
                with open(diag, "w") as f:
                    json.dump(diagnosis(kind, tincan_first, cli, cres, res, view, source, stats_path), f, indent=1)
                print(f"FAIL {name} ({dt:.1f} s): " + "; ".join(problems) + f" [diagnosis: {diag}]", flush=True)
            else:
                passed += 1
                v = view["inbound"]["video"]
                o = res["inbound"]["video"]
                mine = f"{v.get('packetsReceived')} video packets in" if tool == "reflector" else \
                    f"{v.get('framesDecoded')} frames {v.get('frameWidth')}x{v.get('frameHeight')} decoded"
                print(f"ok   {name} ({dt:.1f} s) [tincan: {mine}; {kind}: {o.get('framesDecoded')} frames "
                      f"{o.get('frameWidth')}x{o.get('frameHeight')} decoded]", flush=True)
    print(f"{passed} passed, {failed} failed ({time.monotonic() - t_all:.1f} s)")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    exit_with(main())
