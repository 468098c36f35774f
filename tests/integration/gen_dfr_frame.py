#!/usr/bin/env python3
"""Write a one-frame Deflated Image Frame Compression file of zeros: ROWS x COLS, 16 bits, MONOCHROME2.

A few KB on disk whatever its size decoded, like the red team's 522 KB file of a 512 MiB frame
(stop 40 finding 4). Used by test_cli_pixel_frame_ms.sh and test_cli_render.py.
Usage: gen_dfr_frame.py ROWS COLS OUT.dcm [SOPInstanceUID]"""
import struct
import sys
import zlib

import pydicom._uid_dict
from pydicom.dataset import FileDataset, FileMetaDataset

DEFLATE_FRAME = "1.2.840.10008.1.2.8.1"


def main():
    # this pydicom predates the transfer syntax: tell it the UID is one (an encapsulated one, so it writes the
    # dataset explicit VR little endian)
    pydicom._uid_dict.UID_dictionary.setdefault(
        DEFLATE_FRAME, ("Deflated Image Frame Compression", "Transfer Syntax", "", "", "DeflatedImageFrameCompression"))
    rows, cols, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    uid = sys.argv[4] if len(sys.argv) > 4 else "1.2.3.4.5.6.7"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    meta.MediaStorageSOPInstanceUID = uid
    meta.TransferSyntaxUID = DEFLATE_FRAME
    ds = FileDataset(out, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, uid
    ds.StudyInstanceUID, ds.SeriesInstanceUID = "1.2.3.4", "1.2.3.4.5"
    ds.Modality = "OT"
    ds.Rows, ds.Columns = rows, cols
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.PixelRepresentation = 1, "MONOCHROME2", 0
    z = zlib.compressobj(9, zlib.DEFLATED, -15)
    chunk, left, data = b"\0" * (1 << 20), rows * cols * 2, b""
    while left:
        n = min(left, len(chunk))
        data += z.compress(chunk[:n])
        left -= n
    data += z.flush()
    data += b"\0" if len(data) % 2 else b""
    # PixelData appended by hand: encapsulated, an empty offset table and one fragment
    ds.save_as(out, write_like_original=True)
    with open(out, "ab") as f:
        f.write(struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OB", 0, 0xFFFFFFFF))
        f.write(struct.pack("<HHI", 0xFFFE, 0xE000, 0))
        f.write(struct.pack("<HHI", 0xFFFE, 0xE000, len(data)) + data)
        f.write(struct.pack("<HHI", 0xFFFE, 0xE0DD, 0))


if __name__ == "__main__":
    main()
