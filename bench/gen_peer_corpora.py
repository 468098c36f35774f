#!/usr/bin/python3
"""Two more deterministic benchmark corpora for bench/peers.py (issue 8 item 3), beside gen_ct_corpus.py:

    /usr/bin/python3 bench/gen_peer_corpora.py mr OUT_DIR -n 50 [--frames 24] [--seed 1]
    /usr/bin/python3 bench/gen_peer_corpora.py us OUT_DIR -n 200 [--seed 1]

mr: MR-like Enhanced MR Image Storage instances (1.2.840.10008.5.1.4.1.1.4.1), 256x256 16-bit MONOCHROME2,
    FRAMES frames each, Explicit VR Little Endian, with the Shared and Per-frame Functional Groups Sequences
    (one item per frame: Frame Content with a frame acquisition date-time, Plane Position, Frame Anatomy...),
    the patient/study modules of gen_ct_corpus.py (same fake PHI, private blocks, nested sequences).
us: US-like JPEG Baseline instances with burned-in text: four single-frame ultrasound scenes (RGB and
    MONOCHROME2, 640x480 / 800x600) rendered by tools/gen_burned_in.py (PHI text bar, settings column), each
    instance one of them with its own patient, UIDs and dates. The JPEG codestream is copied, not re-encoded.

Same seed -> byte-identical files. Names carry no PHI. Needs pydicom + numpy (+ PIL for us), Debian packages.
"""
import argparse
import datetime
import os
import random
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "tools"))
import gen_ct_corpus as ct  # noqa: E402  (patients, UIDs, the common modules: one home)

ENHANCED_MR = "1.2.840.10008.5.1.4.1.1.4.1"
CT_ONLY = ("KVP", "DataCollectionDiameter", "ReconstructionDiameter", "DistanceSourceToDetector",
           "DistanceSourceToPatient", "GantryDetectorTilt", "TableHeight", "RotationDirection", "ExposureTime",
           "XRayTubeCurrent", "Exposure", "FilterType", "GeneratorPower", "FocalSpots", "ConvolutionKernel",
           "RevolutionTime", "SingleCollimationWidth", "TotalCollimationWidth", "TableSpeed",
           "TableFeedPerRotation", "SpiralPitchFactor", "ConversionType", "FrameIncrementPointer", "FrameTime",
           "ScanOptions", "SliceThickness", "ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing",
           "SliceLocation")


def study_of(idx, n, studies=4, series_per_study=2):
    per_series = max(1, -(-n // (studies * series_per_study)))
    study, series = divmod(idx // per_series, series_per_study)
    return study % studies, series, idx % per_series


def frame_item(seed, idx, f, dt, z):
    it = Dataset()
    fc = Dataset()
    fc.FrameAcquisitionDateTime = f"{dt}0930{f % 60:02d}.000000"
    fc.FrameReferenceDateTime = fc.FrameAcquisitionDateTime
    fc.FrameAcquisitionDuration = 250.0
    fc.StackID = "1"
    fc.InStackPositionNumber = f + 1
    fc.DimensionIndexValues = [1, f + 1]
    fc.FrameComments = f"slice {f + 1}"
    it.FrameContentSequence = Sequence([fc])
    pp = Dataset()
    pp.ImagePositionPatient = ["-120.0", "-120.0", f"{z + 4.0 * f:.2f}"]
    it.PlanePositionSequence = Sequence([pp])
    fa = Dataset()
    fa.FrameLaterality = "U"
    fa.AnatomicRegionSequence = Sequence([ct.code_item("T-A0100", "SRT", "Brain")])
    it.FrameAnatomySequence = Sequence([fa])
    return it


def gen_mr(out, n, seed, frames):
    os.makedirs(out, exist_ok=True)
    base = datetime.date(2020, 5, 4)
    total = 0
    for idx in range(n):
        study, series, n_in_series = study_of(idx, n)
        pat = ct.patient_of(seed, 50 + study // 2)
        sdate = base + datetime.timedelta(days=study * 29 + seed)
        ds = ct.base_dataset(seed, 100000 + idx, study, series, n_in_series, pat, sdate, ENHANCED_MR,
                             frames=frames)
        for kw in CT_ONLY:
            if kw in ds:
                delattr(ds, kw)
        ds.Modality = "MR"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "M", "NONE"]
        ds.StudyDescription = "MR BRAIN WO CONTRAST"
        ds.SeriesDescription = f"AX T{1 + series % 2} FLAIR"
        ds.Rows = ds.Columns = 256
        ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 12, 11, 0
        ds.MagneticFieldStrength = "3"
        ds.ContentQualification = "PRODUCT"
        ds.ResonantNucleus = "1H"
        ds.AcquisitionContrast = "T1"
        ds.ImagedNucleus = "1H"
        dt = sdate.strftime("%Y%m%d")
        shared = Dataset()
        pm = Dataset()
        pm.PixelSpacing = ["0.9375", "0.9375"]
        pm.SliceThickness = "4.0"
        shared.PixelMeasuresSequence = Sequence([pm])
        po = Dataset()
        po.ImageOrientationPatient = ["1", "0", "0", "0", "1", "0"]
        shared.PlaneOrientationSequence = Sequence([po])
        mt = Dataset()
        mt.RepetitionTime = 2000.0
        mt.FlipAngle = 90.0
        mt.EchoTrainLength = 16
        shared.MRTimingAndRelatedParametersSequence = Sequence([mt])
        ds.SharedFunctionalGroupsSequence = Sequence([shared])
        z0 = -60.0 - 2.0 * n_in_series
        ds.PerFrameFunctionalGroupsSequence = Sequence([frame_item(seed, idx, f, dt, z0) for f in range(frames)])
        r = np.random.default_rng([seed, 17, idx])
        yy, xx = np.mgrid[-128:128, -128:128]
        head = ((xx / 100.0) ** 2 + (yy / 120.0) ** 2 <= 1.0) * 1800
        pix = np.empty((frames, 256, 256), dtype="<u2")
        for f in range(frames):
            pix[f] = np.clip(head + r.normal(0, 40, (256, 256)) + 200, 0, 4095).astype("<u2")
        ds.PixelData = pix.tobytes()
        ds["PixelData"].VR = "OW"
        ds.file_meta = ct.file_meta_for(ds)
        ds.is_little_endian, ds.is_implicit_VR = True, False
        path = os.path.join(out, f"mr_{idx:05d}.dcm")
        ds.save_as(path, write_like_original=False)
        total += os.path.getsize(path)
    print(f"wrote {n} enhanced MR instances x {frames} frames ({total / 1e6:.1f} MB) to {out}", file=sys.stderr)


def gen_us(out, n, seed):
    import gen_burned_in as gb  # tools/: needs PIL and the DejaVu fonts
    os.makedirs(out, exist_ok=True)
    tdir = os.path.join(out, ".templates")
    os.makedirs(tdir, exist_ok=True)
    rng, nprng = random.Random(seed), np.random.default_rng(seed)
    templates = []
    for i, (scene, size) in enumerate((("us_rgb", (640, 480)), ("us_mono", (640, 480)), ("us_rgb", (800, 600)),
                                       ("us_mono", (800, 600)))):
        name = f"tpl{i}"
        gb.make_case(tdir, name, rng, nprng, scene, jpeg=True, size=size)
        templates.append(pydicom.dcmread(os.path.join(tdir, name + ".dcm")))
    base = datetime.date(2021, 2, 8)
    total = 0
    for idx in range(n):
        study, series, n_in_series = study_of(idx, n)
        pat = ct.patient_of(seed, 80 + study // 2)
        sdate = base + datetime.timedelta(days=study * 13 + seed)
        dt = sdate.strftime("%Y%m%d")
        ds = templates[idx % len(templates)]
        ds.SOPInstanceUID = ct.uid(seed, "us-sop", idx)
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
        ds.StudyInstanceUID = ct.uid(seed, "us-study", study)
        ds.SeriesInstanceUID = ct.uid(seed, "us-series", study, series)
        ds.PatientName = pat["name"]
        ds.PatientID = pat["id"]
        ds.PatientBirthDate = pat["birth"]
        ds.PatientSex = pat["sex"]
        ds.PatientAddress = pat["address"]
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = dt
        ds.StudyTime = ds.ContentTime = f"{9 + study % 8:02d}{idx % 60:02d}00"
        ds.AccessionNumber = f"ACCUS{seed}{study:04d}"
        ds.InstitutionName = ct.HOSPITALS[study % len(ct.HOSPITALS)]
        ds.ReferringPhysicianName = ct.PHYS[study % len(ct.PHYS)]
        ds.OperatorsName = "SONO^SAM"
        ds.StudyDescription = "US ABDOMEN COMPLETE"
        ds.InstanceNumber = n_in_series + 1
        ds.SeriesNumber = series + 1
        path = os.path.join(out, f"us_{idx:05d}.dcm")
        ds.save_as(path, write_like_original=False)
        total += os.path.getsize(path)
    for f in os.listdir(tdir):
        os.remove(os.path.join(tdir, f))
    os.rmdir(tdir)
    print(f"wrote {n} US JPEG instances with burned-in text ({total / 1e6:.1f} MB) to {out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("kind", choices=["mr", "us"])
    ap.add_argument("out")
    ap.add_argument("-n", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frames", type=int, default=24, help="frames per MR instance (default 24)")
    a = ap.parse_args()
    if a.kind == "mr":
        gen_mr(a.out, a.n, a.seed, a.frames)
    else:
        gen_us(a.out, a.n, a.seed)


if __name__ == "__main__":
    main()
