#!/usr/bin/python3
"""An aiortc (python3-aiortc 1.4.0) WebRTC peer for interop tests (see README.md).

Same modes, parameters and signaling behaviour as the browser page (page/peer.js), as a
process that prints one JSON event per line on stdout and, last, {"event":"result",...};
exit 0 iff the result is ok.

    aiortc_peer.py --signal ws://127.0.0.1:PORT/ROOM --mode echo-server
    aiortc_peer.py --signal ws://127.0.0.1:PORT/ROOM --mode send --size 20000000

From Python, as a subprocess with the ChromiumPeer interface:

    from aiortc_peer import AiortcPeer
    with AiortcPeer("ws://127.0.0.1:PORT", "room1", "receive", count=1) as p:
        result = p.wait(60)

aiortc does not trickle: all its candidates are in its SDP, followed by an explicit
{"type":"candidate","candidate":null}. It accepts trickled candidates from the other side
(buffered until the remote description is set), resolving mDNS names with aioice.
"""
import argparse
import asyncio
import hashlib
import json
import logging
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from common import ProcessPeer, pattern_bytes, pattern_chunks, room_url, safe_name  # noqa: E402

T0 = time.monotonic()
PLACEHOLDER_ID = 1023  # as in page/peer.js: a pre-negotiated, never-used channel for the m=application line


def ms():
    return round((time.monotonic() - T0) * 1000, 3)


_result_printed = False


def emit(event, **fields):
    """One event line on stdout; nothing after the result line, which is always the last."""
    ev = {"event": event}
    ev.update(fields)
    ev["t_ms"] = ms()
    if not _result_printed:
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()
    return ev


def stats(values):
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    med = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return {"n": n, "min": round(s[0], 3), "median": round(med, 3), "p90": round(s[min(n - 1, int(0.9 * n))], 3),
            "max": round(s[-1], 3)}


def patch_loopback(always=False):
    """aioice skips 127.0.0.1 when it lists host addresses (LAB_NOTES), so on a machine with
    nothing but loopback aiortc has no candidate at all. Add 127.0.0.1 when nothing else
    exists (or always, with --allow-loopback)."""
    import aioice.ice as ice

    original = ice.get_host_addresses

    def get_host_addresses(use_ipv4, use_ipv6):
        addresses = original(use_ipv4, use_ipv6)
        if use_ipv4 and (always or not addresses) and "127.0.0.1" not in addresses:
            addresses.append("127.0.0.1")
        return addresses

    ice.get_host_addresses = get_host_addresses


def parse_candidate(line):
    bits = (line or "").replace("a=", "", 1).replace("candidate:", "", 1).split()
    c = {"type": bits[7] if len(bits) > 7 else None, "protocol": bits[2].lower() if len(bits) > 2 else None,
         "address": bits[4] if len(bits) > 4 else None, "port": int(bits[5]) if len(bits) > 5 else None,
         "priority": int(bits[3]) if len(bits) > 3 else None}
    if "tcptype" in bits:
        c["tcpType"] = bits[bits.index("tcptype") + 1]
    return c


def max_message_size(sdp):
    """a=max-message-size (RFC 8841): absent means 64 KiB, 0 means no limit."""
    for line in (sdp or "").splitlines():
        if line.startswith("a=max-message-size:"):
            n = int(line.split(":", 1)[1])
            return n if n else 1 << 62
    return 65536


# ------------------------------------------------------------------ data-channel helpers

class Inbox:
    """A channel's incoming messages as an asyncio queue."""
    CLOSED = object()

    def __init__(self, ch):
        self.ch = ch
        self.q = asyncio.Queue()
        self.closed = False
        ch.on("message", self.q.put_nowait)

        @ch.on("close")
        def _closed():
            self.closed = True
            self.q.put_nowait(Inbox.CLOSED)

    async def next(self, timeout):
        item = await asyncio.wait_for(self.q.get(), timeout)
        if item is Inbox.CLOSED:
            self.q.put_nowait(item)
            raise ConnectionError(f"channel {self.ch.label} closed")
        return item

    async def next_json(self, timeout):
        item = await self.next(timeout)
        if not isinstance(item, str):
            raise ValueError(f"expected a JSON text message, got {len(item)} binary bytes")
        return json.loads(item)


class Pacer:
    """Waits until a channel's bufferedAmount is at most `high` (bufferedamountlow events)."""

    def __init__(self, ch, low):
        self.ch = ch
        self.event = asyncio.Event()
        ch.bufferedAmountLowThreshold = low
        ch.on("bufferedamountlow", self.event.set)
        ch.on("close", self.event.set)

    async def drain(self, high):
        while self.ch.bufferedAmount > high:
            if self.ch.readyState != "open":
                raise ConnectionError(f"channel {self.ch.label} {self.ch.readyState} while sending")
            self.event.clear()
            await self.event.wait()


async def wait_open(ch, timeout=60):
    if ch.readyState == "open":
        return ch
    fut = asyncio.get_running_loop().create_future()
    ch.on("open", lambda: fut.done() or fut.set_result(ch))
    ch.on("close", lambda: fut.done() or fut.set_exception(ConnectionError(f"channel {ch.label} closed before opening")))
    return await asyncio.wait_for(fut, timeout)


# ------------------------------------------------------------------ the signaling session

class Session:
    """One signaling session (SIGNALING.md) with one RTCPeerConnection.

    mode object: create_channels(session) -> list (may be empty), sync, when channels may be
    created; run(session, channels) coroutine after that; on_remote_channel(ch);
    on_remote_gone(reason)."""

    def __init__(self, url, mode, opts):
        self.url = url
        self.mode = mode
        self.opts = opts
        self.pc = None
        self.ws = None
        self.newcomer = False
        self.polite = False
        self.ready = False
        self.closed = False
        self.gone = False
        self.said_bye = False  # a bye sent before hanging up (--bye-before-ack): the server closes us
        self.pending = []
        self.cand_queue = asyncio.Queue()
        self.times = {}
        self.tasks = set()
        self.done = asyncio.get_running_loop().create_future()

    def mark(self, name):
        self.times.setdefault(name, ms())

    def spawn(self, coro):
        t = asyncio.ensure_future(coro)
        self.tasks.add(t)
        t.add_done_callback(self._task_done)
        return t

    def _task_done(self, t):
        self.tasks.discard(t)
        if not t.cancelled() and t.exception() is not None:
            self.fail(f"{type(t.exception()).__name__}: {t.exception()}")

    def fail(self, reason):
        emit("error", error=reason)
        self.mode.fail(reason)

    async def send(self, msg):
        if self.ws is not None and not self.closed:
            try:
                await self.ws.send(json.dumps(msg))
            except Exception as e:  # noqa: BLE001 - the socket went away
                emit("error", error=f"signaling send: {e}")

    async def hangup(self, say_bye=True):
        if self.closed:
            return
        if say_bye:
            await self.send({"type": "bye"})
        self.closed = True
        if self.pc is not None:
            await self.pc.close()
        if self.ws is not None:
            await self.ws.close()
        if not self.done.done():
            self.done.set_result(None)

    def remote_gone(self, reason):
        if self.gone:
            return
        self.gone = True
        self.mode.on_remote_gone(self, reason)

    async def run(self):
        import websockets

        self.mark("ws-connect")
        async with websockets.connect(self.url, max_size=1 << 20, ping_interval=None) as ws:
            self.ws = ws
            self.mark("ws-open")
            self.spawn(self.candidate_worker())
            reader = asyncio.ensure_future(self.read_loop())
            await asyncio.wait([reader, self.done], return_when=asyncio.FIRST_COMPLETED)
            if self.said_bye:  # the server closed the socket after our bye: the call goes on
                await self.done
            if not reader.done():
                reader.cancel()
        for t in list(self.tasks):
            t.cancel()

    async def read_loop(self):
        try:
            async for text in self.ws:
                if self.closed:
                    break
                await self.on_signal(text)
        except Exception as e:  # noqa: BLE001
            if not self.closed:
                emit("signaling", state="socket-error", error=str(e))
        emit("signaling", state="socket-closed")
        if not self.closed and not self.said_bye:
            self.remote_gone("signaling socket closed")

    def create_pc(self):
        from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection

        servers = [RTCIceServer(urls=u) for u in self.opts.stun or []]
        if self.opts.turn:
            servers.append(RTCIceServer(urls=self.opts.turn, username=self.opts.turn_user,
                                        credential=self.opts.turn_pass))
        pc = self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))

        @pc.on("datachannel")
        def on_datachannel(ch):
            emit("datachannel", label=ch.label, id=ch.id, ordered=ch.ordered, protocol=ch.protocol)
            self.watch_channel(ch)
            if ch.readyState == "open":
                self.mark("datachannel-open")
                emit("datachannel-open", label=ch.label, id=ch.id)
            self.mode.on_remote_channel(self, ch)

        @pc.on("iceconnectionstatechange")
        def on_ice():
            emit("ice-state", state=pc.iceConnectionState)
            if pc.iceConnectionState in ("connected", "completed"):
                self.mark("ice-connected")
                self.report_pair()

        @pc.on("icegatheringstatechange")
        def on_gathering():
            emit("gathering-state", state=pc.iceGatheringState)

        @pc.on("connectionstatechange")
        def on_connection():
            emit("connection-state", state=pc.connectionState)
            if pc.connectionState == "connected":
                self.mark("connected")
            if pc.connectionState == "failed" and not self.closed:
                self.fail("peer connection failed (ICE or DTLS)")

        self.mode.on_pc(self)

    def watch_channel(self, ch):
        @ch.on("open")
        def _open():
            self.mark("datachannel-open")
            emit("datachannel-open", label=ch.label, id=ch.id)

        ch.on("close", lambda: emit("datachannel-close", label=ch.label, id=ch.id))

    def create_channel(self, label, **kw):
        ch = self.pc.createDataChannel(label, ordered=True, protocol="", **kw)
        self.watch_channel(ch)
        return ch

    def ice_connection(self):
        try:
            return self.pc.sctp.transport.transport._connection
        except AttributeError:
            pass
        # A media-only call: the (bundled) transport of the first transceiver.
        for tr in self.pc.getTransceivers() if self.pc else []:
            try:
                return tr.receiver.transport.transport._connection
            except AttributeError:
                continue
        return None

    def selected_pair(self):
        conn = self.ice_connection()
        pair = conn and conn._nominated.get(1)
        if not pair:
            return None

        def c(x):
            return {"type": x.type, "protocol": x.transport.lower(), "address": x.host, "port": x.port}
        return {"local": c(pair.local_candidate), "remote": c(pair.remote_candidate)}

    def report_pair(self):
        p = self.selected_pair()
        if p:
            emit("selected-pair", **p)

    def local_candidates_events(self):
        for line in (self.pc.localDescription.sdp or "").splitlines():
            if line.startswith("a=candidate:"):
                emit("local-candidate", **parse_candidate(line))

    async def send_description(self):
        d = self.pc.localDescription
        await self.send({"type": d.type, "sdp": d.sdp})
        self.local_candidates_events()
        # aiortc gathers before it signals: every candidate is in the SDP. Say so explicitly.
        await self.send({"type": "candidate", "candidate": None})
        self.mark("gathering-complete")

    async def on_signal(self, text):
        try:
            msg = json.loads(text)
        except ValueError:
            emit("signaling", state="unparsable")
            return
        t = msg.get("type")
        if t == "welcome":
            self.mark("welcome")
            self.newcomer = msg.get("peers", 0) >= 1
            self.polite = not self.newcomer
            emit("signaling", state="joined", peers=msg.get("peers"))
            self.create_pc()
            if self.newcomer:
                self.ready = True
                channels = self.mode.create_channels(self)
                if not channels and self.mode.placeholder:
                    self.pc.createDataChannel("placeholder", negotiated=True, id=PLACEHOLDER_ID)
                await self.pc.setLocalDescription(await self.pc.createOffer())
                self.mark("offer-sent")
                await self.send_description()
                self.spawn(self.mode.run(self, channels))
        elif t == "peer-joined":
            self.mark("peer-joined")
            emit("signaling", state="peer-joined")
        elif t == "peer-left":
            emit("signaling", state="peer-left")
            self.remote_gone("peer-left")
        elif t == "bye":
            emit("signaling", state="bye")
            self.remote_gone("bye")
        elif t == "error":
            self.fail(f"signaling server: {msg.get('reason')}")
        elif t in ("offer", "answer"):
            await self.on_description(t, msg.get("sdp", ""))
        elif t == "candidate":
            c = msg.get("candidate")
            if c:
                emit("remote-candidate", **parse_candidate(c.get("candidate", "")))
            if self.pc is None or self.pc.remoteDescription is None:
                self.pending.append(c)
            else:
                self.cand_queue.put_nowait(c)
        # unknown types are ignored

    async def on_description(self, kind, sdp):
        from aiortc import RTCSessionDescription

        pc = self.pc
        if kind == "offer" and pc.signalingState != "stable":
            # Glare. The impolite peer ignores the remote offer; a polite one would roll its
            # own back, which aiortc cannot do. This peer only ever offers as the newcomer
            # (impolite), so a polite aiortc never has an offer of its own out.
            emit("signaling", state="offer-ignored (glare)", polite=self.polite)
            return
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type=kind))
        self.mark("offer-received" if kind == "offer" else "answer-received")
        for c in self.pending:
            self.cand_queue.put_nowait(c)
        self.pending = []
        if kind == "offer":
            had_data = pc.sctp is not None
            if not self.ready:
                self.mode.before_answer(self)
            await pc.setLocalDescription(await pc.createAnswer())
            await self.send_description()
            self.mark("answer-sent")
            if not self.ready:
                self.ready = True
                channels = self.mode.create_channels(self)
                if channels and not had_data:
                    self.fail("the remote offer had no data-channel section; this aiortc peer does not renegotiate")
                    return
                self.spawn(self.mode.run(self, channels))

    def mid_at(self, index):
        lines = [ln for ln in (self.pc.remoteDescription.sdp or "").splitlines() if ln.startswith(("m=", "a=mid:"))]
        mids, seen = [], -1
        for ln in lines:
            if ln.startswith("m="):
                seen += 1
            elif seen >= 0 and len(mids) == seen:
                mids.append(ln[6:])
        return mids[index] if 0 <= index < len(mids) else None

    async def candidate_worker(self):
        """Adds trickled remote candidates one at a time, in order (mDNS names may take aioice
        a moment to resolve)."""
        from aiortc.sdp import candidate_from_sdp

        while True:
            c = await self.cand_queue.get()
            try:
                if not c or not c.get("candidate"):
                    # End of candidates: RTCPeerConnection.addIceCandidate cannot say it in aiortc.
                    seen = set()
                    owners = [tr.receiver.transport for tr in self.pc.getTransceivers()]
                    if self.pc.sctp:
                        owners.append(self.pc.sctp.transport)
                    for dtls in owners:
                        if id(dtls.transport) not in seen:
                            seen.add(id(dtls.transport))
                            await dtls.transport.addRemoteCandidate(None)
                    continue
                line = c["candidate"]
                if line.startswith("a="):
                    line = line[2:]
                if line.startswith("candidate:"):
                    line = line[len("candidate:"):]
                cand = candidate_from_sdp(line)
                mid = c.get("sdpMid")
                if mid is None and c.get("sdpMLineIndex") is not None:
                    mid = self.mid_at(int(c["sdpMLineIndex"]))
                # aiortc files a candidate under the m-line that owns the bundled transport.
                owner_mids = [tr.mid for tr in self.pc.getTransceivers() if not tr._bundled]
                if self.pc.sctp and not self.pc.sctp._bundled:
                    owner_mids.append(self.pc.sctp.mid)
                if mid not in owner_mids and owner_mids:
                    mid = owner_mids[0]
                cand.sdpMid = mid
                cand.sdpMLineIndex = c.get("sdpMLineIndex")
                await self.pc.addIceCandidate(cand)
            except Exception as e:  # noqa: BLE001 - a bad candidate is not fatal
                emit("error", error=f"addIceCandidate: {type(e).__name__}: {e}", candidate=c)

    def limits(self):
        return {"local_max_message_size": max_message_size(self.pc.localDescription.sdp),
                "remote_max_message_size": max_message_size(self.pc.remoteDescription.sdp)}


# ------------------------------------------------------------------ modes

class Mode:
    def __init__(self, opts):
        self.opts = opts
        self.result = None
        self.finished = asyncio.get_running_loop().create_future()

    def finish(self, **res):
        if self.finished.done():
            return
        res = {"event": "result", "mode": self.opts.mode, **res, "t_ms": ms()}
        self.finished.set_result(res)

    def fail(self, reason, **extra):
        self.finish(ok=False, error=reason, **extra)

    # A newcomer with no channel of its own offers a placeholder m=application (README.md).
    placeholder = True

    def on_pc(self, session):
        """The RTCPeerConnection was just created (before any offer or answer)."""

    def before_answer(self, session):
        """The first remote offer is applied; the answer is about to be created."""

    def create_channels(self, session):
        return []

    async def run(self, session, channels):
        pass

    def on_remote_channel(self, session, ch):
        pass

    def on_remote_gone(self, session, reason):
        self.fail_after_grace(session, f"remote hung up early ({reason})")

    def fail_after_grace(self, session, reason):
        """The remote's bye/peer-left travels over signaling and may overtake its last
        data-channel messages (an ack, an echo): give those 3 s before calling it a failure."""
        async def later():
            await asyncio.sleep(3)
            self.fail(reason)
            await session.hangup(False)
        asyncio.ensure_future(later())


class EchoServer(Mode):
    def __init__(self, opts):
        super().__init__(opts)
        self.st = {"channels": 0, "messages": 0, "text": 0, "binary": 0, "bytes": 0, "errors": []}

    def on_remote_channel(self, session, ch):
        st = self.st
        st["channels"] += 1

        @ch.on("message")
        def on_message(data):
            try:
                ch.send(data)
            except Exception as e:  # noqa: BLE001
                st["errors"].append(str(e))
                emit("error", error=f"echo: {e}")
            st["messages"] += 1
            if isinstance(data, str):
                st["text"] += 1
                st["bytes"] += len(data.encode())
            else:
                st["binary"] += 1
                st["bytes"] += len(data)

    def on_remote_gone(self, session, reason):
        self.finish(ok=not self.st["errors"], hangup=reason, selected_pair=session.selected_pair(), **self.st)
        asyncio.ensure_future(session.hangup(False))


TEXT_UNITS = ["T", "i", "n", "c", "a", "n", " ", "é", "€", "😀", "\n", '"', "\\", "ß", "—", "0", "9", "{", "}"]


def make_text(size, seed):
    """Text of exactly `size` UTF-8 bytes (same as makeText() in page/peer.js)."""
    parts, n, k = [], 0, seed
    while n < size:
        u = TEXT_UNITS[k % len(TEXT_UNITS)]
        k += 1
        b = len(u.encode())
        if n + b > size:
            u, b = "T", 1
        parts.append(u)
        n += b
    return "".join(parts)


class EchoClient(Mode):
    def create_channels(self, session):
        o = self.opts
        label = o.label or "echo"
        return [session.create_channel(f"{label}-{k}" if k else label) for k in range(max(1, o.channels or 1))]

    async def run(self, session, chans):
        o = self.opts
        count = 20 if o.count is None else o.count
        sizes = [int(x) for x in (o.sizes or "0,1,2,100,1000,16384,65535,65536,65537,262144").split(",")]
        try:
            for ch in chans:
                await wait_open(ch, o.timeout)
            inboxes = [Inbox(ch) for ch in chans]
            lim = session.limits()
            limit = min(lim["local_max_message_size"], lim["remote_max_message_size"])
            rtts, mismatches, skipped = [], [], []
            sent = received = nbytes = 0
            t0 = time.monotonic()
            for i in range(count):
                size = sizes[(i // 2) % len(sizes)]
                binary = i % 2 == 1
                c = (i // 2) % len(chans)
                kind = "binary" if binary else "text"
                if size > limit:
                    skipped.append({"i": i, "size": size, "kind": kind})
                    continue
                payload = pattern_bytes(i + 1, 0, size) if binary else make_text(size, i)
                t = time.monotonic()
                chans[c].send(payload)
                sent += 1
                reply = await inboxes[c].next(o.timeout)
                rtts.append((time.monotonic() - t) * 1000)
                received += 1
                nbytes += size
                if type(reply) is not type(payload) or reply != payload:
                    got = f"text of {len(reply.encode())} bytes" if isinstance(reply, str) else f"binary of {len(reply)} bytes"
                    mismatches.append({"i": i, "size": size, "kind": kind, "got": got})
            self.finish(ok=not mismatches and sent == received and sent > 0, sent=sent, received=received,
                        mismatches=mismatches, skipped=skipped, bytes=nbytes,
                        seconds=round(time.monotonic() - t0, 3), rtt_ms=stats(rtts), channels=len(chans),
                        selected_pair=session.selected_pair(), **lim)
        except Exception as e:  # noqa: BLE001
            self.fail(f"echo-client: {type(e).__name__}: {e}")
        await session.hangup()


class SendFiles(Mode):
    """FILE_TRANSFER.md sender: `count` pattern files of `size` bytes, one after another."""

    def create_channels(self, session):
        # The first file's channel now, so that a newcomer's offer carries it.
        self.first = session.create_channel("file")
        return [self.first]

    async def run(self, session, chans):
        o = self.opts
        count = max(1, o.count or 1)
        seed = 1 if o.seed is None else o.seed
        size = (1 << 20) if o.size is None else o.size
        files = []
        try:
            for j in range(count):
                ch = self.first if j == 0 else session.create_channel("file")
                files.append(await self.send_one(session, ch, o.name or f"tincan-{seed + j}.bin", size, seed + j))
            if o.corrupt:
                ok = all(f["outcome"] != "acked" for f in files)
            else:
                ok = all(f["outcome"] == "acked" for f in files)
            self.finish(ok=ok, files=files, corrupt=o.corrupt, selected_pair=session.selected_pair())
        except Exception as e:  # noqa: BLE001
            self.fail(f"send: {type(e).__name__}: {e}", files=files)
        await asyncio.sleep(0.1)
        await session.hangup()

    async def send_one(self, session, ch, name, size, seed):
        o = self.opts
        inbox = Inbox(ch)
        pacer = Pacer(ch, o.low)
        await wait_open(ch, o.timeout)
        chunk = min(o.chunk or 65536, session.limits()["remote_max_message_size"])
        res = {"name": name, "size": size, "seed": seed}
        header = {"type": "file", "name": name, "size": size, "mime": "application/octet-stream"}
        if o.corrupt == "no-header":
            ch.send(pattern_bytes(seed, 0, min(size, 1024)))
        elif o.corrupt == "not-json":
            ch.send("this is not JSON")
        elif o.corrupt == "bad-size":
            ch.send(json.dumps(dict(header, size=-5)))
        else:
            ch.send(json.dumps(header))
        t0 = time.monotonic()
        try:
            reply = await inbox.next_json(o.timeout)
        except Exception as e:  # noqa: BLE001
            res["outcome"] = "closed-by-receiver" if inbox.closed else f"error: {e}"
            return res
        if reply.get("type") == "reject":
            res.update(outcome="rejected", reason=reply.get("reason"))
            ch.close()
            return res
        if reply.get("type") != "accept":
            res["outcome"] = f"unexpected {reply.get('type')}"
            ch.close()
            return res
        offset = int(reply.get("offset") or 0)
        res["offset"] = offset
        h = hashlib.sha256()
        if offset:
            for c in pattern_chunks(seed, offset, chunk=1 << 20):
                h.update(c)
        last = time.monotonic()
        sent = offset
        try:
            for c in pattern_chunks(seed, size, chunk=chunk, offset=offset):
                await pacer.drain(o.high)
                ch.send(c)
                h.update(c)
                sent += len(c)
                if time.monotonic() - last > 0.5:
                    last = time.monotonic()
                    emit("transfer-progress", name=name, bytes=sent, size=size)
            digest = h.hexdigest()
            res["sha256"] = digest
            if o.corrupt == "extra-bytes":
                ch.send(bytes(16))
            ch.send(json.dumps({"type": "eof", "sha256": "0" * 64 if o.corrupt == "bad-sha" else digest}))
            ack = await inbox.next_json(o.timeout)
            seconds = time.monotonic() - t0
            res.update(seconds=round(seconds, 3), mbps=round((size - offset) / 1e6 / seconds, 3), ack=ack)
            ok = ack.get("type") == "ack" and ack.get("ok") is True and ack.get("sha256") == digest
            res["outcome"] = "acked" if ok else "ack-not-ok"
            if ok:
                emit("transfer-done", name=name, bytes=size, sha256=digest, seconds=res["seconds"])
            if ok and getattr(o, "close_after_ack", 0):
                # A slow step 6: the receiver must not hang up before the channel closes.
                await asyncio.sleep(o.close_after_ack)
                if session.gone:
                    res["outcome"] = "receiver-hung-up-before-the-close"
        except Exception as e:  # noqa: BLE001
            res["outcome"] = "closed-by-receiver" if inbox.closed else f"error: {type(e).__name__}: {e}"
        ch.close()
        return res


class ReceiveFiles(Mode):
    """FILE_TRANSFER.md receiver: `count` files; with --out DIR they are kept there (a .part
    file renamed once verified, never overwriting), else only hashed."""

    def __init__(self, opts):
        super().__init__(opts)
        self.files, self.errors, self.done = [], [], 0

    def on_remote_channel(self, session, ch):
        if ch.label != "file":
            emit("error", error=f"ignoring channel {ch.label}")
            return
        session.spawn(self.receive_one(session, ch))

    async def receive_one(self, session, ch):
        o = self.opts
        inbox = Inbox(ch)
        header, h, got, t0, out, part = None, hashlib.sha256(), 0, 0.0, None, None
        last = time.monotonic()

        def refuse(reason, reply=False):
            self.errors.append({"name": header and header.get("name"), "reason": reason})
            emit("transfer-error", name=header and header.get("name"), reason=reason)
            if reply:
                try:
                    ch.send(json.dumps({"type": "reject", "reason": reason}))
                except Exception:  # noqa: BLE001
                    pass
            if out:
                out.close()
                os.unlink(part)
            ch.close()

        try:
            while True:
                try:
                    m = await inbox.next(o.timeout)
                except ConnectionError:
                    refuse("channel closed before eof")
                    return
                if isinstance(m, bytes):
                    if header is None:
                        refuse("binary data before the header")
                        return
                    if got + len(m) > header["size"]:
                        refuse(f"more bytes than size {header['size']}")
                        return
                    h.update(m)
                    got += len(m)
                    if out:
                        out.write(m)
                    if time.monotonic() - last > 0.5:
                        last = time.monotonic()
                        emit("transfer-progress", name=header["name"], bytes=got, size=header["size"])
                    continue
                try:
                    msg = json.loads(m)
                    if not isinstance(msg, dict):
                        raise ValueError
                except ValueError:
                    refuse("non-JSON text message" if header is None or not m.startswith("{") else "malformed message",
                           reply=header is None)
                    return
                if header is None:
                    size = msg.get("size")
                    if msg.get("type") != "file" or not isinstance(msg.get("name"), str) or \
                            not isinstance(size, int) or isinstance(size, bool) or size < 0:
                        refuse("malformed header", reply=True)
                        return
                    header = msg
                    if size > o.maxsize:
                        refuse(f"too large: {size} > {o.maxsize} bytes", reply=True)
                        return
                    if o.out:
                        final = os.path.join(o.out, safe_name(msg["name"]))
                        if os.path.exists(final):
                            refuse("file exists", reply=True)
                            return
                        part = final + ".part"
                        out = open(part, "wb")
                    t0 = time.monotonic()
                    ch.send(json.dumps({"type": "accept", "offset": 0}))
                    continue
                if msg.get("type") != "eof":
                    refuse(f"unexpected {msg.get('type')}")
                    return
                digest = h.hexdigest()
                ok = got == header["size"] and str(msg.get("sha256", "")).lower() == digest
                if getattr(o, "bye_before_ack", False) and self.done + 1 == max(1, o.count or 1):
                    # The bye overtaking the ack, as it may when signaling is faster than the path.
                    session.said_bye = True
                    await session.send({"type": "bye"})
                    await asyncio.sleep(0.5)
                ch.send(json.dumps({"type": "ack", "ok": ok, "sha256": digest}))
                seconds = max(time.monotonic() - t0, 1e-9)
                info = {"name": safe_name(header["name"]), "sent_name": header["name"], "size": header["size"],
                        "bytes": got, "sha256": digest, "ok": ok, "seconds": round(seconds, 3),
                        "mbps": round(got / 1e6 / seconds, 3)}
                if out:
                    out.close()
                    if ok:
                        os.rename(part, final)
                        info["path"] = final
                    else:
                        os.unlink(part)
                    out = None
                if not ok:
                    self.errors.append({"name": header["name"],
                                        "reason": f"short: {got} of {header['size']} bytes" if got != header["size"]
                                        else "sha256 mismatch"})
                    return
                self.files.append(info)
                emit("transfer-done", name=info["name"], bytes=got, sha256=digest, seconds=info["seconds"])
                self.done += 1
                if self.done == max(1, o.count or 1):
                    # The sender closes the channel once it has the ack (step 6); give it a moment.
                    try:
                        while True:
                            await inbox.next(2.0)
                    except (ConnectionError, asyncio.TimeoutError):
                        pass
                    self.finish(ok=True, files=self.files, errors=self.errors, selected_pair=session.selected_pair())
                return
        finally:
            if out:
                out.close()
                if part and os.path.exists(part):
                    os.unlink(part)

    def on_remote_gone(self, session, reason):
        if self.done < max(1, self.opts.count or 1):
            self.fail(f"remote hung up ({reason}) after {self.done} files", files=self.files, errors=self.errors)
        asyncio.ensure_future(session.hangup(False))


class BenchThroughput(Mode):
    def __init__(self, opts):
        super().__init__(opts)
        self.role = opts.role or ("send" if (opts.bytes or 0) > 0 else "receive")

    def create_channels(self, session):
        return [session.create_channel("bench")] if self.role == "send" else []

    async def run(self, session, chans):
        if self.role != "send":
            return
        o = self.opts
        ch = chans[0]
        try:
            inbox = Inbox(ch)
            pacer = Pacer(ch, o.low)
            await wait_open(ch, o.timeout)
            chunk = min(o.chunk or 65536, session.limits()["remote_max_message_size"])
            block = pattern_bytes(7, 0, chunk)
            total = o.bytes
            ch.send(json.dumps({"type": "bench", "bytes": total}))
            t0 = last = time.monotonic()
            off = 0
            while off < total:
                await pacer.drain(o.high)
                n = min(chunk, total - off)
                ch.send(block if n == chunk else block[:n])
                off += n
                if time.monotonic() - last > 1:
                    last = time.monotonic()
                    emit("transfer-progress", name="bench", bytes=off, size=total)
            reply = await inbox.next_json(o.timeout)
            seconds = time.monotonic() - t0
            self.finish(ok=reply.get("type") == "done" and reply.get("bytes") == total, role="send", bytes=total,
                        chunk=chunk, seconds=round(seconds, 3), mbps=round(total / 1e6 / seconds, 3), receiver=reply,
                        selected_pair=session.selected_pair())
        except Exception as e:  # noqa: BLE001
            self.fail(f"bench-throughput: {type(e).__name__}: {e}")
        await session.hangup()

    def on_remote_channel(self, session, ch):
        if self.role != "receive":
            return
        st = {"want": -1, "got": 0, "t0": 0.0, "last": 0.0}

        @ch.on("message")
        def on_message(data):
            if isinstance(data, str):
                m = json.loads(data)
                if m.get("type") == "bench":
                    st.update(want=m["bytes"], got=0, t0=time.monotonic(), last=time.monotonic())
                return
            st["got"] += len(data)
            if time.monotonic() - st["last"] > 1:
                st["last"] = time.monotonic()
                emit("transfer-progress", name="bench", bytes=st["got"], size=st["want"])
            if st["want"] >= 0 and st["got"] >= st["want"]:
                seconds = time.monotonic() - st["t0"]
                ch.send(json.dumps({"type": "done", "bytes": st["got"], "seconds": round(seconds, 3)}))
                self.finish(ok=st["got"] == st["want"], role="receive", bytes=st["got"], seconds=round(seconds, 3),
                            mbps=round(st["got"] / 1e6 / seconds, 3), selected_pair=session.selected_pair())

    def on_remote_gone(self, session, reason):
        self.fail_after_grace(session, f"remote hung up ({reason}) before the end")


class BenchOpenRound(Mode):
    """One bench-open round: the newcomer opens `bench-open` and hangs up once it is open."""

    def __init__(self, opts):
        super().__init__(opts)
        self.opened_at = None

    def create_channels(self, session):
        return [session.create_channel("bench-open")] if session.newcomer else []

    async def run(self, session, chans):
        if not session.newcomer:
            return
        try:
            await wait_open(chans[0], self.opts.timeout)
            self.finish(ok=True, open_ms=round(session.times["datachannel-open"] - session.times["welcome"], 3))
        except Exception as e:  # noqa: BLE001
            self.fail(f"{type(e).__name__}: {e}")
        await asyncio.sleep(0.05)
        await session.hangup()

    def on_remote_channel(self, session, ch):
        async def opened():
            await wait_open(ch, self.opts.timeout)
            self.opened_at = ms()
        session.spawn(opened())

    def on_remote_gone(self, session, reason):
        if session.newcomer:
            self.fail(f"remote gone ({reason})")
        elif self.opened_at is not None:
            self.finish(ok=True, open_ms=round(self.opened_at - session.times["peer-joined"], 3))
        else:
            self.fail(f"remote gone ({reason}) before open")
        asyncio.ensure_future(session.hangup(False))


# ------------------------------------------------------------------ media call

def fix_bundle_extmap_ids():
    """aiortc 1.4 numbers header extensions per kind: id 2 is ssrc-audio-level in its audio
    sections and abs-send-time in its video sections. Within one BUNDLE an id must mean one
    extension (RFC 8843 §9.2), so an offer from it with audio and video is wrong, and a peer
    that maps ids per bundle can read garbage (LAB_NOTES; Chromium copes). Renumber
    abs-send-time to 3; aiortc reads its send and receive mapping from the same table, so it
    stays consistent."""
    from aiortc.codecs import HEADER_EXTENSIONS
    from aiortc.rtcrtpparameters import RTCRtpHeaderExtensionParameters

    video = HEADER_EXTENSIONS["video"]
    for i, ext in enumerate(video):
        if ext.uri.endswith("abs-send-time") and ext.id == 2:
            video[i] = RTCRtpHeaderExtensionParameters(id=3, uri=ext.uri)


def make_tracks(opts):
    """The synthetic sources: a moving pattern (width x height at fps) and a 440 Hz tone."""
    import fractions

    import numpy as np
    from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
    from av import AudioFrame, VideoFrame

    class PatternVideoTrack(MediaStreamTrack):
        """YUV 4:2:0 frames: a diagonal luma ramp that moves 4 pixels a frame, and a frame
        counter in the chroma, so that every frame differs (an encoder cannot skip them)."""
        kind = "video"

        def __init__(self, width, height, fps):
            super().__init__()
            self.width, self.height, self.fps = width, height, fps
            y, x = np.mgrid[0:height, 0:width]
            self.ramp = ((x + y) & 0xFF).astype(np.uint8)
            self.sent = 0
            self.start = None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                wait = self.start + self.sent / self.fps - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            n = self.sent
            w, h = self.width, self.height
            img = np.empty((h * 3 // 2, w), np.uint8)
            img[:h] = self.ramp + np.uint8((4 * n) & 0xFF)
            img[h:] = np.uint8((n * 3) & 0xFF)
            frame = VideoFrame.from_ndarray(img, format="yuv420p")
            frame.pts = int(n * 90000 / self.fps)
            frame.time_base = fractions.Fraction(1, 90000)
            self.sent += 1
            return frame

    class ToneAudioTrack(MediaStreamTrack):
        """48 kHz mono s16, 20 ms frames of a 440 Hz sine at about -12 dBFS."""
        kind = "audio"
        RATE = 48000
        SAMPLES = 960

        def __init__(self):
            super().__init__()
            self.sent = 0
            self.start = None

        async def recv(self):
            if self.readyState != "live":
                raise MediaStreamError
            if self.start is None:
                self.start = time.monotonic()
            else:
                wait = self.start + self.sent * self.SAMPLES / self.RATE - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            t = (np.arange(self.SAMPLES) + self.sent * self.SAMPLES) / self.RATE
            pcm = (8000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
            frame = AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
            frame.sample_rate = self.RATE
            frame.pts = self.sent * self.SAMPLES
            frame.time_base = fractions.Fraction(1, self.RATE)
            self.sent += 1
            return frame

    tracks = []
    if opts.audio != 0:
        tracks.append(ToneAudioTrack())
    if opts.video != 0:
        tracks.append(PatternVideoTrack(opts.width or 640, opts.height or 480, opts.fps or 30))
    return tracks


class Call(Mode):
    """Media call: sends a moving pattern (VP8, width x height, default 640x480 at 30 fps) and
    a 440 Hz tone (Opus) unless --video 0 / --audio 0, decodes what arrives and counts frames
    and their sizes, for --duration seconds from connectionState 'connected'; then getStats()
    per kind and bye. A remote hang-up ends the call the same way. --dc 1 also opens `chat`.
    The result has the page's shape: inbound/outbound/remote_inbound per kind, W3C names
    (framesDecoded, frameWidth, frameHeight, totalSamplesReceived counted here from the
    decoded frames; packets and jitter from aiortc's getStats)."""

    placeholder = False

    def __init__(self, opts):
        super().__init__(opts)
        fix_bundle_extmap_ids()
        self.tracks = make_tracks(opts)
        self.received = {}  # kind -> counters of decoded frames
        self.remote_tracks = []
        self.channels = []
        self.t_connected = None
        self.ended = False
        self.consumers = []

    def on_pc(self, session):
        pc = session.pc

        @pc.on("track")
        def on_track(track):
            mid = next((t.mid for t in pc.getTransceivers() if t.receiver.track is track), None)
            self.remote_tracks.append({"kind": track.kind, "mid": mid})
            emit("track", kind=track.kind, mid=mid)
            self.consumers.append(session.spawn(self.consume(track)))

        @pc.on("connectionstatechange")
        def on_state():
            if pc.connectionState == "connected" and self.t_connected is None:
                self.t_connected = time.monotonic()
                session.spawn(self.timer(session))

    async def consume(self, track):
        from aiortc.mediastreams import MediaStreamError
        import numpy as np

        r = self.received.setdefault(track.kind, {"frames": 0, "samples": 0, "sizes": {}, "max_rms": 0.0})
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            r["frames"] += 1
            if track.kind == "video":
                key = f"{frame.width}x{frame.height}"
                r["sizes"][key] = r["sizes"].get(key, 0) + 1
                r["width"], r["height"] = frame.width, frame.height
            else:
                r["samples"] += frame.samples
                r["sample_rate"] = frame.sample_rate
                pcm = frame.to_ndarray().astype(np.float64)
                r["max_rms"] = max(r["max_rms"], float(np.sqrt(np.mean(pcm * pcm))) if pcm.size else 0.0)

    def attach(self, session):
        for t in self.tracks:
            session.pc.addTrack(t)

    def create_channels(self, session):
        if session.newcomer:
            self.attach(session)
        if not self.opts.dc:
            return []
        if not session.newcomer and session.pc.sctp is None:
            self.channels.append({"label": "chat", "opened": False, "skipped": "the offer has no m=application"})
            return []
        ch = session.create_channel("chat")
        info = {"label": "chat", "opened": False, "received": 0}
        self.channels.append(info)

        @ch.on("open")
        def _open():
            info["opened"] = True
            ch.send("hello from aiortc call")

        @ch.on("message")
        def _msg(_):
            info["received"] += 1
        return [ch]

    def before_answer(self, session):
        self.attach(session)

    def on_remote_channel(self, session, ch):
        info = {"label": ch.label, "opened": ch.readyState == "open", "received": 0, "remote": True}
        self.channels.append(info)
        ch.on("open", lambda: info.update(opened=True))

        @ch.on("message")
        def _msg(_):
            info["received"] += 1

    async def timer(self, session):
        ticks = 0
        while time.monotonic() - self.t_connected < (self.opts.duration or 8):
            await asyncio.sleep(min(1.0, max(0.0, self.t_connected + (self.opts.duration or 8) - time.monotonic())))
            ticks += 1
            if not self.ended:
                st = await self.media_stats(session)
                emit("stats", **{f"{d}_{k}": {x: v for x, v in st[d][k].items() if x in (
                    "packetsReceived", "framesDecoded", "frameWidth", "frameHeight", "totalSamplesReceived",
                    "packetsSent", "framesEncoded")} for d in ("inbound", "outbound") for k in st[d]})
        await self.end(session, None)

    async def media_stats(self, session):
        out = {"inbound": {}, "outbound": {}, "remote_inbound": {}}
        pc = session.pc
        codecs = {}
        for tr in pc.getTransceivers():
            c = tr._codecs[0] if getattr(tr, "_codecs", None) else None
            if c is not None:
                codecs[tr.kind] = {"mimeType": c.mimeType, "payloadType": c.payloadType, "clockRate": c.clockRate,
                                   "channels": c.channels}
        try:
            report = await pc.getStats()
        except Exception as e:  # noqa: BLE001 - closing
            emit("error", error=f"getStats: {e}")
            return out
        for s in report.values():
            kind = getattr(s, "kind", None)
            if s.type == "inbound-rtp":
                o = {"ssrc": s.ssrc, "packetsReceived": s.packetsReceived, "packetsLost": s.packetsLost,
                     "jitter": s.jitter}
                r = self.received.get(kind, {})
                if kind == "video":
                    o.update(framesDecoded=r.get("frames", 0), frameWidth=r.get("width"), frameHeight=r.get("height"),
                             frameSizes=r.get("sizes", {}))
                else:
                    o.update(totalSamplesReceived=r.get("samples", 0), audioFrames=r.get("frames", 0),
                             maxRms=round(r.get("max_rms", 0.0), 1))
                o["codec"] = codecs.get(kind)
                out["inbound"][kind] = o
            elif s.type == "outbound-rtp":
                o = {"ssrc": s.ssrc, "packetsSent": s.packetsSent, "bytesSent": s.bytesSent, "codec": codecs.get(kind)}
                t = next((x for x in self.tracks if x.kind == kind), None)
                if kind == "video" and t is not None:
                    o.update(framesEncoded=t.sent, frameWidth=t.width, frameHeight=t.height)
                out["outbound"][kind] = o
            elif s.type == "remote-inbound-rtp":
                out["remote_inbound"][kind] = {"ssrc": s.ssrc, "packetsLost": s.packetsLost, "jitter": s.jitter,
                                               "roundTripTime": s.roundTripTime, "fractionLost": s.fractionLost}
        return out

    async def end(self, session, hangup):
        if self.ended:
            return
        self.ended = True
        st = await self.media_stats(session)
        pc = session.pc
        problems = []
        if self.t_connected is None:
            problems.append("never connected")
        for tr in pc.getTransceivers():
            if tr.currentDirection not in ("sendrecv", "recvonly"):
                continue
            i = st["inbound"].get(tr.kind, {})
            if not i.get("packetsReceived"):
                problems.append(f"no {tr.kind} packets received")
            elif tr.kind == "video" and not i.get("framesDecoded"):
                problems.append("no video frame decoded")
            elif tr.kind == "audio" and not i.get("totalSamplesReceived"):
                problems.append("no audio frame decoded")
        self.finish(ok=not problems, error="; ".join(problems) or None, hangup=hangup,
                    call_s=round(time.monotonic() - self.t_connected, 3) if self.t_connected else 0,
                    tracks=self.remote_tracks, datachannels=self.channels, selected_pair=session.selected_pair(),
                    transceivers=[{"mid": t.mid, "kind": t.kind, "direction": t.direction,
                                   "current": t.currentDirection} for t in pc.getTransceivers()],
                    local_sdp=pc.localDescription.sdp if pc.localDescription else "",
                    remote_sdp=pc.remoteDescription.sdp if pc.remoteDescription else "", **st)
        await session.hangup(say_bye=hangup is None)

    def on_remote_gone(self, session, reason):
        session.spawn(self.end(session, reason))


MODES = {"echo-server": EchoServer, "echo-client": EchoClient, "send": SendFiles, "receive": ReceiveFiles,
         "bench-throughput": BenchThroughput, "call": Call}


async def run_session(url, mode, opts, timeout, on_result=None):
    """One session; the mode's result dict (with the session's milestone times). on_result
    gets it as soon as it is known, before the session lingers for the remote's hang-up."""
    session = Session(url, mode, opts)
    runner = asyncio.ensure_future(session.run())
    try:
        done, _ = await asyncio.wait([runner, mode.finished], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if mode.finished in done:
            res = mode.finished.result()
        elif runner in done:
            exc = runner.exception()
            res = {"event": "result", "mode": opts.mode, "ok": False,
                   "error": f"session ended without a result{': ' + repr(exc) if exc else ''}"}
        else:
            res = {"event": "result", "mode": opts.mode, "ok": False, "error": f"timeout: no result within {timeout} s"}
        res["times"] = dict(session.times)
        if on_result:
            on_result(res)
        # Let a passive side's hang-up (after bye) or an active side's bye go out.
        try:
            await asyncio.wait_for(asyncio.shield(runner), 3)
        except (asyncio.TimeoutError, Exception):  # noqa: BLE001
            pass
    finally:
        if not session.closed:
            await session.hangup(say_bye=not session.gone)
        runner.cancel()
    return res


async def amain(opts):
    url = room_url(opts.signal, opts.room)
    emit("peer", implementation="aiortc", version=__import__("aiortc").__version__, mode=opts.mode, signal=url)
    if opts.mode == "bench-open":
        rounds = max(1, opts.rounds or 1)
        results = []
        for r in range(rounds):
            res = await run_session(f"{url}-{r}" if rounds > 1 else url, BenchOpenRound(opts), opts, opts.timeout)
            role = "newcomer" if "welcome" in res["times"] and "offer-sent" in res["times"] else "first"
            results.append({"round": r, "role": role, "times": res["times"], "open_ms": res.get("open_ms"),
                            **({"error": res["error"]} if not res.get("ok") else {})})
        mine = [x["open_ms"] for x in results if x["role"] == "newcomer" and x["open_ms"] is not None]
        return {"event": "result", "mode": "bench-open", "ok": all("error" not in x for x in results),
                "rounds": results, "newcomer_open_ms": stats(mine), "t_ms": ms()}
    return await run_session(url, MODES[opts.mode](opts), opts, opts.timeout, on_result=print_result)


def print_result(res):
    global _result_printed
    if not _result_printed:
        print(json.dumps(res), flush=True)
        _result_printed = True


def main(argv=None):
    from chromium import add_mode_options

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_mode_options(ap)
    ap.add_argument("--out", help="receive: keep the files in this folder")
    ap.add_argument("--allow-loopback", action="store_true",
                    help="always offer a 127.0.0.1 host candidate (by default only when no other address exists)")
    ap.add_argument("--log-level", default="warning", help="Python logging level for aiortc/aioice (stderr)")
    ap.add_argument("--close-after-ack", type=float, default=0,
                    help="send: wait this many seconds after each ack before closing the channel, and fail "
                         "if the receiver hangs up meanwhile")
    ap.add_argument("--bye-before-ack", action="store_true",
                    help="receive: send the bye over signaling half a second before the last ack")
    opts = ap.parse_args(argv)
    opts.high = 4 << 20
    opts.low = 1 << 20
    if opts.maxsize is None:
        opts.maxsize = 1 << 40
    if opts.ice_policy == "relay":
        ap.error("aiortc 1.4.0 has no iceTransportPolicy")
    logging.basicConfig(level=getattr(logging, opts.log_level.upper(), logging.WARNING), stream=sys.stderr)
    patch_loopback(always=opts.allow_loopback)
    res = asyncio.run(amain(opts))
    if opts.mode == "bench-open":
        print_result(res)
    return 0 if res.get("ok") else 1


class AiortcPeer(ProcessPeer):
    """aiortc_peer.py as a subprocess, with the ChromiumPeer interface:

        with AiortcPeer(signal_url, room, mode, count=3, size=20_000_000) as p:
            result = p.wait(60)

    params are the command-line options without their dashes (turn_user -> --turn-user);
    True means a flag without a value, lists are repeated."""

    def __init__(self, signal_url, room=None, mode="echo-server", *, python="/usr/bin/python3", on_event=None,
                 **params):
        argv = [python, os.path.abspath(__file__), "--signal", room_url(signal_url, room), "--mode", mode]
        for k, v in params.items():
            if v is None or v is False:
                continue
            opt = "--" + k.replace("_", "-")
            if v is True:
                argv.append(opt)
            elif isinstance(v, (list, tuple)) and k != "sizes":
                for x in v:
                    argv += [opt, str(x)]
            else:
                argv += [opt, ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)]
        super().__init__(argv, on_event=on_event, name="aiortc")


if __name__ == "__main__":
    sys.exit(main())
