"""The configured bounds on hostile or broken clients, and that the daemon keeps serving after
enforcing them."""

import base64
import socket
import time
import unittest

from stamp_harness import (CLIENT_NAME, IO_TIMEOUT, PASSWORD, USERNAME, RawSmtp, StampTestCase,
                           queue_id_of, smtp_client, submit)


class LimitsTest(StampTestCase):
    def assertStillServing(self, mta):
        """A normal message still goes through, start to sandbox."""
        with smtp_client(mta.port("trusted")) as smtp:
            smtp.ehlo()
            queue_id = submit(smtp, "app@tenant.example", ["ok@example.net"],
                              b"Subject: still serving\r\n\r\nhello\r\n")
        mta.wait_for_delivery(queue_id)

    def test_third_connection_from_one_client_gets_421_at_once(self):
        mta = self.new_mta(smtp={"max_connections_per_client": 2})
        first = RawSmtp(mta.port("trusted"))
        second = RawSmtp(mta.port("submission"))  # the limit is per client address, across listeners
        self.assertEqual(first.greeting.code, 220)
        self.assertEqual(second.greeting.code, 220)
        started = time.monotonic()
        third = RawSmtp(mta.port("trusted"), read_greeting=False)
        refusal = third.read_until_closed()
        elapsed = time.monotonic() - started
        third.close()
        self.assertTrue(refusal.startswith(b"421 4.7.0 "), refusal)
        self.assertEqual(refusal.count(b"\r\n"), 1, refusal)
        self.assertLess(elapsed, 5.0, "the refusal was not immediate")
        mta.wait_for_event("smtp.limit", limit="max_connections_per_client")
        # The two admitted sessions are unaffected.
        self.assertReply(first.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(second.cmd("NOOP"), 250, "2.0.0")
        for client in (first, second):
            self.assertReply(client.cmd("QUIT"), 221, "2.0.0")
            client.close()
        # Once they are gone, the address may connect again.
        mta.wait_for_event("smtp.disconnect", count=2)
        self.assertStillServing(mta)

    # Timeouts: command 1s, data 3s. Over STARTTLS the same promises hold as in plaintext.
    TIMEOUTS = {"timeouts": {"command": "1s", "data": "3s"}}

    def session(self, mta, tls, authenticate=False):
        if not tls:
            client = RawSmtp(mta.port("trusted"))
            self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
            return client
        client = RawSmtp(mta.port("submission"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(client.cmd("STARTTLS"), 220, "2.0.0")
        client.starttls()
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        if authenticate:
            plain = base64.b64encode(f"\0{USERNAME}\0{PASSWORD}".encode()).decode()
            self.assertReply(client.cmd(f"AUTH PLAIN {plain}"), 235, "2.7.0")
        return client

    def read_reply_or_none(self, client):
        try:
            return client.read_reply()
        except (EOFError, ConnectionResetError):
            return None

    def assertSilentFor(self, client, seconds):
        """The server sends nothing (and does not hang up) for `seconds`."""
        client.sock.settimeout(seconds)
        try:
            data = client.sock.recv(4096)
        except (socket.timeout, TimeoutError):
            data = None
        finally:
            client.sock.settimeout(IO_TIMEOUT)
        self.assertIsNone(data, f"the server spoke or closed within {seconds}s: {data!r}")

    def check_idle_timeout(self, tls):
        mta = self.new_mta(smtp=self.TIMEOUTS)
        client = self.session(mta, tls)
        started = time.monotonic()
        reply = self.read_reply_or_none(client)  # we say nothing; the server speaks after 1 s
        elapsed = time.monotonic() - started
        self.assertIsNotNone(reply, f"the connection was closed after {elapsed:.2f}s without "
                                    f"a 421 4.4.2 reply")
        self.assertReply(reply, 421, "4.4.2")
        self.assertGreaterEqual(elapsed, 0.8)
        self.assertLess(elapsed, 10.0)
        client.expect_closed()
        client.close()
        self.assertEqual(mta.wait_for_event("smtp.timeout")[0]["state"], "Ready")
        self.assertStillServing(mta)

    def test_idle_client_gets_421_4_4_2_and_is_disconnected(self):
        self.check_idle_timeout(tls=False)

    def test_idle_client_after_starttls_gets_421_4_4_2_and_is_disconnected(self):
        self.check_idle_timeout(tls=True)

    def check_data_timeout(self, tls):
        """In DATA the data timeout (3s) applies, not the command timeout (1s)."""
        mta = self.new_mta(smtp=self.TIMEOUTS)
        client = self.session(mta, tls, authenticate=tls)
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        self.assertReply(client.cmd("RCPT TO:<slow@example.net>"), 250, "2.1.5")
        self.assertReply(client.cmd("DATA"), 354)
        client.send(b"Subject: slow\r\n\r\nfirst line\r\n")
        self.assertSilentFor(client, 2.0)  # longer than the command timeout, shorter than data's
        client.send(b"second line\r\n.\r\n")
        reply = self.read_reply_or_none(client)
        self.assertIsNotNone(reply, "closed during DATA before the data timeout")
        self.assertReply(reply, 250, "2.0.0")
        queue_id = queue_id_of(reply.text)
        # And the data timeout does end a stalled DATA.
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        self.assertReply(client.cmd("RCPT TO:<slow@example.net>"), 250, "2.1.5")
        self.assertReply(client.cmd("DATA"), 354)
        client.send(b"Subject: stalled\r\n\r\n")
        started = time.monotonic()
        reply = self.read_reply_or_none(client)
        elapsed = time.monotonic() - started
        self.assertIsNotNone(reply, "closed without a 421 4.4.2 reply")
        self.assertReply(reply, 421, "4.4.2")
        self.assertGreaterEqual(elapsed, 2.7, "the stalled DATA was cut before the data timeout")
        client.expect_closed()
        client.close()
        (eml,) = mta.wait_for_delivery(queue_id)
        self.assertTrue(eml.endswith(b"\r\n\r\nfirst line\r\nsecond line\r\n"), eml)
        self.assertEqual(len(mta.sandbox_files(".eml")), 1)
        self.assertStillServing(mta)

    def test_data_timeout_applies_during_data(self):
        self.check_data_timeout(tls=False)

    def test_data_timeout_applies_during_data_after_starttls(self):
        self.check_data_timeout(tls=True)

    def test_too_many_errors_end_the_session(self):
        mta = self.new_mta(smtp={"max_errors_per_session": 3})
        client = RawSmtp(mta.port("submission"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        # Refused recipients are not protocol errors and do not count.
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        for _ in range(4):
            self.assertReply(client.cmd("RCPT TO:<someone@example.net>"), 530, "5.7.0")
        self.assertReply(client.cmd("RSET"), 250, "2.0.0")
        self.assertReply(client.cmd("FROB"), 500, "5.5.2")
        self.assertReply(client.cmd("MAIL FROM:<no closing bracket"), 501)
        self.assertReply(client.cmd("FROB"), 500, "5.5.2")
        self.assertReply(client.read_reply(), 421, "4.7.0")
        client.expect_closed()
        client.close()
        mta.wait_for_event("smtp.limit", limit="max_errors_per_session")
        self.assertStillServing(mta)

    def test_recipients_beyond_the_limit_get_452_4_5_3(self):
        limit = 100  # the smallest allowed (RFC 5321 4.5.3.1.8)
        mta = self.new_mta(smtp={"max_recipients_per_message": limit})
        client = RawSmtp(mta.port("trusted"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        # PIPELINING is advertised: all RCPTs in one write, then the replies in order.
        client.send(b"".join(b"RCPT TO:<r%03d@example.net>\r\n" % i for i in range(limit + 2)))
        replies = [client.read_reply() for _ in range(limit + 2)]
        for reply in replies[:limit]:
            self.assertReply(reply, 250, "2.1.5")
        for reply in replies[limit:]:
            self.assertReply(reply, 452, "4.5.3")
        # The transaction goes on with the recipients that were accepted.
        self.assertReply(client.cmd("DATA"), 354)
        client.send(b"Subject: many\r\n\r\nto a hundred\r\n.\r\n")
        reply = client.read_reply()
        self.assertReply(reply, 250, "2.0.0")
        queue_id = reply.text.rsplit(" ", 1)[1]
        self.assertReply(client.cmd("QUIT"), 221)
        client.close()
        mta.wait_for_delivery(queue_id, recipients=limit, timeout=60)
        self.assertFalse(mta.eml_path(queue_id, limit).exists())
        self.assertEqual(mta.read_envelope(queue_id, limit - 1)["rcpt_to"], "r099@example.net")
        self.assertStillServing(mta)

    def test_overlong_command_line_gets_500_5_5_2_and_close(self):
        limit = 512
        mta = self.new_mta(smtp={"max_command_line_length": limit})
        # At the limit is fine.
        client = RawSmtp(mta.port("trusted"))
        self.assertReply(client.cmd(b"NOOP " + b"x" * (limit - 5)), 250, "2.0.0")
        self.assertReply(client.cmd("QUIT"), 221)
        client.close()
        cases = [
            ("one byte over, with CRLF", b"NOOP " + b"x" * (limit - 4) + b"\r\n"),
            ("far over, with CRLF", b"NOOP " + b"x" * 4000 + b"\r\n"),
            ("far over, no line end yet", b"MAIL FROM:<" + b"a" * 4000),
        ]
        for name, data in cases:
            with self.subTest(name):
                client = RawSmtp(mta.port("trusted"))
                self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
                client.send(data)
                self.assertReply(client.read_reply(), 500, "5.5.2")
                client.expect_closed()
                client.close()
        mta.wait_for_event("smtp.limit", limit="max_command_line_length", count=len(cases))
        self.assertStillServing(mta)


if __name__ == "__main__":
    unittest.main()
