#!/usr/bin/python3
"""Issue 6 acceptance "VR validity after every transformation (checked with dcmtk dcmdump and dicom3tools
dciodvfy)", through `dicomveil deidentify`.

Four instances built here with pydicom (Latin-1; ISO 2022 IR 87 Japanese with a three-group PN; Latin-1 with
three long PN groups; Latin-1 with the name typed in lower case), holding long and structured values in AE LO LT PN SH ST UC UT DA DT TM AS that are at or
near their PS3.5 length limits and full of the instance's own identifying values (surname, given name, IDs:
the per-instance deny-list) and pattern PHI (phone, email, dates, MRN, address), plus an impossible DA
(20230230) and a year-only DT (2000). Each goes through 10 configs: the five transformations
(replaceWithInfoType, redact, characterMask, dateShift, cryptoHash, each as the default TextConfig
transformation) x (cleanTextTag actions over the 11 text VRs on KEEP_ALL_PROFILE | DEIDENTIFY_TAG_CONTENTS).
Checks on every output:
  dcmdump-clean     dcmdump exits 0 with no E: or W: line;
  dciodvfy-no-new   no dciodvfy error the input did not have (values in the lines normalised: a changed value is
                    quoted changed) - the inputs' only VR error is the impossible DA, which must go;
  values-valid      every text value at every level is valid for its VR by PS3.5 6.2 (dvtext.value_problems:
                    Table 6.2-1 lengths, PN <= 64 characters per component group, <= 3 groups, <= 5 components,
                    DA a real calendar date, DT/TM/AS syntax);
  pn-structure      a PN keeps its structure: no more groups, no more components per group, VM kept;
  vm-kept           multi-valued VRs keep their number of values;
  da-rules          dateShift: a shifted DA is a valid date 1..100 days from the input, the same shift for every
                    DA and the date part of DT; any other transformation empties DA/DT; the impossible DA and
                    the year-only DT are emptied whatever the transformation;
  tm-kept           TM is not a text VR: kept byte-identical;
  phi-gone          the instance's surname / phone / email occur in no text value of the output;
  transformation    the PatientName shows the transformation: [PERSON_NAME] / empty / masked with '*' one per
                    character / erased (dateShift of a non-date) / base64 HMAC (no '=').
Env (set by ctest): DV_BIN, DV_BUILD_DIR."""
import base64
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

import dvcheck
import dvtext
import test_corpus  # NORMALISE, dciodvfy_errors

warnings.simplefilter("ignore")

TEXT_VRS = ["AE", "LO", "LT", "PN", "SH", "ST", "UC", "UT", "DA", "DT", "AS"]
CRYPTO_KEY = base64.b64encode(bytes(range(32))).decode()
TRANSFORMATIONS = {
    "replace": {"replaceWithInfoTypeConfig": {}},
    "redact": {"redactConfig": {}},
    "mask": {"characterMaskConfig": {}},
    "dateshift": {"dateShiftConfig": {}},
    "crypto": {"cryptoHashConfig": {"cryptoKey": CRYPTO_KEY}},
}
MODES = {
    "ctt": lambda t: {"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE",
                                         "actions": [{"queries": TEXT_VRS, "cleanTextTag": {}}]},
                      "text": {"additionalTransformations": [t]}},
    "dtc": lambda t: {"dicomTagConfig": {"profileType": "DEIDENTIFY_TAG_CONTENTS"},
                      "text": {"additionalTransformations": [t]}},
}
VALUE_IN_LINE = re.compile(r"\] = <(?:.*> - |.*$)")

C = dvcheck.Checks()


def fill(unit, n):
    """unit repeated and cut to exactly n characters (no trailing space)."""
    s = (unit * (n // len(unit) + 1))[:n]
    return s[:-1] + "." if s.endswith(" ") else s


def build(path, kind):
    """Write one test instance; returns {keyword: input value} of what the checks need."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = generate_uid(prefix="1.2.826.0.1.3680043.8.498.", entropy_srcs=[path])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    if kind == "jp":
        ds.SpecificCharacterSet = ["", "ISO 2022 IR 87"]
        surname, given = "Yamada", "Tarou"
        ds.PatientName = "Yamada^Tarou=山田^太郎=やまだ^たろう"  # PS3.5 H.3.1
        phi = ["yamada", "山田", "やまだ"]
    elif kind == "lower":  # typed in lower case: the own name in any case (test_denylist: test_lower_case_runs)
        ds.SpecificCharacterSet = "ISO_IR 100"
        surname, given = "johnson", "ann"
        ds.PatientName = "johnson^ann"
        phi = ["johnson"]
    else:
        ds.SpecificCharacterSet = "ISO_IR 100"
        surname, given = "Johnson", "Ann"
        if kind == "latin3":
            g = "Johnson-Wolfeschlegelsteinhausen^Annemarie-Elisabeth^Maria^Dr.^III"  # 64 characters
            ds.PatientName = "=".join([g, g, g])
        else:
            ds.PatientName = "Johnson^Ann^Marie^Dr.^Jr."
        phi = ["johnson"]
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = generate_uid(prefix="1.2.826.0.1.3680043.8.498.", entropy_srcs=[path, "st"])
    ds.SeriesInstanceUID = generate_uid(prefix="1.2.826.0.1.3680043.8.498.", entropy_srcs=[path, "se"])
    ds.Modality = "OT"
    ds.ConversionType = "WSD"
    ds.PatientID = "MRN-A1234567"
    ds.PatientSex = "F"
    ds.PatientAge = "045Y"
    ds.PatientBirthDate = "19610314"
    ds.StudyDate = "20200305"
    ds.SeriesDate = "20230230"  # impossible: cannot be shifted, must be emptied
    ds.ContentDate = "20200306"
    ds.AcquisitionDateTime = "20200305142305.123456+0100"
    ds.FrameAcquisitionDateTime = "2000"  # year only: not shiftable, must be emptied
    ds.StudyTime = "142305.123456"
    ds.StudyID = "S-20200305"
    ds.AccessionNumber = f"{surname.upper()}00012345"[:16]
    ds.StationName = f"{surname.upper()} {given.upper()} CT01"[:16]
    ds.RetrieveAETitle = f"{given.upper()} {surname.upper()} PAC"[:16]
    ds.InstitutionName = fill(f"{surname} Memorial Clinic ", 64)
    ds.StudyDescription = fill(f"CT CHEST WALL {given} {surname} 555-123-4567 {surname.lower()}@example.org ", 64)
    ds.OtherPatientIDs = [f"{surname.upper()}1", "MRN-A1234567"]
    ds.OtherPatientNames = [f"{surname}^{given}", f"{surname.upper()}^{given[0]}"]
    ds.ReferringPhysicianName = f"{surname}^{given}^^Dr."
    ds.PerformingPhysicianName = [f"{surname}^{given}", "Smith^Bob"]
    ds.InstitutionAddress = fill(f"12 Baker Street, London NW1 6XE, tel +44 20 7946 0958, {given} {surname}. ", 1024)
    ds.AdditionalPatientHistory = fill(
        f"Seen by Dr {given} {surname} on 2020-03-05 (DOB 14/03/1961), MRN A1234567, "
        f"call 555-123-4567 or {surname.lower()}@example.org. ", 10240)
    ds.StrainDescription = fill(f"{surname} strain {given} {surname} ", 5000)  # UC
    if kind == "lower":
        # A single lower-case part in mixed-case text stays by design (gray matter; docs/text-lexicons.md): the
        # lower-case instance carries its name as runs of two parts, which must match in any case.
        ds.StrainDescription = fill(f"strain of {given} {surname} ", 5000)
    ds.StrainAdditionalInformation = fill(f"Owner {given} {surname}, 12 Baker Street. ", 20000)  # UT
    item = Dataset()
    item.ValueType = "TEXT"
    item.TextValue = fill(f"Patient {given} {surname} seen 03/05/2020. ", 3000)  # UT in a sequence
    item.Date = "20200305"
    ds.ContentSequence = Sequence([item])
    ds.save_as(path, write_like_original=False)
    return {"phi": phi + ["555-123-4567", "example.org"], "surname": surname,
            "first": str(ds.PatientName).split("=")[0].split("^")[0]}


def days(da):
    return datetime.date(int(da[:4]), int(da[4:6]), int(da[6:8]))


def check_output(label, tname, src, out, info):
    ok, bad = dvtext.dcmdump_clean(out)
    C.expect("dcmdump-clean", ok, f"{label}: {bad[:4]}")
    a_ds = pydicom.dcmread(src)
    b_ds = pydicom.dcmread(out)
    a = dvtext.raw_text_elements(a_ds, set(TEXT_VRS) | {"TM"})
    b = dvtext.raw_text_elements(b_ds, set(TEXT_VRS) | {"TM"})
    texts = {}
    for path, (vr, raw, cs) in b.items():
        try:
            t = dvtext.strip_padding(dvtext.decode_strict(raw, vr, cs), vr)
        except (UnicodeError, LookupError) as e:
            C.bad("values-valid", f"{label} {path} {vr}: does not decode in {cs}: {type(e).__name__}")
            continue
        texts[path] = t
        probs = dvtext.value_problems(vr, t)
        C.expect("values-valid", not probs, f"{label} {path}: {probs}")
        low = t.lower()
        leaked = [p for p in info["phi"] if p in low]
        C.expect("phi-gone", not leaked, f"{label} {path} {vr}: still holds {len(leaked)} planted PHI string(s)")
        if path in a:
            t_in = dvtext.strip_padding(dvtext.decode_strict(a[path][1], vr, a[path][2]), vr)
            if vr not in dvtext.SINGLE_VALUED and t:
                C.expect("vm-kept", t.count("\\") == t_in.count("\\"), f"{label} {path}: VM changed")
            if vr == "PN" and t:
                gi, go = t_in.split("="), t.split("=")
                C.expect("pn-structure", len(go) <= len(gi) and all(
                    len(o.split("^")) <= len(i.split("^")) for o, i in zip(go, gi)),
                    f"{label} {path}: PN structure {[len(x.split('^')) for x in gi]} -> {[len(x.split('^')) for x in go]}")
            if vr == "TM":
                C.expect("tm-kept", raw == a[path][1], f"{label} {path}: TM changed")
    # dates
    sd, bd, cd = texts.get("00080020", ""), texts.get("00100030", ""), texts.get("00080023", "")
    adt = texts.get("0008002A", "")
    C.expect("da-rules", texts.get("00080021", None) == "", f"{label}: the impossible SeriesDate is not emptied")
    C.expect("da-rules", texts.get("0018A002", None) in ("", None) and texts.get("00189074", "") == "",
             f"{label}: the year-only DT is not emptied")
    if tname == "dateshift":
        shifts = set()
        for path, inp in (("00080020", "20200305"), ("00100030", "19610314"), ("00080023", "20200306"),
                          ("0040A730[0].0040A121", "20200305")):
            v = texts.get(path, "")
            if C.expect("da-rules", bool(dvtext.DA_RE.match(v)), f"{label} {path}: shifted DA missing or invalid"):
                shifts.add((days(v) - days(inp)).days)
        if adt:
            shifts.add((days(adt[:8]) - days("20200305")).days)
            C.expect("da-rules", adt[8:] == "142305.123456+0100", f"{label}: DT time part changed")
        else:
            C.bad("da-rules", f"{label}: AcquisitionDateTime emptied by dateShift")
        C.expect("da-rules", len(shifts) == 1 and 1 <= abs(next(iter(shifts))) <= 100,
                 f"{label}: shifts {sorted(shifts)} (one shift, 1..100 days, for every DA and DT)")
    else:
        C.expect("da-rules", sd == "" and bd == "" and cd == "" and adt == "",
                 f"{label}: DA/DT not emptied by {tname}")
    # the transformation is visible on PatientName's first group
    pn = texts.get("00100010", "")
    first = pn.split("=")[0]
    comps = [c for c in first.split("^") if c]
    if tname == "replace":
        C.expect("transformation", "[PERSON_NAME]" in first, f"{label}: PatientName not [PERSON_NAME]")
    elif tname == "redact":  # what may remain: punctuation and the suffix, never a name
        C.expect("transformation", all(re.fullmatch(r"[\W_]*|Jr\.|III", c) for c in comps),
                 f"{label}: PatientName components not erased ({len(comps)} left)")
    elif tname == "mask":
        C.expect("transformation", comps and set(comps[0]) == {"*"} and len(comps[0]) == len(info["first"]),
                 f"{label}: surname not masked one '*' per character")
    elif tname == "dateshift":
        C.expect("transformation", not comps or info["surname"].lower() not in first.lower(),
                 f"{label}: PatientName not erased by dateShift")
    elif tname == "crypto":
        C.expect("transformation", comps and re.fullmatch(r"[A-Za-z0-9+/]+", comps[0]) and "=" not in first
                 and len(comps[0]) >= 16, f"{label}: PatientName not a base64 HMAC without padding")


def normalised_dciodvfy(path, tmp):
    return {VALUE_IN_LINE.sub("] = <value> - ", x) for x in test_corpus.dciodvfy_errors(path, tmp)}


def main():
    t0 = time.time()
    for tool in ("dcmdump", "dciodvfy"):
        if not shutil.which(tool):
            print(f"FAIL: {tool} not installed")
            return 1
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_textvr_", dir=base if base and os.path.isdir(base) else None)
    try:
        src = os.path.join(tmp, "in")
        os.mkdir(src)
        infos = {}
        for kind in ("latin", "jp", "latin3", "lower"):
            infos[kind + ".dcm"] = build(os.path.join(src, kind + ".dcm"), kind)
        base_errs = {}
        for f in infos:
            ok, bad = dvtext.dcmdump_clean(os.path.join(src, f))
            C.expect("inputs-sane", ok, f"built input {f}: {bad[:3]}")
            base_errs[f] = normalised_dciodvfy(os.path.join(src, f), tmp)
            # (dciodvfy checks DA syntax only, not the calendar: the impossible 20230230 is da-rules' to catch)
        for mode, make in MODES.items():
            for tname, t in TRANSFORMATIONS.items():
                name = f"{mode}_{tname}"
                r = dvtext.deidentify(tmp, name, make(t), [src], src)
                if not isinstance(r, dvtext.Run) or r.proc.returncode != 0:
                    err = r.stderr if not isinstance(r, dvtext.Run) else r.proc.stderr
                    C.bad("run", f"{name}: exit {getattr(r, 'returncode', None) or r.proc.returncode}: {err.strip()[-300:]}")
                    continue
                C.expect("run", not dvtext.sanitizer_report(r.proc.stderr), f"{name}: sanitizer report")
                for f, info in infos.items():
                    out = r.outputs.get(f)
                    if not C.expect("run", out and os.path.isfile(out), f"{name} {f}: no output"):
                        continue
                    check_output(f"{name} {f}", tname, os.path.join(src, f), out, info)
                    new = sorted(x for x in normalised_dciodvfy(out, tmp) - base_errs[f])
                    C.expect("dciodvfy-no-new", not new, f"{name} {f}: {new[:5]}")
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return C.report("test_text_vr_validity",
                    ["inputs-sane", "run", "dcmdump-clean", "dciodvfy-no-new", "values-valid", "pn-structure",
                     "vm-kept", "da-rules", "tm-kept", "phi-gone", "transformation"], 25,
                    f" in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
