"""stamp-bounced end to end, with the real daemons on loopback: stamp-mta delivering to fake MXs
found through dnsmasq, handing its own DSNs to stamp-bounced (delivery.bounce_handoff), and a real
HTTPS webhook receiver (webhook_receiver.py, certificate from a test CA).

Proves: a 550 from the recipient's server becomes a HardBounce webhook (Postmark's fields, a
valid HMAC signature) and a suppression that stamp-mta's RCPT check then enforces; forged and
unknown addresses are refused; a complaint (ARF) and soft bounces in a row suppress too; the same
report twice changes nothing; a receiver answering 500 gets the event again; webhooks pending
over a restart are delivered, none lost; corpus reports are accepted and classified over SMTP."""

import hashlib
import hmac
import json
import os
import smtplib
import socket
import sqlite3
import subprocess
import sys
import time
import unittest
from pathlib import Path

from fake_mx import make_ca, make_cert
from stamp_harness import (TENANT, OutboundTestCase, smtp_client, source_dir, submit, wait_for)

SECRET = "whsec-test-0123456789"
DOMAIN = "acme.test"
RETURN_PATH = "pm-bounces.acme.test"
CORPUS = Path(os.environ.get("STAMP_SOURCE_DIR", ".")).resolve().parent / "shared" / "corpus" / "bounces" / "dev"
WEBHOOK_TIMEOUT = 30.0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookReceiver:
    """webhook_receiver.py as a subprocess: HTTPS on 127.0.0.1, requests recorded as JSON lines."""

    def __init__(self, directory, cert, statuses="200", port=0):
        self.record = Path(directory) / "webhooks.jsonl"
        self.record.touch()
        script = Path(__file__).with_name("webhook_receiver.py")
        self.process = subprocess.Popen(
            [sys.executable, str(script), "--record", str(self.record), "--cert", str(cert[0]),
             "--key", str(cert[1]), "--statuses", statuses, "--port", str(port), "--exit-on-stdin-eof"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline().split()
        assert line and line[0] == "PORT", f"webhook receiver did not start: {line}"
        self.port = int(line[1])

    def url(self, path="/hooks"):
        return f"https://127.0.0.1:{self.port}{path}"

    def requests(self):
        """In the order the receiver numbered them (concurrent requests may be written out of order)."""
        lines = [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]
        return sorted(lines, key=lambda r: r["seq"])

    def wait(self, count, timeout=WEBHOOK_TIMEOUT, **body_fields):
        def matching():
            found = []
            for r in self.requests():
                body = json.loads(r["body"])
                if all(body.get(k) == v for k, v in body_fields.items()):
                    found.append((r, body))
            return found
        wait_for(lambda: len(matching()) >= count, timeout, message=f"{count} webhooks with {body_fields}")
        return matching()

    def stop(self):
        self.process.stdout.close()
        if self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def tenant_yaml(key_file, webhook_url):
    hooks = "".join(f"  - event: {event}\n    url: \"{webhook_url}\"\n    secret: \"{SECRET}\"\n"
                    for event in ("Bounce", "SpamComplaint", "SubscriptionChange", "Delivery"))
    return (f"smtp_users: []\n"
            f"domains:\n  - name: {DOMAIN}\n    return_path: {RETURN_PATH}\n"
            f"    dkim:\n      selector: s1\n      key_file: {key_file}\n"
            f"webhooks:\n{hooks}")


class BouncedTest(OutboundTestCase):
    def setUp(self):
        super().setUp()
        certs = self.tmp / "certs"
        self.ca = make_ca(certs / "ca")
        self.web_cert = make_cert(certs, "webhooks", self.ca, san="IP:127.0.0.1")
        group = self.group = self.new_mx_group()
        self.dest = group.add("127.0.0.2", "mx.dest.test")
        group.start()
        self.dns = self.new_dns(mx=[("dest.test", "mx.dest.test", 10)], a=[("mx.dest.test", "127.0.0.2")])
        self.key = self.tmp / "acme.pem"
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", str(self.key)], check=True, capture_output=True, timeout=60)
        self.receivers = []

    def start_receiver(self, statuses="200", port=0):
        receiver = WebhookReceiver(self.tmp, self.web_cert, statuses, port)
        self.receivers.append(receiver)
        self.addCleanup(receiver.stop)
        return receiver

    def start_daemons(self, webhook_url, allow_private=True, **bounced_settings):
        """stamp-bounced first (its port goes into stamp-mta's bounce_handoff), then stamp-mta."""
        self.mta = self.new_outbound_mta(self.group, self.dns, start=False)
        base = self.mta.config_path.read_text()
        operator = ("operator:\n  domain: vendor.test\n  from_address: notify@vendor.test\n"
                    "  bounce_domain: pm-bounces.vendor.test\n  require_verified_domains: false\n")
        self.mta.config_path.write_text(base + operator)
        (self.mta.conf_dir / "tenants.d" / "acme.yaml").write_text(
            (self.mta.conf_dir / "tenants.d" / "acme.yaml").read_text().replace("smtp_users", "smtp_users", 1)
            + tenant_yaml(self.key, webhook_url).replace("smtp_users: []\n", ""))
        settings = {"webhooks": {"first_retry_delay": "1s", "max_retry_delay": "2s", "ca_file": str(self.ca[0]),
                                 "allow_private_addresses": allow_private}}
        settings.update(bounced_settings)
        self.bounced = self.new_bounced(self.mta, **settings)
        self.mta.config_path.write_text(
            self.mta.config_path.read_text().replace(
                "delivery:\n", f"delivery:\n  bounce_handoff: 127.0.0.1:{self.bounced.port('bounces')}\n", 1))
        self.mta.start()

    def send(self, rcpt, tag="welcome"):
        message = (f"From: Ann <ann@{DOMAIN}>\r\nTo: <{rcpt}>\r\nSubject: Welcome aboard\r\n"
                   f"X-Stamp-Tag: {tag}\r\nX-Stamp-Metadata-user-id: 42\r\n\r\nHello.\r\n").encode()
        with smtp_client(self.mta.port("trusted")) as smtp:
            smtp.ehlo()
            return submit(smtp, f"app@{DOMAIN}", [rcpt], message)

    def verp_address_of(self, rcpt):
        """Delivers one message to `rcpt` (250 at the fake MX) and returns the VERP MAIL FROM used."""
        queue_id = self.send(rcpt)
        self.mta.wait_for_done(queue_id)
        for t in self.dest.transactions():
            if rcpt in t.accepted:
                return queue_id, t.mail_from
        self.fail(f"no transaction for {rcpt}")

    def report_to(self, address, text, sender=""):
        with smtplib.SMTP("127.0.0.1", self.bounced.port("bounces"), timeout=30) as smtp:
            code, reply = smtp.ehlo("mx.dest.test")
            smtp.mail(sender)
            code, reply = smtp.rcpt(address)
            if code != 250:
                return code, reply.decode()
            code, reply = smtp.data(text.encode() if isinstance(text, str) else text)
            return code, reply.decode()

    def rcpt_reply(self, rcpt):
        with smtp_client(self.mta.port("trusted")) as smtp:
            smtp.ehlo()
            smtp.mail(f"app@{DOMAIN}")
            return smtp.rcpt(rcpt)

    def assertSigned(self, request):
        header = request["headers"]["x-stamp-signature"]
        fields = dict(part.split("=", 1) for part in header.split(","))
        body = bytes.fromhex(request["body_hex"])
        expected = hmac.new(SECRET.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
        self.assertTrue(hmac.compare_digest(fields["v1"], expected), f"bad signature {header}")
        self.assertLess(abs(int(fields["t"]) - time.time()), 600)

    def suppressions(self):
        with sqlite3.connect(self.mta.spool_dir / "state.db") as db:
            return db.execute("SELECT email, reason, origin FROM suppressions ORDER BY email").fetchall()

    # the "done when"

    def test_a_550_becomes_a_hard_bounce_webhook_and_a_suppression_enforced_at_rcpt(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        queue_id = self.send("permfail-bob@dest.test")
        (request, body), = receiver.wait(1, RecordType="Bounce")
        self.assertSigned(request)
        self.assertEqual(request["headers"]["content-type"], "application/json")
        self.assertEqual(body["Type"], "HardBounce")
        self.assertEqual(body["TypeCode"], 1)
        self.assertEqual(body["Email"], "permfail-bob@dest.test")
        self.assertEqual(body["MessageStream"], "outbound")
        self.assertEqual(body["Tag"], "welcome")
        self.assertEqual(body["Metadata"], {"user-id": "42"})
        self.assertEqual(body["Subject"], "Welcome aboard")
        self.assertTrue(body["MessageID"], body)
        self.assertTrue(body["Inactive"])
        self.assertTrue(body["CanActivate"])
        self.assertIn("5.1.1", body["Details"])
        (change_request, change), = receiver.wait(1, RecordType="SubscriptionChange")
        self.assertSigned(change_request)
        self.assertEqual((change["Recipient"], change["SuppressionReason"], change["SuppressSending"]),
                         ("permfail-bob@dest.test", "HardBounce", True))
        self.assertEqual(self.suppressions(), [("permfail-bob@dest.test", "HardBounce", "Recipient")])
        code, reply = self.rcpt_reply("permfail-bob@dest.test")
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", reply)
        self.assertEqual(self.rcpt_reply("someone-else@dest.test")[0], 250)
        event = self.bounced.wait_for_event("bounce.received", rcpt="permfail-bob@dest.test")[0]
        self.assertEqual((event["class"], event["queue_id"]), ("hard", queue_id))
        # Stored, and found again by address.
        listed = json.loads(self.mta.stampctl("bounces", "list", "Permfail-Bob@dest.test", "--json").stdout)
        self.assertEqual([(b["email"], b["class"], b["type"], b["queue_id"]) for b in listed],
                         [("permfail-bob@dest.test", "hard", "HardBounce", queue_id)])
        shown = self.mta.stampctl("bounces", "show", str(listed[0]["id"])).stdout
        self.assertIn("message/delivery-status", shown)

    # receiving

    def test_forged_and_unknown_addresses_are_refused_postmaster_is_not(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        _, verp = self.verp_address_of("alice@dest.test")
        local, _, domain = verp.partition("@")
        self.assertEqual(domain, RETURN_PATH)
        forged = ("0" if local[0] != "0" else "1") + local[1:]
        self.assertEqual(self.report_to(f"{forged}@{RETURN_PATH}", "Subject: x\r\n\r\nx\r\n")[0], 550)
        self.assertEqual(self.report_to(f"{local}@{RETURN_PATH}.evil.test", "Subject: x\r\n\r\nx\r\n")[0], 550)
        self.bounced.wait_for_event("bounce.forged_rcpt")
        code, reply = self.report_to("postmaster@bounces.stamp.test", "Subject: hello\r\n\r\nhi\r\n")
        self.assertEqual(code, 250, reply)
        # Case folded by a relay on the way: still ours (the token ignores case).
        code, reply = self.report_to(verp.upper(), "Subject: case\r\n\r\nx\r\n")
        self.assertEqual(code, 250, reply)

    def test_the_same_report_twice_changes_nothing_the_second_time(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        _, verp = self.verp_address_of("carol@dest.test")
        dsn = make_dsn("carol@dest.test", "5.1.1", "550 5.1.1 User unknown", verp)
        first = self.report_to(verp, dsn)
        second = self.report_to(verp, dsn)
        self.assertEqual(first[0], 250)
        self.assertEqual(second[0], 250)
        self.assertIn("already received", second[1])
        receiver.wait(1, RecordType="Bounce")
        time.sleep(2)
        self.assertEqual(len([r for r in receiver.requests() if json.loads(r["body"])["RecordType"] == "Bounce"]), 1)
        with sqlite3.connect(self.mta.spool_dir / "state.db") as db:
            self.assertEqual(db.execute("SELECT count(*) FROM bounce").fetchone()[0], 1)

    def test_complaint_and_soft_bounces_in_a_row_suppress(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url(), suppression={"soft_bounce_limit": 2, "soft_bounce_window": "1d"})
        _, verp = self.verp_address_of("dave@dest.test")
        arf = make_arf("dave@dest.test", verp)
        self.assertEqual(self.report_to(verp, arf, sender="fbl@dest.test")[0], 250)
        (request, body), = receiver.wait(1, RecordType="SpamComplaint")
        self.assertSigned(request)
        self.assertEqual((body["Email"], body["CanActivate"], body["Inactive"]), ("dave@dest.test", False, True))
        code, reply = self.rcpt_reply("dave@dest.test")
        self.assertEqual(code, 550)
        self.assertIn(b"5.7.1", reply)

        _, verp = self.verp_address_of("erin@dest.test")
        for attempt in range(2):
            self.assertEqual(self.report_to(verp, make_dsn("erin@dest.test", "4.2.2",
                                                           f"452 4.2.2 Mailbox full ({attempt})", verp,
                                                           action="delayed"))[0], 250)
        wait_for(lambda: ("erin@dest.test", "HardBounce", "Recipient") in self.suppressions(), WEBHOOK_TIMEOUT)
        soft = receiver.wait(2, RecordType="Bounce", Email="erin@dest.test")
        self.assertEqual({b["Type"] for _, b in soft}, {"SoftBounce"})

    # webhooks

    def test_a_receiver_answering_500_gets_the_event_again(self):
        receiver = self.start_receiver(statuses="500,200")
        self.start_daemons(receiver.url())
        self.send("permfail-frank@dest.test")
        # Two events (Bounce, SubscriptionChange): the first request gets the 500, whichever it is.
        wait_for(lambda: receiver.requests(), WEBHOOK_TIMEOUT, message="a webhook request")
        first = receiver.requests()[0]
        self.assertEqual(first["status"], 500)

        def retried():
            return [r for r in receiver.requests()[1:] if r["body_hex"] == first["body_hex"]]
        wait_for(retried, WEBHOOK_TIMEOUT, message="the refused event again")
        time.sleep(2)  # and only once: it was delivered
        self.assertEqual([r["status"] for r in retried()], [200], receiver.requests())
        self.assertEqual(retried()[0]["headers"]["x-stamp-delivery"], first["headers"]["x-stamp-delivery"])
        self.bounced.wait_for_event("webhook.failed")

    def test_private_endpoints_are_refused_by_default(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url(), allow_private=False)  # the shipped default
        self.send("permfail-judy@dest.test")
        abandoned = self.bounced.wait_for_event("webhook.abandoned")[0]
        self.assertIn("private", " ".join(str(v) for v in abandoned.values()))
        self.assertEqual(receiver.requests(), [])
        # The operator sees it, and can give it a second chance (refused again here: still private).
        listed = json.loads(self.mta.stampctl("webhooks", "list", "--state", "abandoned", "--json").stdout)
        self.assertTrue(listed)
        event = listed[0]
        self.assertEqual((event["tenant"], event["state"], event["attempts"]), (TENANT, "abandoned", 1))
        self.assertIn("private", event["last_error"])
        count = len(self.bounced.events("webhook.abandoned"))
        self.mta.stampctl("webhooks", "retry", str(event["id"]))
        self.bounced.wait_for_event("webhook.abandoned", count=count + 1)
        again = json.loads(self.mta.stampctl("webhooks", "list", "--json").stdout)
        self.assertEqual([e["attempts"] for e in again if e["id"] == event["id"]], [2])
        self.assertNotEqual(self.mta.stampctl("webhooks", "retry", "999999", check=False).returncode, 0)

    def test_webhooks_pending_over_a_restart_are_delivered(self):
        port = free_port()
        self.start_daemons(f"https://127.0.0.1:{port}/hooks")
        self.send("permfail-grace@dest.test")
        self.bounced.wait_for_event("webhook.failed")
        self.bounced.stop()
        receiver = self.start_receiver(port=port)
        self.bounced.start()
        receiver.wait(1, RecordType="Bounce", Email="permfail-grace@dest.test")
        receiver.wait(1, RecordType="SubscriptionChange", Recipient="permfail-grace@dest.test")

    def test_a_delivery_in_the_message_log_becomes_a_delivery_webhook(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        queue_id, _ = self.verp_address_of("henry@dest.test")
        (request, body), = receiver.wait(1, RecordType="Delivery")
        self.assertSigned(request)
        self.assertEqual((body["Recipient"], body["Tag"], body["MessageStream"], body["Metadata"]),
                         ("henry@dest.test", "welcome", "outbound", {"user-id": "42"}))
        self.assertTrue(body["MessageID"])
        self.assertIn("250", body["Details"])
        time.sleep(2)  # announced once, not at every poll
        self.assertEqual(len(receiver.wait(1, RecordType="Delivery")), 1)

    def test_manual_suppression_changes_are_announced(self):
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        self.mta.stampctl("suppression", "add", "Ivan@dest.test", "--tenant", TENANT)
        (request, added), = receiver.wait(1, RecordType="SubscriptionChange", SuppressSending=True)
        self.assertSigned(request)
        self.assertEqual((added["Recipient"], added["Origin"], added["SuppressionReason"], added["MessageStream"]),
                         ("ivan@dest.test", "Admin", "ManualSuppression", "outbound"))
        self.mta.stampctl("suppression", "remove", "ivan@dest.test", "--tenant", TENANT)
        (_, removed), = receiver.wait(1, RecordType="SubscriptionChange", SuppressSending=False)
        self.assertEqual((removed["Recipient"], removed["SuppressionReason"]), ("ivan@dest.test", None))

    # real reports from the corpus

    def test_corpus_reports_are_accepted_and_classified_over_smtp(self):
        if not CORPUS.is_dir():
            self.skipTest(f"bounce corpus not found at {CORPUS}")
        receiver = self.start_receiver()
        self.start_daemons(receiver.url())
        expected = {}
        for line in (CORPUS / "expected.jsonl").read_text().splitlines():
            entry = json.loads(line)
            expected[entry["file"]] = entry
        picked = ["rfc3464-01.eml", "lhost-postfix-01.eml", "lhost-exim-01.eml", "arf-01.eml", "lhost-gmail-01.eml"]
        for name in picked:
            if name not in expected:
                continue
            code, reply = self.report_to("postmaster@bounces.stamp.test", (CORPUS / name).read_bytes())
            self.assertEqual(code, 250, f"{name}: {reply}")
        with sqlite3.connect(self.mta.spool_dir / "state.db") as db:
            stored = db.execute("SELECT count(*) FROM bounce_report").fetchone()[0]
        self.assertEqual(stored, len([n for n in picked if n in expected]))
        events = self.bounced.events("bounce.received")
        self.assertTrue(events)
        self.assertEqual(self.suppressions(), [], "reports about no message of ours suppress nothing")


def make_dsn(rcpt, status, diagnostic, verp, action="failed"):
    boundary = f"b{time.time_ns()}"
    return (f"From: MAILER-DAEMON@mx.dest.test\r\nTo: {verp}\r\nSubject: Delivery Status Notification\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; "
            f"boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nDelivery to {rcpt} failed.\r\n"
            f"--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\n"
            f"Reporting-MTA: dns; mx.dest.test\r\n\r\n"
            f"Final-Recipient: rfc822; {rcpt}\r\nAction: {action}\r\nStatus: {status}\r\n"
            f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n--{boundary}--\r\n")


def make_arf(rcpt, verp):
    boundary = f"arf{time.time_ns()}"
    return (f"From: fbl@dest.test\r\nTo: {verp}\r\nSubject: Abuse report\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: multipart/report; report-type=feedback-report; boundary=\"{boundary}\"\r\n\r\n"
            f"--{boundary}\r\nContent-Type: text/plain\r\n\r\nA user reported this message as spam.\r\n"
            f"--{boundary}\r\nContent-Type: message/feedback-report\r\n\r\n"
            f"Feedback-Type: abuse\r\nUser-Agent: test-fbl/1.0\r\nVersion: 1\r\n"
            f"Original-Rcpt-To: {rcpt}\r\n\r\n"
            f"--{boundary}\r\nContent-Type: message/rfc822\r\n\r\n"
            f"From: Ann <ann@{DOMAIN}>\r\nTo: {rcpt}\r\nSubject: Welcome aboard\r\n\r\nHello.\r\n"
            f"--{boundary}--\r\n")


if __name__ == "__main__":
    unittest.main()
