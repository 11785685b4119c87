"""`stamp-mta --check-config`: the dev profile passes; a broken configuration is refused with
every problem named as file:line:col: message."""

import re
import subprocess
import unittest

from stamp_harness import StampTestCase, password_hash, source_dir, stamp_mta

SERVER_YAML = """\
# three mistakes, two in this file and one in tenants.d/acme.yaml
hostname: stamp.test
listeners:
  - name: trusted
    address: 127.0.0.1:0
    tls: none
    auth: false
    colour: blue
    trusted_networks:
      - network: 127.0.0.1/32
        tenant: acme
smtp:
  max_connections: 10
  max_recipients_per_message: 5
queue:
  directory: spool
delivery:
  mode: sandbox
  sandbox_directory: sandbox
"""

TENANT_YAML = """\
smtp_users:
  - username: [acme-app, other]
    password_hash: "{hash}"
"""

DIAGNOSTIC_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): (?P<message>.+)$")


def position(text, line_start, needle):
    """1-based (line, column) of `needle` on the first line that starts with `line_start`."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(line_start):
            return number, line.index(needle) + 1
    raise AssertionError(f"no line starts with {line_start!r}")


def check_config(path, cwd=None):
    return subprocess.run([stamp_mta(), "--check-config", "--config", str(path)], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


class CheckConfigTest(StampTestCase):
    def test_dev_profile_is_valid(self):
        config = source_dir() / "conf" / "dev" / "stamp-mta.yaml"
        done = check_config(config, cwd=self.tmp)
        self.assertEqual(done.returncode, 0, f"stdout: {done.stdout}\nstderr: {done.stderr}")
        self.assertIn("configuration OK", done.stdout)
        self.assertNotRegex(done.stdout + done.stderr, r":\d+:\d+: ")

    def write_broken_config(self):
        conf = self.tmp / "conf"
        (conf / "tenants.d").mkdir(parents=True)
        server = conf / "stamp-mta.yaml"
        tenant = conf / "tenants.d" / "acme.yaml"
        server.write_text(SERVER_YAML)
        tenant_text = TENANT_YAML.format(hash=password_hash())
        tenant.write_text(tenant_text)
        expected = [
            # (file, (line, column), what the message must say)
            (str(server), position(SERVER_YAML, "    colour:", "colour"),
             ['unknown key "colour"']),
            (str(server), position(SERVER_YAML, "  max_recipients_per_message:", "5"),
             ["max_recipients_per_message", "must be 100..100000", "got 5"]),
            (str(tenant), position(tenant_text, "  - username:", "["),
             ["username", "wrong type", "expected a string", "got a list"]),
        ]
        return server, expected

    def assertDiagnostics(self, output, expected):
        found = [DIAGNOSTIC_RE.match(line) for line in output.splitlines()]
        found = [m for m in found if m]
        self.assertEqual(len(found), len(expected), f"expected {len(expected)} diagnostics in:\n{output}")
        for file, (line, column), words in expected:
            matches = [m for m in found if m["file"] == file and int(m["line"]) == line]
            self.assertEqual(len(matches), 1, f"no single diagnostic for {file}:{line} in:\n{output}")
            m = matches[0]
            self.assertEqual(int(m["col"]), column, f"wrong column in {m.group(0)!r}")
            for word in words:
                self.assertIn(word, m["message"], m.group(0))

    def test_every_mistake_is_reported_with_file_line_and_column(self):
        server, expected = self.write_broken_config()
        done = check_config(server)
        self.assertNotEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertNotIn("configuration OK", done.stdout)
        self.assertDiagnostics(done.stdout + done.stderr, expected)
        self.assertIn("3 configuration problems", done.stderr)

    def test_daemon_refuses_to_start_with_the_same_problems(self):
        server, expected = self.write_broken_config()
        done = subprocess.run([stamp_mta(), "--config", str(server)], capture_output=True, text=True,
                              timeout=60)
        self.assertNotEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertDiagnostics(done.stdout + done.stderr, expected)
        self.assertNotIn("event=ready", done.stderr)
        self.assertFalse((self.tmp / "conf" / "spool").exists(), "created the spool despite a bad config")


if __name__ == "__main__":
    unittest.main()


BOUNCED_YAML = """\
hostname: bounces.stamp.test
mta_config: stamp-mta.yaml
listeners:
  - name: bounces
    address: 127.0.0.1:0
    tls: none
    auth: true
suppression:
  soft_bounce_limit: 5000
webhooks:
  retry_for: 1s
  colour: blue
"""


class BouncedCheckConfigTest(StampTestCase):
    """`stamp-bounced --check-config`: its own file's problems and those of the stamp-mta
    configuration it names, each as file:line:col: message."""

    def check(self, config):
        from stamp_harness import stamp_bounced
        return subprocess.run([stamp_bounced(), "--check-config", "--config", str(config)],
                              capture_output=True, text=True, timeout=60)

    def test_the_dev_profile_passes(self):
        done = self.check(source_dir() / "conf" / "dev" / "stamp-bounced.yaml")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("configuration OK", done.stdout)

    def test_every_problem_is_named_with_its_place(self):
        mta = self.new_mta(start=False)
        config = mta.conf_dir / "stamp-bounced.yaml"
        config.write_text(BOUNCED_YAML)
        done = self.check(config)
        self.assertEqual(done.returncode, 1)
        problems = [DIAGNOSTIC_RE.match(line) for line in done.stderr.splitlines()[:-1]]
        self.assertTrue(all(problems), done.stderr)
        found = {(m["line"], m["message"]) for m in problems}
        self.assertIn(("4", 'listeners: listener "bounces": stamp-bounced takes no AUTH, set auth: false'), found)
        self.assertTrue(any(line == "9" and "soft_bounce_limit" in msg for line, msg in found), found)
        self.assertTrue(any(line == "11" and "retry_for" in msg for line, msg in found), found)
        self.assertTrue(any(line == "12" and 'unknown key "colour"' in msg for line, msg in found), found)
        self.assertEqual(done.stderr.splitlines()[-1], f"stamp-bounced: {len(problems)} configuration problems")

    def test_problems_of_the_mta_configuration_are_reported_too(self):
        mta = self.new_mta(start=False)
        mta.config_path.write_text(mta.config_path.read_text() + "bogus_key: 1\n")
        config = mta.conf_dir / "stamp-bounced.yaml"
        config.write_text("hostname: b.stamp.test\nmta_config: stamp-mta.yaml\n"
                          "listeners:\n  - name: b\n    address: 127.0.0.1:0\n    tls: none\n    auth: false\n")
        done = self.check(config)
        self.assertEqual(done.returncode, 1)
        self.assertIn(f"{mta.config_path}:", done.stderr)
        self.assertIn('unknown key "bogus_key"', done.stderr)
