"""Shared helpers for stamp's integration tests.

Starts the real stamp-mta on loopback from a config written into a temporary
directory (every listener on port 0), reads its structured log from stderr in a
thread, and offers the pieces the tests share: a raw SMTP client for byte-exact
conversations, an smtplib client that records every reply, sandbox readers and
a polling `wait_for`. Standard library only; run by Debian's /usr/bin/python3.

Outbound delivery (`delivery: {mode: smtp}`) is tested against a real DNS server (fake_dns.py:
dnsmasq) and scripted SMTP servers (fake_mx.py); `smtp_delivery()` writes the delivery block that
points stamp-mta at them, and StampTestCase.new_dns / new_mx_group start them with cleanups.

Environment (set by ctest, see tests/CMakeLists.txt):
  STAMP_MTA         path of the stamp-mta binary
  STAMPCTL          path of the stampctl binary
  STAMP_SOURCE_DIR  repository root
  STAMP_IT_VERBOSE  if set, daemon log lines are echoed to stderr as they arrive
  STAMP_IT_KEEP     if set, temporary directories are kept (their paths are printed)
"""

import email
import email.policy
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

from fake_dns import FakeDns
from fake_mx import MxGroup

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


def stamp_bounced():
    return env_path("STAMP_BOUNCED")


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


def bare_address(value):
    """`<a@b>` -> `a@b`, so log values compare the same with or without angle brackets."""
    value = str(value)
    return value[1:-1] if value.startswith("<") and value.endswith(">") else value


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


def assert_stays(condition, seconds, interval=0.05, message=None):
    """Checks that `condition()` stays truthy for `seconds` (a bounded watch for something
    that must not happen, such as a connection beyond a limit); raises AssertionError at the
    first falsy check."""
    deadline = time.monotonic() + seconds
    while True:
        if not condition():
            what = message or getattr(condition, "__name__", "condition")
            raise AssertionError(f"{what} stopped holding within {seconds:.1f}s")
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


# --- DSNs (RFC 3464 / RFC 6522) ------------------------------------------------

class Dsn:
    """A delivery status notification parsed with the `email` package.

    message         the whole email.message.EmailMessage
    parts           its top-level MIME parts
    per_message     the first block of the message/delivery-status part (a Message)
    per_recipient   the following blocks, one per recipient (Messages)
    """

    def __init__(self, data):
        self.data = data
        self.message = email.message_from_bytes(data, policy=email.policy.default)
        self.parts = self.message.get_payload() if self.message.is_multipart() else []
        status_parts = [p for p in self.parts if p.get_content_type() == "message/delivery-status"]
        blocks = status_parts[0].get_payload() if len(status_parts) == 1 else []
        blocks = [block for block in blocks if block.keys()]  # a trailing blank line is no block
        self.per_message = blocks[0] if blocks else None
        self.per_recipient = list(blocks[1:])

    def recipient(self, address):
        """The per-recipient block whose Final-Recipient is rfc822;address (None if absent)."""
        for block in self.per_recipient:
            kind, _, value = str(block.get("Final-Recipient", "")).partition(";")
            if kind.strip().lower() == "rfc822" and value.strip().lower() == address.lower():
                return block
        return None

    def final_recipients(self):
        return sorted(str(b.get("Final-Recipient", "")).partition(";")[2].strip().lower()
                      for b in self.per_recipient)

    def part(self, content_type):
        found = [p for p in self.parts if p.get_content_type() == content_type]
        return found[0] if len(found) == 1 else None


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

    Or from an existing config file (`config_path`, e.g. a copy of conf/dev): nothing is written,
    `listener_names` are the listeners start() waits for, and `spool_dir` / `sandbox_dir` say
    where that config puts its queue and sandbox (for the readers below).
    """

    def __init__(self, root, smtp=None, strict_listener=False, log_level="info", delivery=None,
                 dns=None, config_path=None, listener_names=(), spool_dir=None, sandbox_dir=None):
        self.root = Path(root)
        self.conf_dir = Path(config_path).parent if config_path else self.root / "conf"
        self.config_path = Path(config_path) if config_path else self.conf_dir / "stamp-mta.yaml"
        self.spool_dir = Path(spool_dir) if spool_dir else self.root / "spool"
        self.sandbox_dir = Path(sandbox_dir) if sandbox_dir else self.root / "sandbox"
        self.listener_names = set(listener_names)
        self.tls_dir = self.root / "tls"
        self.smtp = smtp or {}
        self.strict_listener = strict_listener
        self.log_level = log_level
        self.delivery = delivery  # the `delivery` block; None: sandbox into ../sandbox
        self.dns = dns            # the `dns` block, e.g. {"resolver": "127.0.0.1:5353"}
        self.process = None
        self.ports = {}
        self.exit_codes = []
        self._lines = []          # every stderr line of every run, in order
        self._run_start = 0       # index in _lines where the current run begins
        self._cond = threading.Condition()
        self._reader = None
        if not config_path:
            self.write_config()

    def command(self):
        return [stamp_mta(), "--config", str(self.config_path)]

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
        if self.delivery is None:
            config["delivery"] = {"mode": "sandbox", "sandbox_directory": "../sandbox"}
        else:
            config["delivery"] = self.delivery
        if self.dns is not None:
            config["dns"] = self.dns
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
            self.command(),
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
        expected = self.listener_names or {l["name"] for l in self.listeners()}
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
        """Parsed log lines with this event whose fields equal `fields` (`rcpt` is compared
        without angle brackets, so rcpt="a@b" matches rcpt=<a@b>)."""
        def matches(parsed, key, value):
            if key == "rcpt":
                return key in parsed and bare_address(parsed[key]) == bare_address(value)
            return parsed.get(key) == str(value)
        out = []
        for line in self.lines(all_runs):
            parsed = parse_log_line(line)
            if parsed.get("event") == event and all(matches(parsed, k, v) for k, v in fields.items()):
                out.append(parsed)
        return out

    def wait_for_event(self, event, timeout=DELIVERY_TIMEOUT, count=1, all_runs=False, **fields):
        def seen():
            found = self.events(event, all_runs=all_runs, **fields)
            return found if len(found) >= count else None
        return wait_for(seen, timeout, message=f"{count} log line(s) event={event} {fields}")

    # outbound delivery

    def attempts(self, all_runs=False, **fields):
        """The `event=delivery.attempt` lines matching `fields` (queue_id=, rcpt=, status=...)."""
        return self.events("delivery.attempt", all_runs=all_runs, **fields)

    def wait_for_attempt(self, timeout=DELIVERY_TIMEOUT, count=1, **fields):
        return self.wait_for_event("delivery.attempt", timeout=timeout, count=count, **fields)

    def wait_for_done(self, queue_id, timeout=DELIVERY_TIMEOUT):
        """Waits for `event=queue.done` of this message (every recipient delivered or bounced)."""
        return self.wait_for_event("queue.done", timeout=timeout, queue_id=queue_id)[0]

    def send(self, sender, recipients, message=None, mail_options=(), rcpt_options=()):
        """Submits one message over the trusted listener; returns its queue id."""
        if message is None:
            message = (f"From: <{sender}>\r\nTo: undisclosed-recipients:;\r\n"
                       f"Subject: test message\r\n\r\nHello.\r\n").encode()
        with smtp_client(self.port("trusted")) as smtp:
            smtp.ehlo()
            return submit(smtp, sender, recipients, message, mail_options, rcpt_options)

    def stampctl(self, command, *args, check=True, timeout=60):
        """Runs `stampctl COMMAND --config CFG ARGS...` (e.g. "queue", "flush") and returns the
        CompletedProcess; with check=True the exit code must be 0."""
        argv = [stampctl(), command, "--config", str(self.config_path), *args]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        if check and done.returncode != 0:
            raise AssertionError(f"{' '.join(argv)} exited with {done.returncode}:\n"
                                 f"stdout: {done.stdout}\nstderr: {done.stderr}")
        return done

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


class BouncedProcess(MtaProcess):
    """stamp-bounced in `root`, reading the configuration of `mta` (tenants, VERP key, state
    database); one listener "bounces" on 127.0.0.1 port 0. `settings` adds or replaces top-level
    keys of its server file (accept_addresses, suppression, webhooks, ...)."""

    def __init__(self, root, mta, config_path=None, listener_names=("bounces",), **settings):
        """With `config_path` (e.g. a copy of conf/dev/stamp-bounced.yaml) nothing is written."""
        self.mta = mta
        self.settings = settings
        root = Path(root)
        (root / "conf").mkdir(parents=True, exist_ok=True)
        super().__init__(root, config_path=config_path or root / "conf" / "stamp-bounced.yaml",
                         listener_names=listener_names)
        if config_path is None:
            self.write_bounced_config()

    def command(self):
        return [stamp_bounced(), "--config", str(self.config_path)]

    def write_bounced_config(self):
        config = {
            "hostname": "bounces.stamp.test",
            "log": {"level": self.log_level},
            "mta_config": str(self.mta.config_path),
            "listeners": [{"name": "bounces", "address": "127.0.0.1:0", "tls": "none", "auth": False}],
            "accept_addresses": ["postmaster@bounces.stamp.test"],
        }
        config.update(self.settings)
        self.config_path.write_text("# written by stamp_harness.py\n" + to_yaml(config) + "\n")


# --- outbound delivery config -------------------------------------------------

OUTBOUND_HELO = "out.stamp.test"


def smtp_delivery(mx_port, retry=None, **extra):
    """A `delivery` block for mode smtp towards fake MXs on `mx_port`. Retries are fast
    (first 1s, at most 2s apart) and timeouts short, so tests finish; `retry` updates the
    retry block and `extra` adds or replaces keys (relay_host, tls, limits, domain_limits...)."""
    delivery = {
        "mode": "smtp",
        "helo_name": OUTBOUND_HELO,
        "mx_port": mx_port,
        "retry": {"first_delay": "1s", "max_delay": "2s", "max_queue_lifetime": "1d"},
        "timeouts": {"connect": "5s", "greeting": "30s", "command": "30s", "data_init": "30s",
                     "data_block": "30s", "data_done": "30s"},
    }
    delivery["retry"].update(retry or {})
    delivery.update(extra)
    return delivery


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
        # Short: stamp-mta's control socket lives under it, and a UNIX socket path must fit
        # in 108 bytes.
        self.tmp = Path(tempfile.mkdtemp(prefix=f"stamp-it-{self._testMethodName[5:25]}-"))
        if os.environ.get("STAMP_IT_KEEP"):
            print(f"\n[{self.id()}] temporary directory kept: {self.tmp}", file=sys.stderr)
        else:
            self.addCleanup(shutil.rmtree, self.tmp, True)
        self.mtas = []
        self.dns_servers = []
        self.mx_groups = []
        self.addCleanup(close_open_clients)

    def new_mta(self, name="mta", start=True, **kwargs):
        mta = MtaProcess(self.tmp / name, **kwargs)
        self.mtas.append(mta)
        self.addCleanup(mta.cleanup)
        self.addCleanup(close_open_clients)  # cleanups run last-in first-out: clients go first
        if start:
            mta.start()
        return mta

    def new_bounced(self, mta, name="bounced", start=True, **settings):
        """stamp-bounced for `mta`'s configuration (see BouncedProcess); stopped at cleanup."""
        bounced = BouncedProcess(self.tmp / name, mta, **settings)
        self.mtas.append(bounced)
        self.addCleanup(bounced.cleanup)
        if start:
            bounced.start()
        return bounced

    def new_dns(self, name="dns", **records):
        """Starts dnsmasq (fake_dns.FakeDns) with `records` (mx=, a=, null_mx=, ...); stopped at
        cleanup, after the daemons (cleanups run last-in first-out)."""
        dns = FakeDns(self.tmp / name, **records)
        self.dns_servers.append(dns)
        self.addCleanup(dns.stop)
        dns.start()
        return dns

    def new_mx_group(self):
        """An empty fake_mx.MxGroup: add() members, then start(). Stopped at cleanup."""
        group = MxGroup()
        self.mx_groups.append(group)
        self.addCleanup(group.stop)
        return group

    def new_outbound_mta(self, group, dns, name="mta", start=True, smtp=None, retry=None,
                         **delivery):
        """stamp-mta delivering over SMTP to the fake MXs of `group` (their port is mx_port),
        resolving through `dns`. Start the group and the DNS server first."""
        assert group.port, "start the MX group before the MTA"
        return self.new_mta(name, start=start, smtp=smtp,
                            delivery=smtp_delivery(group.port, retry=retry, **delivery),
                            dns={"resolver": dns.address})

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
                for group in self.mx_groups:
                    print(f"\n----- fake MXs (port {group.port}) -----\n{group.transcript()}\n"
                          f"----- end of fake MXs -----", file=sys.stderr, flush=True)
                for dns in self.dns_servers:
                    print(f"\n----- dnsmasq ({dns.address}) -----\n{dns.log_text()}"
                          f"----- end of dnsmasq -----", file=sys.stderr, flush=True)

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


class OutboundTestCase(StampTestCase):
    """Assertions shared by the outbound delivery tests (test_outbound_*.py)."""

    def relay_of(self, mx):
        """How stamp names an MX in `relay=`: host[ip]:port."""
        return f"{mx.name}[{mx.ip}]:{mx.port}"

    def delivered_to(self, mx):
        """Every recipient address the fake MX accepted in a completed transaction."""
        return [address for t in mx.messages() for address in t.accepted]

    def assertAttempt(self, entry, **expected):
        """The `delivery.attempt` log entry has these field values (compared as strings)."""
        actual = {key: entry.get(key) for key in expected}
        if actual.get("rcpt"):
            actual["rcpt"] = bare_address(actual["rcpt"])
        self.assertEqual(actual, {k: str(v) for k, v in expected.items()}, f"attempt {entry}")

    def only_attempt(self, mta, queue_id, rcpt, status):
        """The single attempt with this outcome for rcpt, and no other final outcome for it."""
        found = mta.attempts(queue_id=queue_id, rcpt=rcpt, status=status)
        self.assertEqual(len(found), 1, f"{status} attempts for {rcpt}: {found}")
        other = {"delivered", "bounced"} - {status}
        self.assertEqual([a for a in mta.attempts(queue_id=queue_id, rcpt=rcpt) if a.get("status") in other],
                         [], f"{rcpt} also had another final outcome")
        return found[0]

    def wait_for_dsn(self, sender_mx, count=1, timeout=DELIVERY_TIMEOUT):
        """The DSNs the sender's MX received (null sender), parsed."""
        messages = sender_mx.wait_for_messages(count, timeout)
        for message in messages:
            self.assertEqual(message.mail_from, "", "a DSN must be sent with MAIL FROM:<>")
        return [Dsn(message.data) for message in messages]
