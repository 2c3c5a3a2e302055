"""Shared pieces of the interop harness (see README.md).

- the deterministic file content ("tincan pattern v1") that every peer can generate,
- the receiver's file-name clean-up (FILE_TRANSFER.md),
- `SignalServer`: a tincan-signal on 127.0.0.1 with a random port,
- `ProcessPeer`: any peer that is a process printing JSON events on stdout (the aiortc peer,
  tincan-cli), with the same `wait()`/`wait_event()` interface as `ChromiumPeer`,
- skip/fail helpers for CTest (exit 77 = skipped, unless CI=true).

Python 3.11 stdlib (+ numpy for the pattern, present with python3-aiortc); Debian's
/usr/bin/python3.
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SKIP_RETURN_CODE = 77

# ------------------------------------------------------------------ file content

GOLDEN = 0x9E3779B9


def pattern_bytes(seed, start, length):
    """`length` bytes of the tincan pattern v1 for `seed`, from byte offset `start`.

    The file is a stream of little-endian 32-bit words; word i is
    lowbias32((seed * 0x9E3779B9 + i) mod 2**32) with
    lowbias32(x): x ^= x >> 16; x *= 0x7feb352d; x ^= x >> 15; x *= 0x846ca68b; x ^= x >> 16
    (all mod 2**32). Same as makePattern() in page/peer.js."""
    import numpy as np  # python3-numpy comes with python3-aiortc

    if length <= 0:
        return b""
    w0 = start // 4
    w1 = (start + length + 3) // 4
    x = ((np.arange(w0, w1, dtype=np.uint64) + (seed * GOLDEN)) & 0xFFFFFFFF).astype(np.uint32)
    x ^= x >> np.uint32(16)
    x *= np.uint32(0x7FEB352D)
    x ^= x >> np.uint32(15)
    x *= np.uint32(0x846CA68B)
    x ^= x >> np.uint32(16)
    raw = x.astype("<u4").tobytes()
    skip = start - w0 * 4
    return raw[skip:skip + length]


def pattern_chunks(seed, size, chunk=65536, block=1 << 20, offset=0):
    """The pattern file from `offset` to `size` as chunks of at most `chunk` bytes."""
    pos = offset
    while pos < size:
        blk = pattern_bytes(seed, pos, min(block, size - pos))
        for i in range(0, len(blk), chunk):
            yield blk[i:i + chunk]
        pos += len(blk)


def pattern_sha256(seed, size):
    h = hashlib.sha256()
    for c in pattern_chunks(seed, size, chunk=1 << 20):
        h.update(c)
    return h.hexdigest()


def write_pattern_file(path, seed, size):
    """Writes a pattern file (for tincan-cli send FILE); returns its sha256."""
    h = hashlib.sha256()
    with open(path, "wb") as f:
        for c in pattern_chunks(seed, size, chunk=1 << 20):
            h.update(c)
            f.write(c)
    return h.hexdigest()


def safe_name(name):
    """A receiver's cleaned-up file name (FILE_TRANSFER.md): the base name without control
    characters or leading dots; never empty. Same as safeName() in page/peer.js."""
    n = re.split(r"[\\/]", str(name))[-1]
    n = re.sub(r"[\x00-\x1f\x7f]", "", n).lstrip(".").strip()
    return n or "file"


# ------------------------------------------------------------------ binaries, skipping

def build_dir():
    return os.environ.get("TINCAN_BUILD_DIR") or os.path.join(REPO, "build")


def find_signal():
    """Path of tincan-signal: $TINCAN_SIGNAL, $TINCAN_BUILD_DIR/app/signal, or the repo's
    build*/ directories; None if none exists."""
    cands = [os.environ.get("TINCAN_SIGNAL"), os.path.join(build_dir(), "app", "signal", "tincan-signal")]
    for d in sorted(os.listdir(REPO)):
        if d.startswith("build"):
            cands.append(os.path.join(REPO, d, "app", "signal", "tincan-signal"))
    for c in cands:
        if c and os.access(c, os.X_OK):
            return c
    return None


def find_chromium():
    """$TINCAN_CHROMIUM if set (even if it does not exist: that is how tests simulate a
    machine without Chromium), else /usr/bin/chromium or chromium on PATH."""
    c = os.environ.get("TINCAN_CHROMIUM")
    if c is not None:
        return c if os.access(c, os.X_OK) else None
    return "/usr/bin/chromium" if os.access("/usr/bin/chromium", os.X_OK) else shutil.which("chromium")


def have_aiortc(python="/usr/bin/python3"):
    r = subprocess.run([python, "-c", "import aiortc, websockets, numpy"], capture_output=True)
    return r.returncode == 0


def loopback_only():
    """True when no interface but loopback has an IP address (an offline laptop, a sealed
    namespace): Chromium then needs mdns=False (README.md)."""
    try:
        out = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=5).stdout
        for link in json.loads(out or "[]"):
            if "LOOPBACK" in link.get("flags", []):
                continue
            for a in link.get("addr_info", []):
                if a.get("scope") == "global":
                    return False
        return True
    except (OSError, ValueError, subprocess.SubprocessError):
        return False


def skip_or_fail(reason):
    """CTest: exit 77 (skipped), or exit 1 when CI=true so CI never skips silently."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: {reason} (CI=true: not skipping)", flush=True)
        sys.exit(1)
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP_RETURN_CODE)


def median(values):
    s = sorted(values)
    if not s:
        return None
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ------------------------------------------------------------------ signaling server

class SignalServer:
    """tincan-signal on 127.0.0.1 with a kernel-chosen port.

        with SignalServer() as sig:
            url = sig.url("room1")   # ws://127.0.0.1:PORT/room1
    """

    def __init__(self, binary=None, host="127.0.0.1"):
        self.binary = binary or find_signal()
        if not self.binary:
            raise FileNotFoundError("tincan-signal not built (looked in $TINCAN_BUILD_DIR and build*/)")
        self.host = host
        self.proc = None
        self.port = None

    def start(self):
        self.proc = subprocess.Popen([self.binary, "--listen", f"{self.host}:0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, start_new_session=True)
        line = self.proc.stdout.readline()
        try:
            ev = json.loads(line)
            self.port = int(ev["port"])
        except (ValueError, KeyError) as e:
            self.stop()
            raise RuntimeError(f"tincan-signal did not start: {line!r}") from e
        # Keep draining its stdout so it can never block on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.proc.stdout], daemon=True).start()
        threading.Thread(target=lambda: [None for _ in self.proc.stderr], daemon=True).start()
        return self

    @property
    def base(self):
        return f"ws://{self.host}:{self.port}"

    def url(self, room):
        return f"{self.base}/{room}"

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def room_url(signal_url, room):
    """`signal_url` may already name the room (ws://H:P/ROOM); else ROOM is appended."""
    if room is None:
        return signal_url
    return signal_url.rstrip("/") + "/" + room


# ------------------------------------------------------------------ peers as processes

class PeerBase:
    """What ChromiumPeer and ProcessPeer share: `events` (dicts, each with `_t`, seconds
    since start on the harness clock), `result` (the {"event":"result",...} dict) and
    waiting for them."""

    def __init__(self, on_event=None):
        self.events = []
        self.result = None
        self._cond = threading.Condition()
        self._t0 = time.monotonic()
        self._on_event = on_event

    def _add_event(self, ev):
        ev.setdefault("_t", round(time.monotonic() - self._t0, 6))
        with self._cond:
            if ev.get("event") == "result":
                if self.result is None:
                    self.result = ev
            else:
                self.events.append(ev)
            self._cond.notify_all()
        if self._on_event:
            self._on_event(ev)

    def _dead(self):
        """A reason string if the peer can no longer report, else None."""
        return None

    def wait_event(self, name, timeout=30.0, **fields):
        """The first event named `name` whose fields include `fields`; None on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for ev in self.events:
                    if ev.get("event") == name and all(ev.get(k) == v for k, v in fields.items()):
                        return ev
                left = deadline - time.monotonic()
                if left <= 0 or self.result is not None or self._dead():
                    return None
                self._cond.wait(min(left, 0.1))

    def wait(self, timeout=60.0):
        """The result dict; on timeout or if the peer died first, {"ok": False, "error": ...}."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.result is None:
                dead = self._dead()
                if dead:
                    # A last moment for a result already on its way.
                    self._cond.wait(0.3)
                    if self.result is None:
                        return {"event": "result", "ok": False, "error": dead}
                    break
                left = deadline - time.monotonic()
                if left <= 0:
                    return {"event": "result", "ok": False, "error": f"harness timeout after {timeout} s"}
                self._cond.wait(min(left, 0.1))
            return self.result

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.close()


def kill_group(proc, grace=2.0):
    """SIGTERM then SIGKILL to the process group of `proc` (started with start_new_session)."""
    if proc is None:
        return
    try:
        pgid = os.getpgid(proc.pid)
    except ProcessLookupError:
        pgid = None
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        if pgid is not None:
            try:
                os.killpg(pgid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    if pgid is not None:
        # Whatever is left of the group (children that outlived the leader) gets SIGKILL too.
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        reap_orphans(pgid)


def become_subreaper():
    """Make this process the reaper of its orphaned descendants (Linux PR_SET_CHILD_SUBREAPER):
    Chromium's helpers then end as our zombies, which reap_orphans() collects, instead of
    lingering under an init that does not reap."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except Exception:  # noqa: BLE001 - best effort
        pass


def reap_orphans(pgid):
    """waitpid() our own children in process group `pgid` (only those: other children's exit
    statuses belong to their Popen objects)."""
    me = os.getpid()
    deadline = time.monotonic() + 2.0
    while True:
        left = []
        for d in os.listdir("/proc"):
            if not d.isdigit():
                continue
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
            except OSError:
                continue
            fields = st[st.rfind(")") + 2:].split()
            if int(fields[1]) == me and int(fields[2]) == pgid:
                try:
                    pid, _ = os.waitpid(int(d), os.WNOHANG)
                    if pid == 0:
                        left.append(int(d))
                except ChildProcessError:
                    pass
        if not left or time.monotonic() > deadline:
            return
        time.sleep(0.05)


class ProcessPeer(PeerBase):
    """A peer that is a process printing one JSON object per line on stdout (aiortc_peer.py,
    tincan-cli). The result is the line with "event":"result" if there is one; otherwise,
    when the process exits, {"ok": exit code == 0, "exit_code": N, "stderr": last lines}.

        with ProcessPeer(["build/app/cli/tincan-cli", "echo", "--signal", url]) as p:
            p.wait_event("signaling", state="joined")
            res = p.wait(60)
    """

    def __init__(self, argv, env=None, on_event=None, name=None):
        super().__init__(on_event)
        self.argv = [str(a) for a in argv]
        self.env = env
        self.name = name or os.path.basename(self.argv[0])
        self.proc = None
        self.stderr_lines = []
        self.exit_code = None

    def start(self):
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=self.env, start_new_session=True, bufsize=1)
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._out.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()
        return self

    def _read_stdout(self):
        for line in self.proc.stdout:
            line = line.strip()
            if not line:
                continue
            try:
                ev = json.loads(line)
                if not isinstance(ev, dict):
                    raise ValueError
            except ValueError:
                ev = {"event": "unparsable", "line": line}
            self._add_event(ev)
        code = self.proc.wait()
        with self._cond:
            self.exit_code = code
            if self.result is None:
                self.result = {"event": "result", "ok": code == 0, "exit_code": code,
                               "stderr": "\n".join(self.stderr_lines[-10:])}
            else:
                self.result.setdefault("exit_code", code)
            self._cond.notify_all()

    def _read_stderr(self):
        for line in self.proc.stderr:
            self.stderr_lines.append(line.rstrip("\n"))
            del self.stderr_lines[:-200]

    def _dead(self):
        return None  # the stdout reader turns the exit into a result

    def close(self):
        kill_group(self.proc)


# ------------------------------------------------------------------ media calls

def w3c_call_view(stats):
    """tincan-cli's --stats-json (W3C RTCStats objects: a list, an {id: object} map, or either
    under a "stats" key) as the call view the page and aiortc_peer.py report:
    {"inbound": {kind: {...}}, "outbound": {kind: {...}}, "remote_inbound": {kind: {...}}},
    each object with its `codec` ({mimeType, payloadType, ...}) resolved from codecId. With
    several streams of one kind the busiest is kept."""
    if isinstance(stats, dict) and isinstance(stats.get("stats"), (list, dict)):
        stats = stats["stats"]
    if isinstance(stats, dict):
        objs = []
        for k, v in stats.items():
            if isinstance(v, dict):
                v = dict(v)
                v.setdefault("id", k)
                objs.append(v)
    elif isinstance(stats, list):
        objs = [o for o in stats if isinstance(o, dict)]
    else:
        objs = []
    by_id = {o.get("id"): o for o in objs if o.get("id") is not None}
    view = {"inbound": {}, "outbound": {}, "remote_inbound": {}}
    sections = {"inbound-rtp": ("inbound", "packetsReceived"), "outbound-rtp": ("outbound", "packetsSent"),
                "remote-inbound-rtp": ("remote_inbound", "packetsReceived")}
    for o in objs:
        where = sections.get(o.get("type"))
        if not where:
            continue
        kind = o.get("kind") or o.get("mediaType")
        if kind is None and o.get("codecId") in by_id:
            kind = str(by_id[o["codecId"]].get("mimeType", "")).split("/")[0] or None
        o = dict(o)
        c = by_id.get(o.get("codecId"))
        if c:
            o["codec"] = {k: c.get(k) for k in ("mimeType", "payloadType", "clockRate", "channels", "sdpFmtpLine")
                          if k in c}
        section, count = view[where[0]], where[1]
        if kind not in section or (section[kind].get(count) or 0) < (o.get(count) or 0):
            section[kind] = o
    return view


# What a receiver must have seen of a sender's media for a call to count as working.
MIN_VIDEO_FRAMES = 20          # of a few seconds at 20-30 fps
MIN_AUDIO_PACKETS = 50         # 1 s of 20 ms Opus packets
MIN_AUDIO_SAMPLES = 48000      # 1 s at 48 kHz (Chromium counts per channel)


def check_received(who, view, video_size=None, audio=True, video=True):
    """Problems (strings) with what `who` received, from its call view: VP8 video decoded at
    `video_size` (w, h) if given, Opus audio played out or decoded."""
    problems = []
    inbound = (view or {}).get("inbound") or {}
    if video:
        v = inbound.get("video")
        if not v:
            problems.append(f"{who}: no inbound-rtp video")
        else:
            mime = str((v.get("codec") or {}).get("mimeType", "")).lower()
            if mime and mime != "video/vp8":
                problems.append(f"{who}: video codec {mime}, expected video/VP8")
            frames = v.get("framesDecoded") or 0
            if frames < MIN_VIDEO_FRAMES:
                problems.append(f"{who}: {frames} video frames decoded (< {MIN_VIDEO_FRAMES}), "
                                f"{v.get('packetsReceived')} packets received")
            if video_size and (v.get("frameWidth"), v.get("frameHeight")) != tuple(video_size):
                problems.append(f"{who}: decoded video is {v.get('frameWidth')}x{v.get('frameHeight')}, "
                                f"sent {video_size[0]}x{video_size[1]}")
    if audio:
        a = inbound.get("audio")
        if not a:
            problems.append(f"{who}: no inbound-rtp audio")
        else:
            mime = str((a.get("codec") or {}).get("mimeType", "")).lower()
            if mime and mime != "audio/opus":
                problems.append(f"{who}: audio codec {mime}, expected audio/opus")
            if (a.get("packetsReceived") or 0) < MIN_AUDIO_PACKETS:
                problems.append(f"{who}: {a.get('packetsReceived')} audio packets received (< {MIN_AUDIO_PACKETS})")
            if "totalSamplesReceived" in a and (a["totalSamplesReceived"] or 0) < MIN_AUDIO_SAMPLES:
                problems.append(f"{who}: {a['totalSamplesReceived']} audio samples received (< {MIN_AUDIO_SAMPLES})")
    return problems


def check_sent(who, view, video_size=None, audio=True, video=True):
    """Problems with what `who` says it sent (outbound-rtp): packets of each kind, video frames
    encoded at `video_size` if the sender reports a size."""
    problems = []
    outbound = (view or {}).get("outbound") or {}
    for kind, wanted in (("audio", audio), ("video", video)):
        if not wanted:
            continue
        o = outbound.get(kind)
        if not o or not (o.get("packetsSent") or 0):
            problems.append(f"{who}: sent no {kind} packets ({o})")
            continue
        if kind == "video":
            if "framesEncoded" in o and not o["framesEncoded"]:
                problems.append(f"{who}: encoded no video frame")
            if video_size and o.get("frameWidth") and (o.get("frameWidth"), o.get("frameHeight")) != tuple(video_size):
                problems.append(f"{who}: sent video at {o.get('frameWidth')}x{o.get('frameHeight')}, "
                                f"expected {video_size[0]}x{video_size[1]}")
    return problems


def write_y4m(path, width, height, frames=30, fps=30):
    """A Y4M (YUV 4:2:0) clip of a moving diagonal ramp, for Chromium's
    --use-file-for-fake-video-capture (it loops the file): a fake camera of any size."""
    import numpy as np

    y, x = np.mgrid[0:height, 0:width]
    ramp = ((x + y) & 0xFF).astype(np.uint8)
    with open(path, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for n in range(frames):
            f.write(b"FRAME\n")
            f.write((ramp + np.uint8((4 * n) & 0xFF)).tobytes())
            f.write(np.full((height // 2) * (width // 2) * 2, (n * 3) & 0xFF, np.uint8).tobytes())
    return path
