#!/usr/bin/python3
"""Peer command-line arguments for the PS3.15 Basic profile, from the PS3.15 Table E.1-1 CSV (one home for
bench/run.sh and bench/peers.py).

    /usr/bin/python3 bench/basic_args.py dcmodify TABLE_CSV
    /usr/bin/python3 bench/basic_args.py gdcm TABLE_CSV [--probe FILE.dcm --cache DIR]

Prints one argument per line. Composite codes fall back as in DECISIONS.md (X/Z->Z, X/D->D, Z/D->D,
X/Z/D->D, X/Z/U*->U).
dcmodify: X -> -ea "(g,e)"; Z/D/U (non-SQ) -> -ma "(g,e)=" (blank: dcmodify cannot make dummies or HMAC
  UIDs); the three primary UIDs are left out (the caller passes -gst/-gse/-gin). Sequences: X -> -ea; others
  are left alone (dcmodify cannot recurse conditionally).
gdcm (gdcmanon --dumb): X -> --remove g,e; Z/D/U -> --empty g,e (top level only; no UID regeneration).
  gdcmanon refuses (exit 1, nothing written) --empty on sequences and on tags missing from its dictionary:
  with --probe, each pair is tried once on FILE and only the accepted ones are printed; the result is cached
  in DIR per table checksum (the probe runs gdcmanon once per tag, ~600 times).
"""
import argparse
import hashlib
import csv
import os
import subprocess
import sys
import tempfile

FALLBACK = {"X/Z": "Z", "X/D": "D", "Z/D": "D", "X/Z/D": "D", "X/Z/U*": "U"}
PRIMARY = {"0020000D", "0020000E", "00080018"}


def table_args(table, tool):
    from pydicom.datadict import dictionary_VR
    out = []
    for row in csv.DictReader(open(table, newline="")):
        code = FALLBACK.get(row["Basic Prof."].strip(), row["Basic Prof."].strip())
        g, e = row["Tag"].strip().strip("()").split(",")
        if "gggg" in g or code not in ("X", "Z", "D", "U"):
            continue
        if "x" in g.lower() or "x" in e.lower():
            if e.lower() == "xxxx":
                continue                       # curve groups: no single tag
            g = g.lower().replace("x", "0")     # (60xx,....) -> group 6000
        g, e = g.upper(), e.upper()
        if g in ("0000", "0002", "FFFC") or g + e in PRIMARY:
            continue
        try:
            vr = dictionary_VR(int(g + e, 16))
        except KeyError:
            vr = "??"
        if tool == "dcmodify":
            if code == "X":
                out += ["-ea", f"({g},{e})"]
            elif vr != "SQ":
                out += ["-ma", f"({g},{e})="]
        else:
            if code == "X":
                out += ["--remove", f"{int(g, 16):x},{int(e, 16):x}"]
            elif vr != "SQ" or code in ("Z", "D"):
                out += ["--empty", f"{int(g, 16):x},{int(e, 16):x}"]
    return out


def probe_gdcm(pairs, probe):
    ok = []
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, "probe.dcm")
        for i in range(0, len(pairs), 2):
            if os.path.exists(dst):
                os.remove(dst)
            r = subprocess.run(["gdcmanon", "--dumb", "-i", probe, "-o", dst, pairs[i], pairs[i + 1]],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0:
                ok += pairs[i:i + 2]
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("tool", choices=["dcmodify", "gdcm"])
    ap.add_argument("table")
    ap.add_argument("--probe", help="gdcm: a DICOM file to try each pair on")
    ap.add_argument("--cache", help="gdcm: directory for the probed list")
    a = ap.parse_args()
    args = table_args(a.table, a.tool)
    if a.tool == "gdcm" and a.probe:
        cached = None
        if a.cache:
            os.makedirs(a.cache, exist_ok=True)
            digest = hashlib.sha256(open(a.table, "rb").read()).hexdigest()[:16]
            cached = os.path.join(a.cache, f"gdcm_args.{digest}.txt")
            if os.path.exists(cached):
                sys.stdout.write(open(cached).read())
                return
        args = probe_gdcm(args, a.probe)
        if cached:
            with open(cached + ".tmp", "w") as f:
                f.write("".join(x + "\n" for x in args))
            os.replace(cached + ".tmp", cached)
    sys.stdout.write("".join(x + "\n" for x in args))


if __name__ == "__main__":
    main()
