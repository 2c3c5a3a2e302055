#!/usr/bin/env python3
"""A `tincan` window calls the project's browser page in headless Chromium, and both decode.

tincan-app-call (app_call.cpp) opens one call window offscreen with the test pattern and the
tone, through the app's embedded signaling server on 127.0.0.1, and prints that server's URL;
Chromium (chromium.py, page mode=call: fake camera 640x480 and microphone, a data channel)
joins the same room as the newcomer and offers.

Pass = the window painted more than MIN_FRAMES of Chromium's frames and the picture is not
blank (its luma spread), its own stats show frames decoded, and Chromium's getStats() reports
framesDecoded > 0 for the window's video. Screenshot: $TINCAN_SCREENSHOTS/app-chromium.png.
Exit 77 (skipped) when Chromium or the driver is missing, unless CI=true.
"""
import json
import os
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import find_chromium, kill_group, loopback_only, skip_or_fail  # noqa: E402
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
DRIVER = os.path.join(BUILD, "tests", "interop", "tincan-app-call")
MIN_FRAMES = 30
APP_CALL_S = 8       # the window's time in the call once connected; it then hangs up
CHROMIUM_CALL_S = 14  # longer: the window ends the call, and Chromium reports at that moment


def main():
    if not find_chromium():
        skip_or_fail("chromium not found")
    if not os.access(DRIVER, os.X_OK):
        skip_or_fail(f"{DRIVER} is not built")
    from chromium import ChromiumPeer

    shots = os.environ.get("TINCAN_SCREENSHOTS") or scratch_dir("tincan-app-chromium-")
    os.makedirs(shots, exist_ok=True)
    screenshot = os.path.join(shots, "app-chromium.png")
    room = f"app-chromium-{os.getpid()}"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    app = subprocess.Popen([DRIVER, "--room", room, "--duration", str(APP_CALL_S), "--timeout", "90",
                            "--min-frames", str(MIN_FRAMES), "--screenshot", screenshot],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                           start_new_session=True)
    events = []
    stderr_tail = []
    threading.Thread(target=lambda: stderr_tail.extend(app.stderr), daemon=True).start()
    def events_of(stream):
        """The driver's JSON lines; anything else (the signaling server's log) is shown as is."""
        for raw in stream:
            try:
                ev = json.loads(raw)
            except ValueError:
                print(f"tincan window log: {raw.rstrip()}", flush=True)
                continue
            if isinstance(ev, dict):
                yield ev

    try:
        lines = events_of(app.stdout)
        listening = next(lines, None)
        if not listening or "url" not in listening:
            print(f"FAIL: the driver did not start: {listening!r} {''.join(stderr_tail[-10:])}")
            return 1
        url = listening["url"]
        print(f"tincan window: embedded signaling server at {url}, room {room}", flush=True)
        t0 = time.monotonic()
        with ChromiumPeer(url, room, "call", media=True, mdns=not loopback_only(), dc=1,
                          duration=CHROMIUM_CALL_S, timeout=60) as chromium:
            for ev in lines:
                events.append(ev)
                print(f"tincan window: {json.dumps(ev)}", flush=True)
                if ev.get("event") == "result":
                    break
            res = chromium.wait(60)
        app.wait(10)
    finally:
        kill_group(app)

    mine = next((e for e in events if e.get("event") == "result"), {})
    problems = []
    if not mine:
        problems.append(f"the window gave no result (stderr: {''.join(stderr_tail[-10:])})")
    else:
        if mine.get("framesPainted", 0) <= MIN_FRAMES:
            problems.append(f"the window painted {mine.get('framesPainted')} frames (want > {MIN_FRAMES})")
        if mine.get("lumaSpread", 0) <= 40:
            problems.append(f"the window's picture is blank (luma spread {mine.get('lumaSpread')})")
        if not mine.get("framesDecoded"):
            problems.append("the window's stats show no frame decoded")
        if mine.get("error"):
            problems.append(f"window: {mine['error']}")
    video_in = ((res or {}).get("inbound") or {}).get("video") or {}
    if not (video_in.get("framesDecoded") or 0) > 0:
        problems.append(f"Chromium decoded no frame of the window's video: {json.dumps(res)[:600]}")
    dt = time.monotonic() - t0
    if problems:
        print("FAIL: " + "; ".join(problems))
        return 1
    print(f"ok   tincan window <-> Chromium ({dt:.1f} s): window painted {mine['framesPainted']} frames "
          f"({mine['width']}x{mine['height']}, luma spread {mine['lumaSpread']:.0f}), decoded "
          f"{mine['framesDecoded']}; Chromium decoded {video_in.get('framesDecoded')} frames "
          f"{video_in.get('frameWidth')}x{video_in.get('frameHeight')}; path: {mine.get('path')} "
          f"({mine.get('pair')}); screenshot {screenshot}")
    return 0


if __name__ == "__main__":
    exit_with(main())
