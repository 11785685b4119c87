"""The packages as an operator gets them: CPack builds the .deb and the .rpm from the build
directory; their contents are checked; lintian finds no error in the .deb; the .deb installs with
dpkg; the installed default configuration passes --check-config and the units pass
`systemd-analyze verify`; the installed daemons, started by hand as the `stamp` user (there is no
systemd in CI), take one message through; `dpkg --purge` leaves nothing but the `stamp` user,
which Debian policy keeps.

Needs root (dpkg -i). It installs the package named "stamp" on this machine and purges it again."""

import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time
import unittest
from pathlib import Path

from stamp_harness import parse_log_line, source_dir, stamp_mta, wait_for

DEB_FILES = ["./usr/sbin/stamp-mta", "./usr/sbin/stamp-bounced", "./usr/bin/stampctl",
             "./etc/stamp/stamp-mta.yaml", "./etc/stamp/stamp-bounced.yaml",
             "./lib/systemd/system/stamp-mta.service", "./lib/systemd/system/stamp-bounced.service",
             "./usr/share/doc/stamp/copyright", "./usr/share/doc/stamp/changelog.gz"]
RPM_FILES = ["/usr/sbin/stamp-mta", "/usr/sbin/stamp-bounced", "/usr/bin/stampctl",
             "/etc/stamp/stamp-mta.yaml", "/etc/stamp/stamp-bounced.yaml",
             "/usr/lib/systemd/system/stamp-mta.service", "/usr/lib/systemd/system/stamp-bounced.service"]
CONFFILES = ["/etc/stamp/stamp-mta.yaml", "/etc/stamp/stamp-bounced.yaml", "/etc/stamp/tenants.d/README"]
UNITS = ["stamp-mta.service", "stamp-bounced.service"]
LEFT_BY_PURGE = ["/etc/stamp", "/var/spool/stamp", "/var/lib/stamp", "/usr/sbin/stamp-mta",
                 "/usr/sbin/stamp-bounced", "/usr/bin/stampctl", "/lib/systemd/system/stamp-mta.service",
                 "/usr/share/doc/stamp"]


def run(*argv, check=True, **kwargs):
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=600, **kwargs)
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


def installed():
    return run("dpkg-query", "-W", "-f=${Status}", "stamp", check=False).stdout.startswith("install ok installed")


class DaemonAsStamp:
    """A daemon started as the `stamp` user; its log lines read from stderr."""

    def __init__(self, argv):
        # setpriv execs the daemon itself (runuser would stay its parent and swallow the exit code).
        self.process = subprocess.Popen(["setpriv", "--reuid=stamp", "--regid=stamp", "--init-groups", *argv],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if parse_log_line(line).get("event") == "ready":
                return
        raise AssertionError("daemon not ready:\n" + "\n".join(self.lines))

    def port(self, listener):
        for line in self.lines:
            fields = parse_log_line(line)
            if fields.get("event") == "listening" and fields.get("listener") == listener:
                return int(fields["address"].rsplit(":", 1)[1])
        raise AssertionError(f"no listener {listener}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(30)
        self.process.stderr.close()
        return code


@unittest.skipUnless(os.geteuid() == 0, "installing a .deb needs root (CI runs as root)")
class PackagesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = Path(tempfile.mkdtemp(prefix="stamp-packages-"))
        build = Path(stamp_mta()).resolve().parents[1]
        run("cpack", "-G", "DEB;RPM", "-B", str(cls.tmp), cwd=build)
        cls.deb = next(cls.tmp.glob("stamp_*_amd64.deb"))
        cls.rpm = next(cls.tmp.glob("stamp-*.x86_64.rpm"))

    @classmethod
    def tearDownClass(cls):
        if installed():
            run("dpkg", "--purge", "stamp", check=False)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_contents(self):
        listed = run("dpkg-deb", "-c", str(self.deb)).stdout
        paths = {line.split()[-1] for line in listed.splitlines()}
        for path in DEB_FILES:
            self.assertIn(path, paths)
        self.assertEqual(run("dpkg-deb", "-f", str(self.deb), "Package").stdout.strip(), "stamp")
        depends = run("dpkg-deb", "-f", str(self.deb), "Depends").stdout
        for name in ("libopendkim11", "libunbound8", "libgmime-3.0-0", "adduser"):
            self.assertIn(name, depends)
        control = self.tmp / "control"
        run("dpkg-deb", "-e", str(self.deb), str(control))
        self.assertEqual((control / "conffiles").read_text().split(), CONFFILES)
        rpm_files = run("rpm", "-qlp", str(self.rpm)).stdout.split()
        for path in RPM_FILES:
            self.assertIn(path, rpm_files)
        self.assertEqual(sorted(run("rpm", "-qp", "--configfiles", str(self.rpm)).stdout.split()), sorted(CONFFILES))
        self.assertIn("useradd", run("rpm", "-qp", "--scripts", str(self.rpm)).stdout)

    def test_lintian_finds_no_error(self):
        done = run("lintian", "--fail-on", "error", str(self.deb), check=False)
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)
        self.assertNotRegex(done.stdout, r"(?m)^E: ")

    def test_install_check_run_purge(self):
        if installed():
            run("dpkg", "--purge", "stamp")
        run("dpkg", "-i", str(self.deb))
        self.assertTrue(installed())
        self.assertEqual(run("stat", "-c", "%U:%G %a", "/var/spool/stamp").stdout.strip(), "stamp:stamp 750")
        self.assertEqual(run("stat", "-c", "%U:%G", "/var/lib/stamp").stdout.strip(), "stamp:stamp")
        # The installed defaults are valid as shipped, for both daemons.
        self.assertIn("configuration OK", run("/usr/sbin/stamp-mta", "--check-config").stdout)
        self.assertIn("configuration OK", run("runuser", "-u", "stamp", "--", "/usr/sbin/stamp-bounced",
                                               "--check-config").stdout)
        verify = run("systemd-analyze", "verify", *[f"/lib/systemd/system/{u}" for u in UNITS], check=False)
        self.assertEqual(verify.returncode, 0, verify.stdout + verify.stderr)
        for unit in UNITS:
            security = run("systemd-analyze", "security", "--offline=true", f"/lib/systemd/system/{unit}",
                           check=False)
            score = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", security.stdout)
            self.assertIsNotNone(score, security.stdout + security.stderr)
            print(f"\n{unit}: systemd-analyze security exposure {score.group(1)}", flush=True)
            self.assertLessEqual(float(score.group(1)), 2.5)

        # The installed daemons, as user stamp, with a test configuration on loopback.
        work = self.tmp / "run"
        (work / "tenants.d").mkdir(parents=True)
        (work / "stamp-mta.yaml").write_text(
            "hostname: pkg.stamp.test\n"
            "listeners:\n  - name: local\n    address: 127.0.0.1:0\n    tls: none\n    auth: false\n"
            "    trusted_networks:\n      - network: 127.0.0.1/32\n        tenant: t\n"
            f"queue:\n  directory: {work}/spool\n"
            f"delivery:\n  mode: sandbox\n  sandbox_directory: {work}/sandbox\n")
        (work / "tenants.d" / "t.yaml").write_text("smtp_users: []\n")
        (work / "stamp-bounced.yaml").write_text(
            "hostname: pkg.stamp.test\n"
            f"mta_config: {work}/stamp-mta.yaml\n"
            "listeners:\n  - name: bounces\n    address: 127.0.0.1:0\n    tls: none\n    auth: false\n")
        run("chown", "-R", "stamp:stamp", str(self.tmp))
        mta = DaemonAsStamp(["/usr/sbin/stamp-mta", "--config", str(work / "stamp-mta.yaml")])
        try:
            with smtplib.SMTP("127.0.0.1", mta.port("local"), timeout=30) as smtp:
                smtp.sendmail("app@pkg.stamp.test", ["someone@example.net"],
                              b"From: app@pkg.stamp.test\r\nSubject: from the package\r\n\r\nHello.\r\n")
            wait_for(lambda: list((work / "sandbox").glob("*.eml")), 30, message="the message in the sandbox")
            eml = next((work / "sandbox").glob("*.eml"))
            self.assertIn(b"Subject: from the package", eml.read_bytes())
            self.assertEqual(run("stat", "-c", "%U", str(eml)).stdout.strip(), "stamp")
            bounced = DaemonAsStamp(["/usr/sbin/stamp-bounced", "--config", str(work / "stamp-bounced.yaml")])
            self.assertEqual(bounced.stop(), 0)
        finally:
            self.assertEqual(mta.stop(), 0)

        run("dpkg", "--purge", "stamp")
        self.assertFalse(installed())
        for path in LEFT_BY_PURGE:
            self.assertFalse(os.path.lexists(path), f"{path} left after purge")
        # Debian policy keeps the system user (files elsewhere may still be its).
        self.assertEqual(run("id", "-un", "stamp").stdout.strip(), "stamp")


if __name__ == "__main__":
    unittest.main()
