"""Shared pieces of the Python integration tests (not a test itself: ctest runs only test_*.py).

Checks: named counters of checks done and failed, so every test can print one table and fail on a check that
failed or that checked nothing. hmac_uid / UID_RE: the UID mapping of DECISIONS.md 6 recomputed
independently of the C code, and the PS3.5 UID syntax."""
import hashlib
import hmac
import re
from collections import Counter, defaultdict

REGISTRY_ROOT = "1.2.840.10008."
UID_RE = re.compile(r"^(0|[1-9][0-9]*)(\.(0|[1-9][0-9]*))*$")


def hmac_uid(uid, key):
    """New UID = "2.25." + decimal of the first 128 bits of HMAC-SHA256(key, uid); registry UIDs unchanged."""
    uid = uid.rstrip("\0 ")
    if uid.startswith(REGISTRY_ROOT):
        return uid
    return "2.25." + str(int.from_bytes(hmac.new(key, uid.encode(), hashlib.sha256).digest()[:16], "big"))


class Checks:
    def __init__(self):
        self.count = Counter()
        self.fail = defaultdict(list)
        self.info = defaultdict(list)

    def ok(self, name, n=1):
        self.count[name] += n

    def bad(self, name, msg):
        self.count[name] += 1
        self.fail[name].append(msg)

    def expect(self, name, cond, msg):
        if cond:
            self.ok(name)
        else:
            self.bad(name, msg)
        return cond

    def report(self, test_name, required, max_shown, suffix=""):
        """Print the table and the failures; return the exit code (1 when a check failed, or when a required
        check checked nothing: a test that cannot fail is a defect)."""
        print("\n  check                               checked  failed")
        bad = 0
        for name in sorted(set(self.count) | set(required)):
            nf = len(self.fail.get(name, []))
            print(f"  {name:36s}{self.count[name]:8d}{nf:8d}")
            if nf:
                bad += 1
            elif self.count[name] == 0 and name in required:
                print(f"    ^ nothing was checked for {name}")
                bad += 1
        for name, msgs in sorted(self.fail.items()):
            print(f"\nFAILED {name} ({len(msgs)}):")
            for m in msgs[:max_shown]:
                print(f"  - {m}")
            if len(msgs) > max_shown:
                print(f"  ... {len(msgs) - max_shown} more")
        print(f"\n{test_name}: {'FAIL' if bad else 'PASS'} ({bad} failing checks){suffix}")
        return 1 if bad else 0
