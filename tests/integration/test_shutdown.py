"""SIGTERM: an idle daemon stops at once with exit code 0; a message in the middle of DATA is
allowed to finish and is kept."""

import signal
import socket
import time
import unittest

from stamp_harness import CLIENT_NAME, RawSmtp, StampTestCase, queue_id_of, split_received


class ShutdownTest(StampTestCase):
    def assertCleanStop(self, mta):
        self.assertEqual([e["event"] for e in mta.events("shutdown") + mta.events("stopped")],
                         ["shutdown", "stopped"])
        self.assertEqual(mta.events("shutdown")[0]["signal"], "SIGTERM")
        self.assertEqual(mta.events("shutdown_grace_expired"), [])
        self.assertEqual(mta.events("shutdown_forced"), [])

    def test_sigterm_while_idle_exits_0_quickly(self):
        mta = self.new_mta()
        started = time.monotonic()
        mta.signal(signal.SIGTERM)
        code = mta.wait_exit(timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 3.0, "an idle daemon took long to stop")
        self.assertCleanStop(mta)

    def test_sigterm_with_an_idle_session_says_421_and_exits_0_quickly(self):
        mta = self.new_mta()
        client = RawSmtp(mta.port("trusted"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        started = time.monotonic()
        mta.signal(signal.SIGTERM)
        # A session between transactions does not hold the daemon up: 421, then closed.
        self.assertReply(client.read_reply(), 421, "4.3.2")
        client.expect_closed()
        client.close()
        code = mta.wait_exit(timeout=10)
        elapsed = time.monotonic() - started
        self.assertEqual(code, 0)
        self.assertLess(elapsed, 3.0, "a daemon with an idle session took long to stop")
        self.assertCleanStop(mta)

    def test_sigterm_during_data_lets_the_message_finish(self):
        mta = self.new_mta()
        client = RawSmtp(mta.port("trusted"))
        self.assertReply(client.cmd(f"EHLO {CLIENT_NAME}"), 250)
        self.assertReply(client.cmd("MAIL FROM:<app@tenant.example>"), 250, "2.1.0")
        self.assertReply(client.cmd("RCPT TO:<late@example.net>"), 250, "2.1.5")
        self.assertReply(client.cmd("DATA"), 354)
        first_half = (b"From: app@tenant.example\r\nSubject: in flight\r\n"
                      b"Message-ID: <inflight@tenant.example>\r\nDate: Mon, 02 Mar 2026 10:00:00 +0000\r\n"
                      b"\r\n" + b"first half\r\n" * 1000)
        second_half = b"second half\r\n" * 1000
        client.send(first_half)
        mta.signal(signal.SIGTERM)
        mta.wait_for_event("shutdown", timeout=10)
        # New connections are no longer accepted while the daemon drains.
        with self.assertRaises(OSError):
            socket.create_connection(("127.0.0.1", mta.port("trusted")), timeout=5).close()
        self.assertTrue(mta.running(), "the daemon exited with a message in the middle of DATA")
        client.send(second_half + b".\r\n")
        reply = client.read_reply()
        self.assertReply(reply, 250, "2.0.0")
        queue_id = queue_id_of(reply.text)
        # The next command gets 421: the daemon says it before it closes the connection.
        self.assertReply(client.read_reply(), 421, "4.3.2")
        client.expect_closed()
        client.close()
        code = mta.wait_exit(timeout=15)
        self.assertEqual(code, 0)
        self.assertCleanStop(mta)

        # The message was acknowledged, so it is kept: the sandbox worker stops taking work at
        # SIGTERM (sandbox_delivery.h: "it stays in the spool for the next start"), so it is either
        # already in the sandbox or durably in the spool's queue/, and a restart delivers it.
        in_sandbox = mta.eml_path(queue_id).exists()
        in_queue = queue_id in mta.queue_files()
        self.assertTrue(in_sandbox or in_queue, f"acknowledged message {queue_id} is neither in the "
                        f"sandbox nor in the spool queue after shutdown")
        if in_queue:
            self.assertIn(first_half + second_half, (mta.spool_dir / "queue" / queue_id).read_bytes())
        print(f"\n[shutdown] message accepted during shutdown: in_sandbox_at_exit={in_sandbox} "
              f"in_spool_queue_at_exit={in_queue}", flush=True)
        mta.restart()
        (eml,) = mta.wait_for_delivery(queue_id)
        self.assertEqual(split_received(eml)[1], first_half + second_half)
        mta.wait_for_event("delivery.sandbox", queue_id=queue_id)
        self.assertEqual(mta.queue_files(), [])
        mta.stop()

if __name__ == "__main__":
    unittest.main()
