#!/usr/bin/python3
"""Tiny network probes that verify the NAT lab (tests/net/netlab.py) from inside a namespace.

Each subcommand prints one JSON object on stdout (the server prints one per event) and is
meant to be run with `Lab.run(host, [sys.executable, udp_probe.py, ...])`.

  serve ADDR... [--tcp]       echo server: answers each UDP datagram (and each TCP
                              connection) with the source address it saw
  client SERVER... [--bind A] [--count N] [--reply-from A]
                              UDP client of `serve`: one socket, N requests per server
  tcp SERVER                  TCP client of `serve`
  send DEST [--bind A]        sends one datagram and nothing else
  stun SERVER [--tcp|--tls --ca FILE] [--bind A]
                              STUN Binding request (RFC 5389): mapped address, and the
                              RFC 5780 OTHER-ADDRESS / RESPONSE-ORIGIN when present
  turn SERVER --user U --password P [--tcp|--tls --ca FILE]
                              TURN Allocate (RFC 5766) with long-term credentials

Addresses are IPv4 `ip:port`. Python 3 standard library only.
"""

import argparse
import hashlib
import hmac
import json
import os
import selectors
import socket
import ssl
import struct
import sys
import time
import zlib

MAGIC = 0x2112A442
BINDING_REQUEST, BINDING_SUCCESS = 0x0001, 0x0101
ALLOCATE_REQUEST, ALLOCATE_SUCCESS, ALLOCATE_ERROR = 0x0003, 0x0103, 0x0113
ATTR_MAPPED, ATTR_USERNAME, ATTR_INTEGRITY, ATTR_ERROR = 0x0001, 0x0006, 0x0008, 0x0009
ATTR_LIFETIME, ATTR_RELAYED, ATTR_REALM, ATTR_NONCE = 0x000D, 0x0016, 0x0014, 0x0015
ATTR_TRANSPORT, ATTR_XOR_MAPPED = 0x0019, 0x0020
ATTR_ORIGIN, ATTR_OTHER, ATTR_FINGERPRINT = 0x802B, 0x802C, 0x8028


def parse_addr(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


def fmt_addr(addr):
    return f"{addr[0]}:{addr[1]}"


def emit(obj):
    print(json.dumps(obj), flush=True)


# --- echo server and its clients -----------------------------------------------------------


def cmd_serve(args):
    sel = selectors.DefaultSelector()
    udp = {}
    for text in args.addr:
        addr = parse_addr(text)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr)
        udp[addr] = s
        sel.register(s, selectors.EVENT_READ, "udp")
        if args.tcp:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            t.bind(addr)
            t.listen(16)
            sel.register(t, selectors.EVENT_READ, "tcp")
    emit({"listening": args.addr, "tcp": args.tcp})
    while True:
        for key, _ in sel.select():
            s = key.fileobj
            if key.data == "tcp":
                conn, peer = s.accept()
                with conn:
                    conn.sendall((json.dumps({"seen": fmt_addr(peer)}) + "\n").encode())
                continue
            data, peer = s.recvfrom(2048)
            try:
                req = json.loads(data)
            except ValueError:
                req = {}
            out = s
            if req.get("reply_from"):
                out = udp.get(parse_addr(req["reply_from"]), s)
            reply = {"seen": fmt_addr(peer), "tag": req.get("tag")}
            out.sendto(json.dumps(reply).encode(), peer)


def cmd_client(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.bind:
        s.bind(parse_addr(args.bind))
    s.settimeout(0.05)
    results = []
    for text in args.server:
        server = parse_addr(text)
        seen, got = None, set()
        for i in range(args.count):
            req = {"tag": i}
            if args.reply_from:
                req["reply_from"] = args.reply_from
            s.sendto(json.dumps(req).encode(), server)
            if args.count > 1:
                time.sleep(0.001)
        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline and len(got) < args.count:
            try:
                data, _ = s.recvfrom(2048)
            except socket.timeout:
                continue
            reply = json.loads(data)
            seen = reply["seen"]
            got.add(reply.get("tag"))
        results.append({"server": text, "seen": seen, "sent": args.count, "received": len(got)})
    emit({"local": fmt_addr(s.getsockname()), "results": results})
    return 0 if all(r["seen"] for r in results) else 1


def cmd_tcp(args):
    try:
        with socket.create_connection(parse_addr(args.server), timeout=args.timeout) as s:
            line = s.makefile().readline()
        emit(json.loads(line))
        return 0
    except (OSError, ValueError) as e:
        emit({"seen": None, "error": str(e)})
        return 1


def cmd_send(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    if args.bind:
        s.bind(parse_addr(args.bind))
    s.sendto(b"probe", parse_addr(args.dest))
    emit({"sent": args.dest, "local": fmt_addr(s.getsockname())})
    return 0


# --- STUN and TURN ------------------------------------------------------------------------


def attr(kind, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * pad


def build(kind, tid, attrs, key=None):
    body = b"".join(attrs)
    if key is not None:  # RFC 5389 §15.4: HMAC over the message with the length covering MI
        head = struct.pack("!HHI", kind, len(body) + 24, MAGIC) + tid
        body += attr(ATTR_INTEGRITY, hmac.new(key, head + body, hashlib.sha1).digest())
    head = struct.pack("!HHI", kind, len(body) + 8, MAGIC) + tid
    crc = (zlib.crc32(head + body) ^ 0x5354554E) & 0xFFFFFFFF  # RFC 5389 §15.5
    return head + body + attr(ATTR_FINGERPRINT, struct.pack("!I", crc))


def parse(msg):
    kind, length, magic = struct.unpack("!HHI", msg[:8])
    if magic != MAGIC:
        raise ValueError("not a STUN message")
    attrs, pos = {}, 20
    while pos + 4 <= 20 + length:
        t, n = struct.unpack("!HH", msg[pos:pos + 4])
        attrs.setdefault(t, msg[pos + 4:pos + 4 + n])
        pos += 4 + n + (4 - n % 4) % 4
    return kind, msg[8:20], attrs


def decode_addr(value, xor):
    port, raw = struct.unpack("!H", value[2:4])[0], value[4:8]
    if xor:
        port ^= MAGIC >> 16
        raw = bytes(b ^ m for b, m in zip(raw, struct.pack("!I", MAGIC)))
    return f"{socket.inet_ntoa(raw)}:{port}"


class Channel:
    """One STUN transaction channel over UDP, TCP or TLS."""

    def __init__(self, server, transport, ca=None, bind=None, timeout=3.0):
        self.server, self.transport, self.timeout = server, transport, timeout
        kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
        self.sock = socket.socket(socket.AF_INET, kind)
        if bind:
            self.sock.bind(bind)
        self.sock.settimeout(timeout)
        if transport != "udp":
            self.sock.connect(server)
        if transport == "tls":
            ctx = ssl.create_default_context(cafile=ca)
            self.sock = ctx.wrap_socket(self.sock, server_hostname=server[0])

    def exchange(self, msg):
        if self.transport == "udp":
            for attempt in range(6):  # RFC 5389 §7.2.1, shortened
                self.sock.settimeout(min(0.1 * 2 ** attempt, self.timeout))
                self.sock.sendto(msg, self.server)
                try:
                    return self.sock.recv(2048)
                except socket.timeout:
                    pass
            raise TimeoutError("no STUN answer")
        self.sock.sendall(msg)
        head = self._read(20)
        return head + self._read(struct.unpack("!H", head[2:4])[0])

    def _read(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("connection closed")
            buf += chunk
        return buf


def transport_of(args):
    return "tls" if args.tls else "tcp" if args.tcp else "udp"


def cmd_stun(args):
    bind = parse_addr(args.bind) if args.bind else None
    ch = Channel(parse_addr(args.server), transport_of(args), args.ca, bind, args.timeout)
    kind, _, attrs = parse(ch.exchange(build(BINDING_REQUEST, os.urandom(12), [])))
    if kind != BINDING_SUCCESS:
        raise RuntimeError(f"unexpected STUN response type {kind:#06x}")
    out = {"local": fmt_addr(ch.sock.getsockname())}
    if ATTR_XOR_MAPPED in attrs:
        out["mapped"] = decode_addr(attrs[ATTR_XOR_MAPPED], True)
    elif ATTR_MAPPED in attrs:
        out["mapped"] = decode_addr(attrs[ATTR_MAPPED], False)
    if ATTR_OTHER in attrs:
        out["other"] = decode_addr(attrs[ATTR_OTHER], False)
    if ATTR_ORIGIN in attrs:
        out["origin"] = decode_addr(attrs[ATTR_ORIGIN], False)
    emit(out)
    return 0


def cmd_turn(args):
    ch = Channel(parse_addr(args.server), transport_of(args), args.ca, None, args.timeout)
    transport = attr(ATTR_TRANSPORT, bytes([17, 0, 0, 0]))  # a UDP relay
    kind, _, attrs = parse(ch.exchange(build(ALLOCATE_REQUEST, os.urandom(12), [transport])))
    if kind != ALLOCATE_ERROR or ATTR_NONCE not in attrs:
        raise RuntimeError(f"expected a 401 challenge, got {kind:#06x}")
    realm, nonce = attrs[ATTR_REALM], attrs[ATTR_NONCE]
    key = hashlib.md5(f"{args.user}:{realm.decode()}:{args.password}".encode()).digest()
    auth = [transport, attr(ATTR_USERNAME, args.user.encode()), attr(ATTR_REALM, realm),
            attr(ATTR_NONCE, nonce)]
    kind, _, attrs = parse(ch.exchange(build(ALLOCATE_REQUEST, os.urandom(12), auth, key)))
    if kind != ALLOCATE_SUCCESS:
        err = attrs.get(ATTR_ERROR, b"\0\0\0\0")
        code = err[2] * 100 + err[3]
        emit({"error": code, "reason": err[4:].decode(errors="replace")})
        return 1
    emit({"relayed": decode_addr(attrs[ATTR_RELAYED], True),
          "mapped": decode_addr(attrs[ATTR_XOR_MAPPED], True),
          "lifetime": struct.unpack("!I", attrs[ATTR_LIFETIME])[0]})
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("addr", nargs="+")
    s.add_argument("--tcp", action="store_true")
    s = sub.add_parser("client")
    s.add_argument("server", nargs="+")
    s.add_argument("--bind")
    s.add_argument("--count", type=int, default=1)
    s.add_argument("--reply-from")
    s.add_argument("--timeout", type=float, default=1.0)
    s = sub.add_parser("tcp")
    s.add_argument("server")
    s.add_argument("--timeout", type=float, default=2.0)
    s = sub.add_parser("send")
    s.add_argument("dest")
    s.add_argument("--bind")
    for name in ("stun", "turn"):
        s = sub.add_parser(name)
        s.add_argument("server")
        s.add_argument("--tcp", action="store_true")
        s.add_argument("--tls", action="store_true")
        s.add_argument("--ca")
        s.add_argument("--timeout", type=float, default=3.0)
        if name == "stun":
            s.add_argument("--bind")
        else:
            s.add_argument("--user", required=True)
            s.add_argument("--password", required=True)
    args = p.parse_args(argv)
    handler = {"serve": cmd_serve, "client": cmd_client, "tcp": cmd_tcp, "send": cmd_send,
               "stun": cmd_stun, "turn": cmd_turn}[args.cmd]
    try:
        return handler(args)
    except (OSError, RuntimeError, ValueError) as e:
        emit({"error": str(e)})
        return 1


if __name__ == "__main__":
    sys.exit(main())
