"""The bounce classifier against the shared bounce corpus.

Runs the real `stamp-bounced classify` over every message of the corpus's dev
set (shared/corpus/bounces/dev, next to the repository; see its README.md) and
scores it the way the README suggests: per expected result, matched to the
output by recipient address (case-insensitive),

  - class, lenient: the expected class or one of its class_alt (flufl.bounce's
    "permanent" accepts hard or undeliverable), and strict: the expected class;
  - recipients: recall over the expected non-null recipients, and precision
    over the addresses we output for files whose recipients are all known;
  - non-bounce files should not be called hard, soft or undeliverable (reported
    with the misses).

Prints a table by engine family and every miss, and fails below 95 % lenient
class accuracy or 98 % recipient recall, or when the run takes a minute. The
corpus is not part of the repository: without it the test is skipped, saying
where it looked.
"""

import collections
import json
import os
import subprocess
import sys
import time
import unittest

CLASS_THRESHOLD = 0.95
RECIPIENT_THRESHOLD = 0.98
FILES_PER_RUN = 64  # files per `stamp-bounced classify` command line
BOUNCE_CLASSES = {"hard", "soft", "undeliverable"}


def corpus_directory():
    source = os.environ.get("STAMP_SOURCE_DIR") or os.path.join(os.path.dirname(__file__), "..", "..")
    return os.path.normpath(os.path.join(source, "..", "shared", "corpus", "bounces", "dev"))


def load_expected(directory):
    with open(os.path.join(directory, "expected.jsonl"), encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def classify(binary, directory, names):
    """Runs the classifier in batches; returns {file name: output object}."""
    outputs = {}
    for start in range(0, len(names), FILES_PER_RUN):
        batch = [os.path.join(directory, name) for name in names[start : start + FILES_PER_RUN]]
        run = subprocess.run([binary, "classify", *batch], capture_output=True, timeout=300)
        if run.returncode not in (0, 1):
            raise AssertionError(f"stamp-bounced classify exited {run.returncode}: {run.stderr.decode(errors='replace')}")
        for line in run.stdout.decode("utf-8").splitlines():
            line = line.strip()
            if line:
                output = json.loads(line)
                outputs[output["file"]] = output
    return outputs


def accepted_classes(expected_result):
    accepted = set(expected_result.get("class_alt") or [])
    if expected_result.get("class"):
        accepted.add(expected_result["class"])
    return accepted


def strict_classes(expected_result):
    # flufl.bounce's "permanent" has no single class: either one is the answer.
    if expected_result.get("class"):
        return {expected_result["class"]}
    return set(expected_result.get("class_alt") or [])


def match_result(expected_result, output_results, expected_count):
    """The output result for an expected one: by address, else the only one."""
    wanted = (expected_result.get("recipient") or "").lower()
    if wanted:
        for result in output_results:
            if (result.get("recipient") or "").lower() == wanted:
                return result, True
    if expected_count == 1 and len(output_results) == 1:
        return output_results[0], False
    return None, False


class Score:
    def __init__(self):
        self.results = 0
        self.lenient = 0
        self.strict = 0
        self.recipients_expected = 0
        self.recipients_found = 0
        self.addresses_output = 0
        self.addresses_right = 0
        self.non_bounces = 0
        self.non_bounces_right = 0
        self.misses = []
        self.by_family = collections.defaultdict(lambda: collections.Counter())

    def add_file(self, row, output):
        family = row["engine"]
        counts = self.by_family[family]
        counts["files"] += 1
        if output is None or "error" in output:
            self.misses.append(f"{row['file']}: no output ({output})")
        results = (output or {}).get("results", [])
        expected_results = row["results"]
        if not expected_results:
            self.non_bounces += 1
            if not any(result["class"] in BOUNCE_CLASSES for result in results):
                self.non_bounces_right += 1
            else:
                self.misses.append(f"{row['file']}: not a bounce, got {[r['class'] for r in results]}")
            return
        expected_addresses = {(r.get("recipient") or "").lower() for r in expected_results}
        for expected in expected_results:
            self.results += 1
            counts["results"] += 1
            result, by_address = match_result(expected, results, len(expected_results))
            if expected.get("recipient"):
                self.recipients_expected += 1
                counts["recipients"] += 1
                if by_address:
                    self.recipients_found += 1
                    counts["recipients_found"] += 1
                else:
                    got = [r.get("recipient") for r in results]
                    self.misses.append(f"{row['file']}: recipient {expected['recipient']} not found, got {got}")
            got_class = result["class"] if result else None
            if got_class in accepted_classes(expected):
                self.lenient += 1
                counts["lenient"] += 1
            else:
                want = expected.get("class") or "/".join(expected.get("class_alt") or [])
                detail = f" ({result['reason']} {result['status']}: {result['diagnostic']})" if result else ""
                self.misses.append(
                    f"{row['file']}: {expected.get('recipient')} want {want} "
                    f"[{expected.get('reason')} {expected.get('status')}], got {got_class}{detail}"[:400])
            if got_class in strict_classes(expected):
                self.strict += 1
                counts["strict"] += 1
        if "" not in expected_addresses:
            for result in results:
                if result.get("recipient"):
                    self.addresses_output += 1
                    if result["recipient"].lower() in expected_addresses:
                        self.addresses_right += 1

    @staticmethod
    def ratio(part, whole):
        return part / whole if whole else 1.0

    def report(self, out):
        out.write("\nfamily                    files results lenient  strict  recipients\n")
        for family in sorted(self.by_family):
            c = self.by_family[family]
            out.write(f"{family:25s} {c['files']:5d} {c['results']:7d} "
                      f"{self.ratio(c['lenient'], c['results']):7.1%} {self.ratio(c['strict'], c['results']):7.1%} "
                      f"{self.ratio(c['recipients_found'], c['recipients']):7.1%}\n")
        out.write(f"\nclass accuracy, lenient: {self.ratio(self.lenient, self.results):.1%} "
                  f"({self.lenient}/{self.results}); strict: {self.ratio(self.strict, self.results):.1%}\n")
        out.write(f"recipients: recall {self.ratio(self.recipients_found, self.recipients_expected):.1%} "
                  f"({self.recipients_found}/{self.recipients_expected}), precision "
                  f"{self.ratio(self.addresses_right, self.addresses_output):.1%} "
                  f"({self.addresses_right}/{self.addresses_output})\n")
        out.write(f"non-bounce files left alone: {self.non_bounces_right}/{self.non_bounces}\n")
        out.write(f"\nmisses ({len(self.misses)}):\n")
        for miss in self.misses:
            out.write(f"  {miss}\n")


def score_corpus(binary, directory, rows):
    started = time.monotonic()
    outputs = classify(binary, directory, [row["file"] for row in rows])
    elapsed = time.monotonic() - started
    score = Score()
    for row in rows:
        score.add_file(row, outputs.get(row["file"]))
    return score, elapsed


class BounceCorpusTest(unittest.TestCase):
    def test_classifier_meets_the_corpus_thresholds(self):
        directory = corpus_directory()
        if not os.path.isfile(os.path.join(directory, "expected.jsonl")):
            self.skipTest(f"bounce corpus not found at {directory}: expected.jsonl is missing")
        binary = os.environ.get("STAMP_BOUNCED")
        self.assertTrue(binary and os.access(binary, os.X_OK), "STAMP_BOUNCED must name the stamp-bounced binary")

        score, elapsed = score_corpus(binary, directory, load_expected(directory))
        score.report(sys.stderr)
        sys.stderr.write(f"\nclassified in {elapsed:.2f} s\n")

        lenient = score.ratio(score.lenient, score.results)
        recall = score.ratio(score.recipients_found, score.recipients_expected)
        self.assertGreaterEqual(lenient, CLASS_THRESHOLD, f"class accuracy {lenient:.1%}")
        self.assertGreaterEqual(recall, RECIPIENT_THRESHOLD, f"recipient recall {recall:.1%}")
        self.assertLess(elapsed, 60, "classifying the corpus must take seconds")


if __name__ == "__main__":
    unittest.main()
