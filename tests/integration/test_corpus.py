#!/usr/bin/python3
"""Corpus integration test: every DICOM file of the shared corpus de-identifies, or fails with a clear error.

One `dicomveil deidentify` run (Basic profile, config `{}`, a fixed test key, default --jobs) over the whole
$DV_SHARED_DATA/dicom folder, then:
  1. the run: exit code 1 iff some instance failed (0 otherwise), no sanitizer report on stderr, a report;
  2. the report: every corpus file appears once; statuses are ok | duplicate | failed | skipped; a failed
     entry has a non-empty error_class and error; a DICOM file of the corpus (per manifest.json) is ok or
     duplicate unless it is on ALLOWED_FAILURES below (known malformed / not an instance, with a reason);
     every ALLOWED_FAILURES entry gets exactly its pinned status and error class, so a stale entry (the
     file now passes, or fails another way) fails the test; a non-DICOM file (README, JSON answer keys,
     dcmdump text) is never ok; a duplicate really has the SOPInstanceUID of an instance that was written;
  3. the outputs: exactly one per ok instance, at DST/<HMAC(study)>/<HMAC(series)>/<HMAC(sop)>.dcm;
     each re-reads with `dcmdump` (exit 0, no "E:" line) and with pydicom (every nested value decoded);
     sanity: no private element anywhere, PatientIdentityRemoved YES, file-meta SOP UIDs == dataset ones,
     every UID syntactically valid; no bit of an overlay plane embedded in native pixel data (an overlay group
     without OverlayData whose bit position is outside the stored bits) is left, and dcm4che/ovly_p01.dcm, whose
     overlay text lives in bits 15 and 14, has no bit above BitsStored (docs/decisions.md "Overlays embedded
     in pixel data");
  4. dciodvfy on every output whose input has a SOPClassUID (DV_DCIODVFY_SAMPLE=N: a fixed-seed sample of N
     spread over the input transfer syntaxes; 40 by default under ctest-asan): no error in the output that its
     input did not already have (sets of error lines after NORMALISE; deflated files are inflated with
     `dcmconv +te` first because dciodvfy cannot read deflate; an input dciodvfy cannot parse at all has no
     baseline and is listed).
     Strict, with no exception list: the engine keeps the IOD valid (composite codes by IOD type, resets that
     keep codes, the Overlay Plane module removed with its data; docs/decisions.md).
  5. utility (the brief: research-relevant attributes and the pixels must survive, measured): every standard
     attribute PS3.15 Table E.1-1 has no row for, at every depth of the sequences that stay, is in the output
     with the same value, but for the decisions pinned in KEPT_EXCEPTIONS (each must still occur: a stale entry
     fails); every output whose PixelData bytes differ from its input's (a codestream's metadata scrubbed) decodes
     to the same pixels (pydicom; our decoder's raw samples of every frame, build/tests/dv_decode_frame, where
     pydicom cannot decode), but for
     PIXEL_EXCEPTIONS.

Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR. Run with /usr/bin/python3.
"""
import hashlib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pydicom

import dvcheck  # tests/integration/dvcheck.py (the script's folder is on sys.path)

warnings.simplefilter("ignore")

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DV_BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")
KEY = b"dicomveil-corpus-test-key-000001"  # 32 bytes, fixed
# dciodvfy (one process per input and output) is the slow part and checks bytes, not memory safety: the normal
# build checks every output; the ASan build (ctest-asan sets ASAN_OPTIONS) is here for the sanitizers over the
# whole-corpus run, so it checks a fixed-seed sample spread over the transfer syntaxes (as test_text_cli_corpus).
SAMPLE_SIZE = int(os.environ.get("DV_DCIODVFY_SAMPLE", "40" if os.environ.get("ASAN_OPTIONS") else "0")) or 1 << 30
SAMPLE_SEED = 20261126

# Files allowed to fail (or to be skipped). Derived from MANIFEST.md (the "check" column: files DCMTK
# rejects; the robustness/malformed notes) and from what a run shows: these are not storable instances.
# Anything else that fails fails the test.  path (relative to dicom/) -> (status, error_class, reason):
# the run must give exactly that status and error_class (None: the report has no error_class), otherwise
# the entry is stale and the test fails (check report.allow-list-pinned): fix the entry with the code.
ALLOWED_FAILURES = {
    "dcm4che/no_preamble_dicm_in_data": ("failed", "invalid",
        "DICM false-positive trap: raw bytes that are no dataset (DCMTK: element larger than file); no SOP UID"),
    "fo-dicom/GH364.dcm": ("failed", "malformed",
        "malformed item inside a sequence (manifest: DCMTK 'Invalid tag', pydicom NotImplementedError)"),
    "orthanc-tests/2026-05-06-Deeply-Nested-Sequence.dcm": ("failed", "limit",
        "pathological sequence nesting (manifest: DCMTK stack overflow, pydicom RecursionError)"),
    "pydicom/MR_truncated.dcm": ("failed", "malformed",
        "truncated file: Pixel Data claims more bytes than remain (manifest: DCMTK error)"),
    "pydicom/rtplan_truncated.dcm": ("failed", "malformed",
        "truncated inside a sequence (manifest: DCMTK 'premature end of stream')"),
    "pydicom/no_meta.dcm": ("skipped", "not_dicom",
        "stray leading byte: not parseable as a dataset (manifest: strict parsers fail; pydicom negative test)"),
    "pydicom/dicomdir/DICOMDIR": ("skipped", None,
        "a DICOMDIR media directory, not a composite instance"),
    "dwv/dwv-test-anonymise.dcm": ("failed", "invalid",
        "synthetic dwv test dataset without SOPClassUID: not a storable instance"),
    "dwv/dwv-test-sequence.dcm": ("failed", "invalid",
        "synthetic dwv test dataset without SOPClassUID: not a storable instance"),
    "dwv/leadtools-8BitsJpegLossyGrayScale.dcm": ("failed", "invalid",
        "SOPInstanceUID present but empty and no MediaStorageSOPInstanceUID: no instance identity"),
    "dwv/sr-ruler.dcm": ("failed", "invalid",
        "no SOPInstanceUID (nor SeriesInstanceUID) in dataset or file meta"),
    "fo-dicom/GH340.dcm": ("failed", "invalid",
        "raw dataset fragment without file meta and without SOPInstanceUID"),
    "pydicom/empty_charset_LEI.dcm": ("failed", "invalid",
        "pydicom test fragment (charset only) without SOPInstanceUID"),
    "pydicom/meta_missing_tsyntax.dcm": ("failed", "invalid",
        "file meta lacks TransferSyntaxUID and there is no SOPInstanceUID"),
    "pydicom/nested_priv_SQ.dcm": ("failed", "invalid",
        "pydicom test fragment (nested private sequences only) without SOPInstanceUID"),
    "pydicom-data/JLSL_RGB_ILV0.dcm": ("failed", "invalid",
        "no SOPInstanceUID in dataset or file meta (codec test file)"),
}

# Utility: what the Basic profile (config `{}`) drops or changes beyond Table E.1-1's rows, each a decision of
# docs/decisions.md. name -> (matches a data element's tag and keyword, the decision that drops it).
KEPT_EXCEPTIONS = {
    "group lengths": (lambda tag, kw: tag & 0xFFFF == 0, '"Group lengths": dropped, they would be wrong after editing'),
    "overlay plane module": (lambda tag, kw: tag >> 16 & 0xFF01 == 0x6000,
                             '"Overlays": OverlayData is X and Type 1, so its module goes with it'),
    "dates in another calendar": (lambda tag, kw: kw in ("PatientBirthDateInAlternativeCalendar",
                                                         "PatientDeathDateInAlternativeCalendar",
                                                         "PatientAlternativeCalendar"),
                                  "is_unlisted_record: the birth and death dates in another calendar (stop 37)"),
    "issuer sequences": (lambda tag, kw: kw in ("IssuerOfPatientIDQualifiersSequence",
                                                "IssuerOfAccessionNumberSequence"),
                         "is_unlisted_record: the institution's name and OID beside the removed issuers (stop 51)"),
}
# rel -> why its decoded pixels differ.
PIXEL_EXCEPTIONS = {
    "dcm4che/ovly_p01.dcm": '"Overlays embedded in pixel data": the two overlay planes in bits 15 and 14 cleared',
}

# dciodvfy: normalisation applied to every "Error" line before the input/output sets are compared.
# Kept strict on purpose: only UIDs (which de-identification must change) and runs of blanks are rewritten;
# values, attribute names, modules, counts and VMs are compared as printed.
NORMALISE = [
    (re.compile(r"(?<![\w.])[0-9]+(?:\.[0-9]+){2,}(?![\w.])"), "<UID>"),
    # the value dciodvfy quotes after an SR reference check is a UID even when the input's was no valid UID ("0")
    (re.compile(r"(ReferencedSOPInstanceUID) \S+$"), r"\1 <UID>"),
    (re.compile(r"\s+"), " "),
]

def hmac_uid(uid):
    return dvcheck.hmac_uid(uid, KEY)


UID_RE = dvcheck.UID_RE

C = dvcheck.Checks()


def read_ds(path):
    return pydicom.dcmread(path, force=True, stop_before_pixels=True)


def sop_of(ds):
    v = str(ds.get("SOPInstanceUID", "") or "").strip()
    if not v and getattr(ds, "file_meta", None) is not None:
        v = str(ds.file_meta.get("MediaStorageSOPInstanceUID", "") or "").strip()
    return v


def dciodvfy_errors(path, tmp):
    """Set of normalised error lines; deflated files are inflated with dcmconv first."""
    try:
        ts = str(pydicom.dcmread(path, stop_before_pixels=True, force=True).file_meta.get("TransferSyntaxUID", ""))
    except Exception:  # noqa: BLE001
        ts = ""
    p = path
    if ts == "1.2.840.10008.1.2.1.99":
        p = os.path.join(tmp, "inflated_" + hashlib.sha1(path.encode()).hexdigest() + ".dcm")
        subprocess.run(["dcmconv", "+te", path, p], capture_output=True, check=True)
    r = subprocess.run(["dciodvfy", p], capture_output=True, text=True, errors="replace", timeout=120)
    out = set()
    for line in (r.stdout + r.stderr).splitlines():
        if "Error" not in line:
            continue
        for rx, rep in NORMALISE:
            line = rx.sub(rep, line)
        out.add(line.strip())
    return out


def dcmdump_check(path):
    r = subprocess.run(["dcmdump", path], capture_output=True, text=True, errors="replace", timeout=120)
    errs = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith("E:")]
    return r.returncode, errs


def pydicom_check(path):
    ds = pydicom.dcmread(path)  # strict: no force
    problems = []
    n = 0
    for el in ds.iterall():
        n += 1
        _ = el.value
        if el.tag.is_private:
            problems.append(f"private element {el.tag} remains")
        if el.VR == "UI" and el.value:
            vals = el.value if isinstance(el.value, (list, pydicom.multival.MultiValue)) else [el.value]
            for u in vals:
                if not (len(str(u)) <= 64 and UID_RE.match(str(u))):
                    problems.append(f"invalid UID {str(u)!r} in {el.tag}")
    fm = ds.file_meta
    if str(fm.get("MediaStorageSOPInstanceUID", "")) != str(ds.get("SOPInstanceUID", "")):
        problems.append("MediaStorageSOPInstanceUID != SOPInstanceUID")
    if str(fm.get("MediaStorageSOPClassUID", "")) != str(ds.get("SOPClassUID", "")):
        problems.append("MediaStorageSOPClassUID != SOPClassUID")
    if str(ds.get("PatientIdentityRemoved", "")) != "YES":
        problems.append("PatientIdentityRemoved is not YES")
    for u in (fm.get("MediaStorageSOPInstanceUID"), ds.get("SOPInstanceUID")):
        if u is not None and not str(u).startswith("2.25."):
            problems.append(f"SOP instance UID {u} not regenerated")
    return n, problems


def main():
    t0 = time.time()
    print(f"test_corpus: DV_BIN={DV_BIN}\n  corpus={CORPUS}")
    if not (os.path.isfile(DV_BIN) and os.access(DV_BIN, os.X_OK)):
        print(f"FAIL: dicomveil binary not found at {DV_BIN}")
        return 1
    for tool in ("dcmdump", "dciodvfy", "dcmconv"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not installed (dcmtk / dicom3tools)")
            return 1
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_corpus_", dir=base if base and os.path.isdir(base) else None)
    try:
        return run(tmp, t0)
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


NATIVE_TS = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
# A file whose overlays live in the high bits of its pixels (bits 15 and 14, groups 6000 and 6002): the check
# below must have looked at it.
EMBEDDED_OVERLAY_FILE = "dcm4che/ovly_p01.dcm"


def embedded_planes(ds):
    """Bit planes of overlays embedded in native pixel data: a group 60xx (xx even, 00-1E) without OverlayData
    whose OverlayBitPosition is below BitsAllocated and outside the stored bits."""
    try:
        ba, bs, hb = int(ds.BitsAllocated), int(ds.BitsStored), int(ds.HighBit)
    except (AttributeError, TypeError, ValueError):
        return set()
    planes = set()
    for g in range(0x6000, 0x6020, 2):
        pos = ds.get((g, 0x0102))
        if pos is None or (g, 0x3000) in ds or pos.value is None:
            continue
        p = int(pos.value)
        if p < ba and not (hb - bs + 1 <= p <= hb):
            planes.add(p)
    return planes


def table_actions():
    """PS3.15 Table E.1-1 as {tag: Basic profile action}, each tag as 8 upper-case hex digits (X for a repeating
    digit: 50XX0000)."""
    import csv
    with open(os.path.join(SHARED, "ps315", "bsc_2025c_dicom_part15_table_E1-1.csv"), newline="") as f:
        return {r["Tag"].strip('"() ').replace(",", "").upper(): r["Basic Prof."] for r in csv.DictReader(f)}


def table_rows(actions):
    """Whether the table has a row for a tag (8 hex digits): exactly, or through a repeating group's pattern."""
    exact = {r for r in actions if "X" not in r}
    patterns = [r for r in actions if "X" in r]
    return lambda h: h in exact or any(all(a == b or a == "X" for a, b in zip(p, h)) for p in patterns)


def uid_rows(actions):
    """Tags whose Basic action is U (the UIDs the profile replaces consistently)."""
    return {t for t, a in actions.items() if a.startswith("U")}


def uid_pairs(ins, outs, pairs):
    """(input, output) for each non-empty value of a UI element the table replaces; a value count that changed
    pairs the whole values (no value may be lost or added: it fails the formula)."""
    ins = list(ins) if isinstance(ins, pydicom.multival.MultiValue) else [ins]
    outs = list(outs) if isinstance(outs, pydicom.multival.MultiValue) else [outs]
    if len(ins) != len(outs):
        pairs.append(("\\".join(map(str, ins)), "\\".join(map(str, outs))))
    else:
        pairs.extend((str(x), str(y)) for x, y in zip(ins, outs) if str(x).strip())


def kept_differences(a, b, listed, seen, uids, path="", compare=True):
    """(path, keyword, 'lost' | 'changed') for each standard attribute of dataset a without a Table E.1-1 row that
    dataset b lacks or holds with another value, items of kept sequences compared pairwise; seen counts those
    found equal. uids: (rows with action U, list) receives each (input, output) value pair of such a UID, also
    inside a sequence the table has a row for (Referenced Image Sequence, Source Image Sequence: X/Z/U*) when the
    output keeps its items (compare False there: its other attributes are the row's to decide)."""
    out = []
    for el in a:
        t = el.tag
        if el.VR == "UI" and "%08X" % int(t) in uids[0] and t in b:
            uid_pairs(el.value, b[t].value, uids[1])
        if t.is_private or t.group in (0x0002, 0x0012) or t == 0x7FE00010:
            continue
        if not compare or listed("%08X" % int(t)):
            if el.VR == "SQ" and t in b and b[t].VR == "SQ" and len(el.value) == len(b[t].value):
                for x, y in zip(el.value, b[t].value):
                    kept_differences(x, y, listed, seen, uids, path, compare=False)
            continue
        kw = el.keyword or "%08X" % int(t)
        if t not in b:
            out.append((path, int(t), kw, "lost"))
        elif el.VR == "SQ":
            if len(el.value) != len(b[t].value):
                out.append((path, int(t), kw, "items"))
                continue
            seen[0] += 1
            for i, (x, y) in enumerate(zip(el.value, b[t].value)):
                out += kept_differences(x, y, listed, seen, uids, f"{path}{kw}[{i}]/")
        elif el.value != b[t].value:
            out.append((path, int(t), kw, "changed"))
        else:
            seen[0] += 1
    return out


def decoded_frames(helper, path, n, tmp):
    """Every frame of path as our decoder gives it (build/tests/dv_decode_frame: the raw samples and their
    geometry, not a windowed 8-bit picture, which would hide a change in the low bits), where pydicom has no
    decoder; None for a frame that does not decode."""
    frames = []
    for k in range(n):
        raw = os.path.join(tmp, "frame.raw")
        rc, msg = helper.decode(path, k, raw)
        fields = msg.split()
        frames.append((fields[:6] + fields[7:], open(raw, "rb").read()) if rc == 0 else None)
    return frames


def check_utility(src_info, outs, tmp):
    """Item 5 of the docstring: the kept attributes and the pixels survive under `{}`."""
    import numpy as np
    from dvdecode import DecodeFrame
    helper = DecodeFrame(os.environ.get("DV_BUILD_DIR") or os.path.dirname(DV_BIN), tmp)
    actions = table_actions()
    listed = table_rows(actions)
    seen, hits, compared = [0], Counter(), set()
    uids = (uid_rows(actions), [])
    for rel, (_, o) in sorted(src_info.items()):
        a = pydicom.dcmread(os.path.join(CORPUS, rel), force=True)
        b = pydicom.dcmread(outs[o], force=True)
        for path, tag, kw, how in kept_differences(a, b, listed, seen, uids):
            why = [name for name, (match, _) in KEPT_EXCEPTIONS.items() if how == "lost" and match(tag, kw)]
            hits.update(why)
            C.expect("utility.kept-unchanged", bool(why), f"{rel}: {path}{kw} {how} (no decision drops it)")
        if "PixelData" not in a or ("PixelData" in b and a.PixelData == b.PixelData):
            continue
        try:
            same = np.array_equal(a.pixel_array, b.pixel_array)
            how = "pydicom"
        except Exception:  # noqa: BLE001  (no pydicom decoder here for this syntax: HTJ2K)
            n = int(a.get("NumberOfFrames", 1) or 1)
            ra, rb = decoded_frames(helper, os.path.join(CORPUS, rel), n, tmp), decoded_frames(helper, outs[o], n, tmp)
            same, how = None not in ra and ra == rb, "dv_decode_frame"
        C.count["utility.pixels-compared"] += 1
        compared.add(rel)
        if rel in PIXEL_EXCEPTIONS:
            C.expect("utility.pixel-exceptions-pinned", not same, f"{rel}: decodes equal now: stale exception")
        else:
            C.expect("utility.pixels-decode-equal", same, f"{rel}: PixelData changed and decodes otherwise ({how})")
    left = helper.close()
    C.expect("utility.pixels-decode-equal", "Sanitizer" not in left, f"the frame decoder's stderr: {left[-2000:]}")
    C.expect("utility.pixel-exceptions-pinned", set(PIXEL_EXCEPTIONS) <= compared,
             f"pixel exceptions whose PixelData no longer changes: {sorted(set(PIXEL_EXCEPTIONS) - compared)}")
    # UID relationships: every replaced UID, wherever it stands (an instance's own, a reference to another, a frame
    # of reference shared by a series), becomes the keyed formula's value, so equal inputs stay equal outputs and
    # distinct ones distinct, across instances.
    wrong = sorted({(x, y) for x, y in uids[1] if y != hmac_uid(x)})
    C.expect("utility.uid-relationships", uids[1] and not wrong,
             f"{len(wrong)} of {len(uids[1])} replaced UIDs are not the keyed formula's value: {wrong[:3]}")
    stale = sorted(set(KEPT_EXCEPTIONS) - set(hits))
    C.expect("utility.kept-exceptions-pinned", not stale, f"exceptions the corpus no longer shows: {stale}")
    C.expect("utility.kept-unchanged", seen[0] > 0, "no kept attribute compared")
    print(f"  utility: {len(uids[1])} replaced UIDs ({len(set(uids[1]))} distinct) are the keyed formula's; "
          f"{seen[0]} kept attributes unchanged at every depth; dropped by decision: {dict(hits)}; "
          f"{C.count['utility.pixels-compared']} changed PixelData values decoded and compared")


def check_embedded_overlays(src_info, outs):
    """docs/decisions.md "Overlays embedded in pixel data": the Basic profile removes the overlay groups, so no
    bit of a plane they embedded in native pixel data is left in the output; for ovly_p01, no bit above
    BitsStored at all (its two planes are the only bits there)."""
    import numpy as np
    looked = []
    for rel, (ds, o) in sorted(src_info.items()):
        ts = str(ds.file_meta.get("TransferSyntaxUID", "")) if getattr(ds, "file_meta", None) else ""
        planes = embedded_planes(ds) if ts in NATIVE_TS else set()  # ds stops before the pixels (read_ds)
        if not planes and rel != EMBEDDED_OVERLAY_FILE:
            continue
        out = pydicom.dcmread(outs[o])
        if "PixelData" not in out:
            continue
        ots = str(out.file_meta.TransferSyntaxUID)
        ba = int(out.BitsAllocated)
        if not C.expect("outputs.embedded-overlays-cleared", ots in NATIVE_TS and ba in (8, 16, 32),
                        f"{rel}: output {ots} BitsAllocated {ba}"):
            continue
        dt = np.dtype({8: "u1", 16: "u2", 32: "u4"}[ba]).newbyteorder(">" if ots == "1.2.840.10008.1.2.2" else "<")
        px = np.frombuffer(out.PixelData, dtype=dt, count=len(out.PixelData) // (ba // 8)).astype(np.uint64)
        mask = sum(1 << p for p in planes)
        if rel == EMBEDDED_OVERLAY_FILE:
            mask |= ((1 << ba) - 1) & ~((1 << (int(out.HighBit) + 1)) - 1)  # every bit above the stored ones
        left = [g for g in range(0x6000, 0x6020, 2) if (g, 0x0102) in out]
        n = int(np.count_nonzero(px & np.uint64(mask)))
        C.expect("outputs.embedded-overlays-cleared", n == 0 and not left,
                 f"{rel}: {n} samples keep a bit of planes {sorted(planes)} (mask 0x{mask:X}); overlay groups "
                 f"left {[hex(g) for g in left]}")
        looked.append(rel)
    C.expect("outputs.embedded-overlays-cleared", EMBEDDED_OVERLAY_FILE in looked,
             f"{EMBEDDED_OVERLAY_FILE} was not checked (not written?)")
    print(f"  embedded overlay planes: {len(looked)} output(s) checked: {looked}")


def run(tmp, t0):
    with open(os.path.join(SHARED, "manifest.json")) as f:
        manifest = json.load(f)
    dicom_files = {e["file"][len("dicom/"):] for e in manifest
                   if e["file"].startswith("dicom/") and e.get("dcmtk_check") is not None}
    all_files = sorted(os.path.relpath(os.path.join(r, f), CORPUS) for r, _, fs in os.walk(CORPUS) for f in fs)
    missing_from_disk = sorted(dicom_files - set(all_files))
    C.expect("corpus.manifest-files-present", not missing_from_disk, f"manifest files missing: {missing_from_disk}")
    stale = sorted(set(ALLOWED_FAILURES) - set(all_files))
    C.expect("corpus.allow-list-paths-exist", not stale, f"allow-list names files not in the corpus: {stale}")

    key = os.path.join(tmp, "key")
    with open(key, "wb") as f:
        f.write(KEY)
    os.chmod(key, 0o600)
    cfg = os.path.join(tmp, "config.json")
    with open(cfg, "w") as f:
        f.write("{}")
    dst = os.path.join(tmp, "out")
    rep = os.path.join(tmp, "report.json")
    cmd = [DV_BIN, "deidentify", "--config", cfg, "--key-file", key, "--report", rep, "--quiet", CORPUS, dst]
    t1 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=900)
    dt = time.time() - t1
    print(f"  run: exit {p.returncode} in {dt:.1f} s: {' '.join(cmd)}")
    tail = p.stderr.strip().splitlines()
    print("  stderr (last lines):\n    " + "\n    ".join(tail[-3:]))
    C.expect("run.no-sanitizer-report", "Sanitizer" not in p.stderr and "runtime error:" not in p.stderr,
             "sanitizer report on stderr:\n" + "\n".join(l for l in tail if "Sanitizer" in l or "runtime error" in l)[:3000])
    C.expect("run.exit-code-0-or-1", p.returncode in (0, 1), f"exit code {p.returncode}")
    try:
        with open(rep) as f:
            report = json.load(f)
        instances = report["instances"]
    except (OSError, ValueError, KeyError) as e:
        C.expect("report.readable", False, f"report {rep}: {e}")
        return summary(t0)

    by_src = {}
    for e in instances:
        rel = os.path.relpath(os.path.realpath(e.get("source", "")), os.path.realpath(CORPUS))
        C.expect("report.unique-sources", rel not in by_src, f"{rel} listed twice")
        by_src[rel] = e
    st = Counter(e.get("status") for e in instances)
    print(f"  report: {len(instances)} entries: {dict(st)}")
    nfailed = st.get("failed", 0)
    C.expect("run.exit-code-1-iff-failures", (p.returncode == 1) == (nfailed > 0),
             f"exit code {p.returncode} with {nfailed} failed instances")

    failed_allowed = []
    for rel in all_files:
        e = by_src.get(rel)
        is_dicom = rel in dicom_files
        pinned = ALLOWED_FAILURES.get(rel)
        if e is None:
            C.expect("report.lists-every-dicom-file", not is_dicom, f"{rel}: not in the report")
            C.expect("report.allow-list-pinned", pinned is None, f"{rel}: allow-listed but not in the report")
            continue
        s = e.get("status")
        if pinned is not None:
            C.expect("report.allow-list-pinned", (s, e.get("error_class")) == pinned[:2],
                     f"{rel}: the allow-list pins {pinned[0]} [{pinned[1]}], the run gave {s} "
                     f"[{e.get('error_class')}] {e.get('error') or ''}: stale entry, update or remove it")
        C.expect("report.status-valid", s in ("ok", "failed", "skipped", "duplicate"), f"{rel}: status {s!r}")
        if s == "failed":
            C.expect("report.failed-has-error", bool(e.get("error_class")) and bool(e.get("error")),
                     f"{rel}: failed without error_class/error: {e}")
        if not is_dicom:
            C.expect("report.non-dicom-not-ok", s in ("skipped", "failed"), f"{rel} (not DICOM): status {s}")
            continue
        if s in ("failed", "skipped"):
            if rel in ALLOWED_FAILURES:
                failed_allowed.append((rel, s, e.get("error_class"), e.get("error")))
                C.count["report.dicom-ok-or-allowed"] += 1
            else:
                C.expect("report.dicom-ok-or-allowed", False,
                         f"{rel}: {s} [{e.get('error_class')}] {e.get('error')} - not on the allow-list")
        else:
            C.count["report.dicom-ok-or-allowed"] += 1
    print(f"  allow-listed files that failed/skipped ({len(failed_allowed)}):")
    for rel, s, ec, err in failed_allowed:
        print(f"    {s:8s} {rel}: [{ec}] {err}")

    # Map ok sources to outputs; check duplicates
    outs = {}
    for r, _, fs in os.walk(dst):
        for f in fs:
            outs[os.path.relpath(os.path.join(r, f), dst)] = os.path.join(r, f)
    ok_src = [rel for rel, e in by_src.items() if e.get("status") == "ok"]
    C.expect("outputs.one-per-ok", len(outs) == len(ok_src), f"{len(outs)} output files for {len(ok_src)} ok inputs")
    claimed = {}
    src_info = {}
    for rel in ok_src:
        try:
            ds = read_ds(os.path.join(CORPUS, rel))
        except Exception as e:  # noqa: BLE001
            C.info["unreadable-by-pydicom"].append(f"{rel}: {type(e).__name__}")
            continue
        sop = sop_of(ds)
        st_uid = str(ds.get("StudyInstanceUID", "") or "").strip()
        se_uid = str(ds.get("SeriesInstanceUID", "") or "").strip()
        name = hmac_uid(sop) + ".dcm"
        cands = [k for k in outs if os.path.basename(k) == name]
        if not C.expect("outputs.layout", len(cands) == 1, f"{rel}: output {name} found {len(cands)} times"):
            continue
        o = cands[0]
        parts = o.split(os.sep)
        if st_uid:
            C.expect("outputs.layout", parts[0] == hmac_uid(st_uid), f"{rel}: study dir {parts[0]}")
        if se_uid:
            C.expect("outputs.layout", parts[1] == hmac_uid(se_uid), f"{rel}: series dir {parts[1]}")
        claimed[o] = rel
        src_info[rel] = (ds, o)
    stray = sorted(set(outs) - set(claimed))
    if len(claimed) + len(C.info["unreadable-by-pydicom"]) >= len(ok_src):
        C.expect("outputs.no-stray-files", len(stray) <= len(C.info["unreadable-by-pydicom"]),
                 f"output files no ok input accounts for: {stray[:5]}")
    ok_sops = {sop_of(v[0]) for v in src_info.values()}
    for rel, e in by_src.items():
        if e.get("status") == "duplicate":
            try:
                sop = sop_of(read_ds(os.path.join(CORPUS, rel)))
            except Exception:  # noqa: BLE001
                continue
            C.expect("report.duplicate-is-genuine", sop in ok_sops, f"{rel}: duplicate of {sop}, which was not written")

    # Re-read every output with dcmdump and pydicom
    def check_one(o):
        rc, errs = dcmdump_check(outs[o])
        try:
            n, probs = pydicom_check(outs[o])
            perr = None
        except Exception as e:  # noqa: BLE001
            n, probs, perr = 0, [], f"{type(e).__name__}: {e}"
        return o, rc, errs, n, probs, perr
    nel = 0
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for o, rc, errs, n, probs, perr in ex.map(check_one, sorted(outs)):
            who = claimed.get(o, o)
            C.expect("outputs.dcmdump-clean", rc == 0 and not errs, f"{who}: dcmdump exit {rc} {errs[:3]}")
            C.expect("outputs.pydicom-reads", perr is None, f"{who}: {perr}")
            C.expect("outputs.sanity", not probs, f"{who}: {probs[:4]}")
            nel += n
    print(f"  re-read {len(outs)} outputs ({nel} elements) with dcmdump and pydicom")

    check_embedded_overlays(src_info, outs)
    check_utility(src_info, outs, tmp)

    # dciodvfy on every output whose input names its IOD (DV_DCIODVFY_SAMPLE=N: a fixed-seed sample of N spread
    # over the transfer syntaxes, for quick runs)
    groups = defaultdict(list)
    for rel, (ds, o) in sorted(src_info.items()):
        if "SOPClassUID" not in ds:  # IOD not identifiable from the input: nothing to compare
            continue
        ts = str(ds.file_meta.get("TransferSyntaxUID", "none")) if getattr(ds, "file_meta", None) else "none"
        groups[ts].append(rel)
    rng = random.Random(SAMPLE_SEED)
    for g in groups.values():
        rng.shuffle(g)
    sample = []
    while len(sample) < SAMPLE_SIZE and any(groups.values()):
        for ts in sorted(groups):
            if groups[ts] and len(sample) < SAMPLE_SIZE:
                sample.append((ts, groups[ts].pop()))

    def verify(item):
        ts, rel = item
        try:
            e_in = dciodvfy_errors(os.path.join(CORPUS, rel), tmp)
            return ts, rel, e_in, dciodvfy_errors(outs[src_info[rel][1]], tmp)
        except (subprocess.SubprocessError, OSError) as e:
            return ts, rel, None, e

    with ThreadPoolExecutor(max_workers=2) as ex:
        results = list(ex.map(verify, sample))
    for ts, rel, e_in, e_out in results:
        if e_in is None:
            C.expect("dciodvfy.no-new-errors", False, f"{rel}: dciodvfy/dcmconv failed: {e_out}")
            continue
        if any(line.startswith("Error - Tags out of order") for line in e_in):
            # dciodvfy does not parse the input as DICOM, so it never checked its modules: no baseline.
            C.info["dciodvfy-input-unparsed"].append(rel)
            continue
        real = sorted(e_out - e_in)
        C.expect("dciodvfy.no-new-errors", not real,
                 f"{rel} [{ts}]: {len(real)} new error(s):\n        " + "\n        ".join(real[:8]))
    unparsed = C.info["dciodvfy-input-unparsed"]
    print(f"  dciodvfy (strict): {len(sample)} outputs over {len({t for t, _ in sample})} transfer syntaxes; "
          f"{len(unparsed)} input(s) dciodvfy cannot parse, so without a baseline: {unparsed}")
    return summary(t0)


def summary(t0):
    required = ["run.exit-code-1-iff-failures", "report.dicom-ok-or-allowed", "report.allow-list-pinned",
                "report.status-valid",
                "outputs.one-per-ok", "outputs.layout", "outputs.dcmdump-clean", "outputs.pydicom-reads",
                "outputs.sanity", "outputs.embedded-overlays-cleared", "dciodvfy.no-new-errors",
                "utility.kept-unchanged", "utility.kept-exceptions-pinned", "utility.pixels-decode-equal",
                "utility.uid-relationships"]
    return C.report("test_corpus", required, 20, f" in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
