"""Durability: 250 to DATA is a promise. kill -9 at an arbitrary moment under load loses no
acknowledged message, and no delivered file is truncated."""

import re
import smtplib
import sys
import threading
import time
import unittest
import uuid

from stamp_harness import (CLIENT_NAME, StampTestCase, queue_id_of, split_received, wait_for)

THREADS = 8
PER_THREAD = 50              # 400 messages in all
KILL_AFTER = THREADS * PER_THREAD // 2
TOKEN_RE = re.compile(rb"Subject: crash (tok-[0-9a-f]+-\d+-\d+)\r\n")


def make_message(token):
    filler = b"".join(b"%04d the quick brown fox jumps over the lazy dog, again and again %s\r\n"
                      % (i, token.encode()) for i in range(40))
    return (f"From: load@tenant.example\r\n"
            f"To: sink@example.net\r\n"
            f"Subject: crash {token}\r\n"
            f"Message-ID: <{token}@tenant.example>\r\n"
            f"Date: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
            f"\r\n"
            f"body {token}\r\n").encode() + filler + f".dot line {token}\r\n".encode()


class Load:
    """THREADS clients, each sending PER_THREAD messages over its own connection."""

    def __init__(self, port):
        self.port = port
        self.run_id = uuid.uuid4().hex[:8]
        self.lock = threading.Lock()
        self.acked = {}        # token -> queue id, for every 250 a client read
        self.messages = {}     # token -> the message bytes, for everything attempted
        self.attempted = 0
        self.errors = []       # (thread, exception) that ended a client
        self.threads = [threading.Thread(target=self.client, args=(n,), name=f"load-{n}", daemon=True)
                        for n in range(THREADS)]

    def start(self):
        for thread in self.threads:
            thread.start()

    def join(self, timeout):
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self.threads)

    def acked_count(self):
        with self.lock:
            return len(self.acked)

    def client(self, n):
        try:
            smtp = smtplib.SMTP("127.0.0.1", self.port, local_hostname=CLIENT_NAME, timeout=30)
            smtp.ehlo()
            for i in range(PER_THREAD):
                token = f"tok-{self.run_id}-{n}-{i}"
                message = make_message(token)
                with self.lock:
                    self.messages[token] = message
                    self.attempted += 1
                code, text = smtp.mail("load@tenant.example")
                if code != 250:
                    raise RuntimeError(f"MAIL: {code} {text!r}")
                code, text = smtp.rcpt("sink@example.net")
                if code != 250:
                    raise RuntimeError(f"RCPT: {code} {text!r}")
                code, text = smtp.data(message)
                if code != 250:
                    raise RuntimeError(f"DATA: {code} {text!r}")
                queue_id = queue_id_of(text)
                with self.lock:
                    self.acked[token] = queue_id
            smtp.quit()
        except Exception as e:  # the daemon was killed under us: expected for most clients
            with self.lock:
                self.errors.append((n, repr(e)))


class CrashRecoveryTest(StampTestCase):
    def test_mta_keeps_mail_across_kill9(self):
        mta = self.new_mta()
        load = Load(mta.port("trusted"))
        load.start()
        wait_for(lambda: load.acked_count() >= KILL_AFTER, 120,
                 message=f"{KILL_AFTER} acknowledged messages")
        mta.kill9()
        self.assertEqual(mta.exit_codes[-1], -9)
        self.assertTrue(load.join(60), "client threads did not finish after the kill")
        with load.lock:
            acked = dict(load.acked)
            attempted = load.attempted
        delivered_before_restart = len(mta.sandbox_files(".eml"))
        queued_at_kill = len(mta.queue_files())
        self.assertLess(len(acked), THREADS * PER_THREAD,
                        "every message was acknowledged before the kill; the kill came too late")
        self.assertGreaterEqual(len(acked), KILL_AFTER)

        mta.restart()
        recovered = mta.wait_for_event("queue.recovered", timeout=30)[0]
        missing = lambda: [t for t, q in acked.items() if not mta.eml_path(q).exists()]
        wait_for(lambda: not missing(), 90,
                 message=f"every acknowledged message in the sandbox (missing: {len(missing())})")

        # Every acknowledged message, by queue id and by its token, whole.
        for token, queue_id in acked.items():
            eml = mta.read_eml(queue_id)
            received, rest = split_received(eml)
            self.assertIn(b" id " + queue_id.encode(), received)
            self.assertEqual(rest, load.messages[token], f"{queue_id} ({token}) is not the message sent")
            self.assertFalse(mta.eml_path(queue_id, 1).exists())

        # Every file in the sandbox is a whole message we sent, acknowledged or not (a message
        # made durable just before the kill may arrive without its 250: delivered, not lost).
        emls = mta.sandbox_files(".eml")
        by_queue_id = {q: t for t, q in acked.items()}
        unacknowledged = 0
        for name in emls:
            queue_id = name[:-len("-0.eml")]
            self.assertTrue(name.endswith("-0.eml"), name)
            eml = (mta.sandbox_dir / name).read_bytes()
            m = TOKEN_RE.search(eml)
            self.assertIsNotNone(m, f"{name}: no token (truncated?): {eml[:300]!r}")
            token = m.group(1).decode()
            received, rest = split_received(eml)
            self.assertEqual(rest, load.messages[token], f"{name} is truncated or altered")
            self.assertIn(b" id " + queue_id.encode(), received)
            if queue_id in by_queue_id:
                self.assertEqual(by_queue_id[queue_id], token)
            else:
                self.assertNotIn(token, acked, f"{token} delivered under a second queue id {queue_id}")
                unacknowledged += 1
        self.assertEqual(len(emls), len(set(emls)))
        leftovers = [n for n in mta.sandbox_files() if not n.endswith((".eml", ".json"))]

        print(f"\n[crash recovery] attempted={attempted} acknowledged={len(acked)} "
              f"delivered_before_kill9={delivered_before_restart} queued_at_kill9={queued_at_kill} "
              f"recovered_by_restart={recovered.get('messages')} delivered_total={len(emls)} "
              f"delivered_unacknowledged={unacknowledged} sandbox_temp_leftovers={len(leftovers)} "
              f"client_errors={len(load.errors)}", file=sys.stderr)
        mta.stop()


if __name__ == "__main__":
    unittest.main()
