"""The issue's "done when" for stamp-bounced, with the dev profile itself (conf/dev, both
daemons): a message to a recipient whose server answers 550 turns into a HardBounce webhook and a
suppression, and the next message to that recipient is refused at RCPT.

Only what a test must change is changed: listeners on port 0, delivery in smtp mode towards a fake
MX found through dnsmasq instead of the sandbox, the bounce hand-off port, a webhook endpoint for
the dev tenant and the test CA for its certificate."""

import json
import shutil
import subprocess
import unittest

from fake_mx import make_ca, make_cert
from stamp_harness import StampTestCase, smtp_client, source_dir, submit
from test_bounced import WebhookReceiver, SECRET

MTA_LISTENERS = {"127.0.0.1:2587": "submission", "127.0.0.1:2526": "local-apps"}


def replace_once(test, path, old, new):
    text = path.read_text()
    test.assertEqual(text.count(old), 1, f"{old!r} not exactly once in {path}")
    path.write_text(text.replace(old, new))


class DevProfileBounceTest(StampTestCase):
    def test_a_550_becomes_a_webhook_and_a_suppression_and_the_next_message_is_refused(self):
        conf = self.tmp / "conf" / "dev"
        shutil.copytree(source_dir() / "conf" / "dev", conf)
        subprocess.run(["bash", str(source_dir() / "scripts" / "dev-keys.sh"), str(self.tmp / ".dev" / "dkim")],
                       check=True, capture_output=True, timeout=120)
        certs = self.tmp / "certs"
        ca = make_ca(certs / "ca")
        receiver = WebhookReceiver(self.tmp, make_cert(certs, "webhooks", ca, san="IP:127.0.0.1"))
        self.addCleanup(receiver.stop)
        group = self.new_mx_group()
        mx = group.add("127.0.0.2", "mx.example.org")
        group.start()
        dns = self.new_dns(mx=[("example.org", "mx.example.org", 10)], a=[("mx.example.org", "127.0.0.2")])

        mta_config = conf / "stamp-mta.yaml"
        for address in MTA_LISTENERS:
            replace_once(self, mta_config, f"address: {address}\n", "address: 127.0.0.1:0\n")
        replace_once(self, mta_config, "  mode: sandbox\n", f"  mode: smtp\n  mx_port: {group.port}\n")
        with mta_config.open("a") as f:
            f.write(f"dns:\n  resolver: \"{dns.address}\"\n")
        with (conf / "tenants.d" / "dev.yaml").open("a") as f:
            f.write(f"webhooks:\n  - event: Bounce\n    url: \"{receiver.url()}\"\n    secret: \"{SECRET}\"\n")
        bounced_config = conf / "stamp-bounced.yaml"
        replace_once(self, bounced_config, "address: 127.0.0.1:2525\n", "address: 127.0.0.1:0\n")
        replace_once(self, bounced_config, "webhooks:\n", f"webhooks:\n  ca_file: {ca[0]}\n")

        # stamp-bounced reads the MTA's configuration; its port goes into bounce_handoff.
        mta = self.new_mta("dev", start=False, config_path=mta_config, listener_names=MTA_LISTENERS.values(),
                           spool_dir=self.tmp / ".dev" / "spool")
        bounced = self.new_bounced(mta, config_path=bounced_config)
        replace_once(self, mta_config, "bounce_handoff: 127.0.0.1:2525\n",
                     f"bounce_handoff: 127.0.0.1:{bounced.port('bounces')}\n")
        mta.start()

        message = (b"From: Ann <ann@app.test>\r\nTo: <permfail-bob@example.org>\r\nSubject: Welcome\r\n"
                   b"X-Stamp-Tag: onboarding\r\n\r\nHello.\r\n")
        with smtp_client(mta.port("local-apps")) as smtp:
            smtp.ehlo()
            queue_id = submit(smtp, "app@app.test", ["permfail-bob@example.org"], message)

        (request, body), = receiver.wait(1, RecordType="Bounce")
        self.assertEqual((body["Type"], body["TypeCode"], body["Email"], body["Tag"], body["Inactive"]),
                         ("HardBounce", 1, "permfail-bob@example.org", "onboarding", True))
        self.assertIn("x-stamp-signature", request["headers"])
        event = bounced.wait_for_event("suppression.added", rcpt="permfail-bob@example.org")[0]
        self.assertEqual((event["tenant"], event["reason"]), ("dev", "HardBounce"))
        # The original went to the MX with the VERP sender of the tenant's Return-Path domain.
        self.assertTrue(mx.transactions()[0].mail_from.endswith("@pm-bounces.app.test"))

        with smtp_client(mta.port("local-apps")) as smtp:
            smtp.ehlo()
            smtp.mail("app@app.test")
            code, reply = smtp.rcpt("permfail-bob@example.org")
        self.assertEqual(code, 550)
        self.assertIn(b"5.1.1", reply)
        self.assertIn(b"HardBounce", reply)
        self.assertEqual(bounced.wait_for_event("bounce.received")[0]["queue_id"], queue_id)


if __name__ == "__main__":
    unittest.main()
