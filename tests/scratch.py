"""Scratch folders for the Python test scripts: removed when the script passes (or is
skipped), kept and named when it fails, so that a failure leaves its evidence and a passing
suite leaves nothing behind (the reconnect test alone wrote 763 MB a run into /tmp)."""
import shutil
import sys
import tempfile

_dirs = []


def scratch_dir(prefix):
    """tempfile.mkdtemp(prefix=prefix), cleaned up by exit_with()."""
    path = tempfile.mkdtemp(prefix=prefix)
    _dirs.append(path)
    return path


def exit_with(code):
    """sys.exit(code), after removing the scratch folders, or naming them when code says failed."""
    for path in _dirs:
        if code in (0, 77):
            shutil.rmtree(path, ignore_errors=True)
        else:
            print(f"kept for inspection: {path}", flush=True)
    sys.exit(code)
