"""End to end: each sender mode of the dev profile arrives correctly signed.

Runs stamp-mta from a copy of conf/dev itself (only the listener ports are changed, to 0), with
the DKIM keys made by scripts/dev-keys.sh, and submits over the dev profile's trusted plain
listener (`local-apps`, tenant dev). Each sandbox message is checked with dkimpy (an independent
DKIM verifier) whose key lookups are real DNS queries, made with dnspython, to dnsmasq on loopback
serving the keys' public halves as `dev._domainkey.DOMAIN` TXT records. It proves:

  aligned           From @app.test: d=app.test, From untouched, VERP envelope on pm-bounces.app.test
  verified address  From alerts@example.net: d=stamp.test, envelope on pm-bounces.stamp.test
  display name      "NAME via Stamp Dev" <notify@stamp.test>, author in Reply-To, d=stamp.test
  refused           any other From: 550 5.7.1 naming the choices
  tampering         a changed signed header or body byte no longer verifies
  hostile names     encoded CR LF + Bcc, raw UTF-8, quotes and backslashes, long names: refused
                    with a 5xx, or delivered with one From, no injected header line, lines of at
                    most 998 octets, ASCII-only header bytes, the name kept, and a valid signature

Three hostile-name tests fail on purpose, each on a known bug described in its comment.
"""

import base64
import email
import email.policy
import email.utils
import re
import shutil
import subprocess
import unittest

import dkim
import dns.resolver

from stamp_harness import StampTestCase, smtp_client, source_dir, stamp_mta, wait_for

RCPT = "rcpt@dest.test"
ENVELOPE_SENDER = "app@app.test"
OPERATOR_FROM = "notify@stamp.test"
SIGNING_DOMAINS = ("app.test", "stamp.test")  # dev-keys.sh makes DIR/DOMAIN.pem for each
SELECTOR = "dev"
AUTHOR_NAME_CHARS = 100  # mta/sender_policy.cpp kMaxAuthorNameChars
LISTENERS = {"127.0.0.1:2587": "submission", "127.0.0.1:2526": "local-apps"}
# The header fields a delivered display-name message has, no more and no fewer.
DISPLAY_NAME_FIELDS = ["dkim-signature", "received", "from", "to", "subject", "date",
                       "message-id", "reply-to"]


def make_message(from_value, subject="sender modes", extra=b"", body=b"Hello from the dev profile.\r\n"):
    """An RFC 5322 message (bytes, CRLF) with Date and Message-ID, so stamp adds none."""
    if isinstance(from_value, str):
        from_value = from_value.encode("utf-8")
    head = (b"From: " + from_value + b"\r\n"
            b"To: Rcpt <" + RCPT.encode() + b">\r\n"
            b"Subject: " + subject.encode() + b"\r\n"
            b"Date: " + email.utils.formatdate().encode() + b"\r\n"
            b"Message-ID: " + email.utils.make_msgid(domain="client.test").encode() + b"\r\n")
    return head + extra + b"\r\n" + body


def header_fields(eml):
    """[(lower-case name, raw field bytes with folded lines)] of the header section."""
    head = eml.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    fields = []
    for line in head.split(b"\r\n")[:-1]:
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + b"\r\n" + line)
        else:
            fields.append((line.split(b":", 1)[0].decode("ascii", "replace").lower(), line))
    return fields


def dkim_tags(eml):
    """The tags of the (first) DKIM-Signature field, whitespace removed (RFC 6376 3.2)."""
    raw = [text for name, text in header_fields(eml) if name == "dkim-signature"][0]
    value = re.sub(rb"\s+", b"", raw.split(b":", 1)[1]).decode()
    return dict(tag.split("=", 1) for tag in value.split(";") if tag)


def without_controls(text):
    return "".join(c for c in text if c >= " " and c != "\x7f")


def encoded_words(text, chars=12):
    """RFC 2047 B encoded words of at most 75 characters, one per folded line (RFC 5322 2.2.3)."""
    return "\r\n ".join("=?utf-8?b?" + base64.b64encode(text[i:i + chars].encode()).decode() + "?="
                        for i in range(0, len(text), chars))


class SenderModesTest(StampTestCase):
    def setUp(self):
        super().setUp()
        # The dev profile as it is in the checkout; `../../.dev/...` then resolves to tmp/.dev.
        self.conf = self.tmp / "conf" / "dev"
        shutil.copytree(source_dir() / "conf" / "dev", self.conf)
        config = self.conf / "stamp-mta.yaml"
        text = config.read_text()
        for address in LISTENERS:
            self.assertEqual(text.count(f"address: {address}\n"), 1, f"{address} not in the dev profile")
            text = text.replace(f"address: {address}\n", "address: 127.0.0.1:0\n")
        config.write_text(text)
        self.config = config
        keys = self.tmp / ".dev" / "dkim"
        subprocess.run(["bash", str(source_dir() / "scripts" / "dev-keys.sh"), str(keys)],
                       check=True, capture_output=True, timeout=120)
        self.records = {f"{SELECTOR}._domainkey.{d}": self.dkim_record(keys / f"{d}.pem")
                        for d in SIGNING_DOMAINS}
        # dnsmasq: commas separate the strings of a TXT record (a DKIM record has none) and a
        # string longer than 255 bytes is cut into 255-byte strings; verifiers join them again.
        self.dns = self.new_dns(extra=[f"--txt-record={n},{v}" for n, v in self.records.items()])
        self.resolver = dns.resolver.Resolver(configure=False)
        self.resolver.nameservers = ["127.0.0.1"]
        self.resolver.port = self.dns.port
        self.lookups = []
        self.mta = self.new_mta("dev", config_path=config, listener_names=LISTENERS.values(),
                                spool_dir=self.tmp / ".dev" / "spool",
                                sandbox_dir=self.tmp / ".dev" / "sandbox")

    # helpers

    def dkim_record(self, key_file):
        der = subprocess.run(["openssl", "pkey", "-in", str(key_file), "-pubout", "-outform", "DER"],
                             check=True, capture_output=True, timeout=60).stdout
        return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()

    def txt_strings(self, name, timeout=5):
        answer = self.resolver.resolve(name, "TXT", lifetime=timeout)
        self.assertEqual(len(answer), 1, f"TXT records of {name}: {answer.rrset}")
        return list(answer[0].strings)

    def dnsfunc(self, name, timeout=5):
        """dkimpy's key lookup: a real TXT query to dnsmasq; the strings joined (RFC 6376 3.6.2.2)."""
        name = (name.decode() if isinstance(name, bytes) else name).rstrip(".")
        self.lookups.append(name)
        return b"".join(self.txt_strings(name, timeout))

    def verify(self, eml):
        self.lookups = []
        result = dkim.verify(eml, dnsfunc=self.dnsfunc)
        self.assertTrue(self.lookups, "dkim.verify looked up no key")
        return result

    def send(self, message, smtputf8=False):
        """Submits over `local-apps`; returns (code, reply text, queue id or None)."""
        with smtp_client(self.mta.port("local-apps")) as smtp:
            smtp.ehlo("client.test")
            code, text = smtp.mail(ENVELOPE_SENDER, ["SMTPUTF8"] if smtputf8 else [])
            self.assertEqual(code, 250, text)
            code, text = smtp.rcpt(RCPT)
            self.assertEqual(code, 250, text)
            code, text = smtp.data(message)
        text = text.decode("utf-8", "replace")
        match = re.match(r"2\.0\.0 Ok: queued as ([0-9A-Fa-f]{16})$", text)
        return code, text, match.group(1) if code == 250 and match else None

    def deliver(self, message, smtputf8=False):
        """Sends, waits for the sandbox; returns (eml bytes, envelope json)."""
        code, text, queue_id = self.send(message, smtputf8)
        self.assertEqual(code, 250, f"end of data: {code} {text}")
        eml = self.mta.wait_for_delivery(queue_id)[0]
        return eml, self.mta.read_envelope(queue_id)

    def assertSigned(self, eml, domain):
        tags = dkim_tags(eml)
        self.assertEqual((tags["v"], tags["d"], tags["s"], tags["a"], tags["c"]),
                         ("1", domain, SELECTOR, "rsa-sha256", "relaxed/relaxed"), tags)
        signed = tags["h"].lower().split(":")
        self.assertEqual(signed.count("from"), 2, f"From is not oversigned: h={tags['h']}")
        for name in ("to", "subject", "date", "message-id"):
            self.assertIn(name, signed, f"h={tags['h']}")
        self.assertTrue(self.verify(eml), f"the signature does not verify:\n{eml.decode(errors='replace')}")
        self.assertEqual(self.lookups, [f"{SELECTOR}._domainkey.{domain}"])
        return tags

    def assertEnvelope(self, envelope, bounce_domain, mode):
        self.assertEqual(envelope["sender_mode"], mode, envelope)
        local, _, domain = envelope["mail_from"].rpartition("@")
        self.assertEqual(domain, bounce_domain, envelope)
        self.assertTrue(0 < len(local) <= 64, f"VERP local part of {len(local)} octets: {local!r}")
        self.assertEqual(envelope["rcpt_to"], RCPT, envelope)

    def parsed(self, eml):
        return email.message_from_bytes(eml, policy=email.policy.default)

    def raw_field(self, eml, name):
        found = [text for n, text in header_fields(eml) if n == name]
        self.assertEqual(len(found), 1, f"{name} fields: {found}")
        return found[0]

    def check_hostile(self, name, from_value, smtputf8=False):
        """Display-name mode with a hostile author name: refused with a 5xx, or delivered clean."""
        author = "jane@customer.test"
        code, text, queue_id = self.send(make_message(from_value, extra=b"X-Stamp-Sender-Mode: display-name\r\n"),
                                         smtputf8)
        if code != 250:
            self.assertTrue(500 <= code < 600 and re.match(r"5\.\d+\.\d+ ", text), f"{code} {text}")
            return
        eml = self.mta.wait_for_delivery(queue_id)[0]
        head = eml.split(b"\r\n\r\n", 1)[0]
        report = f"for name {name!r}, header section:\n{head.decode('ascii', 'backslashreplace')}"
        self.assertEqual([n for n, _ in header_fields(eml)], DISPLAY_NAME_FIELDS, report)
        for line in head.split(b"\r\n"):
            self.assertLessEqual(len(line), 998, f"a header line of {len(line)} octets {report}")
        self.assertTrue(head.isascii(), f"8-bit header bytes {report}")
        for word in re.findall(rb"=\?[^?\s]+\?[BbQq]\?[^?\s]*\?=", head):
            self.assertLessEqual(len(word), 75, f"an encoded word of {len(word)} characters {report}")
        message = self.parsed(eml)
        self.assertIsNone(message["Bcc"], report)
        (sender,) = message["From"].addresses
        self.assertEqual(sender.addr_spec, OPERATOR_FROM, report)
        if not name.isascii():
            self.assertIn(b"=?", self.raw_field(eml, "from"), f"no RFC 2047 encoded word {report}")
        shown = " ".join(without_controls(sender.display_name).split())
        self.assertTrue(shown.endswith(" via Stamp Dev"), report)
        # stamp keeps the first AUTHOR_NAME_CHARS characters of the author's name. Compared
        # without white space: Python's parser puts a space at every fold between adjacent
        # encoded words, which RFC 2047 6.2 says to drop.
        expected = "".join(without_controls(name)[:AUTHOR_NAME_CHARS].split())
        self.assertTrue("".join(shown.split()).startswith(expected), report)
        (reply_to,) = message["Reply-To"].addresses
        self.assertEqual(reply_to.addr_spec, author, report)
        self.assertSigned(eml, "stamp.test")

    # the tests

    def test_dev_profile_passes_check_config(self):
        done = subprocess.run([stamp_mta(), "--check-config", "--config", str(self.config)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, f"stdout: {done.stdout}\nstderr: {done.stderr}")
        self.assertIn("configuration OK", done.stdout)

    def test_dns_serves_the_keys_split_into_strings(self):
        for name, record in self.records.items():
            strings = self.txt_strings(name)
            self.assertGreater(len(strings), 1, "a 2048-bit key needs more than one string")
            self.assertTrue(all(len(s) <= 255 for s in strings), [len(s) for s in strings])
            self.assertEqual(b"".join(strings).decode(), record)
        wait_for(lambda: len(self.dns.queries("TXT")) >= len(self.records), 5, message="dnsmasq's query log")
        self.assertEqual(len(self.dns.queries("TXT")), len(self.records))

    def test_aligned_mode_signs_with_the_tenant_domain(self):
        from_line = b"From: Ann <ann@app.test>"
        eml, envelope = self.deliver(make_message("Ann <ann@app.test>"))
        self.assertSigned(eml, "app.test")
        self.assertEqual(self.raw_field(eml, "from"), from_line)
        self.assertIsNone(self.parsed(eml)["Reply-To"])
        self.assertEnvelope(envelope, "pm-bounces.app.test", "aligned")

    def test_verified_address_mode_signs_with_the_operator_domain(self):
        eml, envelope = self.deliver(make_message("alerts@example.net"))
        self.assertSigned(eml, "stamp.test")
        self.assertEqual(self.raw_field(eml, "from"), b"From: alerts@example.net")
        self.assertEnvelope(envelope, "pm-bounces.stamp.test", "verified-address")

    def test_display_name_mode_rewrites_from_and_keeps_the_author_in_reply_to(self):
        eml, envelope = self.deliver(make_message("Jane Doe <jane@customer.test>",
                                                  extra=b"X-Stamp-Sender-Mode: display-name\r\n"))
        self.assertSigned(eml, "stamp.test")
        message = self.parsed(eml)
        (sender,) = message["From"].addresses
        self.assertEqual((sender.display_name, sender.addr_spec), ("Jane Doe via Stamp Dev", OPERATOR_FROM))
        (reply_to,) = message["Reply-To"].addresses
        self.assertEqual(reply_to.addr_spec, "jane@customer.test")
        self.assertNotIn(b"x-stamp-", eml.lower())
        self.assertEqual([n for n, _ in header_fields(eml)], DISPLAY_NAME_FIELDS)
        self.assertEnvelope(envelope, "pm-bounces.stamp.test", "display-name")

    def test_unknown_from_is_refused_naming_the_choices(self):
        code, text, queue_id = self.send(make_message("x@nowhere.test"))
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith("5.7.1 "), text)
        for choice in ("app.test", "verified sender", "display-name"):
            self.assertIn(choice, text)
        self.assertIsNone(queue_id)
        self.assertEqual(self.mta.sandbox_files(".eml"), [])

    def test_tampering_breaks_the_signature(self):
        eml, _ = self.deliver(make_message("Ann <ann@app.test>", subject="original subject"))
        self.assertSigned(eml, "app.test")
        changed_subject = eml.replace(b"Subject: original subject\r\n", b"Subject: changed subject\r\n")
        self.assertNotEqual(changed_subject, eml)
        self.assertFalse(self.verify(changed_subject))
        at = eml.index(b"\r\n\r\n") + 4 + len(b"Hello")
        changed_body = eml[:at] + b"X" + eml[at + 1:]
        self.assertNotEqual(changed_body, eml)
        self.assertFalse(self.verify(changed_body))

    # display-name mode with hostile names

    def test_hostile_encoded_word_with_crlf_and_bcc(self):
        name = "Eve\r\nBcc: evil@x.test"
        self.check_hostile(name, f"{encoded_words(name, chars=40)} <jane@customer.test>")

    def test_hostile_raw_utf8_name(self):
        name = "Jörg Ünïcode"
        self.check_hostile(name, f'"{name}" <jane@customer.test>', smtputf8=True)

    def test_hostile_quotes_and_backslashes(self):
        name = 'Jane "The \\ Boss" O\'Brien'
        quoted = name.replace("\\", "\\\\").replace('"', '\\"')
        self.check_hostile(name, f'"{quoted}" <jane@customer.test>')

    def test_hostile_long_ascii_name(self):
        name = ("Jane Doe of the Very Long Department Name " * 8)[:300]
        self.check_hostile(name, f'"{name}" <jane@customer.test>')

    def test_hostile_long_non_ascii_name(self):
        # 300 characters, sent in lines of at most 75 octets: the rewritten From and Reply-To must
        # stay folded, in encoded words of at most 75 characters (RFC 5322 2.1.1, RFC 2047 2).
        name = ("日本語のテキスト" * 40)[:300]
        self.check_hostile(name, f"{encoded_words(name)} <jane@customer.test>")

    def test_hostile_name_split_into_padded_encoded_words(self):
        # GMime 3.2.13 (Debian 12) alone would cut this name to "Jör": it joins adjacent B-encoded
        # words before decoding and stops at the first "=" padding (RFC 2047 6.2: each encoded
        # word is decoded on its own). MUAs split long names like this.
        name = "Jörg Ünïcode-Straße"
        self.check_hostile(name, f"{encoded_words(name, chars=3)} <jane@customer.test>")

    def test_hostile_pattern_placeholder_in_name(self):
        # The pattern is expanded once: a name "{operator}" must not become "Stamp Dev".
        self.check_hostile("{operator}", '"{operator}" <jane@customer.test>')


if __name__ == "__main__":
    unittest.main()
