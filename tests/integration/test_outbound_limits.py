"""Limits on outbound connections: per destination domain (`domain_limits`), for every
destination (`limits`), and for all of them together (`max_connections`). The fake MXs hold
their greeting until every message is queued, so stamp has a backlog to spread over
connections, and answer each message slowly, so connections overlap if stamp lets them."""

import unittest

from stamp_harness import DELIVERY_TIMEOUT, OutboundTestCase, assert_stays, wait_for

SENDER = "app@sender.test"
SLOW = 0.2  # seconds each fake MX takes to answer the end of data


def max_overlap(connections):
    """The most connections open at one moment, across servers (a connection lasts from its
    accept to its QUIT, or its close when there was no QUIT)."""
    edges = []
    for c in connections:
        edges.append((c.started_at, 1))
        edges.append((c.ended_at if c.ended_at is not None else float("inf"), -1))
    edges.sort(key=lambda edge: (edge[0], edge[1]))  # an end before a start at the same instant
    best = current = 0
    for _, step in edges:
        current += step
        best = max(best, current)
    return best


class OutboundLimitsTest(OutboundTestCase):
    def setUp(self):
        super().setUp()
        group = self.group = self.new_mx_group()
        self.sender_mx = group.add("127.0.0.2", "mx.sender.test")
        self.lim = group.add("127.0.0.3", "mx.lim.test", data_delay=SLOW)
        self.other = group.add("127.0.0.4", "mx.other.test", data_delay=SLOW)
        group.start()
        self.dns = self.new_dns(
            mx=[("sender.test", "mx.sender.test", 10), ("lim.test", "mx.lim.test", 10),
                ("other.test", "mx.other.test", 10)],
            a=[(m.name, m.ip) for m in group.members])

    def start_mta(self, **delivery):
        self.mta = self.new_outbound_mta(self.group, self.dns, **delivery)
        return self.mta

    def send_backlog(self, mta, counts):
        """Holds the MXs, queues counts[domain] one-recipient messages per domain, waits for
        stamp's first connection and releases the MXs. Returns the queue ids."""
        mxs = {"lim.test": self.lim, "other.test": self.other}
        for domain in counts:
            mxs[domain].hold()
        queue_ids = [mta.send(SENDER, [f"user{n}@{domain}"])
                     for domain, count in counts.items() for n in range(count)]
        wait_for(lambda: sum(len(mxs[d].connections()) for d in counts) >= 1, DELIVERY_TIMEOUT,
                 message="stamp's first connection")
        for domain in counts:
            mxs[domain].release()
        return queue_ids

    def wait_all_done(self, mta, queue_ids):
        for queue_id in queue_ids:
            mta.wait_for_done(queue_id, timeout=2 * DELIVERY_TIMEOUT)
        for queue_id in queue_ids:
            self.assertEqual(len(mta.attempts(queue_id=queue_id, status="delivered")), 1, queue_id)

    def test_domain_limit_of_one_connection_is_never_exceeded(self):
        mta = self.start_mta(domain_limits=[{"domain": "lim.test", "max_connections": 1}])
        queue_ids = self.send_backlog(mta, {"lim.test": 6})
        self.lim.wait_for_messages(6, 2 * DELIVERY_TIMEOUT)
        self.wait_all_done(mta, queue_ids)
        connections = self.lim.connections()
        self.assertEqual(sum(c.transactions for c in connections), 6)
        self.assertEqual(self.lim.max_concurrent, 1, f"{len(connections)} connections overlapped")

    def test_domain_limit_of_two_messages_per_connection_is_never_exceeded(self):
        mta = self.start_mta(domain_limits=[{"domain": "lim.test", "max_connections": 1,
                                             "max_messages_per_connection": 2}])
        queue_ids = self.send_backlog(mta, {"lim.test": 6})
        self.lim.wait_for_messages(6, 2 * DELIVERY_TIMEOUT)
        self.wait_all_done(mta, queue_ids)
        connections = self.lim.connections()
        per_connection = [c.transactions for c in connections]
        self.assertEqual(sum(per_connection), 6)
        self.assertLessEqual(max(per_connection), 2, per_connection)
        self.assertGreaterEqual(len(connections), 3, per_connection)
        self.assertEqual(self.lim.max_concurrent, 1)

    def test_domain_limit_applies_only_to_its_domain(self):
        # other.test has the defaults (10 connections): with one message per connection and a
        # held greeting, stamp opens several at once there, and still one at a time to lim.test.
        mta = self.start_mta(limits={"max_messages_per_connection": 1},
                             domain_limits=[{"domain": "lim.test", "max_connections": 1}])
        self.lim.hold()
        self.other.hold()
        queue_ids = [mta.send(SENDER, [f"user{n}@{domain}"]) for n in range(4)
                     for domain in ("lim.test", "other.test")]
        self.other.wait_for_connections(2, DELIVERY_TIMEOUT, active=True)
        self.lim.wait_for_connections(1, DELIVERY_TIMEOUT)
        self.lim.release()
        self.other.release()
        self.wait_all_done(mta, queue_ids)
        self.assertEqual(self.lim.max_concurrent, 1)
        self.assertGreaterEqual(self.other.max_concurrent, 2)
        for mx in (self.lim, self.other):
            per_connection = [c.transactions for c in mx.connections()]
            self.assertEqual((sum(per_connection), max(per_connection)), (4, 1), (mx, per_connection))

    def test_default_limits_apply_to_every_destination(self):
        mta = self.start_mta(limits={"max_connections": 2, "max_messages_per_connection": 1})
        queue_ids = self.send_backlog(mta, {"lim.test": 5, "other.test": 5})
        self.wait_all_done(mta, queue_ids)
        for mx in (self.lim, self.other):
            with self.subTest(mx=mx.name):
                self.assertLessEqual(mx.max_concurrent, 2)
                per_connection = [c.transactions for c in mx.connections()]
                self.assertEqual((sum(per_connection), max(per_connection)), (5, 1), per_connection)

    def test_max_connections_counts_all_destinations_together(self):
        mta = self.start_mta(max_connections=1)
        queue_ids = self.send_backlog(mta, {"lim.test": 3, "other.test": 3})
        self.wait_all_done(mta, queue_ids)
        connections = self.lim.connections() + self.other.connections()
        self.assertEqual(max_overlap(connections), 1,
                         [(c.started_at, c.ended_at) for c in connections])

    def test_messages_per_minute_is_never_exceeded(self):
        mta = self.start_mta(domain_limits=[{"domain": "lim.test", "max_messages_per_minute": 2}])
        queue_ids = [mta.send(SENDER, [f"user{n}@lim.test"]) for n in range(5)]
        self.lim.wait_for_messages(1, DELIVERY_TIMEOUT)
        # A bounded watch, well inside the minute: never more than two.
        assert_stays(lambda: len(self.lim.messages()) <= 2, 5.0,
                     message="at most 2 messages a minute to lim.test")
        done = [q for q in queue_ids if mta.events("queue.done", queue_id=q)]
        self.assertLessEqual(len(done), 2, done)


if __name__ == "__main__":
    unittest.main()
