"""The suppression list end to end: `stampctl suppression` writes the state database, the running
stamp-mta refuses suppressed recipients at RCPT (550, naming the reason) and accepts the others; a
spam complaint is reactivated only with --admin; `list --json` shows the entries; a failed lookup
never costs a message."""

import json
import sqlite3
import unittest

from stamp_harness import CLIENT_NAME, TENANT, RawSmtp, StampTestCase

SENDER = "app@tenant.example"
REFUSAL = ("x@example.net is suppressed because of a spam complaint; only an administrator may "
           "reactivate it (--admin)")


class SuppressionTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta()

    def suppression(self, *args, check=True):
        return self.mta.stampctl("suppression", *args, check=check)

    def session(self):
        """A trusted-listener session (tenant TENANT) with MAIL FROM done."""
        client = RawSmtp(self.mta.port("trusted"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(client.cmd(f"MAIL FROM:<{SENDER}>"), 250, "2.1.0")
        return client

    def rcpt(self, address):
        client = self.session()
        reply = client.cmd(f"RCPT TO:<{address}>")
        client.cmd("QUIT")
        client.close()
        return reply

    def listed(self, *args):
        done = self.suppression("list", "--tenant", TENANT, "--json", *args)
        return json.loads(done.stdout)

    def test_hard_bounce_refused_at_rcpt_other_recipients_accepted(self):
        self.suppression("add", "x@example.net", "--tenant", TENANT, "--reason", "HardBounce")
        client = self.session()
        refused = client.cmd("RCPT TO:<X@Example.net>")  # the list ignores case
        self.assertReply(refused, 550, "5.1.1")
        self.assertIn("HardBounce", refused.text)
        self.assertIn("Recipient suppressed: hard bounce", refused.text)
        self.assertReply(client.cmd("RCPT TO:<y@example.net>"), 250, "2.1.5")
        # The message still goes to the accepted recipient only.
        self.assertReply(client.cmd("DATA"), 354)
        queued = client.cmd("Subject: suppression\r\n\r\nHello.\r\n.")
        self.assertReply(queued, 250, "2.0.0")
        queue_id = queued.text.rsplit(" ", 1)[1]
        self.mta.wait_for_delivery(queue_id, recipients=1)
        self.assertEqual(self.mta.read_envelope(queue_id)["rcpt_to"], "y@example.net")
        self.assertFalse(self.mta.eml_path(queue_id, 1).exists(), "a second recipient was queued")
        event = self.mta.wait_for_event("smtp.rcpt_suppressed", rcpt="X@Example.net")[0]
        self.assertEqual(event.get("reason"), "HardBounce")
        self.assertEqual(event.get("tenant"), TENANT)
        self.assertEqual(event.get("origin"), "Admin")

    def test_spam_complaint_needs_admin_to_reactivate(self):
        self.suppression("add", "x@example.net", "--tenant", TENANT, "--reason", "SpamComplaint")
        refused = self.rcpt("x@example.net")
        self.assertReply(refused, 550, "5.7.1")
        self.assertIn("SpamComplaint", refused.text)

        done = self.suppression("remove", "x@example.net", "--tenant", TENANT, check=False)
        self.assertEqual(done.returncode, 1, done.stderr)
        self.assertEqual(done.stderr.strip(), REFUSAL)
        self.assertReply(self.rcpt("x@example.net"), 550, "5.7.1")

        done = self.suppression("remove", "x@example.net", "--tenant", TENANT, "--admin")
        self.assertIn("x@example.net", done.stdout)
        self.assertReply(self.rcpt("x@example.net"), 250, "2.1.5")
        self.assertEqual(self.listed(), [])

    def test_manual_suppression_and_removal_without_admin(self):
        self.suppression("add", "manual@example.net", "--tenant", TENANT)
        refused = self.rcpt("manual@example.net")
        self.assertReply(refused, 550, "5.7.1")
        self.assertIn("ManualSuppression", refused.text)
        self.suppression("remove", "MANUAL@example.net", "--tenant", TENANT)
        self.assertReply(self.rcpt("manual@example.net"), 250, "2.1.5")
        done = self.suppression("remove", "manual@example.net", "--tenant", TENANT, check=False)
        self.assertEqual(done.returncode, 1, "removing an address that is not listed")

    def test_list_json_shows_the_entries_and_add_is_idempotent(self):
        self.assertEqual(self.listed(), [])
        self.suppression("add", "b@example.net", "--tenant", TENANT, "--reason", "SpamComplaint")
        self.suppression("add", "A@Example.net", "--tenant", TENANT, "--reason", "HardBounce")
        again = self.suppression("add", "a@example.net", "--tenant", TENANT)
        self.assertIn("already", again.stdout)
        self.suppression("add", "c@example.net", "--tenant", TENANT, "--stream", "broadcast")
        entries = self.listed()
        self.assertEqual([(e["email"], e["reason"], e["origin"], e["tenant"], e["stream"])
                          for e in entries],
                         [("a@example.net", "HardBounce", "Admin", TENANT, "outbound"),
                          ("b@example.net", "SpamComplaint", "Admin", TENANT, "outbound")])
        for entry in entries:
            self.assertIsInstance(entry["created_at"], int)
            self.assertGreater(entry["created_at"], 1_600_000_000)
        self.assertEqual([e["email"] for e in self.listed("--stream", "broadcast")],
                         ["c@example.net"])
        text = self.suppression("list", "--tenant", TENANT).stdout
        self.assertIn("a@example.net", text)
        self.assertIn("SpamComplaint", text)
        # Another stream's entry does not stop submitted mail (the default stream is outbound).
        self.assertReply(self.rcpt("c@example.net"), 250, "2.1.5")

    def test_a_message_on_another_stream_is_refused_when_a_recipient_is_suppressed_there(self):
        self.suppression("add", "news-x@example.net", "--tenant", TENANT, "--stream", "news")

        def send(recipients, stream=None):
            client = self.session()
            for rcpt in recipients:
                self.assertReply(client.cmd(f"RCPT TO:<{rcpt}>"), 250, "2.1.5")  # RCPT knows no stream
            self.assertReply(client.cmd("DATA"), 354)
            head = f"X-Stamp-Stream: {stream}\r\n" if stream else ""
            reply = client.cmd(f"{head}Subject: stream\r\n\r\nHello.\r\n.")
            client.cmd("QUIT")
            client.close()
            return reply

        refused = send(["news-x@example.net", "news-y@example.net"], stream="news")
        self.assertReply(refused, 550, "5.7.1")
        self.assertIn("news-x@example.net", refused.text)
        self.assertNotIn("news-y@example.net", refused.text)
        self.assertReply(send(["news-y@example.net"], stream="news"), 250, "2.0.0")
        # The default stream has no such entry.
        self.assertReply(send(["news-x@example.net"]), 250, "2.0.0")
        self.mta.wait_for_event("smtp.stream_suppressed", stream="news")

    def test_bad_invocations_are_refused(self):
        cases = [
            (1, ["add", "x@example.net", "--tenant", "nosuchtenant"]),
            (2, ["add", "x@example.net"]),  # no --tenant
            (2, ["add", "x@example.net", "--tenant", TENANT, "--reason", "Bogus"]),
            (2, ["add", "not-an-address", "--tenant", TENANT]),
            (2, ["list", "--tenant", TENANT, "--admin"]),
            (2, ["remove", "--tenant", TENANT]),
            (2, ["frobnicate", "--tenant", TENANT]),
        ]
        for code, args in cases:
            with self.subTest(args=args):
                done = self.suppression(*args, check=False)
                self.assertEqual(done.returncode, code, done.stderr)
        self.assertEqual(self.listed(), [])

    def test_a_failed_lookup_accepts_the_recipient(self):
        self.suppression("add", "x@example.net", "--tenant", TENANT, "--reason", "HardBounce")
        database = self.mta.spool_dir / "state.db"
        with sqlite3.connect(database, timeout=5) as db:
            db.execute("DROP TABLE suppressions")
        db.close()
        self.assertReply(self.rcpt("x@example.net"), 250, "2.1.5")
        self.mta.wait_for_event("smtp.suppression_lookup_failed", rcpt="x@example.net")


if __name__ == "__main__":
    unittest.main()
