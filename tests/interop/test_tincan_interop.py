#!/usr/bin/env python3
"""tincan-cli against real WebRTC stacks through tincan-signal on loopback: headless Chromium
(with its default privacy behaviour: mDNS host names, so Tincan connects through the
peer-reflexive candidates it learns) and aiortc. Echo of text and binary messages from 0 B to
256 KiB, and files both ways with sha256 checked, with Tincan as offerer and as answerer.

Exit 77 (skipped) when Chromium or aiortc is missing, unless CI=true. Ends with
'N passed, N failed'. -k NAME runs only matching cases.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (ProcessPeer, SignalServer, pattern_sha256, skip_or_fail,  # noqa: E402
                    write_pattern_file)
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
FILE_SIZE = 20_000_003
SEED = 11


def other_peer(kind, sig, room, mode, **params):
    if kind == "chromium":
        from chromium import ChromiumPeer
        return ChromiumPeer(sig.base, room, mode, **params)
    from aiortc_peer import AiortcPeer
    return AiortcPeer(sig.base, room, mode, **params)


def run_case(sig, kind, tincan_argv, other_mode, tincan_first, other_params, check_tincan=None, on_result=None):
    """One peer joins, then the other (the newcomer offers). Returns a list of problems."""
    room = f"r{int(time.monotonic() * 1000) % 10**9}"
    problems = []
    cli_argv = [CLI] + tincan_argv + ["--signal", sig.url(room), "--duration", "60"]
    if tincan_first:
        with ProcessPeer(cli_argv, name="tincan") as cli:
            if not cli.wait_event("signaling", 15, state="joined"):
                return ["tincan-cli did not join the room"]
            with other_peer(kind, sig, room, other_mode, **other_params) as other:
                res = other.wait(90)
                cres = cli.wait(30)
    else:
        with other_peer(kind, sig, room, other_mode, **other_params) as other:
            if not other.wait_event("signaling", 30, state="joined"):
                return [f"{kind} did not join the room"]
            with ProcessPeer(cli_argv, name="tincan") as cli:
                cres = cli.wait(90)
                res = other.wait(30)
    if on_result:
        on_result(res)
    if not res.get("ok"):
        problems.append(f"{kind}: {res.get('error') or res}"[:400])
    if cres.get("exit_code") != 0:
        problems.append(f"tincan-cli exited {cres.get('exit_code')}: {cres.get('stderr', '')[-400:]}")
    if check_tincan and not problems:
        problems += check_tincan(cli)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-k", help="run only cases whose name contains this")
    args = ap.parse_args()
    if not os.path.exists(CLI):
        print(f"FAIL: {CLI} is not built")
        print("0 passed, 1 failed")
        return 1
    kinds = []
    if os.path.exists("/usr/bin/chromium") or os.environ.get("TINCAN_CHROMIUM"):
        kinds.append("chromium")
    try:
        import aiortc  # noqa: F401
        kinds.append("aiortc")
    except ImportError:
        pass
    if len(kinds) < 2:
        skip_or_fail("Chromium or aiortc is not installed (packaging/install-deps.sh installs them)")

    tmp = scratch_dir("tincan-interop-")
    src = os.path.join(tmp, "pattern.bin")
    write_pattern_file(src, SEED, FILE_SIZE)
    want = pattern_sha256(SEED, FILE_SIZE)
    passed = failed = 0

    def received_ok(outdir):
        def check(cli):
            path = os.path.join(outdir, "pattern.bin")
            done = [e for e in cli.events if e.get("event") == "transfer-done"]
            if not os.path.exists(path):
                return [f"no file in {outdir}: {os.listdir(outdir)}"]
            import hashlib
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for block in iter(lambda: f.read(1 << 20), b""):
                    h.update(block)
            if h.hexdigest() != want or not done or done[-1]["sha256"] != want:
                return ["the received file does not match"]
            return []
        return check

    with SignalServer() as sig:
        for kind in kinds:
            # aiortc advertises a=max-message-size:65536: nothing larger can go to it.
            echo_sizes = "0,1,2,100,1000,16384,65535,65536,65537,262144" if kind == "chromium" else \
                "0,1,2,100,1000,16384,65535,65536"
            for tincan_first in (True, False):
                role = "answerer" if tincan_first else "offerer"
                cases = [
                    (f"{kind}-echo-tincan-{role}", ["echo"], "echo-client",
                     {"count": 20, "sizes": echo_sizes}, None),
                    (f"{kind}-file-to-tincan-{role}", ["receive", "--out", os.path.join(tmp, f"in-{kind}-{role}")],
                     "send", {"size": FILE_SIZE, "seed": SEED, "name": "pattern.bin"},
                     received_ok(os.path.join(tmp, f"in-{kind}-{role}"))),
                    (f"{kind}-file-from-tincan-{role}", ["send", src], "receive", {"count": 1}, None),
                ]
                if kind == "aiortc" and tincan_first:
                    # The end of a transfer, when the bye and the data take different paths: a
                    # Tincan receiver hangs up only once the sender has closed the channel (after
                    # the ack), and a Tincan sender waits for an ack the receiver's bye overtook.
                    cases += [
                        ("aiortc-slow-close-to-tincan", ["receive", "--out", os.path.join(tmp, "in-slow-close")],
                         "send", {"size": 100_000, "seed": SEED, "name": "slow.bin", "close_after_ack": 1.5},
                         None),
                        ("aiortc-bye-before-ack-from-tincan", ["send", src], "receive",
                         {"count": 1, "bye_before_ack": True}, None),
                    ]
                for name, argv, mode, params, check in cases:
                    if args.k and args.k not in name:
                        continue
                    t = time.monotonic()
                    problems = run_case(sig, kind, argv, mode, tincan_first, params, check)
                    if problems:
                        failed += 1
                        print(f"FAIL {name}: " + "; ".join(problems), flush=True)
                    else:
                        passed += 1
                        print(f"ok   {name} ({time.monotonic() - t:.1f} s)", flush=True)
        # A Chromium call offer (audio + video + data, as a browser sends it) to `tincan-cli echo`,
        # which has no tracks: Tincan answers every m-line in order, audio and video accepted
        # receive-only with Opus and VP8 (W3C: a transceiver is made for each offered section),
        # and the data channel works beside them.
        if "chromium" in kinds and (not args.k or args.k in "chromium-av-data-offer"):
            last = {}

            def keep(res):
                last.update(res)
            t = time.monotonic()
            problems = run_case(sig, "chromium", ["echo"], "echo-client",
                                True, {"count": 6, "sizes": "0,1000,65536", "av": 1}, None, on_result=keep)
            if not problems:
                mlines = last.get("remote_mlines", [])
                kinds_seen = [m.split()[0] for m in mlines]
                if kinds_seen != ["m=audio", "m=video", "m=application"]:
                    problems.append(f"the answer's m-lines are {mlines}")
                elif mlines[0].split()[1] == "0" or mlines[1].split()[1] == "0":
                    problems.append(f"audio/video rejected (port 0): {mlines}")
                else:
                    # Out of Chromium's lists, only 111 opus and 96 VP8 with 97 its rtx.
                    for m, want in ((mlines[0], ["111"]), (mlines[1], ["96", "97"])):
                        if m.split()[3:] != want:
                            problems.append(f"answer section {m!r}: formats should be {want}")
                # Chromium sends and Tincan only receives: Chromium's current direction is sendonly.
                media = [x for x in last.get("transceivers", []) if x.get("kind") in ("audio", "video")]
                if len(media) != 2 or any(x.get("current") != "sendonly" for x in media):
                    problems.append(f"Chromium's view of the media transceivers: {last.get('transceivers')}")
            name = "chromium-av-data-offer-tincan-answerer"
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems), flush=True)
            else:
                passed += 1
                print(f"ok   {name} ({time.monotonic() - t:.1f} s)", flush=True)
        # FILE_TRANSFER.md refusals: one clear error, nothing under the final name.
        if "chromium" in kinds:
            for corrupt in ("extra-bytes", "no-header", "not-json", "bad-sha"):
                name = f"chromium-refused-{corrupt}"
                if args.k and args.k not in name:
                    continue
                out = os.path.join(tmp, f"refuse-{corrupt}")
                problems = refusal_case(sig, out, corrupt)
                if problems:
                    failed += 1
                    print(f"FAIL {name}: " + "; ".join(problems), flush=True)
                else:
                    passed += 1
                    print(f"ok   {name}", flush=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def refusal_case(sig, out, corrupt):
    from chromium import ChromiumPeer
    room = f"x{int(time.monotonic() * 1000) % 10**9}"
    cli_argv = [CLI, "receive", "--out", out, "--signal", sig.url(room), "--duration", "60"]
    with ProcessPeer(cli_argv, name="tincan") as cli:
        if not cli.wait_event("signaling", 15, state="joined"):
            return ["tincan-cli did not join the room"]
        with ChromiumPeer(sig.base, room, "send", size=300_000, seed=5, name="bad.bin", corrupt=corrupt) as br:
            cres = cli.wait(60)
            br.wait(10)
    problems = []
    if cres.get("exit_code") in (0, None):
        problems.append(f"tincan-cli accepted a corrupt transfer ({cres})")
    err = [l for l in cres.get("stderr", "").splitlines() if l.startswith("tincan-cli:")]
    if len(err) != 1:
        problems.append(f"expected one error line, got {err!r}")
    kept = [f for f in os.listdir(out) if not f.startswith(".")] if os.path.isdir(out) else []
    if kept:
        problems.append(f"kept {kept} under a final name")
    return problems


if __name__ == "__main__":
    exit_with(main())
