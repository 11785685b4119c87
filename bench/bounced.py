#!/usr/bin/python3
"""stamp-bounced's intake: N distinct RFC 3464 reports over C concurrent SMTP sessions, each
classified and committed (synchronous=FULL) before its 250. Prints reports/s and the daemon's CPU.

    bench/bounced.py STAMP_BOUNCED [N] [C]

The daemon runs from a temporary directory: a stamp-mta configuration it reads (one tenant, a
sandbox it never uses), one listener on 127.0.0.1:0, reports addressed to postmaster (accepted
without a VERP token). Clients are processes (one per session), so Python is not the limit."""

import multiprocessing
import os
import re
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def report(i):
    b = f"b{i}"
    return (f"From: MAILER-DAEMON@mx{i % 50}.example.net\r\nTo: postmaster@bench.stamp.test\r\n"
            f"Subject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"\r\n\r\n"
            f"--{b}\r\nContent-Type: text/plain\r\n\r\nDelivery to user{i}@example.net failed permanently.\r\n"
            f"--{b}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n\r\n"
            f"Final-Recipient: rfc822; user{i}@example.net\r\nAction: failed\r\nStatus: 5.1.1\r\n"
            f"Diagnostic-Code: smtp; 550 5.1.1 <user{i}@example.net>: Recipient address rejected: "
            f"User unknown in virtual mailbox table\r\n\r\n"
            f"--{b}\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: app@bench.test\r\n"
            f"To: user{i}@example.net\r\nSubject: hello {i}\r\nMessage-ID: <{i}@bench.test>\r\n\r\n--{b}--\r\n").encode()


def session(args):
    port, first, count = args
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("mx.example.net")
        for i in range(first, first + count):
            smtp.sendmail("", ["postmaster@bench.stamp.test"], report(i))
    return count


def cpu_seconds(pid):
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    binary = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    c = int(sys.argv[3]) if len(sys.argv) > 3 else 8
    tmp = Path(tempfile.mkdtemp(prefix="stamp-bench-bounced-"))
    (tmp / "tenants.d").mkdir()
    (tmp / "tenants.d" / "bench.yaml").write_text("smtp_users: []\n")
    (tmp / "stamp-mta.yaml").write_text(
        "hostname: bench.stamp.test\nlisteners:\n  - name: l\n    address: 127.0.0.1:0\n    tls: none\n"
        "    auth: false\nqueue:\n  directory: spool\ndelivery:\n  mode: sandbox\n  sandbox_directory: sandbox\n")
    (tmp / "stamp-bounced.yaml").write_text(
        "hostname: bench.stamp.test\nlog:\n  level: info\nmta_config: stamp-mta.yaml\n"
        "listeners:\n  - name: bounces\n    address: 127.0.0.1:0\n    tls: none\n    auth: false\n"
        "accept_addresses: [postmaster@bench.stamp.test]\nsmtp:\n  max_messages_per_connection: 1000000\n")
    (tmp / "spool").mkdir()
    log = open(tmp / "bounced.log", "w")
    daemon = subprocess.Popen([binary, "--config", str(tmp / "stamp-bounced.yaml")], stderr=log)
    port = None
    deadline = time.monotonic() + 30
    while port is None and time.monotonic() < deadline:
        m = re.search(r"event=listening .*address=127\.0\.0\.1:(\d+)", (tmp / "bounced.log").read_text())
        port = int(m.group(1)) if m else None
        time.sleep(0.05)
    if port is None:
        sys.exit("stamp-bounced did not start:\n" + (tmp / "bounced.log").read_text())
    per = n // c
    cpu_before = cpu_seconds(daemon.pid)
    start = time.monotonic()
    with multiprocessing.Pool(c) as pool:
        sent = sum(pool.map(session, [(port, k * per, per) for k in range(c)]))
    elapsed = time.monotonic() - start
    cpu = cpu_seconds(daemon.pid) - cpu_before
    daemon.terminate()
    daemon.wait(30)
    stored = subprocess.run(["sqlite3", str(tmp / "spool" / "state.db"), "SELECT count(*) FROM bounce"],
                            capture_output=True, text=True).stdout.strip()
    print(f"reports: {sent} over {c} sessions in {elapsed:.2f} s = {sent / elapsed:.0f} reports/s; "
          f"stored bounce rows: {stored}; stamp-bounced CPU {cpu:.2f} s ({1000 * cpu / sent:.2f} ms/report)")


if __name__ == "__main__":
    main()
