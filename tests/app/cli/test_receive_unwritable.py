#!/usr/bin/env python3
"""`tincan-cli receive --out DIR` with a DIR that cannot be written is refused at start (issue 8,
row 8): one line on stderr naming the folder, a non-zero exit, quickly, without waiting for a
peer in a room that is reachable. Ends with 'N passed, N failed'."""
import json
import os
import subprocess
import sys
sys.path.append(os.path.join(os.path.dirname(os.path.abspath(__file__)), "../.."))
from scratch import exit_with, scratch_dir  # noqa: E402

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")


def main():
    sig = subprocess.Popen([SIGNAL, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    port = json.loads(sig.stdout.readline())["port"]
    tmp = scratch_dir("tincan-unwritable-")
    cases = ["/proc/self"]  # no one can create files there, not even root
    if os.geteuid() != 0:  # permission bits bind everyone but root
        ro = os.path.join(tmp, "ro")
        os.mkdir(ro, 0o555)
        cases.append(ro)
    passed = failed = 0
    try:
        for out in cases:
            try:
                r = subprocess.run([CLI, "receive", "--out", out, "--signal", f"ws://127.0.0.1:{port}/unwritable",
                                    "--duration", "20"], capture_output=True, text=True, timeout=10)
                lines = r.stderr.strip().splitlines()
                ok = r.returncode != 0 and len(lines) == 1 and out in lines[0] and "--out" in lines[0]
                why = f"exit {r.returncode}, stderr {r.stderr.strip()!r}"
            except subprocess.TimeoutExpired:
                ok, why = False, "still running after 10 s (waiting for a peer instead of refusing)"
            if ok:
                passed += 1
                print(f"ok   receive-unwritable {out}: {lines[0]}")
            else:
                failed += 1
                print(f"FAIL receive-unwritable {out}: {why}")
    finally:
        sig.kill()
        os.chmod(tmp, 0o755)
        for root, dirs, _ in os.walk(tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o755)
        subprocess.run(["rm", "-rf", tmp])
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    exit_with(main())
