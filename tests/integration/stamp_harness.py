"""Shared helpers for stamp's integration tests.

Starts the real stamp-mta on loopback from a config written into a temporary
directory (every listener on port 0), reads its structured log from stderr in a
thread, and offers the pieces the tests share: a raw SMTP client for byte-exact
conversations, an smtplib client that records every reply, sandbox readers and
a polling `wait_for`. Standard library only; run by Debian's /usr/bin/python3.

Environment (set by ctest, see tests/CMakeLists.txt):
  STAMP_MTA         path of the stamp-mta binary
  STAMPCTL          path of the stampctl binary
  STAMP_SOURCE_DIR  repository root
  STAMP_IT_VERBOSE  if set, daemon log lines are echoed to stderr as they arrive
  STAMP_IT_KEEP     if set, temporary directories are kept (their paths are printed)
"""

import functools
import json
import os
import re
import shutil
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path

HOSTNAME = "stamp.test"
TENANT = "acme"
USERNAME = "acme-app"
PASSWORD = "correct horse battery staple"
CLIENT_NAME = "client.example"

QUEUED_RE = re.compile(r"^2\.0\.0 Ok: queued as ([0-9A-Fa-f]{16})$")
ENHANCED_RE = re.compile(r"^([245])\.(\d{1,3})\.(\d{1,3})(?: |$)")

# Generous: the suite shares two cores with other builds and test runs.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
DELIVERY_TIMEOUT = 30.0
IO_TIMEOUT = 15.0


def env_path(name):
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set; run the integration tests through ctest")
    return value


def stamp_mta():
    return env_path("STAMP_MTA")


def stampctl():
    return env_path("STAMPCTL")


def source_dir():
    return Path(env_path("STAMP_SOURCE_DIR"))


@functools.lru_cache(maxsize=None)
def password_hash():
    """The scrypt hash of PASSWORD, made once per test process by `stampctl passwd --stdin`."""
    done = subprocess.run([stampctl(), "passwd", "--stdin"], input=PASSWORD + "\n",
                          capture_output=True, text=True, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"stampctl passwd failed ({done.returncode}): {done.stderr}")
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    if len(lines) != 1 or not lines[0].startswith("$"):
        raise RuntimeError(f"unexpected stampctl passwd output: {done.stdout!r}")
    return lines[0]


def wait_for(condition, timeout, interval=0.02, message=None):
    """Polls `condition()` until it returns something truthy, and returns that.

    Raises AssertionError after `timeout` seconds. No fixed sleeps: the only
    sleeping is the short poll interval between checks.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            what = message or getattr(condition, "__name__", "condition")
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


# --- YAML (the subset the configs need) --------------------------------------

def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Path):
        value = str(value)
    # A JSON string is a valid YAML double-quoted scalar.
    return json.dumps(value)


def to_yaml(value, indent=0):
    pad = " " * indent
    out = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, (dict, list)) and item:
                out.append(f"{pad}{key}:")
                out.append(to_yaml(item, indent + 2))
            else:
                out.append(f"{pad}{key}: {_yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict):
                body = to_yaml(item, indent + 2).split("\n")
                out.append(f"{pad}- {body[0].lstrip()}")
                out.extend(body[1:])
            else:
                out.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        out.append(pad + _yaml_scalar(value))
    return "\n".join(out)


# --- log lines ---------------------------------------------------------------

_KV_RE = re.compile(r'([A-Za-z_][\w.]*)=("(?:[^"\\]|\\.)*"|\S*)')


def parse_log_line(line):
    """`level=info event=x key=value key="quoted value"` -> dict (timestamp prefix ignored)."""
    fields = {}
    for key, value in _KV_RE.findall(line):
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r'\\(.)', lambda m: {"n": "\n", "r": "\r", "t": "\t"}.get(m.group(1), m.group(1)),
                           value[1:-1])
        fields.setdefault(key, value)
    return fields


# --- the daemon --------------------------------------------------------------

class MtaProcess:
    """One stamp-mta configuration in `root`, started and restarted on the same directories.

    Listeners (all 127.0.0.1, port 0):
      submission  STARTTLS + AUTH PLAIN/LOGIN, self-signed certificate
      trusted     plain, no AUTH, 127.0.0.1/32 submits as tenant TENANT
      strict      like trusted but `bare_lf: reject` (only with strict_listener=True)
    """

    def __init__(self, root, smtp=None, strict_listener=False, log_level="info"):
        self.root = Path(root)
        self.conf_dir = self.root / "conf"
        self.config_path = self.conf_dir / "stamp-mta.yaml"
        self.spool_dir = self.root / "spool"
        self.sandbox_dir = self.root / "sandbox"
        self.tls_dir = self.root / "tls"
        self.smtp = smtp or {}
        self.strict_listener = strict_listener
        self.log_level = log_level
        self.process = None
        self.ports = {}
        self.exit_codes = []
        self._lines = []          # every stderr line of every run, in order
        self._run_start = 0       # index in _lines where the current run begins
        self._cond = threading.Condition()
        self._reader = None
        self.write_config()

    # config

    def listeners(self):
        trusted = [{"network": "127.0.0.1/32", "tenant": TENANT}]
        items = [
            {"name": "submission", "address": "127.0.0.1:0", "tls": "starttls", "auth": True},
            {"name": "trusted", "address": "127.0.0.1:0", "tls": "none", "auth": False,
             "trusted_networks": trusted},
        ]
        if self.strict_listener:
            items.append({"name": "strict", "address": "127.0.0.1:0", "tls": "none", "auth": False,
                          "bare_lf": "reject", "trusted_networks": trusted})
        return items

    def write_config(self):
        (self.conf_dir / "tenants.d").mkdir(parents=True, exist_ok=True)
        config = {
            "hostname": HOSTNAME,
            "log": {"level": self.log_level},
            "tls": {"certificate": "../tls/cert.pem", "private_key": "../tls/key.pem",
                    "create_self_signed": True},
            "listeners": self.listeners(),
        }
        if self.smtp:
            config["smtp"] = self.smtp
        config["queue"] = {"directory": "../spool"}
        config["delivery"] = {"mode": "sandbox", "sandbox_directory": "../sandbox"}
        self.config_path.write_text("# written by stamp_harness.py\n" + to_yaml(config) + "\n")
        tenant = {"smtp_users": [{"username": USERNAME, "password_hash": password_hash()}]}
        (self.conf_dir / "tenants.d" / f"{TENANT}.yaml").write_text(to_yaml(tenant) + "\n")

    # process control

    @property
    def pid(self):
        return self.process.pid if self.process else None

    def running(self):
        return self.process is not None and self.process.poll() is None

    def start(self, timeout=START_TIMEOUT):
        assert not self.running(), "stamp-mta is already running"
        with self._cond:
            self._run_start = len(self._lines)
        self.ports = {}
        self.process = subprocess.Popen(
            [stamp_mta(), "--config", str(self.config_path)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._reader = threading.Thread(target=self._read_stderr, args=(self.process,),
                                        name=f"stamp-mta-{self.process.pid}-stderr", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                if any(parse_log_line(l).get("event") == "ready" for l in self._lines[self._run_start:]):
                    break
                if self.process.poll() is not None:
                    raise AssertionError(f"stamp-mta exited with {self.process.returncode} before "
                                         f"event=ready:\n{self.log_text()}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"stamp-mta not ready after {timeout}s:\n{self.log_text()}")
                self._cond.wait(min(left, 0.2))
            for line in self._lines[self._run_start:]:
                fields = parse_log_line(line)
                if fields.get("event") == "listening":
                    self.ports[fields["listener"]] = int(fields["address"].rsplit(":", 1)[1])
        expected = {l["name"] for l in self.listeners()}
        if set(self.ports) != expected:
            raise AssertionError(f"listening lines for {sorted(self.ports)}, expected {sorted(expected)}")
        return self

    def _read_stderr(self, process):
        verbose = bool(os.environ.get("STAMP_IT_VERBOSE"))
        for raw in process.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if verbose:
                print(f"[mta {process.pid}] {line}", file=sys.stderr, flush=True)
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        process.stderr.close()
        with self._cond:
            self._cond.notify_all()

    def port(self, listener):
        return self.ports[listener]

    def signal(self, signum):
        assert self.running(), "stamp-mta is not running"
        os.kill(self.process.pid, signum)

    def wait_exit(self, timeout=STOP_TIMEOUT):
        """Waits for the process to exit and returns its exit code (killing it after `timeout`)."""
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            self._reader.join(5)
            raise AssertionError(f"stamp-mta (pid {self.process.pid}) did not exit within {timeout}s; "
                                 f"killed it:\n{self.log_text()}")
        self._reader.join(5)
        self.exit_codes.append(code)
        return code

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, wait, and require exit code 0."""
        self.signal(signal.SIGTERM)
        code = self.wait_exit(timeout)
        if code != 0:
            raise AssertionError(f"stamp-mta exited with {code} after SIGTERM, expected 0:\n{self.log_text()}")
        return code

    def kill9(self):
        self.signal(signal.SIGKILL)
        self.process.wait(timeout=STOP_TIMEOUT)
        self._reader.join(5)
        self.exit_codes.append(self.process.returncode)

    def restart(self, timeout=START_TIMEOUT):
        """Starts again with the same config, spool and sandbox (new ports)."""
        if self.running():
            self.stop()
        return self.start(timeout)

    def cleanup(self):
        """For tearDown: stop by PID if still running; the exit code must be 0."""
        if not self.running():
            return
        os.kill(self.process.pid, signal.SIGTERM)
        code = self.wait_exit(STOP_TIMEOUT)
        if code != 0:
            raise AssertionError(f"stamp-mta exited with {code} at cleanup, expected 0")

    # log

    def lines(self, all_runs=False):
        with self._cond:
            return list(self._lines if all_runs else self._lines[self._run_start:])

    def log_text(self):
        return "\n".join(self.lines(all_runs=True))

    def events(self, event, all_runs=False, **fields):
        out = []
        for line in self.lines(all_runs):
            parsed = parse_log_line(line)
            if parsed.get("event") == event and all(parsed.get(k) == str(v) for k, v in fields.items()):
                out.append(parsed)
        return out

    def wait_for_event(self, event, timeout=DELIVERY_TIMEOUT, count=1, **fields):
        def seen():
            found = self.events(event, **fields)
            return found if len(found) >= count else None
        return wait_for(seen, timeout, message=f"{count} log line(s) event={event} {fields}")

    # sandbox

    def eml_path(self, queue_id, index=0):
        return self.sandbox_dir / f"{queue_id}-{index}.eml"

    def json_path(self, queue_id, index=0):
        return self.sandbox_dir / f"{queue_id}-{index}.json"

    def read_eml(self, queue_id, index=0):
        return self.eml_path(queue_id, index).read_bytes()

    def read_envelope(self, queue_id, index=0):
        return json.loads(self.json_path(queue_id, index).read_text())

    def sandbox_files(self, suffix=None):
        if not self.sandbox_dir.is_dir():
            return []
        return sorted(p.name for p in self.sandbox_dir.iterdir()
                      if suffix is None or p.name.endswith(suffix))

    def queue_files(self):
        queue = self.spool_dir / "queue"
        return sorted(p.name for p in queue.iterdir()) if queue.is_dir() else []

    def wait_for_delivery(self, queue_id, recipients=1, timeout=DELIVERY_TIMEOUT):
        """Waits until the sandbox holds <id>-0..<id>-(n-1).eml and returns their contents."""
        wait_for(lambda: all(self.eml_path(queue_id, i).exists() for i in range(recipients)),
                 timeout, message=f"{recipients} sandbox file(s) for {queue_id}")
        return [self.read_eml(queue_id, i) for i in range(recipients)]


# --- clients -----------------------------------------------------------------

def client_tls_context():
    """TLS for talking to the daemon's self-signed certificate (made with a CN only, no
    subjectAltName), so it is not verified: these tests need the encryption, not the identity."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Reply:
    def __init__(self, code, lines):
        self.code = code
        self.lines = lines  # text after "NNN-" / "NNN "

    @property
    def text(self):
        return "\n".join(self.lines)

    @property
    def enhanced(self):
        m = ENHANCED_RE.match(self.lines[0]) if self.lines else None
        return m.group(0).strip() if m else None

    def __repr__(self):
        return f"Reply({self.code}, {self.lines!r})"


# Clients a test opened, closed at its cleanup even when an assertion cut the test short.
_open_clients = []


def close_open_clients():
    while _open_clients:
        client = _open_clients.pop()
        try:
            client.close()
        except OSError:
            pass


class RawSmtp:
    """A byte-exact SMTP client over a plain socket (optionally upgraded to TLS)."""

    def __init__(self, port, timeout=IO_TIMEOUT, read_greeting=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        _open_clients.append(self)
        self.buf = b""
        self.greeting = self.read_reply() if read_greeting else None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed by the server")
        self.buf += chunk

    def read_line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read_reply(self):
        lines = []
        while True:
            line = self.read_line().decode("utf-8", "replace")
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise AssertionError(f"malformed reply line {line!r}")
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), lines)

    def cmd(self, line):
        if isinstance(line, str):
            line = line.encode()
        self.send(line + b"\r\n")
        return self.read_reply()

    def starttls(self, context=None):
        """After a 220 to STARTTLS: the TLS handshake. Nothing may be buffered."""
        assert self.buf == b"", f"bytes after the 220 to STARTTLS: {self.buf!r}"
        self.sock = (context or client_tls_context()).wrap_socket(self.sock, server_hostname=HOSTNAME)

    def read_until_closed(self):
        """Everything the server still sends until it closes the connection."""
        data = self.buf
        self.buf = b""
        while True:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                return data
            if not chunk:
                return data
            data += chunk

    def expect_closed(self):
        rest = self.read_until_closed()
        assert rest == b"", f"expected the server to close the connection, got {rest!r}"

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class RecordingSMTP(smtplib.SMTP):
    """smtplib.SMTP that keeps every reply as (code, message bytes)."""

    def __init__(self, *args, **kwargs):
        self.replies = []
        kwargs.setdefault("local_hostname", CLIENT_NAME)
        kwargs.setdefault("timeout", IO_TIMEOUT)
        _open_clients.append(self)
        super().__init__(*args, **kwargs)

    def getreply(self):
        code, message = super().getreply()
        self.replies.append((code, message))
        return code, message


def smtp_client(port):
    return RecordingSMTP("127.0.0.1", port)


def queue_id_of(reply_text):
    if isinstance(reply_text, bytes):
        reply_text = reply_text.decode()
    m = QUEUED_RE.match(reply_text)
    if not m:
        raise AssertionError(f"not a queued reply: {reply_text!r}")
    return m.group(1)


def submit(smtp, sender, recipients, message, mail_options=(), rcpt_options=()):
    """MAIL, RCPT..., DATA with smtplib (which dot-stuffs); returns the queue id from the 250."""
    code, text = smtp.mail(sender, list(mail_options))
    assert code == 250, f"MAIL FROM: {code} {text!r}"
    for rcpt in recipients:
        code, text = smtp.rcpt(rcpt, list(rcpt_options))
        assert code == 250, f"RCPT TO:<{rcpt}>: {code} {text!r}"
    code, text = smtp.data(message)
    assert code == 250, f"end of data: {code} {text!r}"
    return queue_id_of(text)


def split_received(eml):
    """Splits a sandbox .eml into (the prepended Received field, the rest)."""
    assert eml.startswith(b"Received: "), f"does not start with Received: {eml[:80]!r}"
    end = 0
    while True:
        end = eml.index(b"\r\n", end) + 2
        if eml[end:end + 1] not in (b" ", b"\t"):
            return eml[:end], eml[end:]


def has_bare_lf(data):
    return re.search(rb"(?<!\r)\n", data) is not None


# --- test case base ----------------------------------------------------------

class StampTestCase(unittest.TestCase):
    """Gives each test its own temporary directory, stops every daemon it started by PID,
    and prints the daemons' log lines when the test fails."""

    def setUp(self):
        super().setUp()
        self.tmp = Path(tempfile.mkdtemp(prefix=f"stamp-it-{self._testMethodName}-"))
        if os.environ.get("STAMP_IT_KEEP"):
            print(f"\n[{self.id()}] temporary directory kept: {self.tmp}", file=sys.stderr)
        else:
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.mtas = []
        self.addCleanup(close_open_clients)

    def new_mta(self, name="mta", start=True, **kwargs):
        mta = MtaProcess(self.tmp / name, **kwargs)
        self.mtas.append(mta)
        self.addCleanup(mta.cleanup)
        self.addCleanup(close_open_clients)  # cleanups run last-in first-out: clients go first
        if start:
            mta.start()
        return mta

    def run(self, result=None):
        if result is None:
            return super().run(result)
        before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > before:
                for mta in self.mtas:
                    print(f"\n----- stamp-mta log ({mta.root}) for {self.id()} -----\n{mta.log_text()}\n"
                          f"----- end of log -----", file=sys.stderr, flush=True)

    # assertions shared by the tests

    def assertEnhanced(self, code, message, context=""):
        """Every line of a reply starts with an enhanced status code of the reply's class."""
        text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
        for line in text.split("\n"):
            m = ENHANCED_RE.match(line)
            self.assertIsNotNone(m, f"{context}reply {code} {line!r} has no enhanced status code")
            self.assertEqual(m.group(1), str(code)[0], f"{context}reply {code} {line!r}: class mismatch")

    def assertReply(self, reply, code, enhanced=None):
        self.assertEqual(reply.code, code, f"unexpected reply {reply}")
        if enhanced is not None:
            self.assertEqual(reply.enhanced, enhanced, f"unexpected reply {reply}")
