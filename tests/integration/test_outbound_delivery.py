"""Outbound delivery by the real stamp-mta (`delivery: {mode: smtp}`): routes found in real DNS
(dnsmasq) per RFC 5321 5.1, the relay host, one transaction per domain, connection reuse, the
STARTTLS policy, and the bytes that reach the MX."""

import re
import subprocess
import unittest

from fake_mx import make_ca, make_cert
from stamp_harness import (CLIENT_NAME, DELIVERY_TIMEOUT, HOSTNAME, OUTBOUND_HELO,
                           OutboundTestCase, smtp_client, split_received, stamp_mta, submit)
from test_submission import DATE_RE, big_message, unfold

SENDER = "app@sender.test"
EQUAL_DOMAINS = [f"eq{n}.test" for n in range(16)]  # all share two MXs of equal preference
REQUIRE_TLS = ("selfsigned.test", "wrongname.test", "notls.test", "secure.test")


def stuff(data):
    """RFC 5321 4.5.2 dot-stuffing, written independently of the fake MX's unstuffing."""
    return b"".join(b"." + line if line.startswith(b".") else line
                    for line in data.splitlines(keepends=True))


class OutboundDeliveryTest(OutboundTestCase):
    def setUp(self):
        super().setUp()
        certs = self.tmp / "certs"
        self.ca = make_ca(certs / "ca")
        group = self.group = self.new_mx_group()
        add = group.add
        self.sender_mx = add("127.0.0.2", "mx.sender.test")      # receives the DSNs
        self.order1 = add("127.0.0.3", "mx1.order.test")
        self.order2 = add("127.0.0.4", "mx2.order.test")
        self.broken1 = add("127.0.0.5", "mx1.broken.test", greeting=421)
        self.broken2 = add("127.0.0.6", "mx2.broken.test")
        self.closed1 = add("127.0.0.7", "mx1.closed.test", closed=True)
        self.closed2 = add("127.0.0.8", "mx2.closed.test")
        self.eq_a = add("127.0.0.9", "mxa.eq.test")
        self.eq_b = add("127.0.0.10", "mxb.eq.test")
        self.implicit = add("127.0.0.11", "implicit.test")      # A record, no MX
        self.null_trap = add("127.0.0.12", "nullmx.test")       # the null-MX domain's A: never used
        self.relay = add("127.0.0.13", "relay.test")
        self.plain = add("127.0.0.14", "mx.plain.test")         # no STARTTLS
        self.tls = add("127.0.0.15", "mx.tls.test", cert=make_cert(certs, "mx.tls.test"))
        self.secure = add("127.0.0.16", "mx.secure.test", cert=make_cert(certs, "mx.secure.test", self.ca))
        self.selfsigned = add("127.0.0.17", "mx.selfsigned.test", cert=make_cert(certs, "mx.selfsigned.test"))
        self.wrongname = add("127.0.0.18", "mx.wrongname.test", cert=make_cert(certs, "other.test", self.ca))
        self.notls = add("127.0.0.19", "mx.notls.test")
        group.start()
        mx = [
            ("sender.test", "mx.sender.test", 10),
            ("order.test", "mx2.order.test", 20),   # worst first: stamp must sort
            ("order.test", "mx1.order.test", 10),
            ("broken.test", "mx1.broken.test", 10), ("broken.test", "mx2.broken.test", 20),
            ("closed.test", "mx1.closed.test", 10), ("closed.test", "mx2.closed.test", 20),
            ("plain.test", "mx.plain.test", 10),
            ("opportunistic.test", "mx.tls.test", 10),
            ("secure.test", "mx.secure.test", 10),
            ("selfsigned.test", "mx.selfsigned.test", 10),
            ("wrongname.test", "mx.wrongname.test", 10),
            ("notls.test", "mx.notls.test", 10),
        ]
        for domain in EQUAL_DOMAINS:
            mx += [(domain, "mxa.eq.test", 10), (domain, "mxb.eq.test", 10)]
        self.dns = self.new_dns(mx=mx, a=[(m.name, m.ip) for m in group.members],
                                null_mx=["nullmx.test"])

    def start_mta(self, **delivery):
        self.mta = self.new_outbound_mta(self.group, self.dns, **delivery)
        return self.mta

    # the harness itself

    def test_harness_config_passes_check_config(self):
        mta = self.new_outbound_mta(
            self.group, self.dns, start=False, relay_host=f"{self.relay.ip}:{self.group.port}",
            max_connections=50,
            tls={"default": "opportunistic", "ca_file": str(self.ca[0]),
                 "domains": [{"domain": "secure.test", "mode": "require"}]},
            limits={"max_connections": 5, "max_messages_per_connection": 10, "max_messages_per_minute": 0},
            domain_limits=[{"domain": "plain.test", "max_connections": 1, "max_messages_per_connection": 2}],
            retry={"first_delay": "1s", "max_delay": "2s", "max_queue_lifetime": "3d"})
        done = subprocess.run([stamp_mta(), "--check-config", "--config", str(mta.config_path)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, f"{mta.config_path.read_text()}\nstdout: {done.stdout}\n"
                                             f"stderr: {done.stderr}")
        self.assertIn("configuration OK", done.stdout)

    # routes (RFC 5321 5.1)

    def test_mail_goes_to_the_most_preferred_mx(self):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["bob@order.test"])
        mta.wait_for_done(queue_id)
        attempt = self.only_attempt(mta, queue_id, "bob@order.test", "delivered")
        self.assertAttempt(attempt, queue_id=queue_id, rcpt="bob@order.test", domain="order.test",
                           relay=self.relay_of(self.order1), attempt=1, tls="no")
        self.assertRegex(attempt.get("dsn", ""), r"^2\.\d+\.\d+$")
        self.assertIn("250", attempt.get("reply", ""))
        (message,) = self.order1.messages()
        self.assertEqual((message.mail_from, message.accepted), (SENDER, ["bob@order.test"]))
        self.assertEqual(self.order1.connections()[0].helo, OUTBOUND_HELO)
        self.assertEqual(self.order2.connections(), [], "the less preferred MX was contacted")
        self.assertIn(("MX", "order.test"), self.dns.queries())

    def test_unusable_best_mx_falls_back_to_the_next_at_once(self):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["ann@broken.test", "ben@closed.test"])
        mta.wait_for_done(queue_id)
        for rcpt, good in (("ann@broken.test", self.broken2), ("ben@closed.test", self.closed2)):
            with self.subTest(rcpt):
                attempt = self.only_attempt(mta, queue_id, rcpt, "delivered")
                # Same attempt: the next MX is tried at once, not after a retry delay.
                self.assertAttempt(attempt, relay=self.relay_of(good), attempt=1)
                self.assertEqual(self.delivered_to(good), [rcpt])
        refused = self.broken1.connections()
        self.assertGreaterEqual(len(refused), 1, "the 421 MX (preference 10) was not tried first")
        self.assertTrue(all(c.greeting_code == 421 for c in refused))
        self.assertEqual(self.broken1.transactions(), [])
        self.assertEqual(mta.events("delivery.deferred", queue_id=queue_id), [])

    def test_equal_preference_mxs_are_chosen_at_random(self):
        mta = self.start_mta()
        recipients = [f"user@{domain}" for domain in EQUAL_DOMAINS]
        queue_id = mta.send(SENDER, recipients)
        mta.wait_for_done(queue_id, timeout=2 * DELIVERY_TIMEOUT)
        at_a, at_b = self.delivered_to(self.eq_a), self.delivered_to(self.eq_b)
        self.assertEqual(sorted(at_a + at_b), sorted(recipients))
        # 16 domains, each resolved on its own: all on one MX has probability 2/2^16 if random.
        self.assertTrue(at_a and at_b, f"all 16 domains went to one of two equal MXs: a={at_a} b={at_b}")

    def test_domain_without_mx_uses_its_own_address(self):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["carol@implicit.test"])
        mta.wait_for_done(queue_id)
        attempt = self.only_attempt(mta, queue_id, "carol@implicit.test", "delivered")
        self.assertAttempt(attempt, relay=self.relay_of(self.implicit), domain="implicit.test")
        self.assertEqual(self.delivered_to(self.implicit), ["carol@implicit.test"])
        self.assertIn(("MX", "implicit.test"), self.dns.queries(), "no MX lookup before the A fallback")

    def assertBouncedAtOnce(self, rcpt, status):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, [rcpt])
        mta.wait_for_done(queue_id)
        attempt = self.only_attempt(mta, queue_id, rcpt, "bounced")
        self.assertAttempt(attempt, dsn=status, attempt=1)
        self.assertEqual(mta.events("delivery.deferred", queue_id=queue_id), [])
        (dsn,) = self.wait_for_dsn(self.sender_mx)
        self.assertEqual(self.sender_mx.messages()[0].accepted, [SENDER])
        self.assertEqual(dsn.final_recipients(), [rcpt])
        block = dsn.recipient(rcpt)
        self.assertEqual((block["Action"], block["Status"]), ("failed", status))
        return mta

    def test_null_mx_bounces_at_once_with_5_1_10(self):
        self.assertBouncedAtOnce("dave@nullmx.test", "5.1.10")
        self.assertEqual(self.null_trap.connections(), [], "a null MX domain's A record was used")

    def test_nxdomain_bounces_at_once_with_5_1_2(self):
        self.assertBouncedAtOnce("erin@nosuch.test", "5.1.2")

    def test_dns_failure_defers_and_keeps_trying(self):
        # Outside every zone dnsmasq serves: it answers REFUSED, the resolver SERVFAIL.
        mta = self.start_mta()
        rcpt = "frank@faraway.example"
        queue_id = mta.send(SENDER, [rcpt])
        first, second = mta.wait_for_attempt(queue_id=queue_id, rcpt=rcpt, count=2)[:2]
        for number, attempt in enumerate((first, second), start=1):
            self.assertAttempt(attempt, status="deferred", attempt=number)
            self.assertRegex(attempt.get("dsn", ""), r"^4\.\d+\.\d+$")
        mta.wait_for_event("delivery.deferred", queue_id=queue_id)
        self.assertEqual(mta.attempts(queue_id=queue_id, status="bounced"), [])
        self.assertEqual(mta.events("delivery.dsn_queued"), [])

    def test_relay_host_gets_all_mail_without_mx_lookups(self):
        mta = self.start_mta(relay_host=f"{self.relay.ip}:{self.group.port}")
        recipients = ["a@order.test", "b@nosuch.test", "c@nullmx.test", "d@faraway.example"]
        queue_id = mta.send(SENDER, recipients)
        mta.wait_for_done(queue_id)
        self.assertEqual(sorted(self.delivered_to(self.relay)), sorted(recipients))
        for rcpt in recipients:
            self.only_attempt(mta, queue_id, rcpt, "delivered")
        for mx in (self.order1, self.order2, self.null_trap):
            self.assertEqual(mx.connections(), [], f"{mx} was contacted despite the relay host")
        domains = {rcpt.split("@")[1] for rcpt in recipients}
        self.assertEqual([q for q in self.dns.queries() if q[1] in domains], [],
                         "recipient domains were looked up despite the relay host")

    # transactions and connections

    def test_recipients_of_one_domain_share_one_transaction(self):
        mta = self.start_mta()
        plain = ["a@plain.test", "b@plain.test", "c@plain.test"]
        queue_id = mta.send(SENDER, plain + ["d@order.test"])
        mta.wait_for_done(queue_id)
        (transaction,) = self.plain.transactions()
        self.assertTrue(transaction.delivered)
        self.assertEqual(sorted(transaction.accepted), plain)
        self.assertEqual(self.delivered_to(self.order1), ["d@order.test"])
        (connection,) = self.plain.connections()
        self.assertEqual(connection.transactions, 1)
        self.assertEqual(sum(1 for c in connection.commands if c.upper() == "DATA"), 1)
        # The MX offers PIPELINING (RFC 2920): the envelope commands go out together.
        self.assertGreaterEqual(connection.max_pipelined, 2,
                                f"stamp did not pipeline: {connection.commands}")

    def test_messages_to_one_domain_reuse_a_connection(self):
        # One connection at a time to plain.test, and the MX holds its greeting until all four
        # messages are queued: they must then go over fewer than four connections.
        mta = self.start_mta(domain_limits=[{"domain": "plain.test", "max_connections": 1}])
        self.plain.hold()
        queue_ids = [mta.send(SENDER, [f"user{n}@plain.test"]) for n in range(4)]
        self.plain.wait_for_connections(1, DELIVERY_TIMEOUT)
        self.plain.release()
        self.plain.wait_for_messages(4, DELIVERY_TIMEOUT)
        for queue_id in queue_ids:
            mta.wait_for_done(queue_id)
        connections = self.plain.connections()
        self.assertEqual(sum(c.transactions for c in connections), 4)
        self.assertLess(len(connections), 4, [c.transactions for c in connections])
        self.assertGreaterEqual(max(c.transactions for c in connections), 2)
        self.assertEqual(self.plain.max_concurrent, 1)

    # STARTTLS (RFC 3207)

    def test_starttls_is_used_whenever_offered(self):
        mta = self.start_mta()
        queue_id = mta.send(SENDER, ["a@opportunistic.test", "b@plain.test"])
        mta.wait_for_done(queue_id)
        attempt = self.only_attempt(mta, queue_id, "a@opportunistic.test", "delivered")
        self.assertAttempt(attempt, relay=self.relay_of(self.tls), tls="yes")
        (connection,) = self.tls.connections()
        self.assertTrue(connection.tls, "STARTTLS was offered (self-signed) but not used")
        commands = [c.split(" ", 1)[0].upper() for c in connection.commands]
        self.assertEqual(commands[:3], ["EHLO", "STARTTLS", "EHLO"], connection.commands)
        (message,) = self.tls.messages()
        self.assertTrue(message.tls)
        # No STARTTLS offered: delivered in clear (opportunistic is the default).
        attempt = self.only_attempt(mta, queue_id, "b@plain.test", "delivered")
        self.assertAttempt(attempt, tls="no")
        self.assertFalse(self.plain.messages()[0].tls)

    def require_tls_config(self):
        return {"default": "opportunistic", "ca_file": str(self.ca[0]),
                "domains": [{"domain": domain, "mode": "require"} for domain in REQUIRE_TLS]}

    def test_required_tls_without_a_verified_certificate_defers_and_sends_nothing(self):
        mta = self.start_mta(tls=self.require_tls_config())
        cases = [("a@selfsigned.test", self.selfsigned, r"^4\.7\.\d+$"),
                 ("b@wrongname.test", self.wrongname, r"^4\.7\.\d+$"),
                 ("c@notls.test", self.notls, r"^4\.\d+\.\d+$")]
        queue_id = mta.send(SENDER, [rcpt for rcpt, _, _ in cases])
        for rcpt, mx, dsn in cases:
            with self.subTest(rcpt):
                attempt = mta.wait_for_attempt(queue_id=queue_id, rcpt=rcpt)[0]
                self.assertAttempt(attempt, status="deferred")
                self.assertRegex(attempt.get("dsn", ""), dsn)
                connections = mx.connections()
                self.assertGreaterEqual(len(connections), 1, "the MX was never contacted")
                for connection in connections:
                    sent = [c.split(" ", 1)[0].upper() for c in connection.commands]
                    self.assertFalse({"MAIL", "RCPT", "DATA"} & set(sent),
                                     f"envelope sent without verified TLS: {connection.commands}")
                self.assertEqual(mx.transactions(), [])
        mta.wait_for_event("delivery.deferred", queue_id=queue_id)
        self.assertEqual(mta.attempts(queue_id=queue_id, status="delivered"), [])
        self.assertEqual(mta.attempts(queue_id=queue_id, status="bounced"), [])

    def test_required_tls_with_a_verified_certificate_delivers(self):
        mta = self.start_mta(tls=self.require_tls_config())
        queue_id = mta.send(SENDER, ["a@secure.test"])
        mta.wait_for_done(queue_id)
        attempt = self.only_attempt(mta, queue_id, "a@secure.test", "delivered")
        self.assertAttempt(attempt, relay=self.relay_of(self.secure), tls="yes")
        (message,) = self.secure.messages()
        self.assertTrue(message.tls)

    # content

    def test_message_reaches_the_mx_byte_for_byte(self):
        mta = self.start_mta()
        sandbox = self.new_mta("sandbox")  # what sandbox mode makes of the same submission
        message = big_message(size=64 * 1024, marker="outbound")
        rcpt = "grace@plain.test"
        queue_ids = []
        for daemon in (mta, sandbox):
            with smtp_client(daemon.port("trusted")) as smtp:
                smtp.ehlo()
                queue_ids.append(submit(smtp, SENDER, [rcpt], message, mail_options=["BODY=8BITMIME"]))
        queue_id, sandbox_id = queue_ids
        mta.wait_for_done(queue_id)
        (eml,) = sandbox.wait_for_delivery(sandbox_id)

        (transaction,) = self.plain.messages()
        received, rest = split_received(transaction.data)
        self.assertEqual(rest, message, "the MX did not get exactly the submitted message")
        pattern = (rb"Received: from " + re.escape(CLIENT_NAME.encode()) + rb" \(\[127\.0\.0\.1\]\) by " +
                   re.escape(HOSTNAME.encode()) + rb" \(stamp\) with ESMTP id " + queue_id.encode() +
                   rb" for <" + re.escape(rcpt.encode()) + rb">; " + DATE_RE + rb"\r\n")
        self.assertRegex(unfold(received), pattern)
        # Same bytes as the sandbox .eml, up to the queue id and the date in Received.
        def normalize(data, qid):
            return re.sub(DATE_RE, b"DATE", data.replace(qid.encode(), b"QUEUEID"), count=1)
        self.assertEqual(normalize(transaction.data, queue_id), normalize(eml, sandbox_id))
        # On the wire every line starting with "." had it doubled (RFC 5321 4.5.2).
        self.assertEqual(transaction.raw_data, stuff(transaction.data))
        self.assertIn(b"\r\n..a line that starts with a dot\r\n", transaction.raw_data)
        self.assertIn(b"\r\n..\r\n", transaction.raw_data)
        self.assertIn(b"\r\n...two dots\r\n", transaction.raw_data)
        self.assertEqual(transaction.mail_from, SENDER)
        # 8-bit content may only be sent as BODY=8BITMIME (RFC 6152), which the MX offers.
        self.assertIn("BODY=8BITMIME", [p.upper() for p in transaction.mail_params])


if __name__ == "__main__":
    unittest.main()
