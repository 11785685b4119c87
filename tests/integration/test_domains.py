"""`stampctl domain add / rotate-key / verify` against the real binaries and a real DNS server.

add prints the records to publish (text and --json), writes a 0600 PEM key next to the config and
a tenant file that stamp-mta still accepts. verify looks the records up through dnsmasq (fake_dns.py)
with libunbound and libspf2: with everything published it passes; each wrong or missing record
fails with an explanation naming what to publish; every result lands in the state database's
domain_verification table. rotate-key keeps the old selector as previous_dkim.

SPF uses TEST-NET addresses only: libspf2 passes loopback addresses without looking at any record.
"""

import json
import os
import re
import sqlite3
import stat
import subprocess
import unittest

from stamp_harness import StampTestCase, stamp_mta, stampctl

DOMAIN = "acme.test"
RETURN_PATH = "pm-bounces.acme.test"
BOUNCE_DOMAIN = "pm-bounces.vendor.test"
SENDING_ADDRESS = "192.0.2.10"
GOOD_SPF = "v=spf1 ip4:192.0.2.0/24 -all"
MANAGED_HEADER = "# managed by stampctl; edit freely, comments are not kept"

OPERATOR_BLOCK = f"""\
operator:
  domain: vendor.test
  from_address: notify@vendor.test
  bounce_domain: {BOUNCE_DOMAIN}
  sending_addresses: [{SENDING_ADDRESS}]
"""

CHECK_LINE_RE = re.compile(r"^  (?P<name>\S+(?: \S+)?)\s+(?P<verdict>ok|FAIL)\s+(?P<message>.+)$")


class DomainTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta(start=False)  # its config only: stampctl needs no daemon
        self.config = self.mta.config_path
        self.base_config = self.config.read_text() + OPERATOR_BLOCK
        self.config.write_text(self.base_config)
        self.tenant_file = self.mta.conf_dir / "tenants.d" / "acme.yaml"
        self.database = self.mta.spool_dir / "state.db"

    # helpers

    def stampctl(self, *args, expect=0):
        argv = [stampctl(), "domain", *args, "--config", str(self.config)]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        if expect is not None:
            self.assertEqual(done.returncode, expect,
                             f"{' '.join(argv)}\nstdout: {done.stdout}\nstderr: {done.stderr}")
        return done

    def add(self, domain=DOMAIN, *extra):
        """`domain add --json`; returns the parsed object."""
        done = self.stampctl("add", domain, "--tenant", "acme", "--json", *extra)
        return json.loads(done.stdout)

    def records(self, setup):
        return {r["purpose"]: r for r in setup["records"]}

    def check_config(self):
        done = subprocess.run([stamp_mta(), "--check-config", "--config", str(self.config)],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, f"stdout: {done.stdout}\nstderr: {done.stderr}")
        self.assertIn("configuration OK", done.stdout)

    def serve(self, name, txt=(), cname=(), hosts=()):
        """Starts dnsmasq with TXT records [(name, value)], CNAMEs [(alias, target)] and A
        records [(host, ip)], and points the config's dns.resolver at it."""
        extra = [f"--txt-record={host},{value}" for host, value in txt]
        extra += [f"--cname={alias},{target}" for alias, target in cname]
        dns = self.new_dns(name, a=list(hosts), extra=extra)
        self.config.write_text(self.base_config + f"dns:\n  resolver: \"{dns.address}\"\n")
        return dns

    def verify(self, expect):
        """`domain verify` (text), then the stored row; returns ({check: (verdict, message)},
        stdout, row)."""
        done = self.stampctl("verify", DOMAIN, expect=expect)
        checks = {}
        for line in done.stdout.splitlines():
            m = CHECK_LINE_RE.match(line)
            if m:
                checks[m["name"]] = (m["verdict"], m["message"])
        self.assertTrue(checks, f"no check lines in:\n{done.stdout}")
        return checks, done.stdout, self.stored_row(DOMAIN)

    def stored_row(self, domain):
        self.assertTrue(self.database.exists(), f"no state database at {self.database}")
        with sqlite3.connect(self.database) as db:
            row = db.execute("SELECT domain, tenant, status, checked_at, details "
                             "FROM domain_verification WHERE domain = ?", (domain,)).fetchone()
        self.assertIsNotNone(row, f"no domain_verification row for {domain}")
        return row

    def good_records(self, setup):
        """Everything `add` asked for, plus the operator's SPF record on the bounce domain."""
        dkim = self.records(setup)["dkim"]
        return dict(txt=[(dkim["host"], dkim["value"]), (BOUNCE_DOMAIN, GOOD_SPF)],
                    cname=[(RETURN_PATH, BOUNCE_DOMAIN)],
                    hosts=[(BOUNCE_DOMAIN, "192.0.2.99")])  # a name dnsmasq can CNAME to

    # add

    def test_add_prints_the_records_and_writes_the_key_and_tenant_file(self):
        self.tenant_file.write_text("# hand-written notes\n" + self.tenant_file.read_text())
        done = self.stampctl("add", "Acme.Test", "--tenant", "acme")
        out = done.stdout
        selector = re.search(r"\(selector (stamp\d{8})\)", out).group(1)
        key_file = self.mta.conf_dir / "dkim" / DOMAIN / f"{selector}.pem"
        self.assertIn(f"host:  {selector}._domainkey.{DOMAIN}\n  type:  TXT\n"
                      f"  value: v=DKIM1; k=rsa; p=MII", out)
        self.assertIn(f"host:  {RETURN_PATH}\n  type:  CNAME\n  value: {BOUNCE_DOMAIN}\n", out)
        self.assertIn(f"host:  _dmarc.{DOMAIN}\n  type:  TXT\n"
                      f"  value: v=DMARC1; p=none; rua=mailto:dmarc@{BOUNCE_DOMAIN}\n", out)
        self.assertIn("\nstatus: pending\n", out)

        self.assertTrue(key_file.is_file(), out)
        self.assertEqual(stat.S_IMODE(key_file.stat().st_mode), 0o600)
        self.assertTrue(key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----"))

        text = self.tenant_file.read_text()
        self.assertTrue(text.startswith(MANAGED_HEADER + "\n"), text)
        self.assertNotIn("hand-written notes", text)
        self.assertIn("username: acme-app", text)  # the rest of the file is kept
        self.assertIn(f"name: {DOMAIN}", text)
        self.assertIn(f"return_path: {RETURN_PATH}", text)
        self.assertIn(f"selector: {selector}", text)
        self.check_config()

    def test_add_json_gives_the_same_records(self):
        setup = self.add(DOMAIN, "--return-path", "bounces.acme.test")
        self.assertEqual(setup["domain"], DOMAIN)
        self.assertEqual(setup["tenant"], "acme")
        self.assertEqual(setup["status"], "pending")
        self.assertEqual(setup["return_path"], "bounces.acme.test")
        self.assertRegex(setup["selector"], r"^stamp\d{8}$")
        self.assertEqual(stat.S_IMODE(os.stat(setup["key_file"]).st_mode), 0o600)
        records = self.records(setup)
        self.assertEqual(records["dkim"]["host"], f"{setup['selector']}._domainkey.{DOMAIN}")
        self.assertEqual(records["dkim"]["type"], "TXT")
        self.assertRegex(records["dkim"]["value"], r"^v=DKIM1; k=rsa; p=MII[A-Za-z0-9+/=]+$")
        self.assertEqual((records["return_path"]["host"], records["return_path"]["type"],
                          records["return_path"]["value"]),
                         ("bounces.acme.test", "CNAME", BOUNCE_DOMAIN))
        self.assertEqual((records["dmarc"]["host"], records["dmarc"]["value"]),
                         (f"_dmarc.{DOMAIN}", f"v=DMARC1; p=none; rua=mailto:dmarc@{BOUNCE_DOMAIN}"))
        self.check_config()

    def test_add_refuses_a_domain_that_is_already_configured(self):
        self.add()
        before = self.tenant_file.read_text()
        (self.mta.conf_dir / "tenants.d" / "beta.yaml").write_text("display_name_mode: false\n")
        done = self.stampctl("add", "ACME.test", "--tenant", "beta", expect=1)
        self.assertIn("acme.test is already configured for tenant acme", done.stderr)
        self.assertEqual(self.tenant_file.read_text(), before)
        self.assertEqual(len(list((self.mta.conf_dir / "dkim" / DOMAIN).iterdir())), 1)

    def test_add_refuses_a_return_path_outside_the_domain(self):
        done = self.stampctl("add", DOMAIN, "--tenant", "acme", "--return-path", "bounces.other.test",
                             expect=2)
        self.assertIn("--return-path must be a subdomain of acme.test", done.stderr)
        self.assertFalse((self.mta.conf_dir / "dkim").exists())

    # verify

    def test_verify_passes_with_every_record_published_and_stores_it(self):
        setup = self.add()
        self.serve("dns", **self.good_records(setup))
        checks, out, row = self.verify(expect=0)
        self.assertEqual(checks["dkim"][0], "ok", out)
        self.assertEqual(checks["return_path"][0], "ok", out)
        self.assertEqual(checks[f"spf {SENDING_ADDRESS}"][0], "ok", out)
        self.assertIn("status: verified", out)
        domain, tenant, status, checked_at, details = row
        self.assertEqual((domain, tenant, status), (DOMAIN, "acme", "verified"))
        self.assertGreater(checked_at, 0)
        stored = json.loads(details)
        self.assertEqual(stored["selector"], setup["selector"])
        self.assertTrue(all(c["ok"] for c in stored["checks"]), details)

        # --json prints the same result as one object.
        done = self.stampctl("verify", DOMAIN, "--json")
        result = json.loads(done.stdout)
        self.assertEqual(result["status"], "verified")
        self.assertEqual([c["check"] for c in result["checks"]],
                         ["dkim", "return_path", f"spf {SENDING_ADDRESS}"])

    def test_ed25519_adds_a_second_key_record_and_signature(self):
        setup = self.add(DOMAIN, "--ed25519")
        records = self.records(setup)
        ed = records["dkim_ed25519"]
        self.assertNotEqual(ed["host"], records["dkim"]["host"], "each key needs its own selector")
        self.assertTrue(ed["value"].startswith("v=DKIM1; k=ed25519; p="), ed)
        self.assertEqual(len(ed["value"].rsplit("p=", 1)[1]), 44, "RFC 8463: the raw 32-byte key, base64")
        self.assertIn("dkim_ed25519:", self.tenant_file.read_text())
        self.check_config()

        good = self.good_records(setup)
        self.serve("dns-missing", **good)
        checks, out, _ = self.verify(expect=1)
        self.assertEqual(checks["dkim"][0], "ok", out)
        self.assertEqual(checks["dkim_ed25519"][0], "FAIL", out)
        self.assertIn(f'publish TXT {ed["host"]} "{ed["value"]}"', checks["dkim_ed25519"][1])

        good["txt"].append((ed["host"], ed["value"]))
        self.serve("dns-good", **good)
        checks, out, _ = self.verify(expect=0)
        self.assertEqual(checks["dkim_ed25519"][0], "ok", out)

        # Verified, so stamp-mta signs aligned mail twice: rsa-sha256 and ed25519-sha256.
        self.mta.start()
        message = (b"From: Ann <ann@acme.test>\r\nTo: <bob@example.net>\r\nSubject: two signatures\r\n"
                   b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <two@acme.test>\r\n\r\n"
                   b"Hello,  world \r\n\r\n\r\n")
        queue_id = self.mta.send("app@acme.test", ["bob@example.net"], message)
        eml = self.mta.wait_for_delivery(queue_id)[0]
        head = eml.split(b"\r\n\r\n", 1)[0]
        self.assertEqual(head.count(b"DKIM-Signature:"), 2, head)
        self.assertIn(b"a=ed25519-sha256", head)
        self.assertIn(b"a=rsa-sha256", head)
        published = {r["host"]: r["value"] for r in records.values() if r["type"] == "TXT"}

        def dnsfunc(name, timeout=5):
            return published[(name.decode() if isinstance(name, bytes) else name).rstrip(".")].encode()

        import dkim  # Debian's python3-dkim; python3-nacl gives it Ed25519
        verifier = dkim.DKIM(eml)
        self.assertTrue(verifier.verify(idx=0, dnsfunc=dnsfunc), "first signature")
        self.assertTrue(verifier.verify(idx=1, dnsfunc=dnsfunc), "second signature")
        tampered = eml.replace(b"Subject: two signatures", b"Subject: two signaturez")
        self.assertFalse(dkim.DKIM(tampered).verify(idx=0, dnsfunc=dnsfunc))
        self.assertFalse(dkim.DKIM(tampered).verify(idx=1, dnsfunc=dnsfunc))

    def test_each_wrong_record_fails_with_its_explanation(self):
        setup = self.add()
        other = self.add("other.test")  # a real key that is not acme.test's
        dkim = self.records(setup)["dkim"]
        wrong_key = self.records(other)["dkim"]["value"]
        good = self.good_records(setup)
        publish_key = f"publish TXT {dkim['host']} \"{dkim['value']}\""

        def without(items, host):
            return [item for item in items if item[0] != host]

        cases = [
            # (name, records, failing check, words its message must contain)
            ("missing-txt", dict(good, txt=without(good["txt"], dkim["host"])), "dkim",
             [f"there is no TXT record at {dkim['host']}", publish_key]),
            ("wrong-key", dict(good, txt=without(good["txt"], dkim["host"]) +
                               [(dkim["host"], wrong_key)]), "dkim",
             [f"the TXT record at {dkim['host']} carries a different key", publish_key]),
            ("cname-elsewhere", dict(good, cname=[(RETURN_PATH, "elsewhere.test")],
                                     txt=good["txt"] + [("elsewhere.test", GOOD_SPF)],
                                     hosts=good["hosts"] + [("elsewhere.test", "192.0.2.98")]),
             "return_path",
             [f"the CNAME at {RETURN_PATH} points at \"elsewhere.test\", not at {BOUNCE_DOMAIN}",
              f"publish {RETURN_PATH} CNAME {BOUNCE_DOMAIN}"]),
            ("missing-cname", dict(good, cname=[]), "return_path",
             [f"there is no CNAME record at {RETURN_PATH}",
              f"publish {RETURN_PATH} CNAME {BOUNCE_DOMAIN}"]),
            ("spf-not-authorizing", dict(good, txt=without(good["txt"], BOUNCE_DOMAIN) +
                                         [(BOUNCE_DOMAIN, "v=spf1 ip4:203.0.113.0/24 -all")]),
             f"spf {SENDING_ADDRESS}",
             [f"SPF for {RETURN_PATH} gives fail for {SENDING_ADDRESS}",
              f"the record at {BOUNCE_DOMAIN} does not authorize it; add ip4:{SENDING_ADDRESS}"]),
            ("no-spf", dict(good, txt=without(good["txt"], BOUNCE_DOMAIN)),
             f"spf {SENDING_ADDRESS}",
             [f"there is no SPF record for {RETURN_PATH} (read at {BOUNCE_DOMAIN})",
              f"publish TXT \"v=spf1 ip4:{SENDING_ADDRESS} -all\" at {BOUNCE_DOMAIN}"]),
        ]
        for name, records, failing, words in cases:
            with self.subTest(name):
                dns = self.serve(f"dns-{name}", **records)
                try:
                    checks, out, row = self.verify(expect=1)
                finally:
                    dns.stop()
                self.assertEqual(checks[failing][0], "FAIL", out)
                for word in words:
                    self.assertIn(word, checks[failing][1], out)
                if name == "missing-cname":
                    # Without the CNAME there is no SPF either, and the fix is the CNAME.
                    spf = checks[f"spf {SENDING_ADDRESS}"]
                    self.assertEqual(spf[0], "FAIL", out)
                    self.assertIn(f"publish the Return-Path CNAME ({RETURN_PATH} CNAME "
                                  f"{BOUNCE_DOMAIN})", spf[1])
                    failing_checks = {failing, f"spf {SENDING_ADDRESS}"}
                else:
                    failing_checks = {failing}  # only the broken record fails
                for check, (verdict, _) in checks.items():
                    self.assertEqual(verdict, "FAIL" if check in failing_checks else "ok", out)
                self.assertIn("status: failed", out)
                self.assertEqual(row[2], "failed")
                stored = {c["check"]: c for c in json.loads(row[4])["checks"]}
                self.assertFalse(stored[failing]["ok"])
                self.assertEqual(stored[failing]["message"], checks[failing][1])

    # rotate-key

    def test_rotate_key_keeps_the_old_selector_as_previous_dkim(self):
        first = self.add()
        done = self.stampctl("rotate-key", DOMAIN, "--json")
        rotated = json.loads(done.stdout)
        self.assertEqual(rotated["previous_selector"], first["selector"])
        self.assertNotEqual(rotated["selector"], first["selector"])
        self.assertEqual(stat.S_IMODE(os.stat(rotated["key_file"]).st_mode), 0o600)
        self.assertTrue(os.path.exists(first["key_file"]), "the old key must stay for signing")
        dkim = self.records(rotated)["dkim"]
        self.assertEqual(dkim["host"], f"{rotated['selector']}._domainkey.{DOMAIN}")
        self.assertNotEqual(dkim["value"], self.records(first)["dkim"]["value"])

        text = self.tenant_file.read_text()
        self.assertRegex(text, rf"\n    dkim: {{selector: {rotated['selector']}, key_file: [^}}]+}}\n")
        self.assertRegex(text, rf"\n    previous_dkim: {{selector: {first['selector']}, "
                               rf"key_file: [^}}]+{first['selector']}\.pem}}\n")
        self.check_config()

        # The text form names the record to publish; verify then checks the new key.
        text_done = self.stampctl("rotate-key", DOMAIN)
        newest = re.search(r"\(selector (stamp\d{8}[b-z])\)", text_done.stdout).group(1)
        self.assertIn(f"host:  {newest}._domainkey.{DOMAIN}", text_done.stdout)
        self.assertIn(f"the key with selector {rotated['selector']} is now previous_dkim",
                      text_done.stdout)
        newest_value = re.search(r"value: (v=DKIM1; k=rsa; p=\S+)", text_done.stdout).group(1)
        records = self.good_records(first)
        records["txt"] = [(f"{newest}._domainkey.{DOMAIN}", newest_value), (BOUNCE_DOMAIN, GOOD_SPF)]
        self.serve("dns", **records)
        checks, out, row = self.verify(expect=0)
        self.assertIn(f"selector {newest}", out)
        self.assertEqual(json.loads(row[4])["selector"], newest)


if __name__ == "__main__":
    unittest.main()
