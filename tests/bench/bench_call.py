#!/usr/bin/python3
"""Media-call benchmarks of the "Real-time media" issue (a benchmark, not a timed test): the same
calls with Tincan (`tincan-cli call`) and with Chromium (tests/interop page, mode `call`), side by
side in one run, on loopback through a tincan-signal this script starts. Every figure is given
as a ratio against the Chromium anchor measured in the same run (docs/BENCHMARKS.md, "Calls").

1. CPU per side of a call (VP8 + Opus both ways) at each --sizes, --fps: user+sys seconds of
   each side's whole process tree (Chromium: browser, renderer, GPU, utility processes; every
   process in the session the side was started in), sampled from /proc at the start and at
   the end of a --window seconds stretch that begins --warmup seconds after both sides
   decoded their first frame; divided by the wall time between the samples. Chromium sends
   its fake camera fed from a Y4M of the same size and rate (--use-file-for-fake-video-capture)
   and shows what it receives in a <video> (it decodes only what has a sink). The comparison
   is void, and says so, unless both sides of both calls decoded VP8 at the size sent.
2. Glass-to-glass latency of the test pattern at the largest size, --reps calls (Tincan only:
   the capture time is read back from the decoded pattern's pixels on one steady clock): each
   receiving side's latency_p50_ms / latency_p95_ms from its last `stats` line of a
   --latency-window that ends 1024 frames + 5 s into the call (the figures cover the last
   1024 decoded frames: the start-up is left out); a side counts if it decoded the size sent
   all through the window.
3. Time from signaling `welcome` (the newcomer's `joined`) to its first decoded remote frame,
   --ttff-reps short calls per stack. Chromium: the page marks `first-frame-decoded`
   (getStats framesDecoded > 0, polled every 10 ms) and `first-frame-shown`
   (requestVideoFrameCallback); the earlier counts. Tincan: tincan-cli prints no event for
   its first decoded frame, so the newcomer runs with `--record DIR` on /dev/shm and the
   script polls DIR/video.y4m every 1 ms: the file stays empty until the first decoded frame
   is written, right after its decode.

Repetitions (--reps, default 3) are interleaved (Tincan, Chromium, Tincan, ...) so that both
stacks see the same load; medians are reported with the load average before and after.

    bench_call.py                       # everything: ~15 min on 2 cores
    bench_call.py --reps 5 --json /tmp/calls.json
    bench_call.py --only ttff --ttff-reps 7
    bench_call.py --smoke               # a few seconds, Tincan only: exits 0 when both sides
                                        # of a call decoded video (packaging/test.sh, CTest)

tincan-cli and tincan-signal: --cli / $TINCAN_CLI, else $TINCAN_BUILD_DIR or the newest
build*/ of the repository. Needs Debian's chromium (unless --smoke or --no-chromium) and numpy
(python3-numpy, for the Y4M). Use /usr/bin/python3.
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import sys
import tempfile
import threading
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "interop"))
from common import (REPO, ProcessPeer, SignalServer, build_dir, find_chromium, find_signal,  # noqa: E402
                    loopback_only, median, write_y4m)

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------ helpers

def find_cli():
    """$TINCAN_CLI, $TINCAN_BUILD_DIR/app/cli/tincan-cli, else the newest build*/ one."""
    if os.environ.get("TINCAN_CLI"):
        return os.environ["TINCAN_CLI"]
    if os.environ.get("TINCAN_BUILD_DIR"):
        return os.path.join(build_dir(), "app", "cli", "tincan-cli")
    found = [os.path.join(REPO, d, "app", "cli", "tincan-cli") for d in os.listdir(REPO) if d.startswith("build")]
    found = sorted((c for c in found if os.access(c, os.X_OK)), key=os.path.getmtime, reverse=True)
    return found[0] if found else None


def session_cpu_seconds(sid):
    """user+sys CPU seconds of every live process in session `sid` (a side started with
    start_new_session: its pid is the session id), plus what they collected from children
    they reaped (cutime/cstime), and how many processes that was."""
    ticks, procs = 0, 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state is field 3 (index 0).
        fields = st[st.rfind(")") + 2:].split()
        if int(fields[3]) != sid:
            continue
        ticks += int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])
        procs += 1
    return ticks / CLK_TCK, procs


def reap_zombie_children():
    """waitpid() zombies that are our children but no Popen's: Chromium's crashpad handler
    starts its own session (so kill_group() and reap_orphans() miss it) and, the script being
    the subreaper (chromium.py), ends as our zombie. It is idle: its CPU is not counted."""
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rfind(")") + 2:].split()
        if fields[0] == "Z" and int(fields[1]) == me and "crashpad" in st[:st.rfind(")")]:
            try:
                os.waitpid(int(d), os.WNOHANG)
            except ChildProcessError:
                pass


def load_avg():
    return [round(x, 2) for x in os.getloadavg()]


def room():
    return "bench-" + uuid.uuid4().hex[:12]


def size_str(w, h):
    return f"{w}x{h}"


class Sampler:
    """CPU of each side over one stretch of the call: sample() at its start and its end."""

    def __init__(self, sids):
        self.sids = sids
        self.samples = []

    def sample(self):
        t = time.monotonic()
        self.samples.append((t, [session_cpu_seconds(s) for s in self.sids]))

    def result(self):
        (t0, a), (t1, b) = self.samples[0], self.samples[-1]
        wall = t1 - t0
        return {"wall_s": round(wall, 3),
                "cpu_per_side": [round((b[i][0] - a[i][0]) / wall, 4) for i in range(len(self.sids))],
                "processes_per_side": [b[i][1] for i in range(len(self.sids))]}


def stats_at(peer, t, frames_of):
    """(time, frames decoded, the line) of `peer`'s last `stats` line received at or before
    monotonic time t."""
    best = None
    for e in list(peer.events):
        if e.get("event") == "stats" and peer._t0 + e["_t"] <= t:
            best = (peer._t0 + e["_t"], frames_of(e) or 0, e)
    return best


def window_view(peer, t0, t1, frames_of):
    """Frames decoded per second between the stats lines nearest the window's ends, and the
    line at its end."""
    a, b = stats_at(peer, t0, frames_of), stats_at(peer, t1, frames_of)
    if not a or not b or b[0] <= a[0]:
        return None, 0, (b[2] if b else {})
    return round((b[1] - a[1]) / (b[0] - a[0]), 1), b[1] - a[1], b[2]


def sizes_in(peer, t0, t1, size_of):
    """The decoded sizes `peer`'s stats lines reported between monotonic times t0 and t1."""
    return sorted({size_of(e) or "" for e in list(peer.events)
                   if e.get("event") == "stats" and t0 <= peer._t0 + e["_t"] <= t1})


def cpu_per_frame(run):
    """CPU milliseconds (both sides) per video frame carried (encoded on one side, decoded on
    the other): fair to a stack that sends fewer frames than asked."""
    fps = [f for f in run.get("decoded_fps", []) if f]
    if len(fps) != 2 or "cpu_per_side" not in run:
        return None
    return round(1000 * sum(run["cpu_per_side"]) / sum(fps), 2)


def wait_until(pred, timeout, step=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


# ------------------------------------------------------------------ Tincan <-> Tincan

def tincan_stats_lines(peer):
    return [e for e in list(peer.events) if e.get("event") == "stats"]


def tincan_decoded(peer):
    lines = tincan_stats_lines(peer)
    return (lines[-1].get("video", {}).get("frames_decoded") or 0) if lines else 0


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def final_video_in(stats):
    for o in (stats if isinstance(stats, list) else []):
        if isinstance(o, dict) and o.get("type") == "tincan-video-receive":
            return o
    return {}


def tincan_call(cli, sig, w, h, fps, warmup, window, record_newcomer=False, slack=6.0, check_size=True):
    """One Tincan <-> Tincan call. Returns per side (first, newcomer): CPU over the window,
    what was decoded, latency, and with record_newcomer the welcome -> first frame time."""
    tmp = tempfile.mkdtemp(prefix="bench-call-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None)
    r = room()
    duration = warmup + window + slack  # slack: joining, connecting, the first frame
    common = ["call", "--signal", sig.url(r), "--width", str(w), "--height", str(h), "--fps", str(fps),
              "--duration", str(duration)]
    out = {"stack": "tincan", "size": size_str(w, h), "fps": fps, "problems": []}
    first_frame_t = []
    try:
        a = ProcessPeer([cli] + common + ["--stats-json", os.path.join(tmp, "a.json")], name="first")
        b = None
        with a:
            if not a.wait_event("signaling", 10, state="joined"):
                out["problems"].append(f"first peer never joined: {a.wait(1)}")
                return out
            argv_b = [cli] + common + ["--stats-json", os.path.join(tmp, "b.json")]
            rec = os.path.join(tmp, "rec")
            stop = threading.Event()
            if record_newcomer:
                argv_b += ["--record", rec]

                def poll():
                    path = os.path.join(rec, "video.y4m")
                    while not stop.is_set():
                        try:
                            if os.stat(path).st_size > 0:
                                first_frame_t.append(time.monotonic())
                                return
                        except OSError:
                            pass
                        time.sleep(0.001)
                threading.Thread(target=poll, daemon=True).start()
            b = ProcessPeer(argv_b, name="newcomer")
            with b:
                joined = b.wait_event("signaling", 10, state="joined")
                flowing = lambda: tincan_decoded(a) > 0 and tincan_decoded(b) > 0  # noqa: E731
                # A side that exited will never decode: stop waiting then.
                wait_until(lambda: flowing() or a.result is not None or b.result is not None, 20)
                flowing = flowing()
                if not flowing:
                    out["problems"].append("no video decoded on both sides (20 s, or a side exited)")
                else:
                    sampler = Sampler([a.proc.pid, b.proc.pid])
                    time.sleep(warmup)
                    sampler.sample()
                    time.sleep(window)
                    sampler.sample()
                    out.update(sampler.result())
                    t0, t1 = sampler.samples[0][0], sampler.samples[-1][0] + 0.2
                    time.sleep(0.3)  # the stats line of the window's last second
                    sides = []
                    for p in (a, b):
                        fps_, frames, line = window_view(p, t0, t1, lambda e: e.get("video", {}).get("frames_decoded"))
                        v = line.get("video", {})
                        sides.append({"recv_resolution": v.get("recv_resolution"),
                                      "sizes_in_window": sizes_in(p, t0, t1,
                                                                  lambda e: e.get("video", {}).get("recv_resolution")),
                                      "send_resolution": v.get("send_resolution"),
                                      "decoded_fps": fps_, "frames_decoded_in_window": frames,
                                      "send_fps": v.get("send_fps"),
                                      "latency_p50_ms": v.get("latency_p50_ms"),
                                      "latency_p95_ms": v.get("latency_p95_ms")})
                    out["sides"] = sides
                res_b = b.wait(duration + 15)
                stop.set()
                if joined and first_frame_t:
                    out["ttff_ms"] = round((first_frame_t[0] - (b._t0 + joined["_t"])) * 1000, 2)
                    out["ttff_detail_ms"] = {"first-frame-decoded": out["ttff_ms"]}
                    conn = b.wait_event("connection-state", 0, state="connected")
                    if conn:
                        out["ttff_detail_ms"]["connected"] = round((conn["_t"] - joined["_t"]) * 1000, 2)
            res_a = a.wait(15)
        for who, res, path, i in (("first", res_a, "a.json", 0), ("newcomer", res_b, "b.json", 1)):
            if not res.get("ok"):
                out["problems"].append(f"tincan {who}: {res.get('error') or res.get('stderr')}")
            vin = final_video_in(read_json(os.path.join(tmp, path)))
            if "sides" in out:
                out["sides"][i]["final"] = {k: vin.get(k) for k in ("framesDecoded", "frameWidth", "frameHeight",
                                                                    "latencyP50Ms", "latencyP95Ms", "freezeCount")}
        for i, s in enumerate(out.get("sides", [])):
            # The window is what counts: the sender may adapt its size before or after it.
            if check_size and s["sizes_in_window"] != [size_str(w, h)]:
                out["problems"].append(f"tincan side {i}: decoded {s['sizes_in_window']} in the window, sent {w}x{h}")
            if not s["frames_decoded_in_window"]:
                out["problems"].append(f"tincan side {i}: no frame decoded in the window")
        if "sides" in out:
            out["decoded_fps"] = [s["decoded_fps"] for s in out["sides"]]
            out["cpu_ms_per_frame"] = cpu_per_frame(out)
        return out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------------ Chromium <-> Chromium

def chromium_inbound(peer):
    lines = [e for e in list(peer.events) if e.get("event") == "stats"]
    return lines[-1].get("inbound_video", {}) if lines else {}, len(lines)


def chromium_call(sig, w, h, fps, warmup, window, y4m, check_size=True):
    from chromium import ChromiumPeer
    r = room()
    duration = warmup + window + 4
    mdns = not loopback_only()
    params = dict(width=w, height=h, fps=fps, duration=duration, codecs="prefer", timeout=duration + 60)
    flags = [f"--use-file-for-fake-video-capture={y4m}"]
    out = {"stack": "chromium", "size": size_str(w, h), "fps": fps, "problems": []}
    with ChromiumPeer(sig.base, r, "call", flags=flags, mdns=mdns, **params) as a:
        if not a.wait_event("signaling", 30, state="joined"):
            out["problems"].append(f"first Chromium never joined: {a.wait(1)}")
            return out
        with ChromiumPeer(sig.base, r, "call", flags=flags, mdns=mdns, **params) as b:
            joined = b.wait_event("signaling", 30, state="joined")
            flowing = wait_until(lambda: all((chromium_inbound(p)[0].get("framesDecoded") or 0) > 0 for p in (a, b))
                                 or a.result is not None or b.result is not None, 30)
            flowing = all((chromium_inbound(p)[0].get("framesDecoded") or 0) > 0 for p in (a, b))
            if not flowing:
                out["problems"].append("no video decoded on both sides (30 s, or a side ended)")
            else:
                sampler = Sampler([a.proc.pid, b.proc.pid])
                time.sleep(warmup)
                sampler.sample()
                time.sleep(window)
                sampler.sample()
                out.update(sampler.result())
                t0, t1 = sampler.samples[0][0], sampler.samples[-1][0] + 0.2
                time.sleep(0.3)
                out["sides"] = []
                for p in (a, b):
                    fps_, frames, line = window_view(p, t0, t1,
                                                     lambda e: e.get("inbound_video", {}).get("framesDecoded"))
                    v = line.get("inbound_video", {})
                    out["sides"].append({"recv_resolution": size_str(v.get("frameWidth"), v.get("frameHeight")),
                                         "sizes_in_window": sizes_in(p, t0, t1, lambda e: size_str(
                                             e.get("inbound_video", {}).get("frameWidth"),
                                             e.get("inbound_video", {}).get("frameHeight"))),
                                         "decoded_fps": fps_, "frames_decoded_in_window": frames})
                out["decoded_fps"] = [s["decoded_fps"] for s in out["sides"]]
                out["cpu_ms_per_frame"] = cpu_per_frame(out)
            res_b = b.wait(duration + 30)
        res_a = a.wait(30)
    reap_zombie_children()
    times = res_b.get("times") or {}
    if joined and "welcome" in times:
        seen = [times[k] - times["welcome"] for k in ("first-frame-decoded", "first-frame-shown") if k in times]
        if seen:
            out["ttff_ms"] = round(min(seen), 2)
            out["ttff_detail_ms"] = {k: round(times[k] - times["welcome"], 2) for k in
                                     ("first-frame-decoded", "first-frame-shown", "connected") if k in times}
    for who, res, i in (("first", res_a, 0), ("newcomer", res_b, 1)):
        if not res.get("ok"):
            out["problems"].append(f"chromium {who}: {res.get('error')}")
        vin = ((res.get("inbound") or {}).get("video")) or {}
        vout = ((res.get("outbound") or {}).get("video")) or {}
        mime = str((vin.get("codec") or {}).get("mimeType", "")).lower()
        if mime != "video/vp8":
            out["problems"].append(f"chromium {who}: received codec {mime or 'none'}, not VP8")
        if "sides" in out:
            out["sides"][i]["final"] = {"framesDecoded": vin.get("framesDecoded"), "frameWidth": vin.get("frameWidth"),
                                        "frameHeight": vin.get("frameHeight"),
                                        "sent": size_str(vout.get("frameWidth"), vout.get("frameHeight")),
                                        "framesEncoded": vout.get("framesEncoded"),
                                        "sendFramesPerSecond": vout.get("framesPerSecond"),
                                        "qualityLimitationReason": vout.get("qualityLimitationReason")}
            if check_size and out["sides"][i]["sizes_in_window"] != [size_str(w, h)]:
                out["problems"].append(f"chromium side {i}: decoded {out['sides'][i]['sizes_in_window']} in the "
                                       f"window, sent {w}x{h}")
    return out


# ------------------------------------------------------------------ report

def summarize(runs, sizes, fps):
    """Medians per (stack, size) and the ratios; `void` lists why a comparison does not hold."""
    summary = {"cpu": [], "latency": None, "ttff": None}
    for w, h in sizes:
        row = {"size": size_str(w, h), "fps": fps}
        for stack in ("tincan", "chromium"):
            rs = [r for r in runs if r.get("kind") == "cpu" and r["stack"] == stack and r["size"] == size_str(w, h)]
            # Only calls that decoded the size sent on both sides, all through the window, count.
            ok = [r for r in rs if "cpu_per_side" in r and not r["problems"]]
            per_side = [c for r in ok for c in r["cpu_per_side"]]
            per_frame = [r["cpu_ms_per_frame"] for r in ok if r.get("cpu_ms_per_frame")]
            row[stack] = {"runs": len(rs), "valid_runs": len(ok), "cpu_per_side_median": median(per_side),
                          "cpu_ms_per_frame_median": median(per_frame), "cpu_ms_per_frame_all": per_frame,
                          "cpu_per_side_all": per_side,
                          "decoded_fps_median": median([f for r in ok for f in r.get("decoded_fps", [])
                                                        if f is not None]),
                          "decoded_fps_all": [f for r in ok for f in r.get("decoded_fps", [])],
                          "problems": [p for r in rs for p in r["problems"]]}
        t, c = row["tincan"]["cpu_per_side_median"], row["chromium"]["cpu_per_side_median"]
        row["tincan_over_chromium"] = round(t / c, 3) if t and c else None
        t, c = row["tincan"]["cpu_ms_per_frame_median"], row["chromium"]["cpu_ms_per_frame_median"]
        row["per_frame_tincan_over_chromium"] = round(t / c, 3) if t and c else None
        row["excluded"] = row["tincan"]["problems"] + row["chromium"]["problems"]
        row["void"] = [f"no {stack} call decoded {size_str(w, h)} on both sides through the window"
                       for stack in ("tincan", "chromium") if not row[stack]["valid_runs"]]
        # Not void, but worth saying: a side that decoded well under the rate sent did less work.
        row["caveats"] = [f"{stack} decoded {f} fps (sent {fps})" for stack in ("tincan", "chromium")
                          for f in row[stack]["decoded_fps_all"] if f is not None and f < 0.8 * fps]

        summary["cpu"].append(row)
    lat_runs = [r for r in runs if r.get("kind") == "latency"]
    if lat_runs:
        size = lat_runs[0]["size"]
        every = [s for r in lat_runs for s in r.get("sides", []) if s.get("latency_p50_ms") is not None]
        # A receiving side counts only if it decoded the size sent all through the window.
        lat = [s for s in every if s.get("sizes_in_window") == [size]]
        if every:
            summary["latency"] = {"size": size, "fps": fps, "samples": len(lat), "sides_measured": len(every),
                                  "problems": [p for r in lat_runs for p in r["problems"]],
                                  "any_size_p50_ms_median": median([s["latency_p50_ms"] for s in every]),
                                  "any_size_p95_ms_median": median([s["latency_p95_ms"] for s in every]),
                                  "p50_ms_median": median([s["latency_p50_ms"] for s in lat]),
                                  "p95_ms_median": median([s["latency_p95_ms"] for s in lat]),
                                  "p50_ms_all": [s["latency_p50_ms"] for s in lat],
                                  "p95_ms_all": [s["latency_p95_ms"] for s in lat]}
    tt = {}
    for stack in ("tincan", "chromium"):
        rs = [r for r in runs if r.get("kind") == "ttff" and r["stack"] == stack]
        vals = [r["ttff_ms"] for r in rs if "ttff_ms" in r]
        tt[stack] = {"runs": len(rs), "median_ms": median(vals), "all_ms": vals,
                     "problems": [p for r in rs for p in r["problems"]]}
    if tt["tincan"]["runs"] or tt["chromium"]["runs"]:
        t, c = tt["tincan"]["median_ms"], tt["chromium"]["median_ms"]
        tt["tincan_over_chromium"] = round(t / c, 3) if t and c else None
        summary["ttff"] = tt
    return summary


def print_summary(s):
    for row in s["cpu"]:
        t, c = row["tincan"], row["chromium"]
        print(f"CPU per side {row['size']}@{row['fps']}: tincan {t['cpu_per_side_median']} "
              f"(decoded {t['decoded_fps_median']} fps, {t['valid_runs']}/{t['runs']} valid), chromium "
              f"{c['cpu_per_side_median']} (decoded {c['decoded_fps_median']} fps, {c['valid_runs']}/{c['runs']} "
              f"valid), tincan/chromium {row['tincan_over_chromium']}; CPU ms per frame carried: tincan "
              f"{t['cpu_ms_per_frame_median']}, chromium {c['cpu_ms_per_frame_median']}, "
              f"tincan/chromium {row['per_frame_tincan_over_chromium']}"
              + (f"  VOID: {'; '.join(row['void'])}" if row["void"] else "")
              + (f"  caveats: {'; '.join(row['caveats'])}" if row["caveats"] else "")
              + (f"  excluded calls: {'; '.join(row['excluded'])}" if row["excluded"] else ""), flush=True)
    if s["latency"]:
        lat = s["latency"]
        print(f"glass-to-glass {lat['size']}@{lat['fps']}: p50 {lat['p50_ms_median']} ms, "
              f"p95 {lat['p95_ms_median']} ms "
              f"over {lat['samples']} of {lat['sides_measured']} receiving sides that decoded {lat['size']} "
              f"(per side: p50 {lat['p50_ms_all']}, p95 {lat['p95_ms_all']}); every side whatever its size: "
              f"p50 {lat['any_size_p50_ms_median']} ms, p95 {lat['any_size_p95_ms_median']} ms"
              + (f"  problems: {lat['problems']}" if lat["problems"] else ""), flush=True)
    if s["ttff"]:
        tt = s["ttff"]
        print(f"welcome -> first decoded frame: tincan {tt['tincan']['median_ms']} ms {tt['tincan']['all_ms']}, "
              f"chromium {tt['chromium']['median_ms']} ms {tt['chromium']['all_ms']}, "
              f"tincan/chromium {tt.get('tincan_over_chromium')}"
              + (f"  problems: {tt['tincan']['problems'] + tt['chromium']['problems']}"
                 if tt['tincan']['problems'] or tt['chromium']['problems'] else ""), flush=True)


def parse_sizes(text):
    out = []
    for part in text.split(","):
        w, _, h = part.partition("x")
        out.append((int(w), int(h)))
    return out


def smoke(cli, signal):
    """One short Tincan <-> Tincan call: exit 0 when both sides decoded video at the size sent."""
    with SignalServer(signal) as sig:
        r = tincan_call(cli, sig, 320, 240, 30, warmup=0.5, window=1.5, record_newcomer=True, slack=2.5,
                        check_size=False)
    print(json.dumps(r), flush=True)
    decoded = [s.get("frames_decoded_in_window", 0) for s in r.get("sides", [])]
    ok = not r["problems"] and len(decoded) == 2 and all(decoded)
    print(f"bench_call smoke: {'ok' if ok else 'FAILED'}: cpu per side {r.get('cpu_per_side')}, decoded in window "
          f"{decoded}, welcome -> first frame {r.get('ttff_ms')} ms" + (f"; {r['problems']}" if r["problems"] else ""),
          flush=True)
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cli", help="tincan-cli (default: $TINCAN_CLI or the newest build*/)")
    ap.add_argument("--signal", help="tincan-signal (default: $TINCAN_SIGNAL or build*/)")
    ap.add_argument("--sizes", default="640x480,1280x720", help="video sizes for the CPU benchmark")
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--reps", type=int, default=3, help="CPU calls per stack and size")
    ap.add_argument("--warmup", type=float, default=10.0, help="seconds after both sides decoded before sampling")
    ap.add_argument("--window", type=float, default=10.0, help="seconds between the two CPU samples")
    ap.add_argument("--ttff-reps", type=int, default=5, help="short calls per stack for welcome -> first frame")
    ap.add_argument("--ttff-size", default="640x480")
    ap.add_argument("--latency-window", type=float, default=5.0, help="latency calls: seconds sampled at the end")
    ap.add_argument("--only", default="cpu,latency,ttff", help="any of cpu, latency, ttff")
    ap.add_argument("--no-chromium", action="store_true", help="Tincan only (no ratios)")
    ap.add_argument("--smoke", action="store_true", help="one short Tincan call; exit 0 if both sides decoded")
    ap.add_argument("--json", help="write every run and the summary here")
    a = ap.parse_args()

    cli = a.cli or find_cli()
    signal = a.signal or find_signal()
    if not cli or not os.access(cli, os.X_OK) or not signal:
        print(f"bench_call: tincan-cli ({cli}) or tincan-signal ({signal}) not built", file=sys.stderr)
        return 2
    if a.smoke:
        return smoke(cli, signal)
    chromium = not a.no_chromium
    if chromium and not find_chromium():
        print("bench_call: chromium not found (apt-get install chromium, or --no-chromium)", file=sys.stderr)
        return 2
    only = set(a.only.split(","))
    sizes = parse_sizes(a.sizes)
    info = {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(),
            "cpus": os.cpu_count(), "cli": cli, "load_before": load_avg(), "argv": sys.argv[1:]}
    print(f"bench_call: {info}", flush=True)
    runs = []
    y4m_dir = tempfile.mkdtemp(prefix="bench-call-y4m-")
    try:
        with SignalServer(signal) as sig:
            if "cpu" in only:
                y4ms = {s: write_y4m(os.path.join(y4m_dir, f"{s[0]}x{s[1]}.y4m"), s[0], s[1], frames=30, fps=a.fps)
                        for s in sizes} if chromium else {}
                for rep in range(a.reps):
                    for w, h in sizes:
                        stacks = ["tincan", "chromium"] if chromium else ["tincan"]
                        if rep % 2:
                            stacks.reverse()  # neither stack always runs right after the other
                        for stack in stacks:
                            t0 = time.monotonic()
                            if stack == "tincan":
                                r = tincan_call(cli, sig, w, h, a.fps, a.warmup, a.window)
                            else:
                                r = chromium_call(sig, w, h, a.fps, a.warmup, a.window, y4ms[(w, h)])
                            r.update(kind="cpu", rep=rep, load=load_avg(), seconds=round(time.monotonic() - t0, 1))
                            runs.append(r)
                            print(json.dumps({k: r.get(k) for k in ("kind", "stack", "size", "rep", "cpu_per_side",
                                                                   "decoded_fps", "load", "problems")}), flush=True)
            if "latency" in only:
                # The receiver's p50/p95 cover its last 1024 frames (video_receive_stream.hpp): the
                # call runs long enough that the window's last stats line leaves out its first 5 s.
                w, h = sizes[-1]
                warmup = max(a.warmup, 1024 / a.fps + 5 - a.latency_window)
                for rep in range(a.reps):
                    r = tincan_call(cli, sig, w, h, a.fps, warmup, a.latency_window)
                    r.update(kind="latency", rep=rep, load=load_avg())
                    runs.append(r)
                    print(json.dumps({"kind": "latency", "rep": rep, "size": r["size"], "load": r["load"],
                                      "latency": [(x.get("latency_p50_ms"), x.get("latency_p95_ms"))
                                                  for x in r.get("sides", [])], "problems": r["problems"]}),
                          flush=True)
            if "ttff" in only:
                w, h = parse_sizes(a.ttff_size)[0]
                y4m = write_y4m(os.path.join(y4m_dir, "ttff.y4m"), w, h, frames=30, fps=a.fps) if chromium else None
                for rep in range(a.ttff_reps):
                    for stack in (["tincan", "chromium"] if chromium else ["tincan"]):
                        if stack == "tincan":
                            # Only the first frame matters here: the sender may still be ramping its size up.
                            r = tincan_call(cli, sig, w, h, a.fps, 0.5, 1.0, record_newcomer=True, slack=6,
                                            check_size=False)
                        else:
                            r = chromium_call(sig, w, h, a.fps, 0.5, 1.0, y4m, check_size=False)
                        r.update(kind="ttff", rep=rep, load=load_avg())
                        runs.append(r)
                        print(json.dumps({k: r.get(k) for k in ("kind", "stack", "rep", "ttff_ms", "ttff_detail_ms",
                                                               "load", "problems")}), flush=True)
    finally:
        shutil.rmtree(y4m_dir, ignore_errors=True)
    info["load_after"] = load_avg()
    summary = summarize(runs, sizes if "cpu" in only else [], a.fps)
    print(f"bench_call: load average before {info['load_before']}, after {info['load_after']}", flush=True)
    print_summary(summary)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"info": info, "summary": summary, "runs": runs}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
