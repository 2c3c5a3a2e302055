#!/usr/bin/env python3
"""`tincan-cli call` end to end: two peers meet through tincan-signal on loopback, each sends
the test pattern (VP8) and a 440 Hz tone (Opus) for --duration 10 with --record. Both must exit
0; each recording must hold frames whose test-pattern counters read back increasing (read by
media_inspect, which uses the C++ pattern reader) and audio whose strongest frequency is the
tone, overall and in at least 80 % of its 100 ms windows. Ends with 'N passed, N failed'.

--save-png PATH also writes one decoded frame of the first peer's recording as a PNG."""
import json
import os
import struct
import subprocess
import sys
import threading
import time
import wave
import zlib

import numpy as np
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")
INSPECT = os.environ.get("TINCAN_MEDIA_INSPECT", os.path.join(BUILD, "tests", "media", "media_inspect"))
TONE_HZ = 440


def follow(proc, sink):
    for line in proc.stdout:
        try:
            sink.append(json.loads(line))
        except ValueError:
            pass


def read_y4m_frame(path, index):
    """The index-th frame of a Y4M file as (Y, U, V) numpy planes."""
    with open(path, "rb") as f:
        header = f.readline().split()
        w = int([h for h in header if h.startswith(b"W")][0][1:])
        h = int([h for h in header if h.startswith(b"H")][0][1:])
        cw, ch = (w + 1) // 2, (h + 1) // 2
        size = w * h + 2 * cw * ch
        for _ in range(index + 1):
            f.readline()  # FRAME
            data = f.read(size)
    y = np.frombuffer(data[:w * h], np.uint8).reshape(h, w).astype(np.float32)
    u = np.frombuffer(data[w * h:w * h + cw * ch], np.uint8).reshape(ch, cw).astype(np.float32)
    v = np.frombuffer(data[w * h + cw * ch:], np.uint8).reshape(ch, cw).astype(np.float32)
    return y, u.repeat(2, 0).repeat(2, 1)[:h, :w], v.repeat(2, 0).repeat(2, 1)[:h, :w]


def write_png(path, y, u, v):
    """BT.601 limited range to RGB, written as an 8-bit RGB PNG (zlib only)."""
    c, d, e = y - 16, u - 128, v - 128
    rgb = np.stack([1.164 * c + 1.596 * e, 1.164 * c - 0.392 * d - 0.813 * e, 1.164 * c + 2.017 * d], -1)
    rgb = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[r].tobytes() for r in range(h))

    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def check_video(path):
    """Returns (problems, summary)."""
    if not os.path.exists(path):
        return [f"{path} missing"], {}
    r = subprocess.run([INSPECT, path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        return [f"media_inspect {path}: {r.stderr.strip()}"], {}
    info = json.loads(r.stdout)
    counters = [c for c in info["counters"] if c is not None]
    problems = []
    if len(counters) < 30:
        problems.append(f"{path}: only {len(counters)} readable frames of {info['frames']}")
    if info["readable"] < 0.9 * info["frames"]:
        problems.append(f"{path}: {info['frames'] - info['readable']} of {info['frames']} frames unreadable")
    bad = [i for i in range(1, len(counters)) if counters[i] <= counters[i - 1]]
    if bad:
        problems.append(f"{path}: counters not increasing at {bad[:5]}")
    summary = {"frames": info["frames"], "size": f"{info['width']}x{info['height']}",
               "first": counters[0] if counters else None, "last": counters[-1] if counters else None}
    return problems, summary


def check_audio(path):
    if not os.path.exists(path):
        return [f"{path} missing"], {}
    with wave.open(path) as w:
        rate, n = w.getframerate(), w.getnframes()
        pcm = np.frombuffer(w.readframes(n), np.int16).astype(np.float64)
        pcm = pcm[::w.getnchannels()]
    nz = np.nonzero(np.abs(pcm) > 200)[0]
    if len(nz) == 0:
        return [f"{path}: silence ({n} samples)"], {}
    tail = pcm[nz[0] + rate:]  # a second after the sound starts: the jitter buffer settled
    if len(tail) < rate:
        return [f"{path}: less than a second of sound"], {}
    spectrum = np.abs(np.fft.rfft(tail * np.hanning(len(tail)))) ** 2
    freqs = np.fft.rfftfreq(len(tail), 1 / rate)
    peak = float(freqs[np.argmax(spectrum)])
    # 100 ms windows: where there is sound (a stall on a loaded machine leaves gaps that
    # concealment fades to silence), the tone must be the strongest frequency in nearly all.
    win = rate // 10
    hits = total = quiet = 0
    for i in range(0, len(tail) - win + 1, win):
        raw = tail[i:i + win]
        if np.sqrt(np.mean(raw ** 2)) < 32768 * 10 ** (-40 / 20):
            quiet += 1
            continue
        s = np.abs(np.fft.rfft(raw * np.hanning(win), 8 * win)) ** 2
        f = np.fft.rfftfreq(8 * win, 1 / rate)
        total += 1
        hits += abs(float(f[np.argmax(s)]) - TONE_HZ) <= 10
    problems = []
    if abs(peak - TONE_HZ) > 5:
        problems.append(f"{path}: strongest frequency {peak:.1f} Hz, not {TONE_HZ}")
    if total < 10:
        problems.append(f"{path}: under a second of sound ({total} windows; {quiet} quiet)")
    elif hits < 0.8 * total:
        problems.append(f"{path}: the tone leads in only {hits} of {total} 100 ms windows with sound")
    return problems, {"seconds": round(len(pcm) / rate, 2), "peak_hz": round(peak, 1), "tone_windows": f"{hits}/{total}", "quiet_windows": quiet}


def check_media_sources(path):
    """W3C media-source objects in --stats-json, one per kind, each linked from its outbound-rtp."""
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{path}: {e}"]
    sources = {o["id"]: o for o in report if o.get("type") == "media-source"}
    problems = []
    for out in (o for o in report if o.get("type") == "outbound-rtp"):
        src = sources.get(out.get("mediaSourceId"))
        if src is None:
            problems.append(f"outbound-rtp {out.get('kind')}: no media-source linked")
        elif src.get("kind") != out.get("kind"):
            problems.append(f"outbound-rtp {out.get('kind')}: linked to a {src.get('kind')} source")
    for src in sources.values():
        if src["kind"] == "video":
            if (src.get("width"), src.get("height")) != (640, 480) or src.get("frames", 0) < 100 \
                    or not 5 <= src.get("framesPerSecond", 0) <= 36:  # 30 + a 5-frame catch-up + 1
                problems.append(f"video media-source {src}")
        elif src["kind"] == "audio":
            # the 440 Hz tone at -12 dBFS peak: RMS ~0.178
            if abs(src.get("audioLevel", 0) - 0.178) > 0.02 or src.get("totalSamplesDuration", 0) < 5 \
                    or src.get("totalAudioEnergy", 0) <= 0:
                problems.append(f"audio media-source {src}")
    if sorted(s["kind"] for s in sources.values()) != ["audio", "video"]:
        problems.append(f"media-source kinds {sorted(s['kind'] for s in sources.values())}")
    return problems


def main():
    save_png = sys.argv[sys.argv.index("--save-png") + 1] if "--save-png" in sys.argv else None
    sig = subprocess.Popen([SIGNAL, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    port = json.loads(sig.stdout.readline())["port"]
    tmp = scratch_dir("tincan-call-")
    url = f"ws://127.0.0.1:{port}/call-{os.getpid()}"
    peers = []
    passed = failed = 0
    try:
        for name in ("a", "b"):
            d = os.path.join(tmp, name)
            ev = []
            p = subprocess.Popen([CLI, "call", "--signal", url, "--duration", "10", "--record", d,
                                  "--stats-json", os.path.join(tmp, name + "-stats.json")],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            threading.Thread(target=follow, args=(p, ev), daemon=True).start()
            peers.append((name, d, p, ev))
            if name == "a":  # the second one in the room offers (SIGNALING.md)
                deadline = time.monotonic() + 10
                while not any(e.get("event") == "signaling" for e in ev) and time.monotonic() < deadline:
                    time.sleep(0.02)
        for name, d, p, ev in peers:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            err = p.stderr.read().strip()
            problems = []
            if p.returncode != 0:
                problems.append(f"exit {p.returncode}: {err}")
            kinds = sorted(e.get("kind") for e in ev if e.get("event") == "track")
            if kinds != ["audio", "video"]:
                problems.append(f"track events {kinds}")
            stats = [e for e in ev if e.get("event") == "stats" and "video" in e]
            if not stats:
                problems.append("no per-second stats line")
            vp, vs = check_video(os.path.join(d, "video.y4m"))
            ap, as_ = check_audio(os.path.join(d, "audio.wav"))
            problems += vp + ap + check_media_sources(os.path.join(tmp, name + "-stats.json"))
            last = stats[-1] if stats else {}
            summary = {"video": vs, "audio": as_, "rtt_ms": last.get("rtt_ms"),
                       "latency_p50_ms": last.get("video", {}).get("latency_p50_ms"),
                       "recv_kbps": last.get("video", {}).get("recv_kbps")}
            if problems:
                failed += 1
                print(f"FAIL call peer {name}: " + "; ".join(problems))
            else:
                passed += 1
                print(f"ok   call peer {name}: {json.dumps(summary)}")
        if save_png and os.path.exists(os.path.join(peers[0][1], "video.y4m")):
            write_png(save_png, *read_y4m_frame(os.path.join(peers[0][1], "video.y4m"), 60))
            print(f"wrote {save_png}")
    finally:
        for _, _, p, _ in peers:
            if p.poll() is None:
                p.kill()
        sig.kill()
        subprocess.run(["rm", "-rf", tmp])
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    exit_with(main())
