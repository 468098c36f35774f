#!/usr/bin/python3
"""Write the committed seed corpora of the image fuzz targets (tests/fuzz/corpus/{rle,jpeg_lossless,
image_decode}/) from small frames of the shared corpus, in the 8-byte-prefix layout of fuzz_image_common.h.
JPEG lossless seeds for selection values 2-7 and a point transform are made with dcmtk's dcmcjpeg.
Re-run after changing the layout: /usr/bin/python3 tests/fuzz/make_image_seeds.py"""
import os
import struct
import subprocess
import tempfile
import warnings
import zlib

import pydicom
from pydicom.encaps import generate_pixel_data_frame

warnings.simplefilter("ignore")
HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.abspath(os.path.join(HERE, "..", "..", "..", "shared", "data", "dicom"))
PHOTO = ["MONOCHROME2", "MONOCHROME1", "RGB", "YBR_FULL", "YBR_FULL_422", "PALETTE COLOR", "YBR_RCT", "YBR_ICT"]
BA = {8: 0, 16: 1, 32: 2, 1: 3}
SEL = {"native": 0, "native_be": 1, "jpeg": 2, "jpegls": 3, "j2k": 4, "htj2k": 5, "deflate": 6, "rle": 7}


def prefix(ds, sel=0, nframes=1):
    spp = int(ds.get("SamplesPerPixel", 1))
    b5 = (1 if spp == 3 else 0) | BA[int(ds.BitsAllocated)] << 1 | int(ds.get("PixelRepresentation", 0)) << 3 \
        | int(ds.get("PlanarConfiguration", 0) or 0) << 4 | PHOTO.index(str(ds.PhotometricInterpretation).strip()) << 5
    return struct.pack("<BHHBBB", sel, int(ds.Rows) - 1, int(ds.Columns) - 1, b5,
                       int(ds.get("BitsStored", ds.BitsAllocated)) - 1, nframes - 1)


def frame0(ds):
    n = int(ds.get("NumberOfFrames", 1) or 1)
    return next(generate_pixel_data_frame(ds.PixelData, n))


def write(target, name, data):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    rd = lambda p: pydicom.dcmread(os.path.join(CORPUS, p))
    for p, name in [("pydicom/MR_small_RLE.dcm", "mr16s"), ("pydicom/SC_rgb_rle.dcm", "rgb8"),
                    ("pydicom/rtdose_rle_1frame.dcm", "dose32"), ("pydicom/SC_rgb_rle_16bit.dcm", "rgb16")]:
        ds = rd(p)
        write("rle", name, prefix(ds, SEL["rle"]) + frame0(ds))
        write("image_decode", "rle-" + name, prefix(ds, SEL["rle"]) + frame0(ds))
    for p, name in [("fo-dicom/GH184.dcm", "ct16s-sv1"), ("pydicom/SC_rgb_jpeg_gdcm.dcm", "rgb8-sv1")]:
        ds = rd(p)
        write("jpeg_lossless", name, prefix(ds) + frame0(ds))
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(CORPUS, "pydicom", "MR_small.dcm")
        for sv, pt in [(2, 0), (3, 0), (4, 0), (5, 0), (6, 0), (7, 0), (1, 2)]:
            out = os.path.join(tmp, f"sv{sv}.dcm")
            subprocess.run(["dcmcjpeg", "+el", "+sv", str(sv), "+pt", str(pt), src, out], check=True)
            ds = pydicom.dcmread(out)
            write("jpeg_lossless", f"mr16s-sv{sv}-pt{pt}", prefix(ds) + frame0(ds))
    for p, sel, name in [("pydicom/SC_rgb_small_odd_jpeg.dcm", "jpeg", "jpeg-ybr-3x3"),
                         ("pydicom/SC_rgb_jpeg_dcmtk.dcm", "jpeg", "jpeg-ybr"),
                         ("pydicom/MR_small_jpeg_ls_lossless.dcm", "jpegls", "jls-mr16s"),
                         ("pydicom/JPEGLSNearLossless_08.dcm", "jpegls", "jls-near8"),
                         ("pydicom/MR_small_jp2klossless.dcm", "j2k", "j2k-mr16s"),
                         ("pydicom/SC_rgb_gdcm_KY.dcm", "j2k", "j2k-rgb8"),
                         # the only HTJ2K file is 235 KB (too slow a seed): HT paths start from mutations
                         ("pydicom/SC_rgb_gdcm_KY.dcm", "htj2k", "htj2k-sel-j2k-rgb8")]:
        ds = rd(p)
        write("image_decode", name, prefix(ds, SEL[sel]) + frame0(ds))
    ds = rd("pydicom/MR_small.dcm")
    write("image_decode", "native-mr16s", prefix(ds, SEL["native"]) + ds.PixelData)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    write("image_decode", "deflate-mr16s", prefix(ds, SEL["deflate"]) + comp.compress(ds.PixelData) + comp.flush())
    ds = rd("pydicom/MR_small_bigendian.dcm")
    write("image_decode", "native-be-mr16s", prefix(ds, SEL["native_be"]) + ds.PixelData)


def dct_seeds():
    """fuzz_jpeg_dct: tiny JPEGs made here with Pillow (greyscale, YCbCr 4:4:4 / 4:2:2 / 4:2:0) behind the
    attribute prefix (byte 0: box count) and two boxes (x, y, w, h as LE16)."""
    import io
    from PIL import Image
    for name, mode, sub, photo in [("grey", "L", 0, "MONOCHROME2"), ("ybr444", "RGB", 0, "YBR_FULL"),
                                   ("ybr422", "RGB", 1, "YBR_FULL_422"), ("ybr420", "RGB", 2, "YBR_FULL_422")]:
        w, h = 24, 18
        im = Image.new(mode, (w, h))
        im.putdata([(x * 9 + y * 5) % 256 if mode == "L" else ((x * 9) % 256, (y * 13) % 256, (x * y) % 256)
                    for y in range(h) for x in range(w)])
        buf = io.BytesIO()
        im.save(buf, "JPEG", quality=75, subsampling=sub)
        spp = 1 if mode == "L" else 3
        b5 = (1 if spp == 3 else 0) | BA[8] << 1 | PHOTO.index(photo) << 5
        pre = struct.pack("<BHHBBB", 2, h - 1, w - 1, b5, 7, 0)
        boxes = struct.pack("<4H", 3, 2, 5, 4) + struct.pack("<4H", 17, 12, 30, 30)
        write("jpeg_dct", name, pre + boxes + buf.getvalue())


def codestream_seeds():
    """fuzz_codestream: byte 0 the family (0 JPEG, 16 JPEG-LS, 1 JPEG 2000; no cuts), then frame 0's bytes, at most 6 KiB;
    plus a JPEG with the segments the walk clears (APP1, COM, a JFIF thumbnail, bytes after EOI) cut in 3."""
    picks = [("jpeg-odd", "pydicom/SC_rgb_small_odd_jpeg.dcm", 0), ("jpeg-ljif-com", "pydicom-data/JPGLosslessP14SV1_1s_1f_8b.dcm", 0),
             ("jpegls-spiff", "pydicom/SC_rgb_jls_lossy_line.dcm", 16), ("jpeg-lead-com", "dwv/leadtools-8BitsJpegLossyGrayScale.dcm", 0),
             ("jp2-boxes", "pydicom/GDCMJ2K_TextGBR.dcm", 1), ("j2k-com", "pydicom/MR_small_jp2klossless.dcm", 1),
             ("htj2k", "pydicom-data/HTJ2K_08_RGB.dcm", 1)]
    for name, path, fam in picks:
        ds = pydicom.dcmread(os.path.join(CORPUS, path), force=True)
        write("codestream", name, bytes([fam]) + frame0(ds)[:6144])
    def seg(m, body):
        return bytes([0xFF, m]) + struct.pack(">H", len(body) + 2) + body
    jpeg = (b"\xff\xd8" + seg(0xE0, b"JFIF\0\1\1\0\0\1\0\1\1\1abc") + seg(0xE1, b"Exif\0\0text") + seg(0xFE, b"note")
            + seg(0xDB, bytes(65)) + seg(0xC0, b"\x08\0\1\0\1\1\1\x11\0") + seg(0xDA, b"\1\1\0\0\x3f\0")
            + b"\x12\xff\x00\x34\xff\xd0\x56" + b"\xff\xd9tail")
    write("codestream", "jpeg-segments-cut", bytes([3 << 1]) + struct.pack("<3H", 20, 45, 150) + jpeg)
    # RLE (bit 3), planes of 1 + 9 x 1 = 10 bytes: text in an unused offset, the gap, and each segment's tail
    seg1 = bytes([0x09]) + bytes(range(10)) + b"DOE^JOHN"
    seg2 = bytes([0xFD, 7, 0x07]) + bytes(range(8)) + b"\x80ID"
    rle = struct.pack("<16I", 2, 72, 72 + len(seg1), *([0] * 13))[:12] + b"SMITH^ANNA" + bytes(42)
    write("codestream", "rle-tails", bytes([0x18]) + rle[:64] + b"GAP^TEXT" + seg1 + seg2)


if __name__ == "__main__":
    main()
    dct_seeds()
    codestream_seeds()
