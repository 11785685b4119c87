"""A real DNS server for the integration tests: dnsmasq on 127.0.0.1 at a free port, serving the
`test.` zone from records given as Python data.

    dns = FakeDns(tmp_dir,
                  mx=[("dest.test", "mx1.dest.test", 10)],      # --mx-host=domain,host,pref
                  a=[("mx1.dest.test", "127.0.0.2")],           # --host-record=host,ip
                  null_mx=["nomail.test"])                      # MX 0 "." (RFC 7505)
    dns.start()
    ... dns.address  ->  "127.0.0.1:PORT" (for `dns: {resolver: ...}`)
    dns.stop()

Every other name under `test.` is NXDOMAIN (`--local=/test/`); a name outside every local zone
gets REFUSED (there is no upstream: `--no-resolv`), which a recursive resolver such as
libunbound turns into SERVFAIL. TTLs are 1 second (`--local-ttl=1`) so a resolver's cache never
outlives a test.

The server logs every query (`--log-queries`) to DIR/dnsmasq.log; `queries()` reads them back,
so a test can tell whether the daemon looked a name up at all.

`query(port, name, qtype)` is a minimal DNS client (UDP, or TCP) for the readiness check and the
self-tests in test_fakes.py; the standard library has none.

Standard library only. Started with --keep-in-foreground, so Popen's pid is dnsmasq's own, and
stopped by that pid (dnsmasq forks short-lived children for TCP queries; they exit on their own).
"""

import errno
import os
import random
import re
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

DNSMASQ = "/usr/sbin/dnsmasq"
START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0

# Resource record types by name.
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "MX": 15, "TXT": 16, "AAAA": 28}
TYPE_NAMES = {value: name for name, value in TYPES.items()}

# Response codes.
NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
RCODE_NAMES = {NOERROR: "NOERROR", FORMERR: "FORMERR", SERVFAIL: "SERVFAIL", NXDOMAIN: "NXDOMAIN",
               NOTIMP: "NOTIMP", REFUSED: "REFUSED"}


def free_port(host="127.0.0.1", attempts=50):
    """A port that is free for both UDP and TCP on `host`: the kernel picks one for UDP and the
    same number must bind for TCP too. Both sockets are released before returning, so the caller
    must be ready to retry if something else grabs it in between."""
    for _ in range(attempts):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            try:
                tcp.bind((host, port))
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    continue
                raise
            return port
        finally:
            udp.close()
            tcp.close()
    raise RuntimeError(f"no port free for both UDP and TCP on {host} after {attempts} attempts")


# --- a minimal DNS client ------------------------------------------------------

class DnsAnswer:
    """A parsed response: rcode, flags, and the answer section as (name, type name, ttl, data),
    where data is an IP string for A/AAAA, (preference, host) for MX, and raw bytes otherwise.
    Host names are lower case without the trailing dot; the root is ""."""

    def __init__(self, rcode, flags, answers, authority_count):
        self.rcode = rcode
        self.flags = flags
        self.answers = answers
        self.authority_count = authority_count

    @property
    def rcode_name(self):
        return RCODE_NAMES.get(self.rcode, str(self.rcode))

    def records(self, rtype):
        return [data for _, kind, _, data in self.answers if kind == rtype]

    def __repr__(self):
        return f"DnsAnswer({self.rcode_name}, {self.answers!r})"


def _encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            raw = label.encode("idna") if not label.isascii() else label.encode()
            if len(raw) > 63:
                raise ValueError(f"label too long in {name!r}")
            out += bytes([len(raw)]) + raw
    return out + b"\0"


def _read_name(packet, offset):
    """(name, offset after it) with compression pointers followed (bounded: no loops)."""
    labels = []
    end = None
    for _ in range(128):
        length = packet[offset]
        if length & 0xC0 == 0xC0:
            if end is None:
                end = offset + 2
            offset = ((length & 0x3F) << 8) | packet[offset + 1]
            continue
        if length == 0:
            name = ".".join(labels).lower()
            return name, (end if end is not None else offset + 1)
        labels.append(packet[offset + 1:offset + 1 + length].decode("ascii", "replace"))
        offset += 1 + length
    raise ValueError("DNS name compression loop")


def _parse_response(packet, query_id):
    if len(packet) < 12:
        raise ValueError(f"short DNS response ({len(packet)} bytes)")
    ident, flags, qdcount, ancount, nscount, _ = struct.unpack("!HHHHHH", packet[:12])
    if ident != query_id:
        raise ValueError(f"DNS response id {ident} does not match query id {query_id}")
    if not flags & 0x8000:
        raise ValueError("DNS packet is not a response")
    offset = 12
    for _ in range(qdcount):
        _, offset = _read_name(packet, offset)
        offset += 4
    answers = []
    for _ in range(ancount):
        name, offset = _read_name(packet, offset)
        rtype, _, ttl, rdlength = struct.unpack("!HHIH", packet[offset:offset + 10])
        offset += 10
        rdata = packet[offset:offset + rdlength]
        if rtype == TYPES["A"]:
            data = socket.inet_ntop(socket.AF_INET, rdata)
        elif rtype == TYPES["AAAA"]:
            data = socket.inet_ntop(socket.AF_INET6, rdata)
        elif rtype == TYPES["MX"]:
            preference = struct.unpack("!H", rdata[:2])[0]
            host, _ = _read_name(packet, offset + 2)
            data = (preference, host)
        elif rtype == TYPES["CNAME"]:
            data, _ = _read_name(packet, offset)
        else:
            data = rdata
        answers.append((name, TYPE_NAMES.get(rtype, str(rtype)), ttl, data))
        offset += rdlength
    return DnsAnswer(flags & 0x000F, flags, answers, nscount)


def query(port, name, qtype="A", host="127.0.0.1", tcp=False, timeout=2.0):
    """Sends one recursive query and returns the DnsAnswer. Raises socket.timeout / OSError."""
    query_id = random.randrange(1, 65536)
    packet = struct.pack("!HHHHHH", query_id, 0x0100, 1, 0, 0, 0) + _encode_name(name) + \
        struct.pack("!HH", TYPES[qtype] if isinstance(qtype, str) else qtype, 1)
    if tcp:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack("!H", len(packet)) + packet)
            data = b""
            while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
                chunk = sock.recv(65536)
                if not chunk:
                    raise ConnectionError("DNS server closed the TCP connection early")
                data += chunk
            return _parse_response(data[2:2 + struct.unpack("!H", data[:2])[0]], query_id)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((host, port))
        sock.send(packet)
        deadline = time.monotonic() + timeout
        while True:
            sock.settimeout(max(0.01, deadline - time.monotonic()))
            data = sock.recv(65536)
            try:
                return _parse_response(data, query_id)
            except ValueError:
                if time.monotonic() >= deadline:
                    raise
                # A stray datagram (an old answer): keep waiting for ours.


# --- the server ----------------------------------------------------------------

_QUERY_LOG_RE = re.compile(r"query\[(\w+)\] (\S+) from ")


class FakeDns:
    """dnsmasq serving `zones` (default: just `test`) from the given records.

    mx:      [(domain, host, preference)]
    a:       [(host, ip)]          also AAAA when ip contains ':'
    null_mx: [domain]              a single MX with preference 0 and target "."
    extra:   further dnsmasq options, e.g. "--txt-record=..."
    """

    def __init__(self, directory, mx=(), a=(), null_mx=(), zones=("test",), extra=()):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.log_path = self.directory / "dnsmasq.log"
        self.mx = list(mx)
        self.a = list(a)
        self.null_mx = list(null_mx)
        self.zones = list(zones)
        self.extra = list(extra)
        self.process = None
        self.port = None
        self._log_file = None
        self._saved_log = ""  # the log as of the last stop, for when the directory is gone

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def arguments(self, port):
        args = [DNSMASQ, "--keep-in-foreground", f"--port={port}",
                "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--user=root", "--pid-file=",
                "--log-queries", "--log-facility=-", "--local-ttl=1"]
        args += [f"--local=/{zone}/" for zone in self.zones]
        args += [f"--mx-host={domain},{host},{preference}" for domain, host, preference in self.mx]
        # One --host-record per address: a single record keeps only one IPv4 and one IPv6
        # address, while separate records for the same name all answer.
        args += [f"--host-record={host},{ip}" for host, ip in self.a]
        # RFC 7505 null MX: preference 0 (0000), exchange the root name (00).
        args += [f"--dns-rr={domain},15,000000" for domain in self.null_mx]
        return args + self.extra

    def start(self, timeout=START_TIMEOUT, attempts=5):
        """Starts dnsmasq and returns once it answers a query. Retries with another port when the
        chosen one was taken between choosing and binding."""
        assert self.process is None, "dnsmasq is already running"
        last_error = None
        for _ in range(attempts):
            port = free_port()
            self._log_file = open(self.log_path, "ab")
            attempt_start = self._log_file.tell()
            self.process = subprocess.Popen(self.arguments(port), stdin=subprocess.DEVNULL,
                                            stdout=self._log_file, stderr=subprocess.STDOUT)
            self.port = port
            try:
                self._wait_ready(timeout, attempt_start)
                return self
            except _PortTaken as error:
                last_error = error
                self._reap()
        raise RuntimeError(f"dnsmasq did not start after {attempts} attempts: {last_error}")

    def _wait_ready(self, timeout, log_start):
        deadline = time.monotonic() + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                log = self.log_text()
                if b"Address already in use" in self.log_path.read_bytes()[log_start:]:
                    raise _PortTaken(log)
                raise RuntimeError(f"dnsmasq exited with {code} while starting:\n{log}")
            try:
                answer = query(self.port, "readiness-probe.test", "A", timeout=0.2)
                if answer.rcode in (NOERROR, NXDOMAIN, REFUSED):
                    return
            except (OSError, ValueError):
                pass  # not listening yet (ICMP port unreachable, or no answer in time)
            if time.monotonic() >= deadline:
                self.stop()
                raise RuntimeError(f"dnsmasq did not answer within {timeout}s:\n{self.log_text()}")
            time.sleep(0.02)

    def running(self):
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM by pid, wait (SIGKILL after `timeout`)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        self._reap(timeout)

    def _reap(self, timeout=STOP_TIMEOUT):
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        finally:
            self.process = None
            if self._log_file:
                self._log_file.close()
                self._log_file = None
            self._saved_log = self.log_text()

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return self._saved_log

    def queries(self, qtype=None, name=None):
        """[(type, name)] of every query dnsmasq logged (readiness probes left out), in order."""
        out = []
        for line in self.log_text().splitlines():
            m = _QUERY_LOG_RE.search(line)
            if not m or m.group(2) == "readiness-probe.test":
                continue
            if qtype is not None and m.group(1) != qtype:
                continue
            if name is not None and m.group(2).lower() != name.lower().rstrip("."):
                continue
            out.append((m.group(1), m.group(2).lower()))
        return out

    def query(self, name, qtype="A", tcp=False, timeout=2.0):
        return query(self.port, name, qtype, tcp=tcp, timeout=timeout)


class _PortTaken(RuntimeError):
    pass
