#!/usr/bin/env python3
"""A headless Chromium as a WebRTC peer for interop tests (see README.md).

Serves page/ from a stdlib HTTP server on 127.0.0.1 (random port), starts headless Chromium
with a fresh profile on page/index.html?signal=...&mode=...&<params>, collects what the page
POSTs (/log: events, /result: the result), and kills Chromium's whole process group at the end.

    from chromium import ChromiumPeer
    with ChromiumPeer("ws://127.0.0.1:PORT", "room1", "echo-client", count=20) as p:
        result = p.wait(60)          # dict; result["ok"] says whether it worked
        p.events                     # everything the page reported, in order

As a command (prints events and then the result as JSON lines; exit 0 iff ok):

    chromium.py --signal ws://127.0.0.1:PORT/room1 --mode echo-server --timeout 60
"""
import argparse
import functools
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import PeerBase, become_subreaper, find_chromium, kill_group, room_url  # noqa: E402

PAGE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page")

# LAB_NOTES: the flags that keep headless Chromium quiet on a closed network.
BASE_FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-default-browser-check", "--disable-default-apps", "--disable-extensions",
    # Keep timers and the renderer at full speed: pacing and benchmarks rely on them. They do
    # not change what WebRTC gathers or signals.
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    # libwebrtc ignores loopback interfaces; without this a loopback-only machine gathers
    # nothing at all. It does not reveal addresses: host candidates stay mDNS names.
    "--allow-loopback-in-peer-connection",
]
# Only for media tests (getUserMedia): fake camera/microphone, no permission prompt, autoplay.
# NOT used by default: once media permission is granted Chromium signals raw host addresses
# instead of mDNS names, and the data-channel tests must see the default privacy behaviour.
MEDIA_FLAGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
               "--autoplay-policy=no-user-gesture-required"]
# NOT default either: signal no host candidate instead of mDNS names. Needed on a machine with
# nothing but loopback, where Chromium's mDNS name registration never completes and ICE never
# starts (see README.md); Chromium then still checks from 127.0.0.1 (peer-reflexive to the
# other side).
NO_MDNS_FLAGS = ["--disable-features=WebRtcHideLocalIpsWithMdns"]


class _Handler(http.server.SimpleHTTPRequestHandler):
    peer = None  # set per server (see ChromiumPeer.start)

    def end_headers(self):
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_POST(self):  # noqa: N802 - http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        path = urllib.parse.urlparse(self.path).path
        try:
            obj = json.loads(body)
            if not isinstance(obj, dict):
                raise ValueError("not an object")
        except ValueError:
            obj = {"event": "unparsable", "body": body[:500].decode("utf-8", "replace")}
        if path == "/result":
            obj["event"] = "result"
            self.peer._add_event(obj)
        elif path == "/log":
            self.peer._add_event(obj)
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):  # quiet
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


def _query_value(v):
    if isinstance(v, bool):
        return "1" if v else "0"
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v)


class ChromiumPeer(PeerBase):
    """One headless Chromium running page/ in `mode` against `signal_url` (+ `room`).

    params become the page's query parameters (see README.md: count, sizes, size, seed,
    bytes, rounds, maxsize, corrupt, stun, turn, turn_user, turn_pass, policy, timeout...).
    `media=True` adds the fake-media flags (not for data-channel tests, see MEDIA_FLAGS;
    always on in mode `call`); `flags=["--use-file-for-fake-video-capture=F.y4m"]` makes a Y4M
    file the fake camera;
    with the page parameter gum=1 the page then holds media permission and signals raw host
    addresses. `mdns=False` adds NO_MDNS_FLAGS (loopback-only machines).
    `flags` appends Chromium flags. `on_event(dict)` is called for each event as it arrives.
    """

    def __init__(self, signal_url, room=None, mode="echo-server", *, chromium=None, flags=(), media=False,
                 mdns=True, on_event=None, keep_profile=False, **params):
        super().__init__(on_event)
        self.signal = room_url(signal_url, room)
        self.mode = mode
        self.params = {k: _query_value(v) for k, v in params.items() if v is not None}
        self.chromium = chromium or find_chromium()
        if not self.chromium:
            raise FileNotFoundError("chromium not found (apt-get install chromium)")
        media = media or mode == "call"  # a call's getUserMedia needs the fake devices
        self.flags = list(BASE_FLAGS) + (MEDIA_FLAGS if media else []) + ([] if mdns else NO_MDNS_FLAGS) + list(flags)
        self.keep_profile = keep_profile
        self.proc = None
        self.httpd = None
        self.profile = None
        self.log_path = None
        become_subreaper()

    @property
    def url(self):
        q = {"signal": self.signal, "mode": self.mode}
        q.update(self.params)
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/index.html?" + urllib.parse.urlencode(q)

    def start(self):
        handler = type("Handler", (_Handler,), {"peer": self})
        self.httpd = _Server(("127.0.0.1", 0), functools.partial(handler, directory=PAGE_DIR))
        threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        self.profile = tempfile.mkdtemp(prefix="tincan-chromium-")
        self.log_path = os.path.join(self.profile, "chromium.log")
        env = dict(os.environ)
        # Everything Chromium writes (profile, caches, crash database) stays in the temp dir.
        env.update(XDG_CONFIG_HOME=os.path.join(self.profile, "config"),
                   XDG_CACHE_HOME=os.path.join(self.profile, "cache"))
        argv = [self.chromium] + self.flags + [f"--user-data-dir={os.path.join(self.profile, 'profile')}", self.url]
        self._t0 = time.monotonic()
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         env=env, start_new_session=True)
        return self

    def _dead(self):
        if self.proc is not None and self.proc.poll() is not None:
            return f"chromium exited with code {self.proc.returncode}: {self.log_tail()}"
        return None

    def log_tail(self, lines=15):
        try:
            with open(self.log_path, errors="replace") as f:
                return "".join(f.readlines()[-lines:]).strip()
        except (OSError, TypeError):
            return ""

    def close(self):
        kill_group(self.proc)
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
        if self.profile and not self.keep_profile:
            shutil.rmtree(self.profile, ignore_errors=True)


def add_mode_options(ap):
    """The options chromium.py and aiortc_peer.py share (same names, same meanings)."""
    ap.add_argument("--signal", required=True, help="ws://HOST:PORT/ROOM (or ws://HOST:PORT with --room)")
    ap.add_argument("--room")
    ap.add_argument("--mode", required=True,
                    choices=["echo-server", "echo-client", "send", "receive", "bench-open", "bench-throughput", "call"])
    ap.add_argument("--count", type=int, help="echo-client: messages; send/receive: files")
    ap.add_argument("--sizes", help="echo-client: comma-separated message sizes in bytes")
    ap.add_argument("--channels", type=int, help="echo-client: channels to spread the messages over")
    ap.add_argument("--label", help="echo-client: channel label (default echo; then echo-1, ...)")
    ap.add_argument("--size", type=int, help="send: bytes per file")
    ap.add_argument("--seed", type=int, help="send: pattern seed of the first file (then +1 per file)")
    ap.add_argument("--name", help="send: the name in the header")
    ap.add_argument("--corrupt", choices=["extra-bytes", "no-header", "not-json", "bad-sha", "bad-size"],
                    help="send: break the protocol this way (refusal tests)")
    ap.add_argument("--maxsize", type=int, help="receive: refuse files larger than this")
    ap.add_argument("--rounds", type=int, help="bench-open: rounds, in rooms ROOM-0, ROOM-1, ...")
    ap.add_argument("--bytes", type=int, help="bench-throughput: bytes to send (sender)")
    ap.add_argument("--role", choices=["send", "receive"], help="bench-throughput role")
    ap.add_argument("--chunk", type=int, help="send/bench-throughput: message size (default 65536)")
    ap.add_argument("--duration", type=float, help="call: seconds of call once connected (default 8)")
    ap.add_argument("--audio", type=int, choices=[0, 1], help="call: send audio (default 1)")
    ap.add_argument("--video", type=int, choices=[0, 1], help="call: send video (default 1)")
    ap.add_argument("--width", type=int, help="call: video width to send (Chromium: exact constraint)")
    ap.add_argument("--height", type=int, help="call: video height to send")
    ap.add_argument("--fps", type=int, help="call: video frame rate to send")
    ap.add_argument("--dc", type=int, choices=[0, 1], help="call: also open a data channel `chat` (default 0)")
    ap.add_argument("--stun", action="append", help="stun:HOST[:PORT], repeatable")
    ap.add_argument("--turn", action="append", help="turn:HOST[:PORT][?transport=udp|tcp], repeatable")
    ap.add_argument("--turn-user")
    ap.add_argument("--turn-pass")
    ap.add_argument("--ice-policy", choices=["all", "relay"])
    ap.add_argument("--timeout", type=float, default=120.0, help="give up after this many seconds")


MODE_OPTIONS = ["count", "sizes", "channels", "label", "size", "seed", "name", "corrupt", "maxsize", "rounds", "bytes",
                "role", "chunk", "stun", "turn", "turn_user", "turn_pass", "duration", "audio", "video", "width",
                "height", "fps", "dc"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_options(ap)
    ap.add_argument("--param", action="append", default=[], metavar="K=V", help="extra page query parameter")
    ap.add_argument("--media", action="store_true", help="add the fake-media flags (see MEDIA_FLAGS); with --param gum=1")
    ap.add_argument("--no-mdns", action="store_true", help="add NO_MDNS_FLAGS (loopback-only machines)")
    ap.add_argument("--flag", action="append", default=[], help="extra Chromium flag")
    ap.add_argument("--keep-profile", action="store_true", help="keep the temp dir (profile, chromium.log)")
    a = ap.parse_args()
    params = {k: getattr(a, k) for k in MODE_OPTIONS if getattr(a, k) is not None}
    if a.ice_policy:
        params["policy"] = a.ice_policy
    params["timeout"] = a.timeout
    for kv in a.param:
        k, _, v = kv.partition("=")
        params[k] = v

    def show(ev):
        if ev.get("event") != "result":
            print(json.dumps(ev), flush=True)

    with ChromiumPeer(a.signal, a.room, a.mode, media=a.media, mdns=not a.no_mdns, flags=a.flag, keep_profile=a.keep_profile,
                      on_event=show, **params) as p:
        res = p.wait(a.timeout + 5)
        if not res.get("ok"):
            res.setdefault("chromium_log", p.log_tail())
            if a.keep_profile:
                res["profile"] = p.profile
    print(json.dumps(res), flush=True)
    return 0 if res.get("ok") else 1


if __name__ == "__main__":
    sys.exit(main())
