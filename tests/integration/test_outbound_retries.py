"""What stamp-mta does after a delivery attempt that did not simply succeed: retries after 4xx
(after retry.first_delay, or at once on `stampctl queue flush`), one RFC 3464 DSN per message
for the recipients that failed for good, never a DSN for a bounce, and the 4.4.7 DSN when the
queue lifetime runs out."""

import email.utils
import re
import time
import unittest

from stamp_harness import DELIVERY_TIMEOUT, HOSTNAME, OutboundTestCase

SENDER = "app@sender.test"
FIRST_DELAY = 1   # seconds: smtp_delivery()'s retry defaults
MAX_DELAY = 2


def dsn_probe(marker):
    return (f"From: App <{SENDER}>\r\n"
            f"To: someone@dest.test\r\n"
            f"Subject: dsn probe {marker}\r\n"
            f"Message-ID: <{marker}@sender.test>\r\n"
            "Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=us-ascii\r\n"
            "\r\n"
            f"BODY-MARKER-{marker}: the body is not returned with the headers.\r\n").encode()


class OutboundRetryTest(OutboundTestCase):
    def setUp(self):
        super().setUp()
        group = self.group = self.new_mx_group()
        self.sender_mx = group.add("127.0.0.2", "mx.sender.test")
        self.dest = group.add("127.0.0.3", "mx.dest.test")
        self.later = group.add("127.0.0.4", "mx.later.test", closed=True)  # open() it when needed
        group.start()
        self.dns = self.new_dns(
            mx=[("sender.test", "mx.sender.test", 10), ("dest.test", "mx.dest.test", 10),
                ("later.test", "mx.later.test", 10)],
            a=[(m.name, m.ip) for m in group.members])

    def start_mta(self, retry=None, **delivery):
        self.mta = self.new_outbound_mta(self.group, self.dns, retry=retry, **delivery)
        return self.mta

    def assertDeliveredOnce(self, mx, rcpt):
        self.assertEqual(self.delivered_to(mx).count(rcpt), 1, f"{rcpt} at {mx}: {self.delivered_to(mx)}")

    # retries

    def test_temporary_failure_is_retried_after_first_delay(self):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["ok@dest.test", "tempfail-once@dest.test"])
        first = mta.wait_for_attempt(queue_id=queue_id, rcpt="tempfail-once@dest.test", status="deferred")[0]
        self.assertAttempt(first, attempt=1, dsn="4.3.0", relay=self.relay_of(self.dest))
        self.assertIn("451 4.3.0 Try again later", first.get("reply", ""))
        deferred = mta.wait_for_event("delivery.deferred", queue_id=queue_id)[0]
        self.assertLessEqual(int(deferred["next_attempt_in_s"]), FIRST_DELAY * 2 + 1, deferred)

        mta.wait_for_done(queue_id)
        second = self.only_attempt(mta, queue_id, "tempfail-once@dest.test", "delivered")
        self.assertAttempt(second, attempt=2)
        # The recipient accepted the first time is not sent again with the retry.
        self.assertAttempt(self.only_attempt(mta, queue_id, "ok@dest.test", "delivered"), attempt=1)
        self.assertDeliveredOnce(self.dest, "ok@dest.test")
        self.assertDeliveredOnce(self.dest, "tempfail-once@dest.test")
        refused, accepted = self.dest.transactions()[0], self.dest.messages()[-1]
        self.assertEqual(refused.refused, ["tempfail-once@dest.test"])
        self.assertEqual(accepted.accepted, ["tempfail-once@dest.test"])
        gap = accepted.started_at - refused.started_at
        self.assertGreaterEqual(gap, FIRST_DELAY * 0.5, f"retried {gap:.2f}s after the 451")
        self.assertEqual(mta.events("delivery.dsn_queued"), [])

    def test_flush_retries_deferred_mail_now(self):
        # An hour until the next try, unless flushed.
        mta = self.start_mta(retry={"first_delay": "1h", "max_delay": "2h"})
        recipients = ["tempfail-once@dest.test", "x@later.test"]  # a 451, and connection refused
        queue_id = mta.send(SENDER, recipients)
        for rcpt in recipients:
            self.assertAttempt(mta.wait_for_attempt(queue_id=queue_id, rcpt=rcpt)[0],
                               status="deferred", attempt=1)
        deferred = mta.wait_for_event("delivery.deferred", queue_id=queue_id)[0]
        self.assertGreaterEqual(int(deferred["next_attempt_in_s"]), 1800, deferred)

        self.later.open()
        mta.stampctl("queue", "flush")
        mta.wait_for_done(queue_id)
        for rcpt, mx in zip(recipients, (self.dest, self.later)):
            self.assertAttempt(self.only_attempt(mta, queue_id, rcpt, "delivered"), attempt=2)
            self.assertDeliveredOnce(mx, rcpt)

    # DSNs

    def test_permanent_failures_get_one_dsn_with_every_field(self):
        mta = self.start_mta()
        bounced = ["permfail-1@dest.test", "permfail-2@dest.test"]
        queue_id = mta.send(SENDER, ["ok@dest.test"] + bounced, dsn_probe("dsn1"))
        mta.wait_for_done(queue_id)
        self.only_attempt(mta, queue_id, "ok@dest.test", "delivered")
        for rcpt in bounced:
            attempt = self.only_attempt(mta, queue_id, rcpt, "bounced")
            self.assertAttempt(attempt, dsn="5.1.1", attempt=1, relay=self.relay_of(self.dest))
            self.assertIn("550 5.1.1 No such user", attempt.get("reply", ""))
        self.assertEqual(mta.events("delivery.deferred", queue_id=queue_id), [])
        (queued,) = mta.wait_for_event("delivery.dsn_queued", original=queue_id)
        self.assertEqual(queued["recipients"], "2")
        dsn_id = queued["queue_id"]
        self.assertNotEqual(dsn_id, queue_id)

        (dsn,) = self.wait_for_dsn(self.sender_mx)
        (transaction,) = self.sender_mx.messages()
        self.assertEqual((transaction.mail_from, transaction.accepted), ("", [SENDER]))
        mta.wait_for_done(dsn_id)
        self.only_attempt(mta, dsn_id, SENDER, "delivered")

        # RFC 6522: multipart/report; report-type=delivery-status, human part first.
        message = dsn.message
        self.assertEqual(message.get_content_type(), "multipart/report")
        self.assertEqual(message.get_param("report-type"), "delivery-status")
        types = [part.get_content_type() for part in dsn.parts]
        self.assertEqual(len(types), 3, types)
        self.assertEqual(types[0].split("/")[0], "text", types)
        self.assertEqual(types[1:], ["message/delivery-status", "text/rfc822-headers"])
        # RFC 5322 fields of the DSN itself.
        self.assertIn(SENDER, str(message["To"]))
        for name in ("From", "Date", "Message-ID", "Subject"):
            self.assertIsNotNone(message[name], f"the DSN has no {name}")
        self.assertAlmostNow(message["Date"])

        # RFC 3464 2.2: per-message fields.
        self.assertRegex(dsn.per_message["Reporting-MTA"], r"(?i)^dns;\s*" + re.escape(HOSTNAME) + "$")
        self.assertAlmostNow(dsn.per_message["Arrival-Date"])
        # RFC 3464 2.3: one block per failed recipient, none for the delivered one.
        self.assertEqual(dsn.final_recipients(), bounced)
        for rcpt in bounced:
            with self.subTest(rcpt):
                block = dsn.recipient(rcpt)
                self.assertEqual(block["Action"], "failed")
                self.assertEqual(block["Status"], "5.1.1")
                self.assertRegex(block["Remote-MTA"], r"(?i)^dns;\s*mx\.dest\.test$")
                self.assertRegex(block["Diagnostic-Code"], r"(?i)^smtp;\s*550 5\.1\.1 No such user$")
                if block["Last-Attempt-Date"] is not None:
                    self.assertAlmostNow(block["Last-Attempt-Date"])

        # The original's header, not its body (no RET=FULL).
        headers = dsn.part("text/rfc822-headers").get_content()
        self.assertRegex(headers, r"(?m)^Subject: dsn probe dsn1\r?$")
        self.assertRegex(headers, r"(?m)^Message-ID: <dsn1@sender\.test>\r?$")
        self.assertNotIn("BODY-MARKER", headers)
        self.assertEqual(len(mta.events("delivery.dsn_queued", original=queue_id)), 1)

    def test_dsn_names_envid_and_original_recipient(self):
        # RFC 3464 2.2.1 and 2.3.1: ENVID and ORCPT given at submission come back in the DSN.
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["permfail@dest.test"], dsn_probe("dsn2"),
                            mail_options=["ENVID=probe-envid-42"],
                            rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;Original.Alias@dest.test"])
        mta.wait_for_done(queue_id)
        (dsn,) = self.wait_for_dsn(self.sender_mx)
        self.assertEqual(dsn.per_message["Original-Envelope-Id"], "probe-envid-42")
        block = dsn.recipient("permfail@dest.test")
        self.assertIsNotNone(block, dsn.per_recipient)
        self.assertRegex(block["Original-Recipient"], r"(?i)^rfc822;\s*Original\.Alias@dest\.test$")
        self.assertEqual((block["Action"], block["Status"]), ("failed", "5.1.1"))

    def test_no_dsn_for_a_message_with_the_null_sender(self):
        mta = self.start_mta()
        bounce = (b"From: Mail Delivery System <MAILER-DAEMON@elsewhere.test>\r\n"
                  b"Subject: a bounce from somewhere\r\n\r\nbounce body\r\n")
        bounce_id = mta.send("", ["permfail-a@dest.test"], bounce)
        mta.wait_for_done(bounce_id)
        self.only_attempt(mta, bounce_id, "permfail-a@dest.test", "bounced")
        # A message that does get a DSN, as a barrier: once its DSN has arrived, a DSN for the
        # bounce would have been queued too.
        other_id = mta.send(SENDER, ["permfail-b@dest.test"], dsn_probe("barrier"))
        (dsn,) = self.wait_for_dsn(self.sender_mx)
        mta.wait_for_done(other_id)
        self.assertEqual(dsn.final_recipients(), ["permfail-b@dest.test"])
        self.assertEqual(mta.events("delivery.dsn_queued", original=bounce_id), [])
        self.assertEqual(len(mta.events("delivery.dsn_queued")), 1)
        self.assertEqual(len(self.sender_mx.messages()), 1)

    def test_queue_lifetime_expiry_bounces_with_4_4_7(self):
        lifetime = 5
        mta = self.start_mta(retry={"max_queue_lifetime": f"{lifetime}s"})
        started = time.monotonic()
        rcpt = "tempfail-forever@dest.test"
        queue_id = mta.send(SENDER, ["ok@dest.test", rcpt], dsn_probe("expiry"))
        (dsn,) = self.wait_for_dsn(self.sender_mx, timeout=lifetime + DELIVERY_TIMEOUT)
        self.assertGreaterEqual(time.monotonic() - started, lifetime - 1, "bounced before the lifetime ran out")
        mta.wait_for_done(queue_id)

        self.assertDeliveredOnce(self.dest, "ok@dest.test")
        self.assertEqual(mta.attempts(queue_id=queue_id, rcpt=rcpt, status="delivered"), [])
        # Retried meanwhile, with the backoff capped at max_delay (plus jitter).
        tries = mta.attempts(queue_id=queue_id, rcpt=rcpt, status="deferred")
        self.assertGreaterEqual(len(tries), 2, tries)
        self.assertEqual([int(t["attempt"]) for t in tries], list(range(1, len(tries) + 1)))
        for deferred in mta.events("delivery.deferred", queue_id=queue_id):
            self.assertLessEqual(int(deferred["next_attempt_in_s"]), MAX_DELAY * 2, deferred)
        rejected_at_mx = [t for t in self.dest.transactions() if rcpt in t.refused]
        self.assertGreaterEqual(len(rejected_at_mx), 2)

        (queued,) = mta.events("delivery.dsn_queued", original=queue_id)
        self.assertEqual(queued["recipients"], "1")
        self.assertEqual(dsn.final_recipients(), [rcpt])
        block = dsn.recipient(rcpt)
        self.assertEqual((block["Action"], block["Status"]), ("failed", "4.4.7"))
        if block["Diagnostic-Code"] is not None:  # the last reply, if given
            self.assertRegex(block["Diagnostic-Code"], r"(?i)^smtp;\s*451 4\.3\.0 Try again later$")
        if block["Remote-MTA"] is not None:
            self.assertRegex(block["Remote-MTA"], r"(?i)^dns;\s*mx\.dest\.test$")

    # helpers

    def assertAlmostNow(self, date_text):
        when = email.utils.parsedate_to_datetime(str(date_text)).timestamp()
        self.assertLess(abs(when - time.time()), 300, f"date {date_text!r} is not now")


if __name__ == "__main__":
    unittest.main()
