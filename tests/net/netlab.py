#!/usr/bin/python3
"""A NAT lab built from Linux network namespaces and nftables, for real-network tests.

    with Lab(nat_a="cone", nat_b="symmetric") as lab:
        turn = lab.start_coturn()
        cli = lab.popen("a", ["build/app/cli/tincan-cli", "stun", turn.stun_uri()])
        rc, answer = lab.probe("b", "stun", f"{SERVER_IP}:{turn.port}")  # tests/net/udp_probe.py

Topology (every box is a network namespace named "<prefix>-<host>"):

    a 192.0.2.10/25 --+                                +-- server 203.0.113.2 + .3
                      | lan 192.0.2.1/25               |
                      ra  wan 203.0.113.10 ---- inet (bridge 203.0.113.1/24,
                      rb  wan 203.0.113.20 ----       blackhole default route)
                      | lan 192.0.2.129/25
    b 192.0.2.138/25 -+

With same_lan=True there is no rb: b is 192.0.2.11 on ra's LAN, next to a.

WAN links (wan_a=, wan_b=): a plain router namespace "wa" (or "wb") between a NAT router's
wan side and the internet bridge, where delayd (tests/net/delayd/, a TUN-based link emulator
in user space; these machines have no netem) applies one-way delay, jitter, a rate limit with
a bounded tail-drop queue and random loss, per direction ("up" = towards the internet):

    ra wan 203.0.113.10 --nat-- wa (203.0.113.110, TUNs dly-up/dly-down) --inet-- bridge

    with Lab(wan_a=WanLink(delay_ms=50, loss_pct=1)) as lab:   # 100 ms RTT from a's LAN
        ...
        lab.wan_counters("ra")  # {"up": {"rx": .., "drop_loss": .., "drop_queue": ..}, "down": ..}

NAT modes (per router): "cone" (masquerade: endpoint-independent mapping, port-restricted
filtering), "symmetric" (masquerade fully-random: a new port per flow), "udp-blocked"
(cone, and every UDP packet from the LAN to the internet is dropped: only TCP gets out).
Loss drops N % of the packets the router forwards, both ways (LAN-internal traffic is
bridged and never lost). See shared/LAB_NOTES.md for why each rule is there.

Needs root, iproute2 and nftables; raises LabUnavailable otherwise. Test scripts call
`exit_unavailable(exc)`: prints "SKIP: ..." and exits 77, or fails when CI=true.
Python 3 standard library only. Command line: `netlab.py --help`.
"""

import argparse
import atexit
import base64
import fcntl
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# Fixed addresses (documentation ranges, RFC 5737).
INTERNET_IP = "203.0.113.1"    # the internet namespace's bridge
SERVER_IP = "203.0.113.2"      # server host, first address (coturn, signaling, echo servers)
SERVER_IP2 = "203.0.113.3"     # server host, second address (RFC 5780, TURN)
ROUTER_A_WAN = "203.0.113.10"
ROUTER_B_WAN = "203.0.113.20"
ROUTER_A_LAN = "192.0.2.1"
ROUTER_B_LAN = "192.0.2.129"
WAN_LINK_A_IP = "203.0.113.110"  # the WAN link namespaces' own addresses on the internet side
WAN_LINK_B_IP = "203.0.113.120"
HOST_A_IP = "192.0.2.10"
HOST_B_IP = "192.0.2.138"
HOST_B_SAME_LAN_IP = "192.0.2.11"
PUBLIC_NET = "203.0.113.0/24"
LAN_RANGE = "192.0.2.0-192.0.2.255"  # coturn's denied-peer-ip

NAT_MODES = ("cone", "symmetric", "udp-blocked")
SKIP_RETURN_CODE = 77
PREFIX = "tcn"                    # every namespace, marker and temp dir of the lab starts with it
STATE_DIR = "/run/tincan-netlab"  # <prefix>.pid: the pid of the process that owns a lab
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "udp_probe.py")
DELAYD_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "delayd", "delayd.c")


class LabUnavailable(Exception):
    """The machine cannot run the lab (not root, no `ip netns`, no nftables)."""


def exit_unavailable(exc):
    """For test scripts: turn LabUnavailable into a CTest skip (exit 77), or a failure in CI."""
    if os.environ.get("CI") == "true":
        print(f"FAIL: network lab unavailable in CI: {exc}", flush=True)
        sys.exit(1)
    print(f"SKIP: {exc}", flush=True)
    sys.exit(SKIP_RETURN_CODE)


def check_available():
    """Raises LabUnavailable unless this process can build labs."""
    if os.geteuid() != 0:
        raise LabUnavailable("the network lab needs root (network namespaces, nftables)")
    for tool in ("ip", "nft"):
        if not shutil.which(tool):
            raise LabUnavailable(f"`{tool}` not found (install iproute2 and nftables)")
    r = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True)
    if r.returncode != 0:
        raise LabUnavailable(f"`ip netns` unusable: {r.stderr.strip()}")


def _sh(argv, input=None, check=True):
    r = subprocess.run(argv, input=input, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r


def stop_process(proc, grace, sig=signal.SIGTERM):
    """`sig` (SIGTERM), then SIGKILL after `grace` seconds (coturn sometimes ignores SIGTERM)."""
    if proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    except ProcessLookupError:
        pass


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _free_port(min_port=20000, span=1):
    """A port p such that p..p+span-1 are free for both UDP and TCP on 127.0.0.1."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base < min_port or base + span > 65535:
            continue
        socks = []
        try:
            for p in range(base, base + span):
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(socket.AF_INET, kind)
                    socks.append(s)
                    s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free port found")


# --- coturn -------------------------------------------------------------------------------


class Coturn:
    """A private turnserver (coturn) with its own config, TLS certificate, log and database.

    Attributes: ip, ip2 (None on loopback), port, alt_port, tls_port, realm, users
    ({name: password}, static long-term accounts), rest_secret (REST mode), ca_file (trust it
    to verify the TLS listener), log_file, config_file, dir, pid.
    """

    def __init__(self, *, netns=None, ips, port, alt_port, tls_port, alt_tls_port, relay_ip,
                 realm="tincan.test", users=None, rest_secret=None, verbose=False,
                 denied_peers=(LAN_RANGE,), allow_loopback_peers=False, workdir_prefix=PREFIX):
        self.netns = netns
        self.ip, self.ip2 = ips[0], (ips[1] if len(ips) > 1 else None)
        self.port, self.alt_port = port, alt_port
        self.tls_port, self.alt_tls_port = tls_port, alt_tls_port
        self.realm = realm
        self.rest_secret = rest_secret
        # Static accounts stop working with use-auth-secret (LAB_NOTES): REST mode has none.
        self.users = {} if rest_secret else dict(users or {"alice": "secret", "bob": "secret"})
        self.dir = tempfile.mkdtemp(prefix=f"{workdir_prefix}-turn-")
        self.config_file = os.path.join(self.dir, "turnserver.conf")
        self.log_file = os.path.join(self.dir, "turn.log")
        self.ca_file = os.path.join(self.dir, "ca.pem")
        self.cert_file = os.path.join(self.dir, "cert.pem")
        self.key_file = os.path.join(self.dir, "key.pem")
        self.proc = None
        try:
            self._make_certificate(ips)
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        lines = [f"listening-ip={ip}" for ip in ips] + [
            f"relay-ip={relay_ip}",
            f"listening-port={port}",
            f"alt-listening-port={alt_port}",
            f"tls-listening-port={tls_port}",
            f"alt-tls-listening-port={alt_tls_port}",
            f"realm={realm}",
            "fingerprint",
            "lt-cred-mech",
            f"cert={self.cert_file}",
            f"pkey={self.key_file}",
            "no-cli",
            "no-multicast-peers",
            f"log-file={self.log_file}",
            "simple-log",
            f"pidfile={os.path.join(self.dir, 'turnserver.pid')}",
            f"userdb={os.path.join(self.dir, 'turndb')}",  # not the shared /var/lib/turn one
        ]
        lines += [f"denied-peer-ip={r}" for r in denied_peers]
        if allow_loopback_peers:
            lines.append("allow-loopback-peers")
        if rest_secret:
            lines += ["use-auth-secret", f"static-auth-secret={rest_secret}"]
        lines += [f"user={u}:{p}" for u, p in self.users.items()]
        if verbose:
            lines.append("verbose")
        with open(self.config_file, "w") as f:
            f.write("\n".join(lines) + "\n")

    def _make_certificate(self, ips):
        """A throwaway CA and a server certificate for `ips` signed by it (openssl CLI)."""
        ca_key = os.path.join(self.dir, "ca.key")
        ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        _sh(["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", self.ca_file,
             "-days", "2", "-subj", "/CN=Tincan test CA"])
        csr = os.path.join(self.dir, "server.csr")
        _sh(["openssl", "req", "-new", *ec, "-keyout", self.key_file, "-out", csr,
             "-subj", "/CN=turn.tincan.test"])
        ext = os.path.join(self.dir, "server.ext")
        sans = ",".join([f"IP:{ip}" for ip in ips] + ["DNS:turn.tincan.test"])
        with open(ext, "w") as f:
            f.write(f"subjectAltName={sans}\nbasicConstraints=CA:FALSE\n"
                    "extendedKeyUsage=serverAuth\n")
        _sh(["openssl", "x509", "-req", "-in", csr, "-CA", self.ca_file, "-CAkey", ca_key,
             "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", self.cert_file])

    def start(self, timeout=10.0):
        argv = ["turnserver", "-c", self.config_file]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv
        with open(os.path.join(self.dir, "stdout.log"), "wb") as out:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        want = {("udp", self.ip, self.port), ("tcp", self.ip, self.port),
                ("tcp", self.ip, self.tls_port)}
        if self.ip2:
            want |= {("udp", self.ip2, self.alt_port)}
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnserver exited with {self.proc.returncode}:\n"
                                   + self.log()[-2000:])
            if want <= self._listening():
                return self
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"turnserver did not listen within {timeout} s:\n"
                                   + self.log()[-2000:])
            time.sleep(0.05)

    def _listening(self):
        argv = ["ss", "-Hlntu"]
        if self.netns:
            argv = ["ip", "netns", "exec", self.netns] + argv
        found = set()
        for line in _sh(argv, check=False).stdout.splitlines():
            f = line.split()
            if len(f) >= 5:
                host, _, port = f[4].rpartition(":")
                found.add((f[0], host, int(port)))
        return found

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def stop(self, grace=1.0):
        if self.proc:
            stop_process(self.proc, grace)

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log(self):
        try:
            with open(self.log_file, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def stun_uri(self):
        return f"stun:{self.ip}:{self.port}"

    def turn_uri(self, transport="udp"):
        return f"turn:{self.ip}:{self.port}?transport={transport}"

    def turns_uri(self):
        return f"turns:{self.ip}:{self.tls_port}"

    def rest_credentials(self, name="tincan", ttl=3600):
        """Ephemeral (username, password) for REST mode (draft-uberti-behave-turn-rest)."""
        if not self.rest_secret:
            raise ValueError("this turnserver has no static-auth-secret")
        user = f"{int(time.time()) + ttl}:{name}"
        mac = hmac.new(self.rest_secret.encode(), user.encode(), hashlib.sha1).digest()
        return user, base64.b64encode(mac).decode()

    def info(self):
        return {"pid": self.pid, "ip": self.ip, "ip2": self.ip2, "port": self.port,
                "alt_port": self.alt_port, "tls_port": self.tls_port, "realm": self.realm,
                "users": self.users, "rest_secret": self.rest_secret, "ca_file": self.ca_file,
                "log_file": self.log_file, "dir": self.dir}


def start_coturn_loopback(*, rest_secret=None, verbose=False, realm="tincan.test", users=None):
    """A turnserver on 127.0.0.1 with random free ports; needs neither root nor a lab.

    No RFC 5780 (one address); loopback peers are allowed. Call .close() when done.
    """
    port, tls_port = _free_port(span=2), _free_port(span=2)
    turn = Coturn(ips=["127.0.0.1"], port=port, alt_port=port + 1, tls_port=tls_port,
                  alt_tls_port=tls_port + 1, relay_ip="127.0.0.1", realm=realm, users=users,
                  rest_secret=rest_secret, verbose=verbose, denied_peers=(),
                  allow_loopback_peers=True)
    try:
        return turn.start()
    except BaseException:
        turn.close()
        raise


# --- the lab ------------------------------------------------------------------------------

_live_labs = []
_live_lock = threading.Lock()


class WanLink:
    """One direction of a WAN link (delayd's per-link options). rate_mbit 0 = unlimited;
    queue_ms bounds the rate limiter's tail-drop queue (queueing delay)."""

    def __init__(self, delay_ms=0.0, jitter_ms=0.0, rate_mbit=0.0, queue_ms=100.0, loss_pct=0.0):
        for name, v in (("delay_ms", delay_ms), ("jitter_ms", jitter_ms), ("rate_mbit", rate_mbit),
                        ("queue_ms", queue_ms), ("loss_pct", loss_pct)):
            if v < 0:
                raise ValueError(f"WanLink {name} must not be negative: {v}")
        if loss_pct > 100:
            raise ValueError(f"WanLink loss_pct over 100: {loss_pct}")
        self.delay_ms, self.jitter_ms, self.rate_mbit = delay_ms, jitter_ms, rate_mbit
        self.queue_ms, self.loss_pct = queue_ms, loss_pct

    def args(self):
        # Every option each time: delayd keeps options in force for the devices after them.
        return ["-d", f"{self.delay_ms:g}", "-j", f"{self.jitter_ms:g}", "-r", f"{self.rate_mbit:g}",
                "-q", f"{self.queue_ms:g}ms", "-l", f"{self.loss_pct:g}"]

    def __repr__(self):
        return (f"WanLink(delay_ms={self.delay_ms:g}, jitter_ms={self.jitter_ms:g}, "
                f"rate_mbit={self.rate_mbit:g}, queue_ms={self.queue_ms:g}, loss_pct={self.loss_pct:g})")


def delayd_binary():
    """The delayd executable: $TINCAN_DELAYD if set, else tests/net/delayd/delayd.c compiled once
    per source version into the temp dir (CI has a C compiler but maybe no build of it)."""
    given = os.environ.get("TINCAN_DELAYD")
    if given:
        if not os.access(given, os.X_OK):
            raise LabUnavailable(f"TINCAN_DELAYD={given} is not an executable")
        return given
    with open(DELAYD_SOURCE, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()[:16]
    folder = os.path.join(tempfile.gettempdir(), f"tincan-delayd-{digest}")
    exe = os.path.join(folder, "delayd")
    if os.access(exe, os.X_OK):
        return exe
    cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if not cc:
        raise LabUnavailable("no C compiler to build tests/net/delayd/delayd.c (or set TINCAN_DELAYD)")
    os.makedirs(folder, exist_ok=True)
    tmp = f"{exe}.{os.getpid()}"
    r = subprocess.run([cc, "-O2", "-Wall", "-o", tmp, DELAYD_SOURCE], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"building delayd failed: {r.stderr.strip()}")
    os.replace(tmp, exe)  # atomic: concurrent labs never run a half-written file
    return exe


_COUNTER_RE = re.compile(r"^delayd: (\S+) (rx=.*)$")


def parse_delayd_counters(text):
    """{device: {counter: int}} from the last counter line of each device in delayd's stderr."""
    out = {}
    for line in text.splitlines():
        m = _COUNTER_RE.match(line.strip())
        if m:
            out[m.group(1)] = {k: int(v) for k, v in (kv.split("=") for kv in m.group(2).split())}
    return out


class Lab:
    """Namespaces a, b (hosts), ra, rb (NAT routers), inet (the internet), server.

    The lab is built by the constructor and torn down by close() (or leaving the `with`
    block, or at exit, or on SIGTERM/SIGHUP). Hosts are named by those short names.
    """

    def __init__(self, nat_a="cone", nat_b="cone", *, same_lan=False, loss_a=0, loss_b=0,
                 wan_a=None, wan_b=None):
        """wan_a/wan_b: a WanLink (both directions alike) or (up, down) WanLinks between that
        router and the internet; None = a plain wire."""
        for mode in (nat_a, nat_b):
            if mode not in NAT_MODES:
                raise ValueError(f"NAT mode {mode!r} is not one of {NAT_MODES}")
        if same_lan and wan_b is not None:
            raise ValueError("same_lan has no router b to put a WAN link on")
        self.wan = {}
        for router, link in (("ra", wan_a), ("rb", wan_b)):
            if link is None:
                continue
            up, down = link if isinstance(link, (tuple, list)) else (link, link)
            if not isinstance(up, WanLink) or not isinstance(down, WanLink):
                raise TypeError("wan_a/wan_b take a WanLink or a pair of them")
            self.wan[router] = (up, down)
        check_available()
        self.same_lan = same_lan
        self.nat = {"ra": nat_a} if same_lan else {"ra": nat_a, "rb": nat_b}
        self.loss = {"ra": loss_a, "rb": loss_b}
        self._delayd = {}  # router -> (Popen, stderr path)
        self._delayd_exe = delayd_binary() if self.wan else None
        self._procs = []
        self._coturns = []
        self._closed = False
        _install_handlers()
        self.prefix = _claim_prefix()
        with _live_lock:
            _live_labs.append(self)
        try:
            self._build()
        except BaseException:
            self.close()
            raise

    # -- public API --

    def ns(self, host):
        """The namespace name of a host (for `ip netns exec` outside this module)."""
        if host not in self.hosts():
            raise KeyError(f"no host {host!r} in this lab (hosts: {', '.join(self.hosts())})")
        return f"{self.prefix}-{host}"

    def hosts(self):
        return (["inet", "server", "ra", "a", "b"] + ([] if self.same_lan else ["rb"])
                + [_WAN_HOST[r] for r in ("ra", "rb") if r in self.wan])

    def addr(self, host):
        """A host's own (first) address: hosts' LAN address, routers' WAN address."""
        self.ns(host)  # validates the name
        return {"inet": INTERNET_IP, "server": SERVER_IP, "ra": ROUTER_A_WAN,
                "rb": ROUTER_B_WAN, "a": HOST_A_IP, "wa": WAN_LINK_A_IP, "wb": WAN_LINK_B_IP,
                "b": HOST_B_SAME_LAN_IP if self.same_lan else HOST_B_IP}[host]

    def public_addr(self, host):
        """The address the internet sees a host's traffic come from (its router's WAN)."""
        if host in ("a", "b"):
            return ROUTER_A_WAN if host == "a" or self.same_lan else ROUTER_B_WAN
        return self.addr(host)

    def run(self, host, argv, **kw):
        """subprocess.run(argv, **kw) inside host's namespace."""
        return subprocess.run(["ip", "netns", "exec", self.ns(host)] + list(argv), **kw)

    def popen(self, host, argv, **kw):
        """subprocess.Popen(argv, **kw) inside host's namespace; killed at teardown."""
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(host)] + list(argv), **kw)
        self._procs.append(proc)
        return proc

    def start_coturn(self, *, rest_secret=None, verbose=False, realm="tincan.test",
                     users=None, host="server"):
        """A turnserver on SERVER_IP and SERVER_IP2 (RFC 5780 capable), relaying from
        SERVER_IP, never towards the LAN ranges. Static users (default alice/bob, password
        "secret") on ports 3478/3479, TLS 5349; or, with rest_secret, REST ephemeral
        credentials on 3480/3481, TLS 5351. Both kinds can run at once."""
        port, tls_port = (3480, 5351) if rest_secret else (3478, 5349)
        turn = Coturn(netns=self.ns(host), ips=[SERVER_IP, SERVER_IP2], port=port,
                      alt_port=port + 1, tls_port=tls_port, alt_tls_port=tls_port + 1,
                      relay_ip=SERVER_IP, realm=realm, users=users, rest_secret=rest_secret,
                      verbose=verbose, workdir_prefix=self.prefix)
        self._coturns.append(turn)
        return turn.start()

    def set_loss(self, router, percent):
        """Changes a router's random loss while the lab runs (100 cuts it off); its NAT
        mappings survive."""
        self.ns(router)
        if router not in self.nat:
            raise KeyError(f"{router!r} is not a router of this lab")
        self.loss[router] = percent
        self._nft(router, self.nat[router], percent)

    def wan_counters(self, router):
        """delayd's counters of a router's WAN link now: {"up": {...}, "down": {...}} with rx,
        tx, drop_loss, drop_queue, drop_full (link full), write_err, max_inflight, and
        tun_tx_dropped (packets the kernel dropped at a full TUN ring before delayd read them)."""
        proc, path = self._delayd[router]
        if proc.poll() is None:
            with open(path) as f:
                before = f.read().count("\n")
            proc.send_signal(signal.SIGUSR1)
            deadline = time.monotonic() + 2
            while time.monotonic() < deadline:  # two new lines: one per device
                with open(path) as f:
                    if f.read().count("\n") >= before + 2:
                        break
                time.sleep(0.01)
        with open(path) as f:
            found = parse_delayd_counters(f.read())
        out = {}
        for direction, dev in (("up", "dly-up"), ("down", "dly-down")):
            c = dict(found.get(dev, {}))
            stats = _sh(["ip", "-n", self.ns(_WAN_HOST[router]), "-j", "-s", "link", "show", dev],
                        check=False)
            try:
                c["tun_tx_dropped"] = json.loads(stats.stdout)[0]["stats64"]["tx"]["dropped"]
            except (ValueError, IndexError, KeyError):
                pass
            out[direction] = c
        return out

    def probe(self, host, *args, timeout=10):
        """Runs tests/net/udp_probe.py in host; returns (exit code, its last JSON line)."""
        r = self.run(host, [sys.executable, PROBE, *args], capture_output=True, text=True,
                     timeout=timeout)
        lines = r.stdout.strip().splitlines()
        return r.returncode, (json.loads(lines[-1]) if lines else {"error": r.stderr})

    def close(self):
        """Idempotent teardown: processes, coturns, namespaces, temp dirs, the marker."""
        if self._closed:
            return
        self._closed = True
        for proc in self._procs:
            stop_process(proc, 0.5)
        for proc, _ in self._delayd.values():
            stop_process(proc, 0.5)
        for turn in self._coturns:
            turn.close()
        _remove_prefix(self.prefix)
        with _live_lock:
            if self in _live_labs:
                _live_labs.remove(self)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- construction --

    def _build(self):
        for host in self.hosts():
            r = _sh(["ip", "netns", "add", self.ns(host)], check=False)
            if r.returncode != 0:
                raise LabUnavailable(f"ip netns add failed: {r.stderr.strip()}")
            self._ip(host, "link set lo up")
            # No IPv6 (no DAD, no link-local noise in candidate lists); bridged frames must not
            # meet the namespace's IP hooks (LAB_NOTES: br_netfilter).
            self._sysctl(host, "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1",
                         "net.bridge.bridge-nf-call-iptables=0",
                         "net.bridge.bridge-nf-call-ip6tables=0",
                         "net.bridge.bridge-nf-call-arptables=0")

        # The internet: one bridge, and a blackhole for everything not on it, so that packets
        # to private addresses vanish instead of failing with ENETUNREACH.
        self._ip("inet", "link add br0 type bridge", "link set br0 up",
                 f"addr add {INTERNET_IP}/24 dev br0", "route add blackhole default")
        self._uplink("server", "server", [SERVER_IP, SERVER_IP2])
        self._ip("server", "route add blackhole default")

        lans = [("ra", ROUTER_A_WAN, ROUTER_A_LAN, ["a"] + (["b"] if self.same_lan else []))]
        if not self.same_lan:
            lans.append(("rb", ROUTER_B_WAN, ROUTER_B_LAN, ["b"]))
        for router, wan, lan, hosts in lans:
            if router in self.wan:
                self._wan_link(router, wan)
            else:
                self._uplink(router, router, [wan], dev="wan")
            self._ip(router, f"route add default via {INTERNET_IP}", "link add lan type bridge",
                     "link set lan up", f"addr add {lan}/25 dev lan")
            self._sysctl(router, "net.ipv4.ip_forward=1")
            for host in hosts:
                self._ip(host, f"link add eth0 type veth peer name {host} netns {self.ns(router)}",
                         f"addr add {self.addr(host)}/25 dev eth0", "link set eth0 up",
                         f"route add default via {lan}")
                self._ip(router, f"link set dev {host} master lan", f"link set dev {host} up")
            self._nft(router, self.nat[router], self.loss[router])

    def _uplink(self, host, port_name, addrs, dev="eth0"):
        """A veth from host to the internet bridge (port `port_name` on the bridge)."""
        self._ip(host, f"link add {dev} type veth peer name {port_name} netns {self.ns('inet')}",
                 *[f"addr add {a}/24 dev {dev}" for a in addrs], f"link set {dev} up")
        self._ip("inet", f"link set dev {port_name} master br0", f"link set dev {port_name} up")

    def _wan_link(self, router, wan):
        """router's wan veth to a router namespace that sends each direction through a delayd
        TUN device (tests/net/delayd/README.md): policy routing steers packets from the NAT
        side into dly-up and packets for the NAT's address into dly-down; what delayd writes
        back matches no rule and is forwarded on by the main table. Proxy ARP makes the link
        invisible to both sides; no conntrack on it."""
        link = _WAN_HOST[router]
        self._ip(router, f"link add wan type veth peer name nat netns {self.ns(link)}",
                 f"addr add {wan}/24 dev wan", "link set wan up")
        self._uplink(link, router, [self.addr(link)], dev="inet")
        self._sysctl(link, "net.ipv4.ip_forward=1", "net.ipv4.conf.all.rp_filter=0",
                     "net.ipv4.conf.default.rp_filter=0",
                     *[f"net.ipv4.conf.{d}.{k}" for d in ("nat", "inet")
                       for k in ("rp_filter=0", "proxy_arp=1")],
                     "net.ipv4.neigh.nat.proxy_delay=0", "net.ipv4.neigh.inet.proxy_delay=0")
        self._ip(link, "link set nat up", f"route add {wan}/32 dev nat",
                 f"route add default via {INTERNET_IP} dev inet")
        for dev in ("dly-up", "dly-down"):
            self._ip(link, f"tuntap add dev {dev} mode tun")
            self._sysctl(link, f"net.ipv4.conf.{dev}.rp_filter=0")
            # A long TUN queue absorbs bursts while delayd waits for a core.
            self._ip(link, f"link set {dev} txqueuelen 8192 up")
        self._ip(link, "route add default dev dly-up table 101",
                 "route add default dev dly-down table 102",
                 "rule add pref 100 iif nat lookup 101",
                 f"rule add pref 110 iif inet to {wan}/32 lookup 102")
        _sh(["ip", "netns", "exec", self.ns(link), "nft", "-f", "-"], input="""
table ip wanlink {
  chain pre { type filter hook prerouting priority raw; notrack; }
  chain out { type filter hook output priority raw; notrack; }
}
""")
        up, down = self.wan[router]
        workdir = tempfile.mkdtemp(prefix=f"{self.prefix}-{link}-")
        err_path = os.path.join(workdir, "delayd.stderr")
        seed = int.from_bytes(os.urandom(4), "big") if os.environ.get("TINCAN_WAN_SEED") is None \
            else int(os.environ["TINCAN_WAN_SEED"])
        with open(err_path, "wb") as err:
            proc = subprocess.Popen(["ip", "netns", "exec", self.ns(link), self._delayd_exe,
                                     "-s", str(seed), *up.args(), "dly-up", *down.args(), "dly-down"],
                                    stdout=subprocess.DEVNULL, stderr=err)
        self._delayd[router] = (proc, err_path)
        deadline = time.monotonic() + 10
        while True:
            with open(err_path) as f:
                text = f.read()
            if text.count("delayd: ready") >= 2:
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"delayd in {link} did not start: {text.strip()[-500:]}")
            time.sleep(0.02)

    def _ip(self, host, *commands):
        _sh(["ip", "-n", self.ns(host), "-batch", "-"], input="\n".join(commands) + "\n")

    def _sysctl(self, host, *settings):
        # -e: net.bridge.* exists only while br_netfilter is loaded.
        _sh(["ip", "netns", "exec", self.ns(host), "sysctl", "-q", "-e", "-w", *settings])

    def _nft(self, router, mode, loss):
        masquerade = "masquerade fully-random" if mode == "symmetric" else "masquerade"
        forward = []
        if loss >= 100:
            forward.append("drop")
        elif loss > 0:
            forward.append(f"numgen random mod 100 < {int(loss)} drop")
        if mode == "udp-blocked":
            forward.append('iifname "lan" oifname "wan" meta l4proto udp drop')
        forward += ["ct state established,related accept", 'iifname "wan" drop']
        forward = "\n    ".join(forward)
        # The first two lines make the script replace an existing table (set_loss).
        rules = f"""
table ip tincan_nat
delete table ip tincan_nat
table ip tincan_nat {{
  chain input {{
    type filter hook input priority 0; policy accept;
    # Unsolicited packets to the router itself would leave conntrack entries that make
    # masquerade pick another port later (LAB_NOTES).
    iifname "wan" ct state established,related accept
    iifname "wan" drop
  }}
  chain forward {{
    type filter hook forward priority 0; policy accept;
    {forward}
  }}
  chain postrouting {{
    type nat hook postrouting priority 100;
    oifname "wan" {masquerade}
  }}
}}
"""
        _sh(["ip", "netns", "exec", self.ns(router), "nft", "-f", "-"], input=rules)


# --- prefixes, teardown, stale leftovers -------------------------------------------------


_WAN_HOST = {"ra": "wa", "rb": "wb"}


def _namespaces():
    out = _sh(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


_PREFIX_RE = re.compile(rf"^({PREFIX}\d{{4}}[a-z])-")


class _StateLock:
    """Serialises claiming prefixes and judging them stale, across processes."""

    def __enter__(self):
        os.makedirs(STATE_DIR, exist_ok=True)
        self.fd = os.open(os.path.join(STATE_DIR, "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self.fd, fcntl.LOCK_EX)

    def __exit__(self, *exc):
        os.close(self.fd)


def _claim_prefix():
    """tcn<pid%10000><letter>: unique among live labs; stale leftovers are removed first."""
    base = f"{PREFIX}{os.getpid() % 10000:04d}"
    with _StateLock():
        for letter in "abcdefghijklmnopqrstuvwxyz":
            prefix = base + letter
            marker = os.path.join(STATE_DIR, prefix + ".pid")
            if os.path.exists(marker) and _marker_pid(prefix) is not None:
                continue  # a live lab of another process
            _remove_prefix(prefix)  # leftovers of a dead run, if any
            with open(marker, "w") as f:
                f.write(str(os.getpid()))
            return prefix
    raise RuntimeError(f"no free lab prefix for {base}")


def _marker_pid(prefix):
    """The live owner of a prefix, or None."""
    try:
        with open(os.path.join(STATE_DIR, prefix + ".pid")) as f:
            pid = int(f.read().strip() or 0)
    except (FileNotFoundError, ValueError):
        return None
    return pid if pid and _pid_alive(pid) else None


def _remove_prefix(prefix):
    """Removes every namespace, process inside them and temp dir of one lab prefix."""
    names = [n for n in _namespaces() if n.startswith(prefix + "-")]
    for name in names:
        # Processes this lab started inside its own namespaces and that are still there.
        pids = _sh(["ip", "netns", "pids", name], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
    for name in names:
        _sh(["ip", "netns", "del", name], check=False)
    tmp = tempfile.gettempdir()
    for entry in os.listdir(tmp):
        if entry.startswith(prefix + "-"):
            shutil.rmtree(os.path.join(tmp, entry), ignore_errors=True)
    try:
        os.unlink(os.path.join(STATE_DIR, prefix + ".pid"))
    except FileNotFoundError:
        pass


def cleanup_stale():
    """Removes the leftovers of lab runs whose process is gone; returns their prefixes."""
    prefixes = set()
    for name in _namespaces():
        m = _PREFIX_RE.match(name)
        if m:
            prefixes.add(m.group(1))
    if os.path.isdir(STATE_DIR):
        prefixes |= {f[:-4] for f in os.listdir(STATE_DIR) if f.endswith(".pid")}
    tmp = tempfile.gettempdir()
    prefixes |= {m.group(1) for m in map(_PREFIX_RE.match, os.listdir(tmp)) if m}
    with _StateLock():
        stale = sorted(p for p in prefixes if _marker_pid(p) is None)
        for prefix in stale:
            _remove_prefix(prefix)
    return stale


def _close_all():
    with _live_lock:
        labs = list(_live_labs)
    for lab in labs:
        lab.close()


_handlers_installed = False


def _install_handlers():
    """atexit and SIGTERM/SIGHUP: tear every live lab down (SIGINT raises
    KeyboardInterrupt, which unwinds through `with` blocks and atexit)."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(_close_all)
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in (signal.SIGTERM, signal.SIGHUP):
        previous = signal.getsignal(sig)

        def handler(signum, frame, previous=previous):
            _close_all()
            if callable(previous):
                previous(signum, frame)
            raise SystemExit(128 + signum)

        signal.signal(sig, handler)


# --- command line -------------------------------------------------------------------------


def main(argv=None):
    p = argparse.ArgumentParser(description="Tincan's network-namespace NAT lab")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("check", help="exit 0 if a lab can be built here")
    sub.add_parser("cleanup-stale", help="remove leftovers of dead lab runs")
    up = sub.add_parser("up", help="build a lab and keep it until Ctrl-C (for debugging)")
    up.add_argument("--nat-a", default="cone", choices=NAT_MODES)
    up.add_argument("--nat-b", default="cone", choices=NAT_MODES)
    up.add_argument("--same-lan", action="store_true")
    up.add_argument("--loss-a", type=int, default=0)
    up.add_argument("--loss-b", type=int, default=0)
    up.add_argument("--coturn", action="store_true")
    up.add_argument("--delay-a", type=float, default=None,
                    help="one-way delay (ms) of a WAN link on router a (each direction)")
    up.add_argument("--delay-b", type=float, default=None, help="the same on router b")
    up.add_argument("--wan-loss", type=float, default=0.0,
                    help="random loss (%%) of each direction of the WAN links")
    c = sub.add_parser("coturn", help="run a turnserver on 127.0.0.1 (random ports): print "
                                      "its settings as one JSON line, stop it and remove its "
                                      "files when stdin closes or on SIGTERM/SIGINT")
    c.add_argument("--rest-secret")
    c.add_argument("--verbose", action="store_true")
    args = p.parse_args(argv)

    if args.cmd == "check":
        try:
            check_available()
        except LabUnavailable as e:
            print(f"unavailable: {e}")
            return 1
        print("ok")
        return 0
    if args.cmd == "cleanup-stale":
        if os.geteuid() != 0:
            return 0  # nothing a non-root run could have left
        stale = cleanup_stale()
        print(f"removed {len(stale)} stale lab(s){': ' + ' '.join(stale) if stale else ''}")
        return 0
    if args.cmd == "coturn":
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
        turn = start_coturn_loopback(rest_secret=args.rest_secret, verbose=args.verbose)
        try:
            print(json.dumps(turn.info()), flush=True)
            sys.stdin.read()
        except KeyboardInterrupt:
            pass
        finally:
            turn.close()
        return 0
    try:
        links = {k: None if d is None else WanLink(delay_ms=d, loss_pct=args.wan_loss)
                 for k, d in (("a", args.delay_a), ("b", args.delay_b))}
        lab = Lab(args.nat_a, args.nat_b, same_lan=args.same_lan, loss_a=args.loss_a,
                  loss_b=args.loss_b, wan_a=links["a"], wan_b=links["b"])
    except LabUnavailable as e:
        exit_unavailable(e)
    with lab:
        if args.coturn:
            print(json.dumps(lab.start_coturn().info()))
        for host in lab.hosts():
            print(f"{host:7} {lab.addr(host):15} ip netns exec {lab.ns(host)} ...")
        print("Ctrl-C to tear down", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
