"""SMTP smuggling: only CRLF.CRLF ends the data. A bare LF or bare CR around a dot must not end
the message early and let the rest be read as commands (a second, forged message); and
commands pipelined behind STARTTLS must not run inside the TLS session."""

import base64
import json
import unittest

from stamp_harness import (CLIENT_NAME, PASSWORD, USERNAME, RawSmtp, StampTestCase, has_bare_lf,
                           queue_id_of, split_received)

SMUGGLED = (b"MAIL FROM:<x@y>\r\n"
            b"RCPT TO:<z@w>\r\n"
            b"DATA\r\n"
            b"From: ceo@bank.example\r\n"
            b"Subject: smuggled\r\n"
            b"\r\n"
            b"pay now\r\n")

# (name, the fake end-of-data, what the stored message has in its place under bare_lf: normalize)
# A bare LF ends a line and becomes CRLF; a line of one "." that does not end the data is
# dot-unstuffed like any other (as Postfix does), so it becomes an empty line. A bare CR is not a
# line ending at all and stays inside the line.
VARIANTS = [
    ("LF.LF", b"\n.\n", b"\r\n\r\n"),
    ("LF.CRLF", b"\n.\r\n", b"\r\n\r\n"),
    ("CRLF.LF", b"\r\n.\n", b"\r\n\r\n"),
    ("CR.CRLF", b"\r.\r\n", b"\r.\r\n"),
]
BARE_LF_VARIANTS = [v for v in VARIANTS if b"\n" in v[1].replace(b"\r\n", b"")]


def headers(name):
    return (f"From: app@tenant.example\r\n"
            f"To: b@example.net\r\n"
            f"Subject: smuggling {name}\r\n"
            f"Message-ID: <{name}.smuggling@tenant.example>\r\n"
            f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            f"\r\n").encode()


def payload(name, fake_end):
    """The data the attacker sends after 354, up to and including the real CRLF.CRLF."""
    return headers(name) + b"real body" + fake_end + SMUGGLED + b".\r\n"


def stored(name, replacement):
    return headers(name) + b"real body" + replacement + SMUGGLED


class SmugglingTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta(strict_listener=True)

    def open_transaction(self, client, recipient="b@example.net"):
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        self.assertReply(client.cmd(f"RCPT TO:<{recipient}>"), 250, "2.1.5")
        self.assertReply(client.cmd("DATA"), 354)

    def assertOnlyQuitReply(self, client):
        """Nothing is pending from the server: the next reply is the one to QUIT, then close."""
        client.send(b"QUIT\r\n")
        self.assertEqual(client.read_until_closed(), b"221 2.0.0 Bye\r\n")

    def assertNothingSmuggled(self):
        for name in self.mta.sandbox_files(".json"):
            envelope = json.loads((self.mta.sandbox_dir / name).read_text())
            self.assertNotEqual(envelope["rcpt_to"], "z@w", f"a smuggled message was queued: {envelope}")
            self.assertNotEqual(envelope["mail_from"], "x@y", f"a smuggled message was queued: {envelope}")
        for event in self.mta.events("queue.accepted"):
            self.assertNotEqual(event.get("from"), "x@y", f"a smuggled message was accepted: {event}")

    def test_bare_newline_dot_does_not_end_data_normalize(self):
        queue_ids = {}
        for name, fake_end, replacement in VARIANTS:
            with self.subTest(name):
                client = RawSmtp(self.mta.port("trusted"))
                self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
                self.open_transaction(client)
                client.send(payload(name, fake_end))
                reply = client.read_reply()
                self.assertReply(reply, 250, "2.0.0")
                queue_ids[name] = queue_id_of(reply.text)
                self.assertOnlyQuitReply(client)
                client.close()

        for name, fake_end, replacement in VARIANTS:
            with self.subTest(name):
                queue_id = queue_ids[name]
                (eml,) = self.mta.wait_for_delivery(queue_id)
                self.assertFalse(self.mta.eml_path(queue_id, 1).exists())
                received, rest = split_received(eml)
                self.assertIn(b" with ESMTP id " + queue_id.encode(), received)
                self.assertIn(SMUGGLED, rest, "the smuggled commands are not inside the message")
                self.assertEqual(rest, stored(name, replacement))
                self.assertFalse(has_bare_lf(eml), f"a bare LF survived normalization: {eml!r}")
        # Exactly one message per connection, and none for the smuggled envelope.
        self.assertEqual(len(self.mta.sandbox_files(".eml")), len(VARIANTS))
        self.assertEqual(len(self.mta.events("queue.accepted")), len(VARIANTS))
        self.assertNothingSmuggled()

    def test_bare_newline_is_refused_by_a_bare_lf_reject_listener(self):
        for name, fake_end, _ in BARE_LF_VARIANTS:
            with self.subTest(name):
                client = RawSmtp(self.mta.port("strict"))
                self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
                self.open_transaction(client)
                client.send(payload(name, fake_end))
                reply = client.read_reply()
                self.assertEqual(reply.code // 100, 5, f"end of data with a bare LF: {reply}")
                self.assertReply(reply, 550, "5.6.0")
                self.assertOnlyQuitReply(client)
                client.close()
        self.mta.wait_for_event("smtp.bare_lf_rejected", count=len(BARE_LF_VARIANTS))

        # A bare CR is not a bare LF: the reject listener takes the message, as one message.
        client = RawSmtp(self.mta.port("strict"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        # Commands must end in CRLF here too.
        client.send(b"NOOP\n")
        self.assertReply(client.read_reply(), 500, "5.5.2")
        self.open_transaction(client)
        client.send(payload("CR.CRLF", b"\r.\r\n"))
        reply = client.read_reply()
        self.assertReply(reply, 250, "2.0.0")
        queue_id = queue_id_of(reply.text)
        self.assertOnlyQuitReply(client)
        client.close()
        (eml,) = self.mta.wait_for_delivery(queue_id)
        self.assertEqual(split_received(eml)[1], stored("CR.CRLF", b"\r.\r\n"))
        # The sandbox worker delivers in order: the refused ones would be there by now.
        self.assertEqual(self.mta.sandbox_files(".eml"), [f"{queue_id}-0.eml"])
        self.assertNothingSmuggled()

    def test_bare_newline_dot_does_not_end_data_over_starttls(self):
        client = RawSmtp(self.mta.port("submission"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(client.cmd("STARTTLS"), 220, "2.0.0")
        client.starttls()
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
        self.assertReply(client.cmd(f"AUTH PLAIN {plain}"), 235, "2.7.0")
        queue_ids = {}
        for name, fake_end, _ in VARIANTS:
            with self.subTest(name):
                # One session, one message after another: the reply to each MAIL shows that
                # nothing smuggled ran in between.
                self.open_transaction(client)
                client.send(payload(name, fake_end))
                reply = client.read_reply()
                self.assertReply(reply, 250, "2.0.0")
                queue_ids[name] = queue_id_of(reply.text)
        self.assertOnlyQuitReply(client)
        client.close()
        for name, _, replacement in VARIANTS:
            with self.subTest(name):
                (eml,) = self.mta.wait_for_delivery(queue_ids[name])
                received, rest = split_received(eml)
                self.assertIn(b" with ESMTPSA id " + queue_ids[name].encode(), received)
                self.assertEqual(rest, stored(name, replacement))
                self.assertFalse(has_bare_lf(eml))
        self.assertEqual(len(self.mta.sandbox_files(".eml")), len(VARIANTS))
        self.assertNothingSmuggled()

    def test_commands_pipelined_after_starttls_are_discarded(self):
        client = RawSmtp(self.mta.port("submission"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        # One write, so the injected commands arrive in the same packet as STARTTLS.
        client.send(b"STARTTLS\r\nEHLO injected.example\r\nHELP\r\n")
        self.assertReply(client.read_reply(), 220, "2.0.0")
        self.assertEqual(client.buf, b"", "replies to the pipelined commands came before the handshake")
        client.starttls()
        # The first reply inside TLS is the one to our NOOP: no 250 to EHLO, no 214 to HELP.
        self.assertReply(client.cmd("NOOP"), 250, "2.0.0")
        # The injected EHLO did not run: the session starts over and needs EHLO.
        reply = client.cmd("MAIL FROM:<app@tenant.example>")
        self.assertReply(reply, 503, "5.5.1")
        ehlo = client.cmd(f"EHLO {CLIENT_NAME}")
        self.assertReply(ehlo, 250)
        self.assertIn("AUTH PLAIN LOGIN", ehlo.lines)
        self.assertNotIn("STARTTLS", ehlo.lines)
        plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
        self.assertReply(client.cmd(f"AUTH PLAIN {plain}"), 235, "2.7.0")
        self.open_transaction(client)
        client.send(b"Subject: after starttls\r\n\r\nhello\r\n.\r\n")
        reply = client.read_reply()
        self.assertReply(reply, 250, "2.0.0")
        queue_id = queue_id_of(reply.text)
        self.assertOnlyQuitReply(client)
        client.close()
        (eml,) = self.mta.wait_for_delivery(queue_id)
        received, _ = split_received(eml)
        self.assertTrue(received.startswith(f"Received: from {CLIENT_NAME} ".encode()), received)
        self.assertNotIn(b"injected", eml)


if __name__ == "__main__":
    unittest.main()
