"""Verified sender addresses end to end: `stampctl sender add` stores a single-use token and has
the running stamp-mta mail it from the operator's address (verified-address mode: envelope on the
operator's bounce domain); `stampctl sender confirm TOKEN` adds the address to the tenant file and
makes the daemon reload, after which mail From that address is accepted where it was refused
before. A token confirms once, not after it expires, and never when the mail was not sent."""

import re
import smtplib
import sqlite3
import unittest

from stamp_harness import TENANT, StampTestCase, smtp_client

OPERATOR_BLOCK = """\
operator:
  domain: vendor.test
  name: Vendor
  from_address: notify@vendor.test
  bounce_domain: pm-bounces.vendor.test
"""
ADDRESS = "alice@customer.test"
TOKEN_RE = re.compile(r"stampctl sender confirm ([A-Za-z0-9_-]{32})\)")


class SenderConfirmationTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta(start=False)
        self.mta.config_path.write_text(self.mta.config_path.read_text() + OPERATOR_BLOCK)
        self.mta.start()
        self.tenant_file = self.mta.conf_dir / "tenants.d" / f"{TENANT}.yaml"
        self.database = self.mta.spool_dir / "state.db"

    def sender(self, *args, expect=0):
        done = self.mta.stampctl("sender", *args, check=False)
        self.assertEqual(done.returncode, expect, f"stdout: {done.stdout}\nstderr: {done.stderr}")
        return done

    def add(self, address=ADDRESS):
        """`sender add`; returns (queue id, token) read from the mail in the sandbox."""
        done = self.sender("add", address, "--tenant", TENANT)
        queue_id = re.search(r"queued as ([0-9A-F]{16})", done.stdout).group(1)
        self.mta.wait_for_delivery(queue_id)
        token = TOKEN_RE.search(self.mta.read_eml(queue_id).decode("ascii")).group(1)
        return queue_id, token

    def submit_from(self, address):
        """Sends one message From `address`; returns the final reply code."""
        message = f"From: <{address}>\r\nTo: <bob@example.org>\r\nSubject: hello\r\n\r\nHi.\r\n"
        with smtp_client(self.mta.port("trusted")) as smtp:
            smtp.ehlo()
            try:
                smtp.sendmail("app@customer.test", ["bob@example.org"], message.encode())
                return 250
            except smtplib.SMTPDataError as refused:
                self.assertIn(b"5.7.1", refused.smtp_error)
                return refused.smtp_code

    def rows(self):
        """Every stored confirmation; none when stampctl never got as far as the store."""
        with sqlite3.connect(self.database) as db:
            tables = db.execute("SELECT name FROM sqlite_master WHERE name = 'sender_confirmation'")
            if not tables.fetchall():
                return []
            return db.execute("SELECT tenant, address, confirmed_at FROM sender_confirmation").fetchall()

    def test_mail_then_confirm_allows_the_address(self):
        self.assertEqual(self.submit_from(ADDRESS), 550)
        queue_id, token = self.add()
        envelope = self.mta.read_envelope(queue_id)
        self.assertEqual(envelope["rcpt_to"], ADDRESS)
        self.assertEqual(envelope["sender_mode"], "verified-address")
        self.assertTrue(envelope["mail_from"].endswith("@pm-bounces.vendor.test"), envelope)
        mail = self.mta.read_eml(queue_id).decode("ascii")
        self.assertIn("\r\nFrom: Vendor <notify@vendor.test>\r\n", mail)
        self.assertIn("\r\nAuto-Submitted: auto-generated\r\n", mail)
        self.assertIn(f'The account "{TENANT}"', mail)
        # Only the token's hash is stored.
        with sqlite3.connect(self.database) as db:
            stored = db.execute("SELECT token_sha256 FROM sender_confirmation").fetchall()
        self.assertEqual(len(stored), 1)
        self.assertNotIn(token, stored[0][0])

        done = self.sender("confirm", token)
        self.assertIn(f"confirmed {ADDRESS}", done.stdout)
        self.assertIn("stamp-mta reloaded", done.stdout)
        self.assertIn(ADDRESS, self.tenant_file.read_text())
        self.mta.wait_for_event("reloaded")
        self.assertEqual(self.submit_from(ADDRESS), 250)
        self.assertEqual(self.submit_from("mallory@customer.test"), 550)  # that one address only

    def test_token_works_once(self):
        _, token = self.add()
        self.sender("confirm", token)
        again = self.sender("confirm", token, expect=1)
        self.assertIn("already used", again.stderr)
        self.assertEqual(self.tenant_file.read_text().count(ADDRESS), 1)

    def test_expired_and_unknown_tokens_confirm_nothing(self):
        _, token = self.add()
        with sqlite3.connect(self.database) as db:
            db.execute("UPDATE sender_confirmation SET expires_at = 1")
        expired = self.sender("confirm", token, expect=1)
        self.assertIn("expired", expired.stderr)
        unknown = self.sender("confirm", "A" * 32, expect=1)
        self.assertIn("no such confirmation token", unknown.stderr)
        self.assertNotIn(ADDRESS, self.tenant_file.read_text())
        self.assertEqual(self.submit_from(ADDRESS), 550)

    def test_no_token_survives_when_the_mail_cannot_be_sent(self):
        self.mta.stop()
        done = self.sender("add", ADDRESS, "--tenant", TENANT, expect=1)
        self.assertIn("stamp-mta is not running", done.stderr)
        self.assertEqual(self.rows(), [])

    def test_bad_input_is_refused(self):
        for address in ("no-at-sign", "a b@customer.test", "<x@customer.test>", "x@"):
            done = self.sender("add", address, "--tenant", TENANT, expect=2)
            self.assertIn("not a plain e-mail address", done.stderr)
        self.assertIn("no tenant", self.sender("add", ADDRESS, "--tenant", "nobody", expect=1).stderr)
        self.assertIn("--expires", self.sender("add", ADDRESS, "--tenant", TENANT, "--expires", "0",
                                               expect=2).stderr)
        self.assertIn("--tenant is required", self.sender("add", ADDRESS, expect=2).stderr)
        self.assertEqual(self.rows(), [])
        self.assertTrue(self.mta.running())


if __name__ == "__main__":
    unittest.main()
