#!/usr/bin/python3
"""Issue 6 acceptance "every file of the corpus passes through DEIDENTIFY_TAG_CONTENTS and Basic +
cleanDescriptors without crash, leak or sanitizer report", through the real `dicomveil deidentify` CLI.

Three runs over the whole $DV_SHARED_DATA/dicom folder with the fixed key of test_corpus.py: the Basic profile
(`{}`, the baseline), DEIDENTIFY_TAG_CONTENTS (`dtc`) and Basic + options.cleanDescriptors (`basic_cd`; the
API's CleanDescriptorsOption is an empty object, so `{}`). Under ctest-asan the binary is the ASan+UBSan build
and ASAN_OPTIONS has detect_leaks=1, so a leak or sanitizer report shows on stderr and in the exit code.
  run.*            exit 0 or 1 (1 iff some instance failed), no sanitizer / leak report on stderr;
  status.*         every corpus file gets, under each text config, exactly the status and error class it gets
                   under Basic (so no file fails under text that succeeds under Basic); a failure has a clear
                   class and message, and a failing DICOM file is one test_corpus.py pins in ALLOWED_FAILURES
                   with that class (a malformed file or no instance);
  outputs.*        one output per ok input; dcmdump reads it (exit 0, no E: line);
  values.*         every text value (AE LO LT PN SH ST UC UT DA DT AS, every level) whose bytes differ from the
                   input's, or which the input lacks, decodes strictly in the output's SpecificCharacterSet and
                   is valid for its VR (PS3.5 6.2: length, PN groups, DA/DT/AS syntax; dvtext.value_problems);
  stage.*          the stage did something: each text config changed text values in many files, and the
                   report has text_findings counts (never values);
  dciodvfy.*       each output has no dciodvfy error its input did not already have (test_corpus.py's
                   NORMALISE), except the entries of DCIODVFY_ALLOWED, each pinned with its reason and required
                   to still occur (a stale entry fails). DV_TEXT_DCIODVFY_SAMPLE=N checks a fixed-seed sample
                   of N inputs per config instead of all.
Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR."""
import os
import random
import re
import shutil
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import pydicom

import dvcheck
import dvtext
import test_corpus  # ALLOWED_FAILURES, NORMALISE, dciodvfy_errors, dcmdump_check: one home for the corpus rules

warnings.simplefilter("ignore")
pydicom.config.replace_un_with_known_vr = False

CONFIGS = {
    "dtc": {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}},
    "basic_cd": {"dicomTagConfig": {"options": {"cleanDescriptors": {}}}},
}
CLEAR_CLASSES = {"invalid", "malformed", "limit", "not_dicom", "unsupported"}
# (config, corpus path, regex over a NEW normalised dciodvfy error line) -> reason. Empty today: every output of
# both text configs is as valid as its input. An entry must match at least one new error (else it is stale).
DCIODVFY_ALLOWED = {
    ("dtc", "deid-data/humans_ctbrain1.dcm", r"\(0x0011,0x0011\) LO PrivateCreator LO - Trailing character"):
        "the input's (0011,0011) is OB with an odd length (5; dcmdump warns); the writer pads it to even length with "
        "a NUL (PS3.5 7.1.1), which dciodvfy, reading the slot as a private creator LO, calls a trailing NUL. "
        "DEIDENTIFY_TAG_CONTENTS keeps private elements (Basic removes them), so only this config shows it",
}
# A value the stage changed is quoted changed in dciodvfy's line about it ("LO [1] = <...> - Character invalid"):
# compare the rule and the element, not the value.
# (dciodvfy prints a CR inside a value as a line break, so the quoted value may run to the end of the line.)
VALUE_IN_LINE = re.compile(r"\] = <(?:.*> - |.*$)")
# dciodvfy is the slow part (one process per file). The normal build checks every output; the ASan build
# (ctest-asan sets ASAN_OPTIONS) is here for the sanitizers, so it checks a fixed-seed sample.
SAMPLE = int(os.environ.get("DV_TEXT_DCIODVFY_SAMPLE", "25" if os.environ.get("ASAN_OPTIONS") else "0"))
MIN_CHANGED_FILES = {"dtc": 100, "basic_cd": 20}  # measured: see the printed counts

C = dvcheck.Checks()


def main():
    t0 = time.time()
    for tool in ("dcmdump", "dciodvfy", "dcmconv"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not installed")
            return 1
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_textcli_", dir=base if base and os.path.isdir(base) else None)
    try:
        run(tmp)
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return C.report("test_text_cli_corpus",
                    ["run.exit-code", "run.no-sanitizer-report", "status.same-as-basic", "status.failure-is-clear",
                     "outputs.one-per-ok", "outputs.dcmdump-clean", "values.changed-decode", "values.changed-valid",
                     "stage.changed-files", "stage.findings-reported", "dciodvfy.no-new-errors"],
                    20, f" in {time.time() - t0:.0f} s")


def check_run(name, r):
    if not isinstance(r, dvtext.Run):
        C.bad("run.exit-code", f"{name}: no report, exit {r.returncode}: {r.stderr.strip()[-400:]}")
        return False
    san = dvtext.sanitizer_report(r.proc.stderr)
    C.expect("run.no-sanitizer-report", not san, f"{name}: " + "\n".join(san[:10]))
    nfailed = sum(1 for e in r.entries.values() if e.get("status") == "failed")
    C.expect("run.exit-code", r.proc.returncode in (0, 1) and (r.proc.returncode == 1) == (nfailed > 0),
             f"{name}: exit {r.proc.returncode} with {nfailed} failed")
    print(f"  {name}: exit {r.proc.returncode}; {r.proc.stderr.strip().splitlines()[-1] if r.proc.stderr.strip() else ''}")
    return True


def changed_values(name, rel, src, out):
    """Check every text value the run changed or added; returns how many changed."""
    try:
        a = dvtext.raw_text_elements(pydicom.dcmread(src, force=True, stop_before_pixels=True))
    except Exception:  # noqa: BLE001 - an input pydicom cannot read: nothing to compare with
        C.info["input-unreadable-by-pydicom"].append(rel)
        return 0
    b = dvtext.raw_text_elements(pydicom.dcmread(out, stop_before_pixels=True))
    n = 0
    for path, (vr, raw, cs) in b.items():
        old = a.get(path)
        if old is not None and old[1] == raw:
            continue
        n += 1
        try:
            text = dvtext.decode_strict(raw, vr, cs)
        except (UnicodeError, LookupError) as e:
            C.bad("values.changed-decode", f"{name} {rel} {path} {vr}: not valid in {cs}: {type(e).__name__}")
            continue
        C.ok("values.changed-decode")
        probs = dvtext.value_problems(vr, text)
        if old is not None and probs:  # a rule the input value already broke (e.g. a CR in an LO) is not new
            try:
                probs = [p for p in probs if p not in dvtext.value_problems(vr, dvtext.decode_strict(old[1], old[0], old[2]))]
            except (UnicodeError, LookupError):
                pass
        C.expect("values.changed-valid", not probs, f"{name} {rel} {path}: {probs}")
    return n


def run(tmp):
    root = dvtext.CORPUS
    files = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)
    basic = dvtext.deidentify(tmp, "basic", {}, [root], root)
    if not check_run("basic", basic):
        return
    runs = {}
    for name, cfg in CONFIGS.items():
        r = dvtext.deidentify(tmp, name, cfg, [root], root)
        if check_run(name, r):
            runs[name] = r

    for name, r in runs.items():
        for rel in files:
            want, got = basic.status(rel), r.status(rel)
            C.expect("status.same-as-basic", want == got,
                     f"{name} {rel}: {got} under text, {want} under Basic: {(r.entries.get(rel) or {}).get('error')}")
            e = r.entries.get(rel) or {}
            if e.get("status") == "failed":
                pinned = test_corpus.ALLOWED_FAILURES.get(rel)
                C.expect("status.failure-is-clear",
                         e.get("error_class") in CLEAR_CLASSES and bool(e.get("error"))
                         and pinned is not None and pinned[1] == e.get("error_class"),
                         f"{name} {rel}: failed [{e.get('error_class')}] {e.get('error')}; pinned: {pinned}")
        ok = [rel for rel in r.order if r.entries[rel].get("status") == "ok"]
        C.expect("outputs.one-per-ok", len(ok) == len(r.outputs) and all(os.path.isfile(p) for p in r.outputs.values()),
                 f"{name}: {len(r.outputs)} outputs for {len(ok)} ok inputs")

        clean = dvtext.dcmdump_clean_batches([r.outputs[rel] for rel in sorted(r.outputs)])

        def one(rel):
            if r.outputs[rel] in clean:
                return rel, True, ""
            rc, errs = test_corpus.dcmdump_check(r.outputs[rel])
            if rc == 0 and not errs:
                return rel, True, ""
            rc_in, errs_in = test_corpus.dcmdump_check(os.path.join(root, rel))
            if rc_in != 0 or errs_in:  # DTC keeps what it does not clean: an input dcmdump rejects may stay so
                return rel, None, ""
            return rel, False, f"dcmdump exit {rc} {errs[:3]}"
        with ThreadPoolExecutor(max_workers=2) as ex:
            for rel, good, msg in ex.map(one, sorted(r.outputs)):
                if good is None:
                    C.info["dcmdump-rejects-input-too"].append(f"{name} {rel}")
                    print(f"  {name}: dcmdump rejects the output of {rel} as it rejects the input")
                    continue
                C.expect("outputs.dcmdump-clean", good, f"{name} {rel}: {msg}")
        nfiles = nvals = 0
        for rel in sorted(r.outputs):
            n = changed_values(name, rel, os.path.join(root, rel), r.outputs[rel])
            nvals += n
            nfiles += n > 0
        print(f"  {name}: {len(r.outputs)} outputs; {nvals} text values changed in {nfiles} files")
        C.expect("stage.changed-files", nfiles >= MIN_CHANGED_FILES[name],
                 f"{name}: text values changed in only {nfiles} files (expected >= {MIN_CHANGED_FILES[name]})")
        nfind = sum(1 for e in r.entries.values() if e.get("text_findings"))
        C.expect("stage.findings-reported", nfind > 0 and all(
            isinstance(v, int) and v > 0 and re.fullmatch(r"[A-Z_]+", k)
            for e in r.entries.values() for k, v in (e.get("text_findings") or {}).items()),
            f"{name}: {nfind} report entries with text_findings, or a malformed count")

    check_dciodvfy(tmp, root, runs)


def check_dciodvfy(tmp, root, runs):
    def names_iod(rel):  # an input without SOPClassUID has no IOD for dciodvfy to check against
        try:
            return "SOPClassUID" in pydicom.dcmread(os.path.join(root, rel), force=True, stop_before_pixels=True)
        except Exception:  # noqa: BLE001
            return False
    todo = set()
    for name, r in runs.items():
        rels = sorted(rel for rel in r.outputs if names_iod(rel))
        if SAMPLE:
            random.Random(6).shuffle(rels)
            rels = rels[:SAMPLE]
        todo.update((name, rel) for rel in rels)
    inputs = sorted({rel for _, rel in todo})

    def verify(path):
        try:
            return test_corpus.dciodvfy_errors(path, tmp)
        except Exception as e:  # noqa: BLE001
            return e
    with ThreadPoolExecutor(max_workers=2) as ex:
        base = dict(zip(inputs, ex.map(verify, [os.path.join(root, rel) for rel in inputs])))
        items = sorted(todo)
        outs = dict(zip(items, ex.map(verify, [runs[n].outputs[rel] for n, rel in items])))
    used = set()
    for (name, rel), e_out in outs.items():
        e_in = base[rel]
        if isinstance(e_in, Exception) or isinstance(e_out, Exception):
            C.bad("dciodvfy.no-new-errors", f"{name} {rel}: dciodvfy failed: {e_in if isinstance(e_in, Exception) else e_out}")
            continue
        if any(line.startswith("Error - Tags out of order") for line in e_in):
            C.info["dciodvfy-input-unparsed"].append(rel)
            continue
        new = []
        e_in = {VALUE_IN_LINE.sub("] = <value> - ", x) for x in e_in}
        e_out = {VALUE_IN_LINE.sub("] = <value> - ", x) for x in e_out}
        for line in sorted(e_out - e_in):
            hit = [k for k in DCIODVFY_ALLOWED if k[0] == name and k[1] == rel and re.search(k[2], line)]
            used.update(hit)
            if not hit:
                new.append(line)
        C.expect("dciodvfy.no-new-errors", not new, f"{name} {rel}: {len(new)} new error(s):\n        "
                 + "\n        ".join(new[:6]))
    for k in DCIODVFY_ALLOWED:
        C.expect("dciodvfy.allow-list-not-stale", k in used or (k[0], k[1]) not in outs,
                 f"allow-list entry {k} matched no new error: remove it")
    print(f"  dciodvfy: {len(inputs)} inputs, {len(outs)} outputs; inputs it cannot parse: "
          f"{sorted(set(C.info['dciodvfy-input-unparsed']))}")


if __name__ == "__main__":
    sys.exit(main())
