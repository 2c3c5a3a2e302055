#!/usr/bin/env python3
"""A peer that relays messages of the wrong shape cannot end a tincan-cli session (issue 8,
row 1). tincan-cli echo joins a room on tincan-signal; a hand-written WebSocket client joins as
the other peer and relays, among well-formed messages, every shape that once killed tincan-cli
("internal error: [json.exception.type_error.302]") and server-only types (a second welcome, an
error). tincan-cli must live until its --duration deadline, print no internal error, and count
each malformed message once in its final stats ("signaling" entry, messagesIgnored).
Ends with 'N passed, N failed'."""
import base64
import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time

BUILD = os.environ.get("TINCAN_BUILD_DIR", os.path.join(os.path.dirname(__file__), "..", "..", "..", "build"))
CLI = os.path.join(BUILD, "app", "cli", "tincan-cli")
SIGNAL = os.path.join(BUILD, "app", "signal", "tincan-signal")
DURATION = 4
LINE = "candidate:1 1 udp 2130706431 127.0.0.1 9 typ host"

# (message, counted as malformed by tincan-cli)
MESSAGES = [
    ({"type": "candidate", "candidate": {"candidate": LINE, "sdpMid": None, "sdpMLineIndex": 0}}, False),
    ({"type": "candidate", "candidate": {"candidate": LINE, "sdpMid": 0, "sdpMLineIndex": 0}}, True),
    ({"type": "candidate", "candidate": {"candidate": LINE, "sdpMid": "0", "sdpMLineIndex": "0"}}, True),
    ({"type": "candidate", "candidate": {"candidate": "candidate:garbage"}}, True),
    ({"type": "candidate", "candidate": 5}, True),
    ({"type": "welcome", "peers": "one"}, True),
    ({"type": "welcome", "peers": 1}, True),  # the server's welcome comes once per socket
    ({"type": "error", "reason": "room full"}, True),  # after the welcome: the peer's, not fatal
    ({"type": "offer"}, True),
    ({"type": "answer", "sdp": 42}, True),
    ({"type": "media", "video": False}, False),  # unknown type: forward compatible
]


class WebSocket:
    """The smallest RFC 6455 client that works with tincan-signal: text frames, masked."""

    def __init__(self, host, port, path):
        self.sock = socket.create_connection((host, port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("the server closed during the upgrade")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise RuntimeError(f"upgrade refused: {head[:80]!r}")

    def send(self, obj):
        payload = json.dumps(obj).encode()
        header = bytes([0x81])
        n = len(payload)
        if n < 126:
            header += bytes([0x80 | n])
        elif n < 65536:
            header += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            header += bytes([0x80 | 127]) + struct.pack("!Q", n)
        mask = os.urandom(4)
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("the server closed the socket")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def recv(self):
        b0, b1 = self._read(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        payload = self._read(n)
        if b0 & 0x0F == 0x8:
            raise RuntimeError("the server closed the socket")
        return json.loads(payload) if b0 & 0x0F == 0x1 else None


def main():
    problems = []
    sig = subprocess.Popen([SIGNAL, "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                           stderr=subprocess.DEVNULL, text=True)
    port = json.loads(sig.stdout.readline())["port"]
    events, started = [], time.monotonic()
    cli = subprocess.Popen([CLI, "echo", "--signal", f"ws://127.0.0.1:{port}/hostile",
                            "--duration", str(DURATION)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def follow():
        for line in cli.stdout:
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    reader = threading.Thread(target=follow, daemon=True)
    reader.start()
    deadline = time.monotonic() + 10
    while not any(e.get("event") == "signaling" for e in events) and time.monotonic() < deadline:
        time.sleep(0.02)

    ws = WebSocket("127.0.0.1", port, "/hostile")
    welcome = ws.recv()
    if welcome != {"type": "welcome", "peers": 1}:
        problems.append(f"expected to join as the second peer, got {welcome}")
    for msg, _ in MESSAGES:
        ws.send(msg)
    expected = sum(1 for _, counted in MESSAGES if counted)

    try:
        rc = cli.wait(timeout=DURATION + 20)
    except subprocess.TimeoutExpired:
        cli.kill()
        rc = None
    lived = time.monotonic() - started
    reader.join(timeout=5)
    stderr = cli.stderr.read()
    sig.kill()

    if rc is None:
        problems.append("tincan-cli did not exit after its --duration")
    if "internal error" in stderr:
        problems.append(f"tincan-cli hit an internal error: {stderr.strip()[:300]}")
    if lived < DURATION - 0.5:
        problems.append(f"tincan-cli ended after {lived:.1f} s, before its {DURATION} s deadline "
                        f"(exit {rc}): {stderr.strip()[:300]}")
    if "gave up after" not in stderr:
        problems.append(f"tincan-cli did not end at its deadline: {stderr.strip()[:300]}")
    stats = [e for e in events if e.get("event") == "stats"]
    ignored = None
    for entry in (stats[-1]["report"] if stats else []):
        if entry.get("type") == "signaling":
            ignored = entry.get("messagesIgnored")
    if ignored != expected:
        problems.append(f"messagesIgnored is {ignored}, expected {expected} "
                        f"(one per malformed message)")

    for p in problems:
        print("FAIL:", p)
    print(f"{0 if problems else 1} passed, {1 if problems else 0} failed")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
