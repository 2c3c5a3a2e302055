"""The runner shared by the lab scripts that are lists of scenarios (test_wan.py,
test_media_wan.py): each scenario is fn(workdir) -> (problems, detail, extra); prints one
'ok'/'FAIL' line per scenario (with the peers' stderr tails on failure), then
'N passed, N failed', and returns the exit code. Exits 77 (skipped) when the lab cannot run."""
import os
import shutil
import tempfile
import time

import netlab
from tincan_peers import CLI, SIGNAL


def run(scenarios, *, only=None, prefix="tincan-lab-", skip=lambda name: None):
    """scenarios: [(name, fn(workdir))]; skip(name) returns a reason to skip, or None."""
    try:
        netlab.check_available()
    except netlab.LabUnavailable as e:
        netlab.exit_unavailable(e)
    for exe in (CLI, SIGNAL):
        if not os.path.exists(exe):
            print(f"FAIL: {exe} is not built")
            print("0 passed, 1 failed")
            return 1
    passed = failed = 0
    workdir = tempfile.mkdtemp(prefix=prefix)
    try:
        for name, fn in scenarios:
            if only and only not in name:
                continue
            reason = skip(name)
            if reason:
                print(f"skip {name}: {reason}", flush=True)
                continue
            t = time.monotonic()
            try:
                problems, detail, extra = fn(workdir)
            except (RuntimeError, netlab.LabUnavailable) as e:
                problems, detail, extra = [f"{type(e).__name__}: {e}"], "", {}
            if problems:
                failed += 1
                print(f"FAIL {name}: " + "; ".join(problems), flush=True)
                if detail:
                    print(f"  figures: {detail}")
                for k, v in (extra.get("stderr_tail") or {}).items():
                    print(f"  --- {k} stderr:\n{v}")
            else:
                passed += 1
                print(f"ok   {name}: {detail}; {time.monotonic() - t:.1f} s", flush=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1
