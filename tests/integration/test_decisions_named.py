#!/usr/bin/python3
"""docs/decisions.md names, next to every decision, the test that proves it - and that test exists and runs.

Every top-level bullet of docs/decisions.md must end its text with at least one bracketed list of tests,
e.g. `[test_markers, test_regen_uid_tag; test_cli_errors.sh "config over 1 MiB"]` (items separated by `,` or
`;`). Each item is checked:
  - `test_file: test_name` (or `test_file.c test_name`): a cmocka test function of tests/unit/test_file.c;
  - `integration.test_x`: ctest's name for the script tests/integration/test_x.sh or .py;
  - `test_name`: a cmocka test function `static void test_name(void **...)` in tests/unit/*.c that is also
    registered in a `cmocka_unit_test(test_name)` list (so it runs under ctest);
  - `script.sh` / `script.py` [text]: a file tests/integration/script.* that ctest runs, and, when text
    follows (quoted or not), that text appears in the script (the named check exists).
A decision without a bracket, or naming a test that does not exist, fails this test.

Env (set by ctest): DV_SOURCE_DIR. Run with /usr/bin/python3.
"""
import glob
import os
import re
import sys

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DOC = os.path.join(SRC_DIR, "docs", "decisions.md")


def decisions(text):
    """(first line, full text) of every top-level bullet."""
    items, cur = [], None
    for line in text.splitlines():
        if line.startswith("- "):
            cur = [line]
            items.append(cur)
        elif cur is not None and line.startswith("  ") and line.strip():
            cur.append(line)
        else:
            cur = None
    return [(lines[0], " ".join(l.strip() for l in lines)) for lines in items]


def main():
    with open(DOC) as f:
        doc = f.read()
    unit_src = {}
    for path in glob.glob(os.path.join(SRC_DIR, "tests", "unit", "*.c")):
        with open(path) as f:
            unit_src[os.path.basename(path)] = f.read()
    defined = set()
    registered = set()
    for src in unit_src.values():
        defined |= set(re.findall(r"^static void (test_\w+)\(void \*\*\w*\)", src, re.M))
        registered |= set(re.findall(r"cmocka_unit_test\((test_\w+)\)", src))
    scripts = {os.path.basename(p): p for p in glob.glob(os.path.join(SRC_DIR, "tests", "integration", "test_*"))}

    items = decisions(doc)
    failures, named = [], 0
    for first, text in items:
        # A bracket is a test list when it starts with a test name; other brackets are prose (`actions[3]`).
        brackets = [b for b in re.findall(r"\[([^\]]+)\]", text) if re.match(r"\s*(test_|integration\.)", b)]
        tests = [t for b in brackets for t in re.split(r"[;,]", b) if t.strip()]
        if not tests:
            failures.append(f"no test named for: {first[:90]}")
            continue
        for t in tests:
            t = t.strip()
            # "test_file: test_name" / "test_file.c test_name" name a cmocka test in that file;
            # "integration.test_x" is ctest's name for tests/integration/test_x.{sh,py}.
            m = re.fullmatch(r"(test_\w+)(?:\.c)?:? (test_\w+)", t)
            if m and m.group(1) + ".c" in unit_src:
                named += 1
                if not re.search(r"^static void " + m.group(2) + r"\(void \*\*\w*\)", unit_src[m.group(1) + ".c"], re.M):
                    failures.append(f"{m.group(2)}: no such cmocka test in tests/unit/{m.group(1)}.c ({first[:60]})")
                continue
            m = re.fullmatch(r"integration\.(test_\w+)", t)
            if m:
                t = next((n for n in scripts if n.rsplit(".", 1)[0] == m.group(1)), t)
            word, _, rest = t.partition(" ")
            named += 1
            if re.fullmatch(r"test_\w+", word):
                if word not in defined:
                    failures.append(f"{word}: no such cmocka test in tests/unit/ ({first[:60]})")
                elif word not in registered:
                    failures.append(f"{word}: defined but not registered with cmocka_unit_test, so it never runs")
            elif re.fullmatch(r"test_\w+\.(sh|py)", word):
                if word not in scripts:
                    failures.append(f"{word}: no such script in tests/integration/ ({first[:60]})")
                    continue
                want = rest.strip().strip('"')
                if want:
                    with open(scripts[word]) as f:
                        if want not in f.read():
                            failures.append(f"{word}: names {want!r}, which the script does not contain")
            else:
                failures.append(f"{t!r}: not a test name (test_x, test_x.sh, test_x.py) ({first[:60]})")
    print(f"test_decisions_named: {len(items)} decisions, {named} named tests")
    for msg in failures:
        print(f"FAIL: {msg}")
    if not items:
        print("FAIL: no decision found in docs/decisions.md: nothing was checked")
        return 1
    print(f"test_decisions_named: {'FAIL' if failures else 'PASS'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
