"""`stampctl queue list/show` read the spool directly: every field of the queue file and the state
file comes out in --json and in the human table; bad ids are refused before anything is read; the
commands that need the daemon say so when it is not running.

The spool is written here by hand, following the formats documented in mta/queue/queue_file.h and
mta/queue/queue_state.h, so the test does not depend on the outbound engine.
"""

import json
import subprocess
import time
import unittest

from stamp_harness import StampTestCase, stampctl

ID_TRIED = "0193A4F2C1D0000A"
ID_NEW = "0193A4F2C1D0000B"


def xtext(value):
    """RFC 3461 xtext, "-" for the empty value (a value that is itself "-" becomes "+2D")."""
    if value == "":
        return "-"
    if value == "-":
        return "+2D"
    out = []
    for byte in value.encode("utf-8"):
        if byte < 33 or byte > 126 or byte in (ord("+"), ord("=")):
            out.append(f"+{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def queue_file(queue_id, arrival, sender, recipients, message, tenant="acme"):
    """A queue file as mta/queue/queue_file.h documents it."""
    lines = [
        "STAMP-QUEUE 1",
        f"id: {queue_id}",
        f"arrival: {arrival}",
        f"tenant: {xtext(tenant)}",
        f"client: {xtext('127.0.0.1')}",
        f"helo: {xtext('client.example')}",
        f"mail-from: {xtext(sender)}",
        "size: -",
        "body: 7BIT",
        "smtputf8: 0",
        "ret: -",
        "envid: -",
    ]
    lines += [f"rcpt: {xtext(r)} - - -" for r in recipients]
    header = ("\n".join(lines) + "\n\n").encode()
    late = b"\n"  # no late fields, nothing to prepend
    return header + message + late + f"STAMP-END {len(message):016X} {len(late):08X}\n".encode()


def state_file(attempts, next_attempt, held, last_error, recipients):
    """A state file as mta/queue/queue_state.h documents it; recipients are
    (status, last_attempt, remote, reply)."""
    lines = [
        "STAMP-STATE 1",
        f"attempts: {attempts}",
        f"next-attempt: {next_attempt}",
        f"held: {1 if held else 0}",
        f"last-error: {xtext(last_error)}",
    ]
    for index, (status, when, remote, reply) in enumerate(recipients):
        lines.append(f"rcpt: {index} {status} {when} {xtext(remote)} {xtext(reply)}")
    lines.append("end")
    return ("\n".join(lines) + "\n").encode()


class StampctlQueueTest(StampTestCase):
    def setUp(self):
        super().setUp()
        self.mta = self.new_mta(start=False)  # only its config: list/show need no daemon
        self.spool = self.mta.spool_dir
        for sub in ("queue", "state", "tmp", "corrupt"):
            (self.spool / sub).mkdir(parents=True, exist_ok=True)
        self.now = int(time.time())

        # A message tried twice: one recipient delivered, one deferred, one not tried; held.
        self.tried_arrival = self.now - 3 * 3600 - 100
        self.tried_message = b"Subject: tried\r\n\r\nhello\r\n"
        self.tried_recipients = ["one@example.net", "two@example.org", "three@example.com"]
        self.tried_states = [
            ("delivered", self.now - 600, "mx1.example.net[192.0.2.7]:25", "250 2.0.0 Ok: queued as 4F2A"),
            ("deferred", self.now - 60, "mx.example.org[192.0.2.9]:25",
             "451 4.7.1 Greylisted, \"try\" again = later+"),
            ("pending", 0, "", ""),
        ]
        self.tried_next = self.now + 1800
        self.tried_error = "4.4.1 connection refused by mx2.example.org[192.0.2.10]:25"
        self.write_message(ID_TRIED, queue_file(ID_TRIED, self.tried_arrival, "app@acme.example",
                                                self.tried_recipients, self.tried_message))
        self.write_state(ID_TRIED, state_file(2, self.tried_next, True, self.tried_error, self.tried_states))

        # A message never tried (no state file), from the null sender.
        self.new_arrival = self.now - 90
        self.new_message = b"Subject: new\r\n\r\n" + b"x" * 3000 + b"\r\n"
        self.write_message(ID_NEW, queue_file(ID_NEW, self.new_arrival, "",
                                              ["a@example.net", "b@example.net"], self.new_message))

    def write_message(self, queue_id, data):
        (self.spool / "queue" / queue_id).write_bytes(data)

    def write_state(self, queue_id, data):
        (self.spool / "state" / queue_id).write_bytes(data)

    def queue(self, *args):
        return subprocess.run([stampctl(), "queue", "--config", str(self.mta.config_path), *args],
                              capture_output=True, text=True, timeout=60)

    def queue_ok(self, *args):
        done = self.queue(*args)
        self.assertEqual(done.returncode, 0, f"stampctl queue {args}: {done.stdout}\n{done.stderr}")
        return done

    # checks

    def assertAge(self, value, arrival):
        finished = int(time.time())
        self.assertGreaterEqual(value, self.now - arrival)
        self.assertLessEqual(value, finished - arrival)

    def check_tried(self, item):
        self.assertEqual(item["id"], ID_TRIED)
        self.assertEqual(item["tenant"], "acme")
        self.assertEqual(item["sender"], "app@acme.example")
        self.assertEqual(item["arrival"], self.tried_arrival)
        self.assertAge(item["age_seconds"], self.tried_arrival)
        self.assertEqual(item["size"], len(self.tried_message))
        self.assertEqual(item["attempts"], 2)
        self.assertEqual(item["next_attempt"], self.tried_next)
        self.assertIs(item["held"], True)
        self.assertEqual(item["last_error"], self.tried_error)
        expected = [{"address": address, "status": status, "remote": remote, "reply": reply,
                     "last_attempt": when}
                    for address, (status, when, remote, reply) in zip(self.tried_recipients, self.tried_states)]
        self.assertEqual(item["recipients"], expected)

    def check_new(self, item):
        self.assertEqual(item["id"], ID_NEW)
        self.assertEqual(item["sender"], "")
        self.assertEqual(item["arrival"], self.new_arrival)
        self.assertAge(item["age_seconds"], self.new_arrival)
        self.assertEqual(item["size"], len(self.new_message))
        self.assertEqual(item["attempts"], 0)
        self.assertEqual(item["next_attempt"], 0)
        self.assertIs(item["held"], False)
        self.assertEqual(item["last_error"], "")
        self.assertEqual(item["recipients"], [
            {"address": a, "status": "pending", "remote": "", "reply": "", "last_attempt": 0}
            for a in ("a@example.net", "b@example.net")])

    # tests

    def test_list_json_reports_every_field_oldest_first(self):
        done = self.queue_ok("list", "--json")
        items = json.loads(done.stdout)
        self.assertIsInstance(items, list)
        self.assertEqual([i["id"] for i in items], [ID_TRIED, ID_NEW])
        self.check_tried(items[0])
        self.check_new(items[1])
        self.assertEqual(done.stderr, "")

    def test_show_json_reports_one_message(self):
        tried = json.loads(self.queue_ok("show", ID_TRIED, "--json").stdout)
        self.assertIsInstance(tried, dict)
        self.check_tried(tried)
        self.check_new(json.loads(self.queue_ok("show", "--json", ID_NEW).stdout))

    def test_list_prints_a_table_for_people(self):
        out = self.queue_ok("list").stdout
        lines = out.splitlines()
        self.assertTrue(lines[0].split() == ["ID", "AGE", "SIZE", "SENDER", "RECIPIENTS", "NEXT"], out)
        tried = next(l for l in lines if l.startswith(ID_TRIED))
        self.assertEqual(tried.split()[1], "3h")
        self.assertIn("<app@acme.example>", tried)
        self.assertIn("1/3 delivered", tried)
        self.assertTrue(tried.endswith("held"), tried)
        new = next(l for l in lines if l.startswith(ID_NEW))
        self.assertEqual(new.split()[1], "1m")
        self.assertEqual(new.split()[2], "2.9K")
        self.assertIn("<>", new)
        self.assertIn("0/2 delivered", new)
        self.assertTrue(new.endswith("now"), new)
        self.assertIn("2 messages", out)

    def test_show_prints_each_recipient(self):
        out = self.queue_ok("show", ID_TRIED).stdout
        for text in ["one@example.net", "delivered", "250 2.0.0 Ok: queued as 4F2A", "two@example.org",
                     "deferred", "451 4.7.1 Greylisted", "mx.example.org[192.0.2.9]:25", "pending",
                     self.tried_error, "held:         yes", "attempts:     2"]:
            self.assertIn(text, out)

    def test_an_unusable_state_file_shows_the_message_as_never_tried(self):
        good = state_file(2, self.tried_next, True, self.tried_error, self.tried_states)
        self.write_state(ID_TRIED, good[:-4])  # cut inside the "end" line
        done = self.queue_ok("show", ID_TRIED, "--json")
        item = json.loads(done.stdout)
        self.assertEqual(item["attempts"], 0)
        self.assertEqual([r["status"] for r in item["recipients"]], ["pending"] * 3)
        self.assertIn("state ignored", done.stderr)

    def test_an_empty_queue(self):
        for queue_id in (ID_TRIED, ID_NEW):
            (self.spool / "queue" / queue_id).unlink()
        self.assertEqual(json.loads(self.queue_ok("list", "--json").stdout), [])
        self.assertIn("empty", self.queue_ok("list").stdout)

    def test_show_of_a_message_not_queued_fails(self):
        done = self.queue("show", "0193A4F2C1D0FFFF")
        self.assertEqual(done.returncode, 1)
        self.assertIn("no message 0193A4F2C1D0FFFF", done.stderr)
        self.assertEqual(done.stdout, "")

    def test_bad_ids_are_refused_before_anything_is_read(self):
        for args in (["show", "0193a4f2c1d0000a"], ["show", "../../etc/passwd"], ["hold", "123"],
                     ["delete", ID_TRIED + "0"], ["flush", "x"], ["release", ""]):
            with self.subTest(args=args):
                # A config that does not exist: the id must be refused first.
                done = subprocess.run([stampctl(), "queue", "--config", str(self.tmp / "missing.yaml"), *args],
                                      capture_output=True, text=True, timeout=60)
                self.assertEqual(done.returncode, 2, done.stderr)
                self.assertIn("not a queue id", done.stderr)
                self.assertEqual(done.stdout, "")

    def test_daemon_commands_say_when_stamp_mta_is_not_running(self):
        socket_path = self.spool / "control.sock"
        for args in (["flush"], ["flush", ID_TRIED], ["hold", ID_TRIED], ["release", ID_TRIED],
                     ["delete", ID_TRIED]):
            with self.subTest(args=args):
                done = self.queue(*args)
                self.assertEqual(done.returncode, 1, done.stderr)
                self.assertEqual(done.stderr.strip(),
                                 f"stamp-mta is not running (no control socket at {socket_path})")
                self.assertEqual(done.stdout, "")
        # Nothing was changed on the way.
        self.assertTrue((self.spool / "queue" / ID_TRIED).exists())

    def test_an_invalid_config_is_reported(self):
        bad = self.tmp / "bad.yaml"
        bad.write_text("hostname: stamp.test\nqueue:\n  directory: spool\n  colour: blue\n")
        done = subprocess.run([stampctl(), "queue", "--config", str(bad), "list"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assertRegex(done.stderr, r"bad\.yaml:\d+:\d+: ")


if __name__ == "__main__":
    unittest.main()
