"""systemd's notification protocol (sd_notify, units of Type=notify), spoken by both daemons to a
NOTIFY_SOCKET of our own: READY=1 once the listeners are open, RELOADING=1 then READY=1 around a
SIGHUP reload, STOPPING=1 when SIGTERM starts the shutdown."""

import os
import signal
import socket
import unittest

from stamp_harness import StampTestCase

TIMEOUT = 20.0


class NotifySocket:
    def __init__(self, path):
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(TIMEOUT)

    def next(self):
        """The next notification as a dict of its KEY=VALUE lines."""
        data = self.sock.recv(4096).decode()
        return dict(line.split("=", 1) for line in data.splitlines() if "=" in line)

    def close(self):
        self.sock.close()


class ServiceNotifyTest(StampTestCase):
    def run_daemon_through_its_life(self, daemon):
        notify = NotifySocket(self.tmp / f"notify-{id(daemon)}")
        self.addCleanup(notify.close)
        os.environ["NOTIFY_SOCKET"] = notify.path
        try:
            daemon.start()
        finally:
            del os.environ["NOTIFY_SOCKET"]
        ready = notify.next()
        self.assertEqual(ready.get("READY"), "1", ready)
        self.assertTrue(ready.get("STATUS", "").startswith("running"), ready)
        daemon.signal(signal.SIGHUP)
        reloading = notify.next()
        self.assertEqual(reloading.get("RELOADING"), "1", reloading)
        self.assertTrue(reloading.get("MONOTONIC_USEC", "").isdigit(), reloading)
        self.assertEqual(notify.next().get("READY"), "1")
        daemon.signal(signal.SIGTERM)
        self.assertEqual(notify.next().get("STOPPING"), "1")
        self.assertEqual(daemon.wait_exit(), 0)

    def test_stamp_mta(self):
        self.run_daemon_through_its_life(self.new_mta(start=False))

    def test_stamp_bounced(self):
        mta = self.new_mta(start=False)
        self.run_daemon_through_its_life(self.new_bounced(mta, start=False))


if __name__ == "__main__":
    unittest.main()
