"""Submission through the real stamp-mta: STARTTLS + AUTH, the trusted listener, and what lands
in the sandbox (byte for byte)."""

import base64
import email.utils
import re
import smtplib
import time
import unittest

from stamp_harness import (CLIENT_NAME, HOSTNAME, PASSWORD, TENANT, USERNAME, StampTestCase,
                           client_tls_context, queue_id_of, smtp_client, split_received, submit)

MAX_MESSAGE_SIZE = 512 * 1024  # configured as 512KiB; the ~200 KB message fits, 600 KB does not
SENDER = "app@tenant.example"

DATE_RE = rb"[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}"


def big_message(size=200 * 1024, marker="main"):
    """A message with Message-ID and Date, dot lines, 8-bit UTF-8 and a long body, CRLF lines."""
    head = (
        f"From: App <{SENDER}>\r\n"
        "To: Bob <bob@example.net>, Carol <carol@example.org>\r\n"
        f"Subject: integration {marker}\r\n"
        f"Message-ID: <{marker}.1234@tenant.example>\r\n"
        "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
        "Grüße aus Köln — 日本語のテキスト — 📬\r\n"
        ".a line that starts with a dot\r\n"
        ".\r\n"
        "..two dots\r\n"
        " leading space, trailing space \r\n"
        "\ttab\r\n"
        "\r\n"
    ).encode("utf-8")
    lines = []
    n = 0
    while len(head) + sum(len(l) for l in lines) < size:
        lines.append(f"{n:06d} ünïcödé filler line to make the body long enough, with some text\r\n"
                     .encode("utf-8"))
        n += 1
    return head + b"".join(lines) + b".last line starts with a dot too\r\n"


def message_of_size(size):
    """A message of exactly `size` bytes in lines of at most 100."""
    out = b"Subject: sized\r\n\r\n"
    while size - len(out) > 100:
        out += b"y" * 98 + b"\r\n"
    return out + b"z" * (size - len(out) - 2) + b"\r\n"


def unfold(field):
    return re.sub(rb"\r\n[ \t]", b" ", field)


class SubmissionTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta(smtp={"max_message_size": "512KiB", "max_errors_per_session": 50})

    # helpers

    def tls_client(self):
        smtp = smtp_client(self.mta.port("submission"))
        smtp.ehlo()
        code, _ = smtp.starttls(context=client_tls_context())
        self.assertEqual(code, 220)
        smtp.ehlo()
        return smtp

    def authed_client(self, mechanism="PLAIN", initial_response_ok=True):
        smtp = self.tls_client()
        smtp.user, smtp.password = USERNAME, PASSWORD
        authobject = smtp.auth_plain if mechanism == "PLAIN" else smtp.auth_login
        code, text = smtp.auth(mechanism, authobject, initial_response_ok=initial_response_ok)
        self.assertEqual((code, text), (235, b"2.7.0 Authentication successful"))
        return smtp

    def assertReceived(self, field, queue_id, with_, recipient=None, tls=True):
        """The prepended Received field: from <helo> ([127.0.0.1]) by <host> with <with_> id <id>
        [(using TLS...)] [for <rcpt>]; <date>"""
        text = unfold(field)
        pattern = (rb"Received: from " + re.escape(CLIENT_NAME.encode()) + rb" \(\[127\.0\.0\.1\]\) "
                   rb"by " + re.escape(HOSTNAME.encode()) + rb" \(stamp\) with " + with_.encode() +
                   rb" id " + queue_id.encode() +
                   (rb" \(using TLSv1\.[23] with cipher [A-Za-z0-9_-]+\)" if tls else b"") +
                   (rb" for <" + re.escape(recipient.encode()) + rb">" if recipient else b"") +
                   rb"; (" + DATE_RE + rb")\r\n")
        m = re.fullmatch(pattern, text)
        self.assertIsNotNone(m, f"Received field {field!r} does not match {pattern!r}")
        when = email.utils.parsedate_to_datetime(m.group(1).decode()).timestamp()
        self.assertLess(abs(when - time.time()), 300, f"Received date {m.group(1)!r} is not now")
        self.assertEqual(field.count(b"for <"), 1 if recipient else 0, field)

    def barrier(self):
        """Sends one message over the trusted listener and waits for it: the sandbox worker
        delivers in order, so anything queued earlier is in the sandbox by then."""
        with smtp_client(self.mta.port("trusted")) as smtp:
            smtp.ehlo()
            queue_id = submit(smtp, SENDER, ["barrier@example.net"], b"Subject: barrier\r\n\r\nbarrier\r\n")
        self.mta.wait_for_delivery(queue_id)
        # Log lines arrive through a pipe in order: once this one is read, so are all before it.
        self.mta.wait_for_event("delivery.sandbox", queue_id=queue_id)
        return queue_id

    # tests

    def test_auth_plain_message_lands_once_per_recipient_byte_for_byte(self):
        message = big_message()
        self.assertGreater(len(message), 200 * 1024)
        smtp = self.authed_client("PLAIN")
        self.assertIn("8bitmime", smtp.esmtp_features)
        self.assertIn("dsn", smtp.esmtp_features)
        code, text = smtp.mail(SENDER, ["BODY=8BITMIME", "RET=HDRS", "ENVID=QQ314159+2Bx"])
        self.assertEqual((code, text), (250, b"2.1.0 Ok"))
        code, text = smtp.rcpt("bob+x@example.net", ["NOTIFY=SUCCESS,FAILURE", "ORCPT=rfc822;bob+2Bx@example.net"])
        self.assertEqual((code, text), (250, b"2.1.5 Ok"))
        code, text = smtp.rcpt("carol@example.org", ["NOTIFY=NEVER"])
        self.assertEqual((code, text), (250, b"2.1.5 Ok"))
        code, text = smtp.data(message)
        self.assertEqual(code, 250, text)
        queue_id = queue_id_of(text)
        smtp.quit()

        emls = self.mta.wait_for_delivery(queue_id, recipients=2)
        self.assertFalse(self.mta.eml_path(queue_id, 2).exists(), "a third copy for two recipients")
        self.assertEqual(emls[0], emls[1])
        received, rest = split_received(emls[0])
        self.assertReceived(received, queue_id, "ESMTPSA", recipient=None)
        self.assertEqual(rest, message, "the .eml is not Received + exactly the message sent")

        envelopes = [self.mta.read_envelope(queue_id, i) for i in range(2)]
        common = {"queue_id": queue_id, "tenant": TENANT, "mail_from": SENDER, "envid": "QQ314159+x",
                  "ret": "HDRS", "smtputf8": False}
        for envelope in envelopes:
            for key, value in common.items():
                self.assertEqual(envelope[key], value, f"{key} in {envelope}")
        self.assertEqual(envelopes[0]["rcpt_to"], "bob+x@example.net")
        self.assertEqual(envelopes[0]["notify"], "SUCCESS,FAILURE")
        self.assertEqual(envelopes[0]["orcpt"], "rfc822;bob+x@example.net")
        self.assertEqual(envelopes[1]["rcpt_to"], "carol@example.org")
        self.assertEqual(envelopes[1]["notify"], "NEVER")
        self.assertEqual(envelopes[1]["orcpt"], "")
        self.assertLess(abs(envelopes[0]["arrival"] - time.time()), 300)

    def test_auth_login_single_recipient_is_named_in_received(self):
        message = big_message(size=4096, marker="login")
        smtp = self.authed_client("LOGIN", initial_response_ok=False)
        # smtplib answered "334 VXNlcm5hbWU6" (Username:) and "334 UGFzc3dvcmQ6" (Password:).
        self.assertIn((334, b"VXNlcm5hbWU6"), smtp.replies)
        self.assertIn((334, b"UGFzc3dvcmQ6"), smtp.replies)
        queue_id = submit(smtp, SENDER, ["dave@example.com"], message, mail_options=["BODY=8BITMIME"])
        smtp.quit()
        (eml,) = self.mta.wait_for_delivery(queue_id)
        self.assertFalse(self.mta.eml_path(queue_id, 1).exists())
        received, rest = split_received(eml)
        self.assertReceived(received, queue_id, "ESMTPSA", recipient="dave@example.com")
        self.assertEqual(rest, message)
        envelope = self.mta.read_envelope(queue_id)
        self.assertEqual((envelope["tenant"], envelope["rcpt_to"], envelope["notify"], envelope["orcpt"],
                          envelope["envid"], envelope["ret"]),
                         (TENANT, "dave@example.com", "", "", "", ""))

    def test_message_id_and_date_are_added_when_missing(self):
        smtp = self.authed_client()
        body = b"\r\nHello,\r\nno Message-ID here.\r\n"
        cases = [
            ("neither", b"From: a@tenant.example\r\nSubject: bare\r\n", True, True),
            ("only Message-ID", b"From: a@tenant.example\r\nmessage-id: <x@tenant.example>\r\n", False, True),
            ("only Date", b"From: a@tenant.example\r\nDATE: Mon, 02 Mar 2026 10:00:00 +0000\r\n", True, False),
        ]
        for name, headers, want_id, want_date in cases:
            with self.subTest(name):
                queue_id = submit(smtp, SENDER, ["eve@example.com"], headers + body)
                (eml,) = self.mta.wait_for_delivery(queue_id)
                _, rest = split_received(eml)
                self.assertTrue(rest.startswith(headers), rest)
                self.assertTrue(rest.endswith(body), rest)
                added = rest[len(headers):len(rest) - len(body)]
                expected = b""
                if want_id:
                    expected += rb"Message-ID: <" + queue_id.encode() + rb"\.[0-9a-f]{12}@" + \
                        re.escape(HOSTNAME.encode()) + rb">\r\n"
                if want_date:
                    expected += rb"Date: " + DATE_RE + rb"\r\n"
                self.assertRegex(added, b"^" + expected + b"$", f"{name}: added before the body: {added!r}")
        smtp.quit()

    def test_unauthenticated_recipient_is_refused_and_nothing_is_queued(self):
        for tls in (True, False):
            with self.subTest(tls=tls):
                if tls:
                    smtp = self.tls_client()
                else:
                    smtp = smtp_client(self.mta.port("submission"))
                    smtp.ehlo()
                self.assertEqual(smtp.mail(SENDER), (250, b"2.1.0 Ok"))
                code, text = smtp.rcpt("victim@example.net")
                self.assertEqual(code, 530, text)
                self.assertTrue(text.startswith(b"5.7.0 "), text)
                code, text = smtp.docmd("DATA")
                self.assertEqual((code, text), (554, b"5.5.1 No valid recipients"))
                smtp.quit()
        barrier = self.barrier()
        self.assertEqual(len(self.mta.events("smtp.relay_denied")), 2)
        self.assertEqual(self.mta.sandbox_files(), [f"{barrier}-0.eml", f"{barrier}-0.json"])
        self.assertEqual(len(self.mta.events("queue.accepted")), 1)

    def test_auth_requires_starttls(self):
        smtp = smtp_client(self.mta.port("submission"))
        smtp.ehlo()
        self.assertIn("starttls", smtp.esmtp_features)
        self.assertNotIn("auth", smtp.esmtp_features)
        plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
        code, text = smtp.docmd("AUTH", "PLAIN " + plain)
        self.assertEqual(code, 530, text)
        self.assertTrue(text.startswith(b"5.7.0 "), text)
        code, text = smtp.docmd("AUTH", "LOGIN")
        self.assertEqual(code, 530, text)
        self.assertTrue(text.startswith(b"5.7.0 "), text)
        self.assertEqual(smtp.starttls(context=client_tls_context())[0], 220)
        smtp.ehlo()
        self.assertEqual(smtp.esmtp_features.get("auth"), " PLAIN LOGIN")
        self.assertNotIn("starttls", smtp.esmtp_features)
        self.assertEqual(smtp.docmd("AUTH", "PLAIN " + plain), (235, b"2.7.0 Authentication successful"))
        smtp.quit()
        self.mta.wait_for_event("smtp.auth", user=USERNAME, tenant=TENANT)

    def test_wrong_password_gets_535(self):
        smtp = self.tls_client()
        wrong = base64.b64encode(f"\0{USERNAME}\0not the password".encode()).decode()
        self.assertEqual(smtp.docmd("AUTH", "PLAIN " + wrong), (535, b"5.7.8 Authentication credentials invalid"))
        smtp.user, smtp.password = "nobody", PASSWORD
        with self.assertRaises(smtplib.SMTPAuthenticationError) as caught:
            smtp.auth("LOGIN", smtp.auth_login)
        self.assertEqual((caught.exception.smtp_code, caught.exception.smtp_error),
                         (535, b"5.7.8 Authentication credentials invalid"))
        # Still usable: the right password works, and then mail goes through.
        smtp.user, smtp.password = USERNAME, PASSWORD
        self.assertEqual(smtp.auth("PLAIN", smtp.auth_plain), (235, b"2.7.0 Authentication successful"))
        queue_id = submit(smtp, SENDER, ["frank@example.com"], b"Subject: after failures\r\n\r\nok\r\n")
        smtp.quit()
        self.mta.wait_for_delivery(queue_id)
        self.mta.wait_for_event("delivery.sandbox", queue_id=queue_id)
        self.assertEqual([e["user"] for e in self.mta.events("smtp.auth_failed")], [USERNAME, "nobody"])

    def test_trusted_listener_accepts_without_auth(self):
        smtp = smtp_client(self.mta.port("trusted"))
        smtp.ehlo()
        self.assertNotIn("auth", smtp.esmtp_features)
        self.assertNotIn("starttls", smtp.esmtp_features)
        message = big_message(size=2048, marker="trusted")
        queue_id = submit(smtp, SENDER, ["grace@example.com"], message, mail_options=["BODY=8BITMIME"])
        smtp.quit()
        (eml,) = self.mta.wait_for_delivery(queue_id)
        received, rest = split_received(eml)
        self.assertReceived(received, queue_id, "ESMTP", recipient="grace@example.com", tls=False)
        self.assertEqual(rest, message)
        envelope = self.mta.read_envelope(queue_id)
        self.assertEqual((envelope["tenant"], envelope["mail_from"], envelope["rcpt_to"]),
                         (TENANT, SENDER, "grace@example.com"))

    def test_size_is_advertised_and_enforced(self):
        for listener in ("submission", "trusted"):
            with smtp_client(self.mta.port(listener)) as smtp:
                smtp.ehlo()
                self.assertEqual(smtp.esmtp_features.get("size"), str(MAX_MESSAGE_SIZE), listener)
        smtp = self.authed_client()
        self.assertEqual(smtp.esmtp_features.get("size"), str(MAX_MESSAGE_SIZE))
        # Declared up front (RFC 1870): refused at MAIL.
        code, text = smtp.mail(SENDER, [f"SIZE={MAX_MESSAGE_SIZE + 1}"])
        self.assertEqual(code, 552, text)
        self.assertTrue(text.startswith(b"5.3.4 "), text)
        # Not declared: refused at the end of the data, and the session goes on.
        too_big = big_message(size=600 * 1024, marker="too-big")
        self.assertEqual(smtp.mail(SENDER), (250, b"2.1.0 Ok"))
        self.assertEqual(smtp.rcpt("heidi@example.com")[0], 250)
        code, text = smtp.data(too_big)
        self.assertEqual(code, 552, text)
        self.assertTrue(text.startswith(b"5.3.4 "), text)
        # Exactly at the limit is fine (the limit counts the message, not the Received field).
        at_limit = message_of_size(MAX_MESSAGE_SIZE)
        queue_id = submit(smtp, SENDER, ["heidi@example.com"], at_limit)
        smtp.quit()
        self.mta.wait_for_delivery(queue_id)
        self.assertEqual(self.mta.sandbox_files(".eml"), [f"{queue_id}-0.eml"])

    def test_every_reply_has_an_enhanced_status_code(self):
        smtp = smtp_client(self.mta.port("submission"))
        exempt = set()  # RFC 2034 exempts the greeting and EHLO/HELO; 334 and 354 carry no status

        def skip_last():
            exempt.add(len(smtp.replies) - 1)

        skip_last()  # greeting
        smtp.ehlo()
        skip_last()
        smtp.noop()
        smtp.help()
        smtp.verify("someone@example.com")
        smtp.docmd("FROB")
        smtp.docmd("RCPT", "TO:<early@example.com>")
        smtp.docmd("MAIL", "FROM:<x@example.com>")
        smtp.docmd("RCPT", "TO:<z@example.com>")  # no AUTH: refused
        smtp.docmd("DATA")  # no valid recipients
        smtp.rset()
        smtp.docmd("AUTH", "PLAIN AGVtcHR5")  # before STARTTLS
        smtp.docmd("STARTTLS", "now")
        smtp.starttls(context=client_tls_context())
        smtp.ehlo()
        skip_last()
        smtp.docmd("AUTH", "CRAM-MD5")
        smtp.docmd("AUTH", "PLAIN !!!notbase64")
        smtp.docmd("AUTH", "LOGIN")
        skip_last()
        smtp.docmd("*")  # cancels the exchange
        smtp.user, smtp.password = USERNAME, PASSWORD
        smtp.auth("PLAIN", smtp.auth_plain)
        smtp.docmd("AUTH", "PLAIN")  # already authenticated
        smtp.docmd("MAIL", "FROM:<bad address>")
        smtp.docmd("MAIL", f"FROM:<{SENDER}> FROB=1")
        smtp.docmd("MAIL", f"FROM:<{SENDER}> SIZE={MAX_MESSAGE_SIZE + 1}")
        smtp.docmd("DATA")  # no transaction
        smtp.mail(SENDER)
        smtp.docmd("RCPT", "TO:<no-domain>")
        smtp.rcpt("ivan@example.com")
        smtp.docmd("DATA", "junk")
        smtp.putcmd("DATA")
        smtp.getreply()
        skip_last()
        smtp.send(b"Subject: codes\r\n\r\nbody\r\n.\r\n")
        code, text = smtp.getreply()
        self.assertEqual(code, 250, text)
        smtp.docmd("STARTTLS")  # TLS already active
        smtp.docmd("BDAT", "10 LAST")
        smtp.docmd("EXPN", "list")
        smtp.quit()

        codes = set()
        for index, (code, text) in enumerate(smtp.replies):
            if index in exempt:
                self.assertIn(code, (220, 250, 334, 354), (code, text))
                continue
            with self.subTest(reply=index, code=code):
                self.assertEnhanced(code, text)
            codes.add(code)
        # The session really covered the interesting kinds of reply.
        for code in (214, 220, 221, 235, 250, 252, 500, 501, 502, 503, 504, 530, 552, 554, 555):
            self.assertIn(code, codes, f"no {code} reply was seen: {smtp.replies}")
        self.assertGreater(len(smtp.replies) - len(exempt), 25)

if __name__ == "__main__":
    unittest.main()
