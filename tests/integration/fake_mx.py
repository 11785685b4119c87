"""A scripted SMTP server that stands in for recipients' MX hosts (and relay hosts) in the
integration tests. Threaded, standard library only (socket + ssl).

    group = MxGroup()                                  # every member listens on the same port
    mx1 = group.add("127.0.0.2", "mx1.dest.test", cert=make_cert(tmp, "mx1.dest.test"))
    mx2 = group.add("127.0.0.3", "mx2.dest.test", greeting=421)       # a broken MX
    mx3 = group.add("127.0.0.4", "mx3.dest.test", closed=True)        # nothing listening
    group.start()                                      # group.port -> `delivery.mx_port`
    ...
    mx1.wait_for_messages(2, timeout=30)
    mx1.transactions(), mx1.connections(), mx1.max_concurrent
    group.stop()

What it speaks: ESMTP with PIPELINING, 8BITMIME, SMTPUTF8, ENHANCEDSTATUSCODES (and STARTTLS when
given a certificate). Replies to a pipelined group are sent together once the group has been
read (RFC 2920 3.2), and counted, so a test can tell whether the client pipelined. Bytes a
client sent after STARTTLS but before the handshake are discarded (RFC 3207 4.2) and recorded.

Recipients are answered by local part:
    permfail*       550 5.1.1 No such user
    tempfail-once*  451 4.3.0 Try again later the first time that exact address is seen (by any
                    member of the group), 250 afterwards
    tempfail*       451 4.3.0 Try again later, always
    anything else   250 2.1.5 Ok

Everything is recorded: per connection the peer, the EHLO name, whether and how TLS was used,
the SNI name, every command line, the transactions; per transaction the MAIL FROM address and
parameters, each RCPT with parameters and the reply given, and the message bytes after
dot-unstuffing (plus the raw bytes as they came over the wire). Accessors return copies taken
under a lock; `wait_until`, `wait_for_messages` and `wait_for_connections` wait on a condition
with a deadline.

`hold()` makes new connections wait before their greeting until `release()`: a test can let
stamp queue several messages while its first connection is stuck, then let them all go.

Certificates: `make_ca(dir)` and `make_cert(dir, host, ca=None)` call the `openssl` command
(Python's ssl module cannot create certificates).
"""

import copy
import datetime
import errno
import itertools
import re
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

MAX_LINE = 4096                 # command lines; longer gets 500 and a close
MAX_MESSAGE = 64 * 1024 * 1024  # DATA; larger gets 552 after the end of data
IDLE_TIMEOUT = 60.0             # a silent client is dropped after this long
HOLD_TIMEOUT = 120.0            # a held connection proceeds anyway after this long
STOP_TIMEOUT = 10.0

EXTENSIONS = ("PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES")

_MAIL_RE = re.compile(rb"^MAIL FROM:\s*<([^>]*)>\s*(.*)$", re.IGNORECASE)
_RCPT_RE = re.compile(rb"^RCPT TO:\s*<([^>]*)>\s*(.*)$", re.IGNORECASE)


# --- records -----------------------------------------------------------------

@dataclass
class Rcpt:
    address: str
    params: list
    code: int
    reply: str                 # the text after the code, e.g. "5.1.1 No such user"

    @property
    def accepted(self):
        return 200 <= self.code < 300


@dataclass
class Transaction:
    connection: int            # Connection.id
    mail_from: str             # "" for the null sender <>
    mail_params: list          # ["BODY=8BITMIME", "SIZE=123"]
    tls: bool
    started_at: float          # time.monotonic() of the MAIL command
    rcpts: list = field(default_factory=list)   # [Rcpt], in order, refused ones too
    data: bytes = None         # after dot-unstuffing; None when DATA never completed
    raw_data: bytes = None     # as received, up to and excluding the final ".\r\n"
    data_code: int = None      # the reply to the end of data
    finished_at: float = None  # time.monotonic() of the end-of-data reply

    @property
    def accepted(self):
        return [r.address for r in self.rcpts if r.accepted]

    @property
    def refused(self):
        return [r.address for r in self.rcpts if not r.accepted]

    @property
    def delivered(self):
        """True when the message was accepted (250 to the end of data)."""
        return self.data_code is not None and 200 <= self.data_code < 300


@dataclass
class Connection:
    id: int
    peer: tuple                # (ip, port) of the client
    started_at: float          # time.monotonic()
    greeting_code: int = None
    helo: str = None           # the last EHLO/HELO name
    tls: bool = False          # STARTTLS completed
    tls_version: str = None
    tls_cipher: str = None
    sni: str = None            # server name the client sent in its TLS ClientHello
    tls_error: str = None      # handshake failure (e.g. the client rejected our certificate)
    discarded_after_starttls: bytes = b""
    commands: list = field(default_factory=list)  # every command line, decoded
    transactions: int = 0      # completed DATA transactions on this connection
    max_pipelined: int = 1     # most commands answered in one write (>1: client pipelined)
    closed: bool = False       # the socket is closed
    ended: bool = False        # QUIT received or closed: no longer counts as active
    error: str = None          # how it ended, when not with QUIT
    ended_at: float = None     # time.monotonic() of QUIT, or of the close without QUIT


class SeenAddresses:
    """Addresses seen at RCPT, shared by the members of a group (for tempfail-once)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._seen = set()

    def first_time(self, address):
        with self._lock:
            key = address.lower()
            if key in self._seen:
                return False
            self._seen.add(key)
            return True


def default_rcpt_reply(address, seen):
    """The reply to RCPT TO:<address>, chosen by the local part (see the module comment)."""
    local = address.rsplit("@", 1)[0].lower()
    if local.startswith("permfail"):
        return 550, "5.1.1 No such user"
    if local.startswith("tempfail-once"):
        if seen.first_time(address):
            return 451, "4.3.0 Try again later"
        return 250, "2.1.5 Ok"
    if local.startswith("tempfail"):
        return 451, "4.3.0 Try again later"
    return 250, "2.1.5 Ok"


# --- the server --------------------------------------------------------------

class _Closed(Exception):
    pass


class FakeMx:
    """One fake SMTP server on ip:port.

    name       the host name in the greeting and EHLO reply (use the MX host name)
    cert       (cert_path, key_path): offer STARTTLS with this certificate
    greeting   220, or 421 for an MX that refuses every connection at the greeting
    closed     bind the address but do not listen: connections are refused (RST)
    seen       a SeenAddresses shared with other servers (tempfail-once)
    rcpt_reply callable(address, seen) -> (code, text); default_rcpt_reply by default
    data_delay seconds to wait before answering the end of data (a slow MX)
    extensions the EHLO keywords besides STARTTLS
    """

    def __init__(self, ip, name="mx.test", port=0, cert=None, greeting=220, closed=False,
                 seen=None, rcpt_reply=default_rcpt_reply, data_delay=0.0, extensions=EXTENSIONS,
                 sock=None):
        self.ip = ip
        self.name = name
        self.port = port
        self.cert = cert
        self.greeting = greeting
        self.closed = closed
        self.seen = seen or SeenAddresses()
        self.rcpt_reply = rcpt_reply
        self.data_delay = data_delay
        self.extensions = tuple(extensions)
        self._sock = sock
        self._cond = threading.Condition()
        self._connections = []
        self._transactions = []
        self._active = 0
        self.max_concurrent = 0   # high-water mark of simultaneously open connections
        self._client_socks = set()
        self._threads = []
        self._accept_thread = None
        self._stopping = False
        self._gate = threading.Event()
        self._gate.set()
        self._ids = itertools.count(1)
        self._tls_context = None
        if cert:
            self._tls_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._tls_context.load_cert_chain(str(cert[0]), str(cert[1]))
            self._tls_context.sni_callback = self._on_sni

    def __repr__(self):
        return f"FakeMx({self.name} {self.ip}:{self.port})"

    @property
    def address(self):
        return f"{self.ip}:{self.port}"

    # lifecycle

    def bind(self):
        """Binds ip:port (port 0: the kernel picks) without listening yet."""
        if self._sock is None:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((self.ip, self.port))
            except OSError:
                sock.close()
                raise
            self._sock = sock
        self.port = self._sock.getsockname()[1]
        return self

    def start(self):
        """Binds if needed and, unless `closed`, listens and accepts in a thread."""
        self.bind()
        if not self.closed:
            self._listen()
        return self

    def open(self):
        """Starts listening on an MX that was created `closed` (the port stayed reserved)."""
        assert self.closed and self._sock is not None, "open() is for a closed, started MX"
        self.closed = False
        self._listen()

    def _listen(self):
        self._sock.listen(64)
        self._accept_thread = threading.Thread(target=self._accept_loop, daemon=True,
                                               name=f"fake-mx-{self.ip}-accept")
        self._accept_thread.start()

    def stop(self, timeout=STOP_TIMEOUT):
        """Closes the listener and every open connection, and joins the threads."""
        with self._cond:
            self._stopping = True
            socks = list(self._client_socks)
        self._gate.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._sock.close()
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        deadline = time.monotonic() + timeout
        threads = ([self._accept_thread] if self._accept_thread else []) + list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def hold(self):
        """New connections wait before the greeting until release()."""
        self._gate.clear()

    def release(self):
        self._gate.set()

    # accessors (copies, taken under the lock)

    def connections(self):
        with self._cond:
            return copy.deepcopy(self._connections)

    def transactions(self):
        """Every transaction that reached DATA or was abandoned after RCPT, in order."""
        with self._cond:
            return copy.deepcopy(self._transactions)

    def messages(self):
        """Transactions whose message was accepted (250 to the end of data)."""
        return [t for t in self.transactions() if t.delivered]

    def active_connections(self):
        with self._cond:
            return self._active

    def wait_until(self, predicate, timeout, message="condition"):
        """Waits until predicate(self) is truthy (checked under the lock at every change)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                value = predicate(self)
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self}: timed out after {timeout:.1f}s waiting for "
                                         f"{message}; transcript:\n{self.transcript()}")
                self._cond.wait(min(left, 0.5))

    def wait_for_messages(self, n, timeout):
        """Waits until at least `n` messages were accepted; returns them."""
        self.wait_until(lambda mx: len([t for t in mx._transactions if t.delivered]) >= n,
                        timeout, f"{n} accepted message(s)")
        return self.messages()

    def wait_for_connections(self, n, timeout, active=False):
        """Waits until `n` connections were made (or, with active=True, are open at once)."""
        if active:
            self.wait_until(lambda mx: mx._active >= n, timeout, f"{n} simultaneous connection(s)")
        else:
            self.wait_until(lambda mx: len(mx._connections) >= n, timeout, f"{n} connection(s)")
        return self.connections()

    def transcript(self):
        """A readable summary for failure messages (call with or without the lock held)."""
        lines = []
        for c in self._connections:
            lasted = f"{c.ended_at - c.started_at:.3f}s" if c.ended_at is not None else "open"
            # Wall-clock UTC, to line up with the timestamps of stamp's log.
            began = time.time() - (time.monotonic() - c.started_at)
            began = datetime.datetime.fromtimestamp(began, datetime.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            lines.append(f"  connection {c.id} from {c.peer[0]}:{c.peer[1]} at {began}Z "
                         f"lasted={lasted} greeting={c.greeting_code} "
                         f"tls={c.tls} sni={c.sni} tls_error={c.tls_error} transactions={c.transactions} "
                         f"closed={c.closed} error={c.error}")
            for command in c.commands:
                lines.append(f"    > {command}")
        return "\n".join(lines) or "  (no connections)"

    # serving

    def _on_sni(self, ssl_sock, server_name, context):
        ssl_sock.fake_mx_sni = server_name

    def _accept_loop(self):
        while True:
            try:
                client, peer = self._sock.accept()
            except OSError:
                return  # closed by stop()
            with self._cond:
                if self._stopping:
                    client.close()
                    return
                record = Connection(id=next(self._ids), peer=peer, started_at=time.monotonic())
                self._connections.append(record)
                self._client_socks.add(client)
                self._active += 1
                self.max_concurrent = max(self.max_concurrent, self._active)
                self._cond.notify_all()
            thread = threading.Thread(target=self._serve, args=(client, record), daemon=True,
                                      name=f"fake-mx-{self.ip}-{record.id}")
            self._threads.append(thread)
            thread.start()

    def _update(self, fn):
        with self._cond:
            fn()
            self._cond.notify_all()

    def _end(self, record):
        """The connection stops counting as active: at QUIT (before the 221, so a client that
        quits and reconnects at once is never seen with two connections), else at the close.
        Call with the lock held."""
        if not record.ended:
            record.ended = True
            record.ended_at = time.monotonic()
            self._active -= 1

    def _serve(self, client, record):
        session = _Session(self, client, record)
        try:
            session.run()
        except _Closed as ended:
            self._update(lambda: setattr(record, "error", str(ended) or None))
        except (OSError, ssl.SSLError, ValueError) as error:
            self._update(lambda: setattr(record, "error", repr(error)))
        finally:
            try:
                session.sock.close()
            except OSError:
                pass

            def finish():
                # A transaction cut short by a dropped connection is still worth seeing.
                if session.transaction is not None and session.transaction.rcpts:
                    self._transactions.append(session.transaction)
                    session.transaction = None
                record.closed = True
                self._end(record)
                self._client_socks.discard(client)
                self._client_socks.discard(session.sock)
            self._update(finish)


class _Session:
    """One SMTP conversation. Reads lines from a buffer; replies to commands that were already
    buffered together are written together (that is all pipelining needs from a server)."""

    def __init__(self, server, sock, record):
        self.server = server
        self.sock = sock
        self.raw_sock = sock
        self.record = record
        self.buf = b""
        self.out = []
        self.answered_since_flush = 0
        self.greeted = False
        self.transaction = None

    # I/O

    def reply(self, code, text):
        lines = text if isinstance(text, list) else [text]
        for i, line in enumerate(lines):
            sep = " " if i == len(lines) - 1 else "-"
            self.out.append(f"{code}{sep}{line}\r\n".encode())

    def flush(self):
        if self.out:
            self.sock.sendall(b"".join(self.out))
            self.out = []
        if self.answered_since_flush > 1:
            count = self.answered_since_flush
            self.server._update(lambda: setattr(self.record, "max_pipelined",
                                                max(self.record.max_pipelined, count)))
        self.answered_since_flush = 0

    def fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise _Closed("client closed the connection")
        self.buf += chunk

    def read_line(self, flush_first=True, limit=MAX_LINE):
        """The next CRLF-terminated line (without CRLF), or None when longer than `limit`.
        Flushes pending replies before blocking for more input."""
        while b"\r\n" not in self.buf:
            if len(self.buf) > limit:
                return None
            if flush_first:
                self.flush()
            self.fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line if len(line) <= limit else None

    # conversation

    def run(self):
        server = self.server
        self.sock.settimeout(IDLE_TIMEOUT)
        server._gate.wait(HOLD_TIMEOUT)  # held too long: go on rather than hang forever
        self.server._update(lambda: setattr(self.record, "greeting_code", server.greeting))
        if server.greeting != 220:
            self.reply(server.greeting, f"4.3.2 {server.name} Service not available")
            self.flush()
            raise _Closed(f"refused at greeting with {server.greeting}")
        self.reply(220, f"{server.name} ESMTP fake_mx")
        while True:
            line = self.read_line()
            if line is None:
                self.reply(500, "5.5.2 Line too long")
                self.flush()
                raise _Closed("line too long")
            command = line.decode("utf-8", "replace")
            self.server._update(lambda: self.record.commands.append(command))
            self.answered_since_flush += 1
            verb = command.split(" ", 1)[0].upper()
            handler = getattr(self, f"do_{verb}", None)
            if handler is None:
                self.reply(500, "5.5.2 Command unrecognized")
                continue
            if handler(line) is False:
                return

    def do_EHLO(self, line):
        name = line[5:].decode("utf-8", "replace").strip()
        self._helo(name)
        lines = [self.server.name] + list(self.server.extensions)
        if self.server._tls_context is not None and not self.record.tls:
            lines.append("STARTTLS")
        self.reply(250, lines)

    def do_HELO(self, line):
        self._helo(line[5:].decode("utf-8", "replace").strip())
        self.reply(250, self.server.name)

    def _helo(self, name):
        self.greeted = True
        self.transaction = None
        self.server._update(lambda: setattr(self.record, "helo", name))

    def do_STARTTLS(self, line):
        if self.server._tls_context is None:
            self.reply(502, "5.5.1 STARTTLS not offered")
            return
        if self.record.tls:
            self.reply(503, "5.5.1 TLS already active")
            return
        self.reply(220, "2.0.0 Ready to start TLS")
        self.flush()
        # RFC 3207 4.2: anything pipelined after STARTTLS is discarded, never obeyed.
        discarded, self.buf = self.buf, b""
        self.server._update(lambda: setattr(self.record, "discarded_after_starttls", discarded))
        try:
            tls_sock = self.server._tls_context.wrap_socket(self.sock, server_side=True)
        except (ssl.SSLError, OSError) as error:
            self.server._update(lambda: setattr(self.record, "tls_error", repr(error)))
            raise _Closed(f"TLS handshake failed: {error!r}")
        self.sock = tls_sock
        cipher = tls_sock.cipher()

        def record_tls():
            self.record.tls = True
            self.record.tls_version = tls_sock.version()
            self.record.tls_cipher = cipher[0] if cipher else None
            self.record.sni = getattr(tls_sock, "fake_mx_sni", None)
            self.record.helo = None
            # wrap_socket took over the descriptor: stop() must shut down the TLS socket.
            self.server._client_socks.discard(self.raw_sock)
            self.server._client_socks.add(tls_sock)
        self.server._update(record_tls)
        self.greeted = False
        self.transaction = None

    def do_MAIL(self, line):
        m = _MAIL_RE.match(line)
        if not self.greeted:
            self.reply(503, "5.5.1 EHLO first")
        elif self.transaction is not None:
            self.reply(503, "5.5.1 Nested MAIL command")
        elif not m:
            self.reply(501, "5.5.4 Syntax: MAIL FROM:<address>")
        else:
            self.transaction = Transaction(connection=self.record.id,
                                           mail_from=m.group(1).decode("utf-8", "replace"),
                                           mail_params=m.group(2).decode("utf-8", "replace").split(),
                                           tls=self.record.tls, started_at=time.monotonic())
            self.reply(250, "2.1.0 Ok")

    def do_RCPT(self, line):
        m = _RCPT_RE.match(line)
        if self.transaction is None:
            self.reply(503, "5.5.1 MAIL first")
        elif not m:
            self.reply(501, "5.5.4 Syntax: RCPT TO:<address>")
        else:
            address = m.group(1).decode("utf-8", "replace")
            code, text = self.server.rcpt_reply(address, self.server.seen)
            params = m.group(2).decode("utf-8", "replace").split()
            self.transaction.rcpts.append(Rcpt(address, params, code, text))
            self.reply(code, text)

    def do_DATA(self, line):
        if line.strip().upper() != b"DATA":
            self.reply(501, "5.5.4 Syntax: DATA")
            return
        if self.transaction is None:
            self.reply(503, "5.5.1 MAIL first")
            return
        if not self.transaction.accepted:
            self.reply(554, "5.5.1 No valid recipients")
            self._record_transaction()
            return
        self.reply(354, "End data with <CR><LF>.<CR><LF>")
        self.flush()
        raw, data, size = [], [], 0
        while True:
            chunk = self.read_line(flush_first=False, limit=MAX_MESSAGE)
            if chunk is None:
                raise _Closed("message line longer than MAX_MESSAGE")
            if chunk == b".":
                break
            size += len(chunk) + 2
            if size <= MAX_MESSAGE:
                raw.append(chunk + b"\r\n")
                # RFC 5321 4.5.2: a leading dot was doubled by the client.
                data.append((chunk[1:] if chunk.startswith(b".") else chunk) + b"\r\n")
        if self.server.data_delay:
            time.sleep(self.server.data_delay)  # the scripted slowness of this MX, not a wait
        if size > MAX_MESSAGE:
            code, text = 552, "5.3.4 Message too big"
        else:
            code, text = 250, f"2.0.0 Ok: queued as fake{self.record.id}x{self.record.transactions + 1}"
        self.transaction.raw_data = b"".join(raw)
        self.transaction.data = b"".join(data)
        self.transaction.data_code = code
        self.transaction.finished_at = time.monotonic()
        self.reply(code, text)
        self._record_transaction(completed=True)

    def _record_transaction(self, completed=False):
        transaction, self.transaction = self.transaction, None

        def record():
            self.server._transactions.append(transaction)
            if completed:
                self.record.transactions += 1
        self.server._update(record)

    def do_RSET(self, line):
        if self.transaction is not None and self.transaction.rcpts:
            self._record_transaction()
        self.transaction = None
        self.reply(250, "2.0.0 Ok")

    def do_NOOP(self, line):
        self.reply(250, "2.0.0 Ok")

    def do_QUIT(self, line):
        if self.transaction is not None and self.transaction.rcpts:
            self._record_transaction()
        self.server._update(lambda: self.server._end(self.record))
        self.reply(221, "2.0.0 Bye")
        self.flush()
        return False


# --- a group on one port -----------------------------------------------------

class MxGroup:
    """Fake MXs on different loopback addresses sharing one port (stamp has one `mx_port`).

    add() the members, then start(): the port is picked by binding the first member to port 0,
    and the others must bind the same number; on a clash everything is released and tried again.
    Members share one SeenAddresses, so tempfail-once means once across the group.
    """

    def __init__(self):
        self.members = []
        self.port = None
        self.seen = SeenAddresses()

    def add(self, ip, name, **kwargs):
        assert self.port is None, "add members before start()"
        kwargs.setdefault("seen", self.seen)
        mx = FakeMx(ip, name, **kwargs)
        self.members.append(mx)
        return mx

    def start(self, attempts=50):
        assert self.members, "an MxGroup needs at least one member"
        for _ in range(attempts):
            socks = []
            try:
                port = 0
                for mx in self.members:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    socks.append(sock)
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    sock.bind((mx.ip, port))
                    port = sock.getsockname()[1]
            except OSError as error:
                for sock in socks:
                    sock.close()
                if error.errno != errno.EADDRINUSE:
                    raise
                continue
            for mx, sock in zip(self.members, socks):
                mx._sock = sock
                mx.start()
            self.port = port
            return self
        raise RuntimeError(f"no port free on all of {[mx.ip for mx in self.members]}")

    def stop(self):
        for mx in self.members:
            mx.stop()

    def transcript(self):
        return "\n".join(f"{mx} (max_concurrent={mx.max_concurrent}):\n{mx.transcript()}"
                         for mx in self.members)


# --- certificates ------------------------------------------------------------

def _openssl(*args, cwd):
    done = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed ({done.returncode}):\n{done.stderr}")


_EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]


def make_ca(directory, name="Stamp Test CA"):
    """A self-signed CA: returns (ca_cert_path, ca_key_path)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "ca.pem", directory / "ca.key"
    _openssl("req", "-x509", *_EC_KEY, "-keyout", str(key), "-out", str(cert), "-days", "2",
             "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory)
    return cert, key


def make_cert(directory, host, ca=None, san=None):
    """A server certificate for `host` (CN and subjectAltName DNS:host, or `san` such as
    "IP:127.0.0.1"): signed by `ca` ((cert, key) from make_ca), or self-signed when ca is None.
    Returns (cert_path, key_path)."""
    san = san or f"DNS:{host}"
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    stem = host + ("" if ca else ".selfsigned")
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    if ca is None:
        _openssl("req", "-x509", *_EC_KEY, "-keyout", str(key), "-out", str(cert), "-days", "2",
                 "-subj", f"/CN={host}", "-addext", f"subjectAltName={san}",
                 "-addext", "basicConstraints=critical,CA:FALSE", cwd=directory)
        return cert, key
    csr, ext = directory / f"{stem}.csr", directory / f"{stem}.ext"
    ext.write_text(f"subjectAltName={san}\nbasicConstraints=critical,CA:FALSE\n"
                   "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n")
    _openssl("req", "-new", *_EC_KEY, "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={host}",
             cwd=directory)
    serial = str(int(time.time() * 1000000))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
             "-set_serial", serial, "-days", "2", "-extfile", str(ext), "-out", str(cert),
             cwd=directory)
    return cert, key
