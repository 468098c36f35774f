#!/usr/bin/python3
"""Issue 6 acceptance "the real-world config in ../shared/data/configs/ (DEIDENTIFY_TAG_CONTENTS with
cleanTextTag actions and a text config) runs over ../shared/data/dicom with only its cleanImageTag action
refused until pixel redaction exists (and with nothing refused once it does)".

The config is nci-midi-gcp-deidentify.json (SOURCES.md there: NCI's MIDI-B request body for Google's service,
with its FHIR operationMetadata): DEIDENTIFY_TAG_CONTENTS; actions keepTag / removeTag / resetTag / cleanTextTag
/ cleanImageTag (PixelData) / recurseTag / regenUidTag; text = redact STREET_ADDRESS, and a default redact.
  refusal            as is, `deidentify` exits 2, writes nothing, and its message names the cleanImageTag
                     action path(s) and NOTHING else (no cleanTextTag, profileType, text, operationMetadata).
                     >>> PIXEL FLIP: when pixel redaction lands, set PIXEL_REDACTION_BUILT = True below: the
                     full config must then run like the stripped one (every check below runs on it too). <<<
  stripped.*         the config without its cleanImageTag action(s), over the whole corpus: no sanitizer
                     report; every file gets the status and error class it gets under Basic `{}` (nothing fails
                     beyond the inputs Basic rejects); outputs read cleanly with dcmdump (unless dcmdump rejects
                     the input too: DEIDENTIFY_TAG_CONTENTS keeps what it does not clean); every text value that
                     changed decodes in its declared set and is valid for its VR (dvtext.value_problems); dciodvfy
                     finds no value-representation error (value invalid for its VR, too long, bad length) the input
                     did not have, on a fixed-seed sample (test_text_cli_corpus.py runs dciodvfy on every output
                     of DEIDENTIFY_TAG_CONTENTS; the config's own removals make IOD-level errors expected here);
  planted.*          an instance built here shows each part of the config taking effect: the phone number in
                     StudyDescription (cleanTextTag, default redact) and the street address in ImageComments
                     (STREET_ADDRESS redact) are gone while the clinical words stay; PN values gone (removeTag PN:
                     removed, or emptied where the IOD makes it Type 2);
                     PatientID kept (keepTag); UIDs regenerated (regenUidTag UI); a PN inside a sequence removed
                     too (recurseTag SQ).
Env (set by ctest): DV_BIN, DV_SHARED_DATA, DV_SOURCE_DIR, DV_BUILD_DIR."""
import copy
import functools
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import warnings

import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian

import dvcheck
import dvtext
import test_corpus  # dciodvfy_errors, dcmdump_check

warnings.simplefilter("ignore")
pydicom.config.replace_un_with_known_vr = False

# PIXEL FLIP: the one expectation to change when burned-in text redaction (issue 11) is built.
PIXEL_REDACTION_BUILT = True
CONFIG = os.path.join(dvtext.SHARED, "configs", "nci-midi-gcp-deidentify.json")
VR_ERROR = re.compile(r"(?i)value invalid for this VR|exceeds maximum length|bad value length|"
                      r"not a valid|illegal character")
VALUE_IN_LINE = re.compile(r"\] = <(?:.*> - |.*$)")
SAMPLE = int(os.environ.get("DV_TEXT_DCIODVFY_SAMPLE", "8" if os.environ.get("ASAN_OPTIONS") else "30"))

C = dvcheck.Checks()


def image_paths(cfg):
    root = "config.dicomTagConfig"
    return [f"{root}.actions[{i}].cleanImageTag" for i, a in enumerate(cfg["dicomTagConfig"]["actions"])
            if "cleanImageTag" in a]


def stripped(cfg):
    c = copy.deepcopy(cfg)
    c["dicomTagConfig"]["actions"] = [a for a in c["dicomTagConfig"]["actions"] if "cleanImageTag" not in a]
    return c


def check_refusal(tmp, cfg, srcs):
    """The full config over srcs: refused (exit 2, nothing written) until pixel redaction is built; once it is,
    the Run, which main() sweeps like the stripped one (one corpus run serves both checks)."""
    paths = image_paths(cfg)
    C.expect("refusal", len(paths) == 1, f"the config has {len(paths)} cleanImageTag actions (SOURCES.md: one)")
    r = dvtext.deidentify(tmp, "full", cfg, srcs, dvtext.CORPUS)
    if PIXEL_REDACTION_BUILT:
        C.expect("refusal", isinstance(r, dvtext.Run), "the full config is still refused")
        return r if isinstance(r, dvtext.Run) else None
    C.expect("refusal", not isinstance(r, dvtext.Run) and r.returncode == 2,
             f"the full config was not refused (exit {getattr(r, 'returncode', None) or r.proc.returncode})")
    msg = r.stderr if not isinstance(r, dvtext.Run) else r.proc.stderr
    C.expect("refusal", all(p in msg for p in paths) and "burned-in text redaction" in msg,
             f"the refusal does not name {paths}: {msg.strip()[:400]}")
    others = [w for w in ("cleanTextTag", "profileType", "DEIDENTIFY_TAG_CONTENTS", "config.text",
                          "operationMetadata", "also not implemented") if w in msg]
    C.expect("refusal", not others, f"the refusal names more than the cleanImageTag action: {others}: {msg.strip()[:400]}")
    C.expect("refusal", not os.path.exists(os.path.join(tmp, "full.out")), "a refused run wrote outputs")
    return None


def build_planted(path):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = "1.2.826.0.1.3680043.8.498.6006.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(path, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.6006.2"
    ds.SeriesInstanceUID = "1.2.826.0.1.3680043.8.498.6006.3"
    ds.Modality = "OT"
    ds.PatientName = "Johnson^Ann"
    ds.PatientID = "NCI-PLANTED-01"
    ds.StudyDescription = "CT CHEST WALL call 555-123-4567"
    ds.ImageComments = "Patient lives at 12 Baker Street, tel +44 20 7946 0958"
    item = Dataset()
    item.ReferringPhysicianName = "Smith^Bob"
    ds.ReferencedStudySequence = Sequence([])
    ds.RequestAttributesSequence = Sequence([item])
    ds.save_as(path, write_like_original=False)


def check_planted(r, rel):
    out = r.outputs.get(rel)
    if not C.expect("planted.output", out is not None and os.path.isfile(out), f"no output for {rel}: "
                    f"{r.entries.get(rel)}"):
        return
    ds = pydicom.dcmread(out)
    sd, ic = str(ds.get("StudyDescription", "")), str(ds.get("ImageComments", ""))
    C.expect("planted.cleanTextTag", "555" not in sd and "4567" not in sd and "CHEST WALL" in sd,
             "StudyDescription: the phone number is not redacted or the clinical words are gone")
    C.expect("planted.text-config", "Baker" not in ic and "7946" not in ic and "Patient lives at" in ic,
             "ImageComments: the street address / phone are not redacted, or the rest is gone")
    # removeTag on a Type 2 attribute empties it (docs/decisions.md "X and Z never break the IOD")
    C.expect("planted.removeTag", not str(ds.get("PatientName", "")), "PatientName (removeTag PN) still has a value")
    C.expect("planted.removeTag", all(not str(it.get("ReferringPhysicianName", ""))
                                      for it in ds.get("RequestAttributesSequence", [])),
             "a PN inside a sequence (recurseTag SQ + removeTag PN) still has a value")
    C.expect("planted.keepTag", str(ds.get("PatientID", "")) == "NCI-PLANTED-01", "PatientID (keepTag) changed")
    C.expect("planted.regenUidTag", str(ds.SOPInstanceUID) != "1.2.826.0.1.3680043.8.498.6006.1"
             and str(ds.StudyInstanceUID).startswith("2.25."), "UIDs not regenerated")


# What check_sweep reads of an input is the same for both runs it sweeps (stripped, full): read once.
@functools.lru_cache(maxsize=None)
def input_dcmdump(path):
    return test_corpus.dcmdump_check(path)


@functools.lru_cache(maxsize=None)
def input_text_elements(path):
    """raw_text_elements of the input, or None when pydicom cannot read it."""
    try:
        return dvtext.raw_text_elements(pydicom.dcmread(path, force=True, stop_before_pixels=True))
    except Exception:  # noqa: BLE001
        return None


def vr_errs(path, tmp):
    return {VALUE_IN_LINE.sub("] = <value> - ", x) for x in test_corpus.dciodvfy_errors(path, tmp) if VR_ERROR.search(x)}


@functools.lru_cache(maxsize=None)
def input_vr_errs(path, tmp):
    return frozenset(vr_errs(path, tmp))


def check_sweep(tmp, name, r, basic, root, planted_rel):
    san = dvtext.sanitizer_report(r.proc.stderr)
    C.expect("stripped.no-sanitizer-report", not san, f"{name}: {san[:8]}")
    for rel in set(basic.entries) | set(r.entries):
        if rel == planted_rel:
            continue
        same = basic.status(rel) == r.status(rel)
        if not same and name == "full" and PIXEL_REDACTION_BUILT:
            st, err = r.status(rel), (r.entries.get(rel) or {}).get("error") or ""
            # fail closed (issue 11): pixels the cleanImageTag cannot check fail the instance, never written
            same = st[0] == "failed" and err.startswith("pixels:")
            # one of two inputs of the same SOP failing closed lets the other be the one written
            same = same or {st[0], basic.status(rel)[0]} == {"ok", "duplicate"}
        C.expect("stripped.same-status-as-basic", same,
                 f"{name} {rel}: {r.status(rel)} vs Basic {basic.status(rel)}: {(r.entries.get(rel) or {}).get('error')}")
    outs = sorted(rel for rel in r.outputs if rel != planted_rel)
    clean = dvtext.dcmdump_clean_batches([r.outputs[rel] for rel in outs])
    for rel in outs:
        if r.outputs[rel] in clean:
            C.ok("stripped.dcmdump-clean")
            continue
        rc, errs = test_corpus.dcmdump_check(r.outputs[rel])
        rc_in, errs_in = input_dcmdump(os.path.join(root, rel))
        if rc_in != 0 or errs_in:
            continue
        C.expect("stripped.dcmdump-clean", rc == 0 and not errs, f"{name} {rel}: dcmdump exit {rc} {errs[:3]}")
    nchanged = 0
    for rel in outs:
        a = input_text_elements(os.path.join(root, rel))
        if a is None:
            continue
        b = dvtext.raw_text_elements(pydicom.dcmread(r.outputs[rel], stop_before_pixels=True))
        for path, (vr, raw, cs) in b.items():
            old = a.get(path)
            if old is not None and old[1] == raw:
                continue
            nchanged += 1
            try:
                probs = dvtext.value_problems(vr, dvtext.decode_strict(raw, vr, cs))
                if old is not None and probs:
                    probs = [p for p in probs if p not in dvtext.value_problems(vr, dvtext.decode_strict(old[1], vr, old[2]))]
            except (UnicodeError, LookupError) as e:
                probs = [f"does not decode in {cs}: {type(e).__name__}"]
            C.expect("stripped.values-valid", not probs, f"{name} {rel} {path} {vr}: {probs}")
    print(f"  {name}: {len(outs)} corpus outputs, {nchanged} text values changed")
    C.expect("stripped.text-took-effect", nchanged > 100, f"{name}: only {nchanged} text values changed")
    sample = sorted(outs)
    random.Random(6).shuffle(sample)
    for rel in sample[:SAMPLE]:
        new = sorted(vr_errs(r.outputs[rel], tmp) - input_vr_errs(os.path.join(root, rel), tmp))
        C.expect("stripped.dciodvfy-no-new-vr-error", not new, f"{name} {rel}: {new[:4]}")


def main():
    t0 = time.time()
    with open(CONFIG) as f:
        cfg = json.load(f)
    base = os.environ.get("DV_BUILD_DIR")
    tmp = tempfile.mkdtemp(prefix="dv_textnci_", dir=base if base and os.path.isdir(base) else None)
    try:
        planted_dir = os.path.join(tmp, "planted")
        os.mkdir(planted_dir)
        build_planted(os.path.join(planted_dir, "planted.dcm"))
        root = dvtext.CORPUS
        full = check_refusal(tmp, cfg, [root, planted_dir])
        # The planted file is a second source: its report path is relative to the corpus root ("../...").
        planted_rel = os.path.relpath(os.path.join(planted_dir, "planted.dcm"), root)
        basic = dvtext.deidentify(tmp, "basic", {}, [root], root)
        runs = {"stripped": dvtext.deidentify(tmp, "stripped", stripped(cfg), [root, planted_dir], root)}
        if full is not None:
            runs["full"] = full
        for name, r in runs.items():
            if not isinstance(r, dvtext.Run) or not isinstance(basic, dvtext.Run):
                C.bad("stripped.runs", f"{name}: refused: {getattr(r, 'stderr', '').strip()[:400]}")
                continue
            C.ok("stripped.runs")
            check_planted(r, planted_rel)
            check_sweep(tmp, name, r, basic, root, planted_rel)
    finally:
        if os.environ.get("DV_KEEP_TMP"):
            print(f"(kept {tmp})")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return C.report("test_text_nci_config",
                    ["refusal", "stripped.runs", "stripped.no-sanitizer-report", "stripped.same-status-as-basic",
                     "stripped.dcmdump-clean", "stripped.values-valid", "stripped.text-took-effect",
                     "stripped.dciodvfy-no-new-vr-error", "planted.output", "planted.cleanTextTag",
                     "planted.text-config", "planted.removeTag", "planted.keepTag", "planted.regenUidTag"], 20,
                    f" in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
