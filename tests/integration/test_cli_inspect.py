#!/usr/bin/python3
"""dicomveil inspect (issue 6 item 5; docs/text.md "inspect"), over an instance built here with pydicom and over
corpus files:
  1. default text output: per element the tag path (nested sequences as (0040,A730)[0].(0040,A160)), VR,
     infoType, code point span, detector and transformation; the planted values and the source path never
     appear (stdout or stderr); the source is unchanged and nothing is written (no output, no default key);
  2. --show-values: the matched text and the source path appear;
  3. --format json: one document that parses, with the documented fields; "value" only with --show-values, and
     then it is the span [start, end) of the element's value in code points;
  4. a config with nothing to clean says so (exit 0);
  5. exit codes as deidentify: 2 usage/config (missing --config, bad --format, missing SRC, invalid config),
     1 when an instance fails (a truncated file), 0 otherwise; a non-DICOM file is skipped;
  6. corpus files: the JSON's counts add up and no PatientName of the corpus file appears without --show-values.
Env (set by ctest): DV_BIN, DV_SHARED_DATA.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

BIN = os.environ["DV_BIN"]
DATA = os.path.join(os.environ.get("DV_SHARED_DATA", os.path.join(os.path.dirname(__file__), "../../../shared/data")),
                    "dicom")
SURNAME, GIVEN = "Quixotely", "Zoë"
PHONE = "555-123-4567"
fails = []

DTC = '{"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"}}'
KEEP = '{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}'


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)


def build(path):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"  # Basic Text SR
    ds.SOPInstanceUID = "1.2.826.0.1.3680043.10.1187.7.1"
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.10.1187.7.2"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.10.1187.7.3"
    ds.Modality = "SR"
    ds.PatientName = f"{SURNAME}^{GIVEN}"
    ds.PatientID = "MRN-884211"
    ds.StudyDate = "20200305"
    ds.StudyDescription = "CT CHEST WALL FOLLOW-UP"
    ds.ImageComments = f"Résumé: {GIVEN} {SURNAME} called from {PHONE}"
    item = Dataset()
    item.RelationshipType = "CONTAINS"
    item.ValueType = "TEXT"
    item.TextValue = f"Discussed with {GIVEN} {SURNAME} on 2020-03-05."
    ds.ContentSequence = Sequence([item])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)
    return ds


def run(args, cfg_text, tmp):
    cfg = os.path.join(tmp, "cfg.json")
    with open(cfg, "w") as f:
        f.write(cfg_text)
    return subprocess.run([BIN, "inspect", "--config", cfg] + args, capture_output=True, text=True,
                          env=dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "xdg"), HOME=os.path.join(tmp, "home")))


def tree(d):
    return sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs)


def main():
    with tempfile.TemporaryDirectory() as tmp:
        srcdir = os.path.join(tmp, "PHI-Quixotely-folder")
        os.mkdir(srcdir)
        src = os.path.join(srcdir, "a.dcm")
        ds = build(src)
        digest = hashlib.sha256(open(src, "rb").read()).hexdigest()
        before = tree(tmp)

        # 1. Default: values and paths hidden, structure shown.
        r = run([src], DTC, tmp)
        check(r.returncode == 0, f"default: exit {r.returncode}: {r.stderr}")
        out = r.stdout + r.stderr
        for secret in (SURNAME, GIVEN, PHONE, "MRN-884211", "PHI-Quixotely-folder", "20200305"):
            check(secret not in out, f"default: {secret!r} printed")
        check("instance #0 (SOP Class 1.2.840.10008.5.1.4.1.1.88.11)" in r.stdout, "default: instance line")
        check("(0040,A730)[0].(0040,A160) UT PERSON_NAME" in r.stdout, f"default: nested TextValue name: {r.stdout}")
        check("(0010,0010) PN PERSON_NAME" in r.stdout, "default: PatientName")
        check(" PHONE_NUMBER " in r.stdout and " pattern " in r.stdout, "default: phone by pattern")
        check("(0008,0020) DA DATE 0-8 vr dateShiftConfig" in r.stdout, "default: StudyDate by VR")
        check("replaceWithInfoTypeConfig" in r.stdout and "denylist" in r.stdout, "default: transformation/detector")
        check(r.stdout.rstrip().splitlines()[-1].startswith("summary: 1 input, 1 inspected"), "default: summary")
        check(hashlib.sha256(open(src, "rb").read()).hexdigest() == digest, "the source changed")
        check(tree(tmp) == sorted(before + ["cfg.json"]), f"inspect wrote files: {tree(tmp)}")

        # 2. --show-values.
        r = run(["--show-values", src], DTC, tmp)
        check(r.returncode == 0, f"show-values: exit {r.returncode}")
        check(SURNAME in r.stdout and PHONE in r.stdout, "show-values: values missing")
        check(srcdir in r.stdout, "show-values: source path missing")
        check(SURNAME not in r.stderr, "show-values: a value on stderr")

        # 3. JSON, hidden then shown.
        r = run(["--format", "json", src], DTC, tmp)
        check(r.returncode == 0, f"json: exit {r.returncode}")
        doc = json.loads(r.stdout)
        check(doc["cleans_text"] is True and doc["show_values"] is False, "json: header fields")
        inst = doc["instances"][0]
        check(inst["index"] == 0 and inst["status"] == "ok" and inst["sop_class_uid"] == ds.SOPClassUID,
              f"json: instance fields {inst}")
        check("source" not in inst, "json: source path without --show-values")
        keys = {"path", "vr", "info_type", "start", "end", "detector", "transformation"}
        for f in inst["findings"]:
            check(set(f) == keys, f"json: finding keys {sorted(f)}")
        check(sum(inst["counts"].values()) == len(inst["findings"]), "json: counts vs findings")
        check(doc["summary"]["total_findings"] == len(inst["findings"]), "json: summary total")
        check(SURNAME not in r.stdout and PHONE not in r.stdout, "json: a value printed")

        r = run(["--format", "json", "--show-values", src], DTC, tmp)
        doc = json.loads(r.stdout)
        inst = doc["instances"][0]
        check(inst.get("source") == src, "json show-values: source")
        values = {"(0020,4000)": ds.ImageComments, "(0040,A730)[0].(0040,A160)": ds.ContentSequence[0].TextValue}
        seen = 0
        for f in inst["findings"]:
            if f["path"] in values:
                whole = values[f["path"]]
                check(whole[f["start"]:f["end"]] == f["value"], f"json: span {f} does not select its value")
                seen += 1
        check(seen >= 3, f"json: findings in ImageComments/TextValue: {seen}")
        check(any(f["value"] == PHONE and f["info_type"] == "PHONE_NUMBER" for f in inst["findings"]),
              "json: the phone number with its value")

        # 4. Nothing to clean.
        r = run([src], KEEP, tmp)
        check(r.returncode == 0 and "cleans no text" in r.stdout, f"keep-all: {r.returncode} {r.stdout}")
        r = run(["--format", "json", src], KEEP, tmp)
        check(r.returncode == 0 and json.loads(r.stdout)["cleans_text"] is False, "keep-all json")

        # 5. Exit codes.
        r = subprocess.run([BIN, "inspect", src], capture_output=True, text=True)
        check(r.returncode == 2, f"no --config: exit {r.returncode}")
        check(run(["--format", "xml", src], DTC, tmp).returncode == 2, "bad --format")
        r = run([os.path.join(srcdir, "missing.dcm")], DTC, tmp)
        check(r.returncode == 2 and "missing" not in r.stderr, f"missing SRC: {r.returncode} {r.stderr}")
        check(run([src], '{"dicomTagConfig": {"profileType": "NO_SUCH"}}', tmp).returncode == 2, "invalid config")
        bad = os.path.join(tmp, "bad")
        os.mkdir(bad)
        data = open(src, "rb").read()
        with open(os.path.join(bad, "trunc.dcm"), "wb") as f:
            f.write(data[:len(data) - 20])
        with open(os.path.join(bad, "notes.txt"), "w") as f:
            f.write("not dicom\n")
        r = run(["--format", "json", bad], DTC, tmp)
        check(r.returncode == 1, f"truncated: exit {r.returncode}")
        doc = json.loads(r.stdout)
        st = sorted((i["status"], i.get("error_class")) for i in doc["instances"])
        check(st == [("failed", "malformed"), ("skipped", "not_dicom")], f"truncated/not dicom: {st}")
        check(SURNAME not in r.stderr, "truncated: value on stderr")
        check(not os.path.exists(os.path.join(tmp, "xdg", "dicomveil", "key")), "a default key was created")

        # 6. Corpus files.
        corpus = os.path.join(DATA, "pydicom")
        r = run(["--format", "json", corpus], DTC, tmp)
        check(r.returncode in (0, 1), f"corpus: exit {r.returncode}")
        doc = json.loads(r.stdout)
        total = sum(sum(i["counts"].values()) for i in doc["instances"])
        check(total == doc["summary"]["total_findings"] and total > 0, "corpus: totals")
        names = set()
        for p in ("CT_small.dcm", "MR_small.dcm"):
            name = str(pydicom.dcmread(os.path.join(corpus, p)).PatientName)
            names.update(w for w in name.replace("^", " ").split() if len(w) >= 4)
        for n in names:
            check(n not in r.stdout, f"corpus: PatientName part {n!r} printed")
        check(any(f["info_type"] == "PERSON_NAME" for i in doc["instances"] for f in i["findings"]),
              "corpus: no PERSON_NAME finding")

    if fails:
        print(f"test_cli_inspect: {len(fails)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("test_cli_inspect: PASS")


if __name__ == "__main__":
    main()
