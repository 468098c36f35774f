#!/usr/bin/python3
"""Burned-in text of a colour the brightest channel hides (stop 38's red team; docs/decisions.md "The 8-bit view
text detection and OCR see"): red or blue print on white, blue on yellow, green on red, magenta on green through
a palette. The detector's view of a colour frame is its brightest channel, where such text has the background's
level, so REDACT_ALL_TEXT wrote it untouched (and BurnedInAnnotation NO). Each channel is now searched too.

Each case draws three lines in DejaVu Sans into a 512 x 512 frame, runs `dicomveil deidentify` with
REDACT_ALL_TEXT, and checks that no line is left readable: the glyph pixels of every line no longer differ from
their background (less than 10 % of the contrast left). Controls: white on black and black on white (seen by
the brightest channel before), and a colour photograph-like gradient without text stays untouched.
Env (set by ctest): DV_BIN. Run with /usr/bin/python3.
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom
from PIL import Image, ImageDraw, ImageFont
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

warnings.simplefilter("ignore")
SRC_DIR = os.environ.get("DV_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DV_BIN = os.environ.get("DV_BIN") or os.path.join(SRC_DIR, "build", "dicomveil")
FONT = ImageFont.truetype("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 22)
LINES = ["XQZT^VRBNIK", "MRN 4471902", "DOB 1971-03-04"]
fails = []


def dataset(uid):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = "Xqzt^Vrbnik", "MRN4471902", "OT"
    ds.Rows = ds.Columns = 512
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    return ds


def text_mask():
    """The glyph pixels of the three lines, and each line's box."""
    img = Image.new("L", (512, 512), 0)
    d = ImageDraw.Draw(img)
    boxes = []
    for i, s in enumerate(LINES):
        x, y = 30, 40 + 60 * i
        d.text((x, y), s, font=FONT, fill=255)
        l, t, r, b = d.textbbox((x, y), s, font=FONT)
        boxes.append((l, t, r, b))
    return np.asarray(img) >= 128, boxes


def rgb_case(folder, name, bg, fg):
    mask, boxes = text_mask()
    px = np.zeros((512, 512, 3), np.uint8)
    px[:] = bg
    px[mask] = fg
    ds = dataset(generate_uid())
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
    ds.PixelData = px.tobytes()
    ds.save_as(os.path.join(folder, name + ".dcm"), write_like_original=False)
    return ds.SOPInstanceUID, mask, boxes


def palette_case(folder, name):
    """Index 1 (magenta) text on index 0 (green): both have a channel at 65535."""
    mask, boxes = text_mask()
    idx = np.zeros((512, 512), np.uint8)
    idx[mask] = 1
    lut = {"Red": [0, 65535], "Green": [65535, 0], "Blue": [0, 65535]}
    ds = dataset(generate_uid())
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "PALETTE COLOR"
    for c, v in lut.items():
        setattr(ds, f"{c}PaletteColorLookupTableDescriptor", [256, 0, 16])
        setattr(ds, f"{c}PaletteColorLookupTableData", np.array(v + [0] * 254, "<u2").tobytes())
    ds.PixelData = idx.tobytes()
    ds.save_as(os.path.join(folder, name + ".dcm"), write_like_original=False)
    return ds.SOPInstanceUID, mask, boxes


def as_rgb(ds):
    px = ds.pixel_array
    if ds.PhotometricInterpretation == "PALETTE COLOR":
        from pydicom.pixel_data_handlers.util import apply_color_lut
        px = apply_color_lut(px, ds)
    return px.astype(np.int64)


def left_contrast(before, after, mask, box):
    """The share of a line's glyph/background contrast left after (1.0: untouched, 0: gone)."""
    l, t, r, b = box
    m = mask[t:b, l:r]
    a, o = before[t:b, l:r], after[t:b, l:r]
    was = np.abs(a[m].mean(0) - a[~m].mean(0)).max()
    now = np.abs(o[m].mean(0) - o[~m].mean(0)).max()
    return now / was


def main():
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "src"), os.path.join(tmp, "dst")
        os.makedirs(src)
        cases = {
            "red_on_white": rgb_case(src, "red_on_white", (255, 255, 255), (255, 0, 0)),
            "blue_on_white": rgb_case(src, "blue_on_white", (255, 255, 255), (0, 0, 255)),
            "blue_on_yellow": rgb_case(src, "blue_on_yellow", (255, 255, 0), (0, 0, 255)),
            "green_on_red": rgb_case(src, "green_on_red", (230, 0, 0), (0, 230, 0)),
            "white_on_black": rgb_case(src, "white_on_black", (0, 0, 0), (255, 255, 255)),
            "black_on_white": rgb_case(src, "black_on_white", (255, 255, 255), (0, 0, 0)),
            "palette_magenta_on_green": palette_case(src, "palette_magenta_on_green"),
        }
        # no text: a smooth colour gradient (sky to sea), which no channel may mistake for text
        ds = dataset(generate_uid())
        yy, xx = np.mgrid[0:512, 0:512]
        grad = np.stack([(xx // 2) % 256, (yy // 2) % 256, np.full_like(xx, 128)], -1).astype(np.uint8)
        ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PlanarConfiguration = 3, "RGB", 0
        ds.PixelData = grad.tobytes()
        ds.save_as(os.path.join(src, "gradient.dcm"), write_like_original=False)
        plain = ds.SOPInstanceUID

        cfg = os.path.join(tmp, "cfg.json")
        with open(cfg, "w") as f:
            f.write('{"dicom":{"filterProfile":"DEIDENTIFY_TAG_CONTENTS"},'
                    '"image":{"textRedactionMode":"REDACT_ALL_TEXT"}}')
        key = os.path.join(tmp, "key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        os.chmod(key, 0o600)
        mapping = os.path.join(tmp, "map.csv")
        p = subprocess.run([DV_BIN, "deidentify", "--config", cfg, "--key-file", key, "-j", "1", "-q", "-m", mapping,
                            src, dst], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"FAIL: deidentify exit {p.returncode}: {p.stderr[-400:]}")
            return 1
        import csv
        out = {}
        for row in csv.DictReader(open(mapping)):
            out[row["original_sop_uid"]] = os.path.join(dst, row["study_uid"], row["series_uid"],
                                                        row["sop_uid"] + ".dcm")
        for name, (uid, mask, boxes) in cases.items():
            before = as_rgb(pydicom.dcmread(os.path.join(src, name + ".dcm")))
            after_ds = pydicom.dcmread(out[uid])
            after = as_rgb(after_ds)
            left = [round(float(left_contrast(before, after, mask, b)), 3) for b in boxes]
            if max(left) >= 0.1:
                fails.append(f"{name}: contrast left per line {left} (the text is still readable)")
            if after_ds.get("BurnedInAnnotation") != "NO":
                fails.append(f"{name}: BurnedInAnnotation {after_ds.get('BurnedInAnnotation')}")
        g_after = pydicom.dcmread(out[plain]).pixel_array
        if not np.array_equal(g_after, grad):
            fails.append(f"gradient without text: {int((g_after != grad).any(-1).sum())} pixels changed")
    for f in fails:
        print("FAIL: " + f)
    print("test_colour_text: " + ("FAIL" if fails else "PASS"))
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
