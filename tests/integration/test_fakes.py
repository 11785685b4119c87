"""The test doubles the outbound tests stand on: fake_dns (dnsmasq) answers what the tests
configure, and fake_mx speaks SMTP the way the outbound tests assume (pipelining, STARTTLS,
scripted replies, records). These need no stamp binary."""

import os
import smtplib
import socket
import ssl
import time
import unittest

import fake_dns
from fake_dns import NXDOMAIN, NOERROR, REFUSED
from fake_mx import make_ca, make_cert
from stamp_harness import IO_TIMEOUT, RawSmtp, StampTestCase, smtp_delivery, to_yaml, wait_for


class RawClient(RawSmtp):
    """RawSmtp towards any address (RawSmtp itself connects to 127.0.0.1)."""

    def __init__(self, ip, port, read_greeting=True):
        self.sock = socket.create_connection((ip, port), timeout=IO_TIMEOUT)
        self.buf = b""
        self.greeting = self.read_reply() if read_greeting else None

    def replies(self, n):
        return [self.read_reply() for _ in range(n)]


class FakeDnsTest(StampTestCase):
    RECORDS = dict(
        # Listed worst first: the order of the answer must not matter to stamp, and the
        # preferences must come back as given.
        mx=[("dest.test", "mx2.dest.test", 20), ("dest.test", "mx1.dest.test", 10)],
        a=[("mx1.dest.test", "127.0.0.2"), ("mx2.dest.test", "127.0.0.3"),
           ("implicit.test", "127.0.0.4"), ("dual.test", "127.0.0.5"), ("dual.test", "127.0.0.6")],
        null_mx=["nullmx.test"],
    )

    def test_answers_mx_a_implicit_null_mx_nxdomain_and_refused(self):
        dns = self.new_dns(**self.RECORDS)
        for tcp in (False, True):
            with self.subTest(tcp=tcp):
                answer = dns.query("dest.test", "MX", tcp=tcp)
                self.assertEqual(answer.rcode, NOERROR)
                self.assertEqual(sorted(answer.records("MX")), [(10, "mx1.dest.test"), (20, "mx2.dest.test")])
                self.assertTrue(all(ttl == 1 for _, _, ttl, _ in answer.answers), answer)

                answer = dns.query("MX1.dest.test", "A", tcp=tcp)  # names are case-insensitive
                self.assertEqual((answer.rcode, answer.records("A")), (NOERROR, ["127.0.0.2"]))
                answer = dns.query("mx1.dest.test", "AAAA", tcp=tcp)
                self.assertEqual((answer.rcode, answer.answers), (NOERROR, []))  # NODATA

                # Implicit MX: the name exists (NOERROR) with no MX, and has an address.
                answer = dns.query("implicit.test", "MX", tcp=tcp)
                self.assertEqual((answer.rcode, answer.answers), (NOERROR, []))
                answer = dns.query("implicit.test", "A", tcp=tcp)
                self.assertEqual(answer.records("A"), ["127.0.0.4"])
                self.assertEqual(sorted(dns.query("dual.test", "A", tcp=tcp).records("A")),
                                 ["127.0.0.5", "127.0.0.6"])

                # RFC 7505 null MX: exactly one MX, preference 0, exchange "." (the root).
                answer = dns.query("nullmx.test", "MX", tcp=tcp)
                self.assertEqual((answer.rcode, answer.records("MX")), (NOERROR, [(0, "")]))

                # Anything else under test. does not exist; names elsewhere are refused.
                self.assertEqual(dns.query("nosuch.test", "MX", tcp=tcp).rcode, NXDOMAIN)
                self.assertEqual(dns.query("deeper.nosuch.test", "A", tcp=tcp).rcode, NXDOMAIN)
                self.assertEqual(dns.query("faraway.example", "MX", tcp=tcp).rcode, REFUSED)

        self.assertIn(("MX", "dest.test"), dns.queries())
        self.assertEqual(dns.queries(qtype="MX", name="nullmx.test"), [("MX", "nullmx.test")] * 2)
        self.assertNotIn("readiness-probe.test", str(dns.queries()))

    def test_two_servers_get_their_own_ports_and_stop_by_pid(self):
        first = self.new_dns("dns1", mx=[("one.test", "mx.one.test", 5)])
        second = self.new_dns("dns2", mx=[("two.test", "mx.two.test", 5)])
        self.assertNotEqual(first.port, second.port)
        self.assertEqual(first.query("one.test", "MX").records("MX"), [(5, "mx.one.test")])
        self.assertEqual(second.query("one.test", "MX").rcode, NXDOMAIN)
        self.assertEqual(first.address, f"127.0.0.1:{first.port}")
        pid, port = first.process.pid, first.port
        first.stop()
        self.assertFalse(first.running())
        with self.assertRaises(ProcessLookupError):
            os.kill(pid, 0)
        with self.assertRaises(OSError):  # ICMP port unreachable, or no answer at all
            fake_dns.query(port, "one.test", "MX", timeout=0.5)
        self.assertEqual(second.query("two.test", "MX").rcode, NOERROR)


class FakeMxTest(StampTestCase):
    def start_mx(self, ip="127.0.0.2", name="mx1.dest.test", **kwargs):
        group = self.new_mx_group()
        mx = group.add(ip, name, **kwargs)
        group.start()
        return mx

    def test_smtplib_session_with_starttls_and_scripted_recipients(self):
        ca = make_ca(self.tmp / "ca")
        mx = self.start_mx(cert=make_cert(self.tmp / "certs", "mx1.dest.test", ca))
        context = ssl.create_default_context(cafile=str(ca[0]))
        message = b"Subject: hi\r\n\r\n.leading dot\r\n.\r\n..two\r\nend\r\n"

        for attempt in (1, 2):
            with smtplib.SMTP(mx.ip, mx.port, local_hostname="client.test", timeout=IO_TIMEOUT) as smtp:
                smtp.ehlo()
                self.assertEqual(sorted(smtp.esmtp_features),
                                 ["8bitmime", "enhancedstatuscodes", "pipelining", "smtputf8", "starttls"])
                smtp._host = "mx1.dest.test"  # the name to verify and send as SNI
                self.assertEqual(smtp.starttls(context=context)[0], 220)
                smtp.ehlo()
                self.assertNotIn("starttls", smtp.esmtp_features)
                refused = smtp.sendmail("app@sender.test", ["ok@dest.test", "permfail-x@dest.test",
                                                             "tempfail@dest.test", "tempfail-once@dest.test"],
                                        message, mail_options=["BODY=8BITMIME"], rcpt_options=["NOTIFY=FAILURE"])
            expected = {"permfail-x@dest.test": (550, b"5.1.1 No such user"),
                        "tempfail@dest.test": (451, b"4.3.0 Try again later")}
            if attempt == 1:
                expected["tempfail-once@dest.test"] = (451, b"4.3.0 Try again later")
            self.assertEqual(refused, expected, f"attempt {attempt}")

        transactions = mx.wait_for_messages(2, timeout=10)
        self.assertEqual(len(transactions), 2)
        for attempt, transaction in enumerate(transactions, start=1):
            self.assertEqual(transaction.mail_from, "app@sender.test")
            self.assertEqual(transaction.mail_params, ["BODY=8BITMIME"])
            self.assertTrue(transaction.tls)
            self.assertEqual(transaction.rcpts[0].params, ["NOTIFY=FAILURE"])
            self.assertEqual(transaction.data, message)
            self.assertEqual(transaction.raw_data, b"Subject: hi\r\n\r\n..leading dot\r\n..\r\n...two\r\nend\r\n")
            self.assertEqual(transaction.data_code, 250)
            accepted = ["ok@dest.test"] + (["tempfail-once@dest.test"] if attempt == 2 else [])
            self.assertEqual(transaction.accepted, accepted)
        connections = mx.connections()
        self.assertEqual(len(connections), 2)
        for connection in connections:
            self.assertTrue(connection.tls)
            self.assertIn(connection.tls_version, ("TLSv1.2", "TLSv1.3"))
            self.assertEqual(connection.sni, "mx1.dest.test")
            self.assertEqual(connection.helo, "client.test")
            self.assertEqual(connection.transactions, 1)
            self.assertEqual(connection.peer[0], "127.0.0.1")
            self.assertEqual(connection.commands[:3], ["ehlo client.test", "STARTTLS", "ehlo client.test"])
        wait_for(lambda: all(c.closed for c in mx.connections()), 10, message="connections closed")
        self.assertEqual(mx.max_concurrent, 1)

    def test_pipelined_commands_get_their_replies_in_order(self):
        mx = self.start_mx()
        client = RawClient(mx.ip, mx.port)
        self.assertEqual(client.greeting.code, 220)
        self.assertEqual(client.cmd("EHLO client.test").code, 250)
        client.send(b"MAIL FROM:<a@sender.test> SIZE=100\r\nRCPT TO:<b@dest.test>\r\n"
                    b"RCPT TO:<permfail@dest.test>\r\nRCPT TO:<c@dest.test> NOTIFY=NEVER\r\nDATA\r\n")
        self.assertEqual([r.code for r in client.replies(5)], [250, 250, 550, 250, 354])
        # RFC 2920: after the end of data the next transaction may follow in the same write.
        client.send(b"first\r\n..dot\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<d@dest.test>\r\nDATA\r\n")
        self.assertEqual([r.code for r in client.replies(4)], [250, 250, 250, 354])
        client.send(b".\r\nRSET\r\nMAIL FROM:<e@sender.test>\r\nRCPT TO:<tempfail@dest.test>\r\nDATA\r\nQUIT\r\n")
        replies = client.replies(6)
        self.assertEqual([r.code for r in replies], [250, 250, 250, 451, 554, 221])
        self.assertEqual(replies[4].text, "5.5.1 No valid recipients")
        client.expect_closed()
        client.close()

        mx.wait_until(lambda m: any(c.closed for c in m._connections), 10, "the connection to close")
        transactions = mx.transactions()
        self.assertEqual([t.mail_from for t in transactions], ["a@sender.test", "", "e@sender.test"])
        self.assertEqual(transactions[0].mail_params, ["SIZE=100"])
        self.assertEqual(transactions[0].accepted, ["b@dest.test", "c@dest.test"])
        self.assertEqual(transactions[0].refused, ["permfail@dest.test"])
        self.assertEqual(transactions[0].rcpts[2].params, ["NOTIFY=NEVER"])
        self.assertEqual(transactions[0].data, b"first\r\n.dot\r\n")
        self.assertEqual(transactions[1].data, b"")
        self.assertFalse(transactions[2].delivered)
        self.assertEqual(len(mx.messages()), 2)
        (connection,) = mx.connections()
        self.assertEqual(connection.transactions, 2)
        self.assertGreaterEqual(connection.max_pipelined, 4, connection)
        self.assertIsNone(connection.error)

    def test_commands_pipelined_after_starttls_are_discarded(self):
        mx = self.start_mx(cert=make_cert(self.tmp, "mx1.dest.test"))
        client = RawClient(mx.ip, mx.port)
        client.cmd("EHLO client.test")
        client.send(b"STARTTLS\r\nMAIL FROM:<evil@sender.test>\r\n")
        self.assertEqual(client.read_line(), b"220 2.0.0 Ready to start TLS")
        client.buf = b""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        client.sock = context.wrap_socket(client.sock, server_hostname="mx1.dest.test")
        # The MAIL sent in clear was dropped: a MAIL now is not a nested one, and RCPT needs MAIL.
        self.assertEqual(client.cmd("RCPT TO:<x@dest.test>").code, 503)
        self.assertEqual(client.cmd("EHLO client.test").code, 250)
        self.assertEqual(client.cmd("MAIL FROM:<good@sender.test>").code, 250)
        self.assertEqual(client.cmd("QUIT").code, 221)
        client.close()
        mx.wait_until(lambda m: m._connections and m._connections[0].closed, 10, "close")
        (connection,) = mx.connections()
        self.assertEqual(connection.discarded_after_starttls, b"MAIL FROM:<evil@sender.test>\r\n")
        self.assertNotIn("MAIL FROM:<evil@sender.test>", connection.commands)
        self.assertTrue(connection.tls)

    def test_broken_closed_and_later_opened_servers(self):
        group = self.new_mx_group()
        broken = group.add("127.0.0.2", "broken.dest.test", greeting=421)
        closed = group.add("127.0.0.3", "closed.dest.test", closed=True)
        group.start()
        self.assertEqual(broken.port, closed.port)
        with self.assertRaises(smtplib.SMTPConnectError) as caught:
            smtplib.SMTP(broken.ip, broken.port, timeout=IO_TIMEOUT)
        self.assertEqual(caught.exception.smtp_code, 421)
        with self.assertRaises(ConnectionRefusedError):
            socket.create_connection((closed.ip, closed.port), timeout=IO_TIMEOUT)
        closed.open()
        with smtplib.SMTP(closed.ip, closed.port, timeout=IO_TIMEOUT) as smtp:
            self.assertEqual(smtp.noop()[0], 250)
        broken.wait_for_connections(1, timeout=10)
        self.assertEqual(broken.connections()[0].greeting_code, 421)
        self.assertEqual(broken.transactions(), [])

    def test_hold_delays_greetings_and_concurrency_is_counted(self):
        mx = self.start_mx()
        mx.hold()
        clients = [RawClient(mx.ip, mx.port, read_greeting=False) for _ in range(3)]
        mx.wait_for_connections(3, timeout=10, active=True)
        for client in clients:
            client.sock.settimeout(0.2)  # bounded check that nothing was said yet
            with self.assertRaises((socket.timeout, TimeoutError)):
                client.sock.recv(1)
            client.sock.settimeout(IO_TIMEOUT)
        mx.release()
        for client in clients:
            self.assertEqual(client.read_reply().code, 220)
            self.assertEqual(client.cmd("QUIT").code, 221)
            client.close()
        mx.wait_until(lambda m: m._active == 0, 10, "all connections to end")
        self.assertEqual(mx.max_concurrent, 3)
        # A connection counts as ended once QUIT arrived: a client that quits and reconnects at
        # once never looks like two connections at a time.
        for _ in range(3):
            client = RawClient(mx.ip, mx.port)
            client.cmd("QUIT")
            client.close()
        self.assertEqual(mx.max_concurrent, 3)

    def test_certificates_verify_only_for_their_name_and_ca(self):
        ca = make_ca(self.tmp / "ca")
        cases = [
            ("ca-signed, right name", make_cert(self.tmp / "c1", "mx1.dest.test", ca), None),
            ("self-signed", make_cert(self.tmp / "c2", "mx1.dest.test"), ssl.SSLCertVerificationError),
            ("ca-signed, other name", make_cert(self.tmp / "c3", "other.test", ca), ssl.SSLCertVerificationError),
        ]
        group = self.new_mx_group()
        servers = [group.add(f"127.0.0.{n + 2}", "mx1.dest.test", cert=cert) for n, (_, cert, _) in enumerate(cases)]
        group.start()
        context = ssl.create_default_context(cafile=str(ca[0]))
        for (name, _, error), mx in zip(cases, servers):
            with self.subTest(name):
                smtp = smtplib.SMTP(mx.ip, mx.port, timeout=IO_TIMEOUT)
                smtp.ehlo()
                smtp._host = "mx1.dest.test"
                if error is None:
                    smtp.starttls(context=context)
                    smtp.quit()
                else:
                    with self.assertRaises(error):
                        smtp.starttls(context=context)
                    smtp.close()
                    mx.wait_until(lambda m: m._connections and m._connections[0].closed, 10, "close")
                    (connection,) = mx.connections()
                    self.assertFalse(connection.tls)
                    self.assertIsNotNone(connection.tls_error)

    def test_wait_for_messages_has_a_deadline(self):
        mx = self.start_mx()
        started = time.monotonic()
        with self.assertRaises(AssertionError) as caught:
            mx.wait_for_messages(1, timeout=0.3)
        self.assertLess(time.monotonic() - started, 5)
        self.assertIn("no connections", str(caught.exception))


class HarnessConfigTest(unittest.TestCase):
    def test_smtp_delivery_block_renders_as_yaml(self):
        delivery = smtp_delivery(2525, retry={"first_delay": "3s"},
                                 tls={"default": "opportunistic", "ca_file": "/x/ca.pem",
                                      "domains": [{"domain": "secure.test", "mode": "require"}]},
                                 domain_limits=[{"domain": "lim.test", "max_connections": 1}])
        text = to_yaml({"delivery": delivery})
        for line in ('  mode: "smtp"', "  mx_port: 2525", '    first_delay: "3s"', '    max_delay: "2s"',
                     '    domains:', '      - domain: "secure.test"', '        mode: "require"',
                     '  domain_limits:', '    - domain: "lim.test"', '      max_connections: 1'):
            self.assertIn(line + "\n", text + "\n", text)


if __name__ == "__main__":
    unittest.main()
