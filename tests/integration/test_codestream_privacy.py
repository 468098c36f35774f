#!/usr/bin/python3
"""Camera-style JPEGs in DICOM (docs/decisions.md "What pixel data carries besides pixels"): a VL photograph
or a screen capture often carries an EXIF block (camera, owner, dates, GPS) and a comment beside its pixels.

Generated here with Pillow (never committed): baseline, progressive and Huffman-optimised JPEGs of one picture,
each with an EXIF block (Make, Artist, DateTime, an ImageDescription with a name) and a COM segment, two of them
split over several fragments, as VL Photographic Image instances. `dicomveil deidentify` with config `{}` must:
  - leave none of the planted strings anywhere in the output bytes, and Pillow must find no EXIF and no
    comment but zeros in the output's codestream;
  - keep the pixels: Pillow (libjpeg, an independent decoder) decodes every output frame to exactly the samples
    it decodes from the input's;
  - keep the value's length and every fragment's length.
Env (set by ctest): DV_BIN. Run with /usr/bin/python3.
"""
import io
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import pydicom
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, generate_pixel_data_fragment
from pydicom.filebase import DicomBytesIO
from pydicom.uid import JPEGBaseline8Bit

warnings.simplefilter("ignore")
DV_BIN = os.environ.get("DV_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "dicomveil")
PLANTED = [b"QUIXOTECAM", b"Zebulon Quixotely", b"2001:02:03 04:05:06", b"SMITH^ANNA", b"MRN 4471"]
FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)


def picture():
    y, x = np.indices((120, 160))
    rgb = np.stack([(x * 2) % 256, (y * 3) % 256, ((x + y) * 5) % 256], axis=-1).astype(np.uint8)
    return Image.fromarray(rgb)


def jpeg(im, **kw):
    exif = Image.Exif()
    exif[0x010F] = "QUIXOTECAM"                    # Make
    exif[0x013B] = "Zebulon Quixotely"             # Artist
    exif[0x0132] = "2001:02:03 04:05:06"           # DateTime
    exif[0x010E] = "SMITH^ANNA MRN 4471"           # ImageDescription
    b = io.BytesIO()
    im.save(b, "JPEG", quality=92, exif=exif.tobytes(), comment=b"SMITH^ANNA MRN 4471", **kw)
    return b.getvalue()


def instance(path, frame, cuts):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.77.1.4"  # VL Photographic Image
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = pydicom.uid.generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.StudyInstanceUID = pydicom.uid.generate_uid()
    ds.SeriesInstanceUID = pydicom.uid.generate_uid()
    ds.PatientName = "Quixotely^Zebulon"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = 120, 160, 3
    ds.PhotometricInterpretation = "YBR_FULL_422"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.PlanarConfiguration = 8, 8, 7, 0, 0
    # one frame over len(cuts) + 1 fragments (pydicom cuts it into pieces of even length)
    ds.PixelData = encapsulate([frame], fragments_per_frame=len(cuts) + 1)
    ds["PixelData"].is_undefined_length = True
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def fragments(path):
    ds = pydicom.dcmread(path)
    f = DicomBytesIO(ds.PixelData)
    f.is_little_endian = True
    return [bytes(x) for x in generate_pixel_data_fragment(f)][1:]  # the first item is the offset table


def decode(frags):
    data = b"".join(frags)
    end = data.rfind(b"\xff\xd9")
    im = Image.open(io.BytesIO(data[:end + 2]))
    im.draft = None
    return np.asarray(im.convert("RGB")), im


def main():
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = os.path.join(tmp, "src"), os.path.join(tmp, "dst")
        os.makedirs(src)
        im = picture()
        cases = {"baseline": (jpeg(im), []), "progressive": (jpeg(im, progressive=True), [1]),
                 "optimised": (jpeg(im, optimize=True), [1, 2])}
        inputs = {}
        for name, (frame, cuts) in cases.items():
            check(all(p in frame for p in (b"QUIXOTECAM", b"SMITH^ANNA")), f"{name}: the EXIF/COM were not planted")
            path = os.path.join(src, name + ".dcm")
            instance(path, frame, cuts)
            inputs[pydicom.dcmread(path).SOPInstanceUID] = path
        key = os.path.join(tmp, "key")
        with open(key, "wb") as f:
            f.write(os.urandom(32))
        cfg = os.path.join(tmp, "cfg.json")
        with open(cfg, "w") as f:
            f.write("{}")
        p = subprocess.run([DV_BIN, "deidentify", "-q", "--config", cfg, "--key-file", key, src, dst],
                           capture_output=True, text=True)
        check(p.returncode == 0, f"deidentify exit {p.returncode}: {p.stderr[:300]}")
        outs = [os.path.join(r, n) for r, _, ns in os.walk(dst) for n in ns if n.endswith(".dcm")]
        check(len(outs) == len(cases), f"{len(outs)} outputs for {len(cases)} inputs")
        compared = 0
        for out in outs:
            raw = open(out, "rb").read()
            for s in PLANTED:
                check(s not in raw, f"{os.path.basename(out)}: {s!r} survived in the output bytes")
            ofr = fragments(out)
            # match the input by the decoded picture's fragments' lengths (UIDs were regenerated)
            match = [path for path in inputs.values()
                     if [len(x) for x in fragments(path)] == [len(x) for x in ofr]]
            check(len(match) >= 1, f"{os.path.basename(out)}: fragment lengths changed")
            if not match:
                continue
            ifr = fragments(match[0])
            a, _ = decode(ifr)
            b, oim = decode(ofr)
            check(a.shape == b.shape and np.array_equal(a, b),
                  f"{os.path.basename(match[0])}: the pixels decode differently after de-identification")
            check(not oim.getexif(), f"{os.path.basename(match[0])}: the output still has an EXIF block")
            # the cleared segments are comments of zeros now
            check(not oim.info.get("comment", b"").strip(b"\0"),
                  f"{os.path.basename(match[0])}: the output still has a comment")
            check(oim.info.get("jfif") is not None or b"JFIF" not in b"".join(ifr),
                  f"{os.path.basename(match[0])}: the JFIF header was lost")
            compared += 1
        check(compared == len(cases), f"only {compared} of {len(cases)} outputs compared")
        print(f"test_codestream_privacy: {compared} camera-style JPEG instances compared")
    if FAILS:
        for f in FAILS:
            print("FAIL:", f)
        sys.exit(1)
    print("test_codestream_privacy: PASS")


if __name__ == "__main__":
    main()
