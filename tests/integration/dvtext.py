"""Shared pieces of the text-stage integration tests (issue 6; not a test itself: ctest runs only test_*.py).

deidentify(): one `dicomveil deidentify` run (fixed test key, --report and --mapping) whose per-input entries
are keyed by the source path relative to a root, with each ok input's output file (found through the mapping,
so it works whether or not the config regenerates UIDs).
sanitizer_report(): the sanitizer / leak lines of a run's stderr (ctest-asan runs the ASan build).
raw_text_elements(): every text element of a dataset at every nesting level, as raw bytes with the
SpecificCharacterSet in force there (inherited into sequence items), keyed by a tag path.
value_problems(): the PS3.5 6.2 checks of one decoded value (length in characters per Table 6.2-1, PN
component groups, DA/DT/TM/AS syntax and calendar validity, forbidden control characters).
decode_strict(): decode raw bytes in a declared character set, raising on a byte sequence the set does not
define (pydicom's RAISE mode, so no silent replacement character)."""
import calendar
import csv
import json
import os
import re
import subprocess

import pydicom
import pydicom.charset
import pydicom.config
from pydicom.datadict import dictionary_VR

SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DV_BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")
SHARED = os.path.abspath(os.environ.get("DV_SHARED_DATA") or os.path.join(SRC_DIR, "..", "shared", "data"))
CORPUS = os.path.join(SHARED, "dicom")
KEY = b"dicomveil-corpus-test-key-000001"  # the key of test_corpus.py: 32 bytes, fixed

# The VRs the text stage rewrites (cleanTextTag, DEIDENTIFY_TAG_CONTENTS; docs/text.md).
TEXT_VRS = {"AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "DA", "DT", "AS"}
# PS3.5 Table 6.2-1: maximum length in characters of one value (PN: of one component group). None: no limit
# beyond the 32-bit length (UC, UT). Multi-valued VRs are split on "\" first.
MAX_CHARS = {"AE": 16, "AS": 4, "CS": 16, "DA": 8, "DT": 26, "LO": 64, "LT": 10240, "PN": 64, "SH": 16,
             "ST": 1024, "TM": 14, "UC": None, "UT": None}
SINGLE_VALUED = {"LT", "ST", "UT"}
ESC = "\x1b"
# Control characters PS3.5 6.1.2/6.2 allows: ESC in every string VR (code extensions); in the text VRs ST, LT,
# UT also LF, FF, CR and TAB.
TEXT_CONTROLS = set("\n\f\r\t")

DA_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
DT_RE = re.compile(r"^(\d{4})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,6})?)?)?)?)?)?"
                   r"(?:[+-](\d{2})(\d{2}))?$")
TM_RE = re.compile(r"^(\d{2})(?:(\d{2})(?:(\d{2})(?:\.\d{1,6})?)?)?$")
AS_RE = re.compile(r"^\d{3}[DWMY]$")


def sanitizer_report(stderr):
    """The lines of stderr that a sanitizer (ASan, UBSan, LeakSanitizer) wrote; empty when clean."""
    return [ln for ln in stderr.splitlines()
            if "Sanitizer" in ln or "runtime error:" in ln or "detected memory leaks" in ln]


def write_config(tmp, name, cfg):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def write_key(tmp):
    key = os.path.join(tmp, "key")
    if not os.path.exists(key):
        with open(key, "wb") as f:
            f.write(KEY)
        os.chmod(key, 0o600)
    return key


class Run:
    """One deidentify run: proc (CompletedProcess), entries {rel: report entry}, outputs {rel: output path}."""

    def __init__(self, proc, entries, outputs, order):
        self.proc = proc
        self.entries = entries
        self.outputs = outputs
        self.order = order

    def status(self, rel):
        e = self.entries.get(rel)
        return (e.get("status"), e.get("error_class")) if e else (None, None)


def deidentify(tmp, name, cfg, srcs, root, jobs=None, timeout=900):
    """Run deidentify with config cfg (a dict or JSON text) over srcs (files or folders) into tmp/name.out.
    Returns a Run, or the CompletedProcess alone when the run wrote no report (a config refusal: exit 2)."""
    cpath = write_config(tmp, name, cfg)
    dst = os.path.join(tmp, name + ".out")
    rep = os.path.join(tmp, name + ".report.json")
    mp = os.path.join(tmp, name + ".mapping.csv")
    cmd = [DV_BIN, "deidentify", "--config", cpath, "--key-file", write_key(tmp), "--report", rep,
           "--mapping", mp, "--quiet"]
    if jobs:
        cmd += ["--jobs", str(jobs)]
    cmd += list(srcs) + [dst]
    proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    if not os.path.exists(rep):
        return proc
    with open(rep) as f:
        instances = json.load(f)["instances"]
    entries, order = {}, []
    for e in instances:
        rel = os.path.relpath(os.path.realpath(e["source"]), os.path.realpath(root))
        entries[rel] = e
        order.append(rel)
    outputs = {}
    if os.path.exists(mp):
        with open(mp, newline="", encoding="latin-1") as f:  # original PatientIDs are raw bytes
            for row in csv.DictReader(f):
                if row["status"] != "ok":
                    continue
                rel = order[int(row["instance"])]
                # src/cli/output.c names a missing Study / Series UID _nostudy / _noseries
                outputs[rel] = os.path.join(dst, row["study_uid"] or "_nostudy", row["series_uid"] or "_noseries",
                                            row["sop_uid"] + ".dcm")
    return Run(proc, entries, outputs, order)


def _charset_terms(raw):
    if raw is None:
        return None
    v = raw.value
    if isinstance(v, bytes):
        v = v.decode("ascii", "replace")
    if isinstance(v, (list, pydicom.multival.MultiValue)):
        v = "\\".join(str(x) for x in v)
    return [t.strip() for t in str(v or "").split("\\")]


def raw_text_elements(ds, vrs=TEXT_VRS, prefix="", charset=None, out=None):
    """{tag path: (VR, raw value bytes, charset terms)} for every element of a VR in vrs, at every level.
    The path is "GGGGEEEE" or "GGGGEEEE[i].GGGGEEEE..."; charset is the list of SpecificCharacterSet terms in
    force (None: the default repertoire). Elements of a VR pydicom cannot name (UN, unknown private) are left
    out: the text stage does not rewrite them either."""
    if out is None:
        out = {}
    if 0x00080005 in ds:
        charset = _charset_terms(ds.get_item(0x00080005))
    for tag in list(ds.keys()):
        raw = ds.get_item(tag)
        vr = getattr(raw, "VR", None)
        if vr is None:
            try:
                vr = dictionary_VR(tag)
            except KeyError:
                continue
        t = f"{tag.group:04X}{tag.element:04X}"
        if vr == "SQ":
            for i, item in enumerate(ds[tag].value or []):
                raw_text_elements(item, vrs, f"{prefix}{t}[{i}].", charset, out)
        elif vr in vrs:
            v = raw.value
            if not isinstance(v, bytes):  # already converted by pydicom: not a raw element
                continue
            out[prefix + t] = (vr, v, charset)
    return out


def python_encodings(charset):
    return pydicom.charset.convert_encodings(charset or [""])


def decode_strict(raw, vr, charset):
    """The value decoded in its declared set; raises UnicodeError (or LookupError) when it is not valid in it."""
    delims = {0x5E, 0x3D} if vr == "PN" else ({0x0D, 0x0A, 0x09, 0x0C} if vr in SINGLE_VALUED else {0x5C})
    old = pydicom.config.settings.reading_validation_mode
    pydicom.config.settings.reading_validation_mode = pydicom.config.RAISE
    try:
        return pydicom.charset.decode_bytes(raw, python_encodings(charset), delims)
    finally:
        pydicom.config.settings.reading_validation_mode = old


def strip_padding(text, vr):
    if vr in ("UT", "LT", "ST", "UC"):
        return text.rstrip(" \0")
    return text.strip(" \0")


def _valid_date(y, m, d):
    return 1 <= m <= 12 and 1 <= d <= calendar.monthrange(y, m)[1]


def value_problems(vr, text):
    """Problems of one decoded element value (the whole element: multi-valued VRs are split here) against
    PS3.5 6.2; [] when valid. Messages name the VR and the rule, never the value."""
    probs = []
    values = [text] if vr in SINGLE_VALUED else text.split("\\")
    for v in values:
        s = strip_padding(v, vr)
        for ch in s:
            if ord(ch) < 0x20 and ch != ESC and not (vr in SINGLE_VALUED and ch in TEXT_CONTROLS):
                probs.append(f"{vr}: control character U+{ord(ch):04X}")
                break
        # Characters, not counting the escape sequences of ISO 2022 code extensions (3 or 4 bytes each).
        visible = re.sub(r"\x1b[\x20-\x2f]+[\x30-\x7e]", "", s)
        lim = MAX_CHARS.get(vr)
        if vr == "PN":
            groups = s.split("=")
            if len(groups) > 3:
                probs.append(f"PN: {len(groups)} component groups (max 3)")
            for g in groups:
                gv = re.sub(r"\x1b[\x20-\x2f]+[\x30-\x7e]", "", g)
                if len(gv) > 64:
                    probs.append(f"PN: component group of {len(gv)} characters (max 64)")
                if len(g.split("^")) > 5:
                    probs.append(f"PN: {len(g.split('^'))} components in a group (max 5)")
        elif lim is not None and len(visible) > lim:
            probs.append(f"{vr}: {len(visible)} characters (max {lim})")
        if not s:
            continue
        if vr == "DA":
            m = DA_RE.match(s)
            if not m or not _valid_date(int(m[1]), int(m[2]), int(m[3])):
                probs.append("DA: not a valid YYYYMMDD date")
        elif vr == "DT":
            m = DT_RE.match(s)
            ok = bool(m)
            if m:
                mo, d = int(m[2] or 1), int(m[3] or 1)
                ok = _valid_date(int(m[1]), mo, d) and int(m[4] or 0) <= 23 and int(m[5] or 0) <= 59 \
                    and int(m[6] or 0) <= 60
            if not ok:
                probs.append("DT: not a valid YYYYMMDDHHMMSS.FFFFFF&ZZXX date-time")
        elif vr == "TM":
            m = TM_RE.match(s)
            if not m or int(m[1]) > 23 or int(m[2] or 0) > 59 or int(m[3] or 0) > 60:
                probs.append("TM: not a valid HHMMSS.FFFFFF time")
        elif vr == "AS":
            if not AS_RE.match(s):
                probs.append("AS: not nnnD/W/M/Y")
        elif vr == "AE" and not s.strip():
            probs.append("AE: only spaces")
    return probs


def dcmdump_clean(path):
    """(ok, lines): dcmdump exits 0 and prints no error (E:) or warning (W:) line."""
    r = subprocess.run(["dcmdump", path], capture_output=True, text=True, errors="replace", timeout=120)
    bad = [ln for ln in (r.stdout + r.stderr).splitlines() if ln.startswith(("E:", "W:"))]
    return r.returncode == 0 and not bad, bad


def dcmdump_clean_batches(paths, batch=24):
    """The subset of paths that dcmdump reads cleanly (exit 0, no E: line), checked in batches of files per
    process (a dcmdump start costs more than a small file); a batch with a problem is left out whole, for the
    caller to re-check file by file."""
    clean = set()
    for i in range(0, len(paths), batch):
        part = paths[i:i + batch]
        r = subprocess.run(["dcmdump"] + part, capture_output=True, text=True, errors="replace", timeout=300)
        if r.returncode == 0 and not any(ln.startswith("E:") for ln in (r.stdout + r.stderr).splitlines()):
            clean.update(part)
    return clean
