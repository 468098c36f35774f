#!/usr/bin/env bash
# dicomveil demo (`make demo`): generate synthetic CT instances with planted fake PHI, de-identify them with
# the Basic profile, and show what changed. Everything is written under build/demo/ (never into the repo).
#
#   bash tools/demo.sh            # uses build/dicomveil (make build first; `make demo` does both)
#   DV_BIN=path/to/dicomveil PYTHON=/usr/bin/python3 bash tools/demo.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-/usr/bin/python3}
BIN=${DV_BIN:-build/dicomveil}
DEMO=build/demo
IN=$DEMO/in
OUT=$DEMO/out
CFG=$DEMO/basic-profile.json
KEY=$DEMO/demo.key
REPORT=$DEMO/report.json

[[ -x "$BIN" ]] || { echo "demo: $BIN not found: run 'make build' (or 'make demo')" >&2; exit 1; }
command -v dcmdump >/dev/null || { echo "demo: dcmdump not found: run 'make deps' (package dcmtk)" >&2; exit 1; }

hr() { printf '\n==== %s %s\n' "$1" "$(printf '=%.0s' $(seq 1 $((96 - ${#1}))))"; }

rm -rf "$IN" "$OUT" "$REPORT"
mkdir -p "$DEMO"

hr "1. synthetic input (no real PHI: every name, ID and date is made up)"
"$PYTHON" tools/gen_demo_samples.py --out "$IN" --studies 2 --series 2 --instances 5
(cd "$IN" && find . -type f | sort | sed 's/^\.\//  in\//' | head -n 6; echo "  ...")

hr "2. config: Healthcare API DeidentifyConfig, Basic profile"
cat > "$CFG" <<'EOF'
{
  "dicomTagConfig": {
    "profileType": "ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"
  }
}
EOF
cat "$CFG"

if [[ ! -s "$KEY" ]]; then
    (umask 077 && head -c 32 /dev/urandom > "$KEY")
    echo "demo key: created $KEY (32 random bytes; keep it to get the same new UIDs on a re-run)"
else
    echo "demo key: reusing $KEY"
fi

hr "3. dicomveil deidentify"
echo "+ $BIN deidentify --config $CFG --key-file $KEY --jobs 2 --report $REPORT $IN $OUT"
rc=0
"$BIN" deidentify --config "$CFG" --key-file "$KEY" --jobs 2 --report "$REPORT" "$IN" "$OUT" || rc=$?
echo "exit status: $rc"
(cd "$OUT" 2>/dev/null && find . -type f | sort | sed 's/^\.\//  out\//' | head -n 6; echo "  ... ($(find . -type f | wc -l) files)") || true
if [[ -s "$REPORT" ]]; then
    "$PYTHON" - "$REPORT" <<'EOF'
import collections, json, sys
r = json.load(open(sys.argv[1]))
inst = r.get("instances", []) if isinstance(r, dict) else []
c = collections.Counter(i.get("status", "?") for i in inst if isinstance(i, dict))
print("report:", sys.argv[1], "-", ", ".join(f"{n} {s}" for s, n in sorted(c.items())) or "(no instances listed)")
EOF
fi

# Find the output of the first input: the new UIDs are 2.25 + the first 128 bits of HMAC-SHA256(key, uid)
# (DECISIONS.md 6), so the output path can be computed from the key; else fall back to the first output.
first_in=$(find "$IN" -type f -name '*.dcm' | sort | head -n 1)
first_out=$("$PYTHON" - "$KEY" "$first_in" "$OUT" <<'EOF'
import hashlib, hmac, os, sys
import pydicom
key = open(sys.argv[1], "rb").read()
ds = pydicom.dcmread(sys.argv[2], stop_before_pixels=True)
new = lambda u: "2.25." + str(int.from_bytes(hmac.new(key, str(u).encode(), hashlib.sha256).digest()[:16], "big"))
p = os.path.join(sys.argv[3], new(ds.StudyInstanceUID), new(ds.SeriesInstanceUID), new(ds.SOPInstanceUID) + ".dcm")
if not os.path.isfile(p):
    outs = sorted(os.path.join(d, f) for d, _, fs in os.walk(sys.argv[3]) for f in fs if f.endswith(".dcm"))
    p = outs[0] if outs else ""
print(p)
EOF
)

hr "4. before: dcmdump ${first_in#$DEMO/} (first 40 lines)"
dcmdump "$first_in" > "$DEMO/before.txt" 2>&1 || true
head -n 40 "$DEMO/before.txt"

if [[ -z "$first_out" ]]; then
    echo "demo: no output instance was written (exit status $rc)" >&2
    exit 1
fi
hr "5. after: dcmdump ${first_out#$DEMO/} (first 40 lines)"
dcmdump "$first_out" > "$DEMO/after.txt" 2>&1 || true
head -n 40 "$DEMO/after.txt"

hr "6. what changed (selected attributes, nested ones marked >)"
"$PYTHON" - "$first_in" "$first_out" <<'EOF'
import sys
import pydicom
a = pydicom.dcmread(sys.argv[1], stop_before_pixels=True)
b = pydicom.dcmread(sys.argv[2], stop_before_pixels=True)
def val(ds, path):
    cur = ds
    for i, kw in enumerate(path):
        if kw not in cur:
            return "(absent)"
        el = cur[kw]
        if i < len(path) - 1:
            if not el.value:
                return "(empty sequence)"
            cur = el.value[0]
        else:
            v = el.value
            return "(empty)" if v in (None, "", b"") else str(v)[:46]
rows = [("PatientName",), ("PatientID",), ("PatientBirthDate",), ("PatientAddress",), ("OtherPatientIDsSequence",
        "PatientID"), ("AccessionNumber",), ("InstitutionName",), ("ReferringPhysicianName",), ("StudyDate",),
        ("StudyDescription",), ("StudyInstanceUID",), ("SOPInstanceUID",), ("ReferencedImageSequence",
        "ReferencedSOPInstanceUID"), ("RequestAttributesSequence", "ScheduledProtocolCodeSequence", "CodeValue"),
        ("PatientIdentityRemoved",), ("DeidentificationMethod",)]
print(f"{'attribute':44} {'before':48} after")
for r in rows:
    name = " > ".join(r)
    print(f"{name[:44]:44} {val(a, r):48} {val(b, r)}")
priv_a = sum(1 for e in a.iterall() if e.tag.is_private)
priv_b = sum(1 for e in b.iterall() if e.tag.is_private)
print(f"{'private elements':44} {priv_a:<48} {priv_b}")
EOF
echo
echo "demo: inputs in $IN, outputs in $OUT, report $REPORT, full dumps in $DEMO/before.txt and $DEMO/after.txt"
exit "$rc"
