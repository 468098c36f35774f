#!/usr/bin/python3
"""Writes the committed seeds of fuzz_render (tests/fuzz/corpus/render/): small instances through every step of
`dicomveil render` and WADO-RS `rendered` (VOI window, PALETTE COLOR tables, RGB, MONOCHROME1, several frames).
Input layout of the target: byte 0 chooses the frame (byte % 4), the rest is a Part 10 file. Needs pydicom."""
import io
import os
import sys

from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'corpus', 'render')


def instance(rows, cols, photometric, bits, samples=1, frames=1):
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = '1.2.840.10008.5.1.4.1.1.7'
    meta.MediaStorageSOPInstanceUID = '1.2.3.4'
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    d = FileDataset(None, {}, file_meta=meta, preamble=b'\0' * 128)
    d.is_little_endian, d.is_implicit_VR = True, False
    d.SOPClassUID, d.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
    d.Rows, d.Columns, d.SamplesPerPixel = rows, cols, samples
    d.BitsAllocated, d.BitsStored, d.HighBit, d.PixelRepresentation = bits, bits, bits - 1, 0
    d.PhotometricInterpretation = photometric
    if samples == 3:
        d.PlanarConfiguration = 0
    if frames > 1:
        d.NumberOfFrames = frames
    n = rows * cols * samples * frames
    d.PixelData = bytes((i * 7) & 0xFF for i in range(n * bits // 8))
    return d


def write(name, d, frame=0):
    buf = io.BytesIO()
    d.save_as(buf, write_like_original=False)
    with open(os.path.join(OUT, name), 'wb') as f:
        f.write(bytes([frame]) + buf.getvalue())


def main():
    os.makedirs(OUT, exist_ok=True)
    d = instance(8, 8, 'MONOCHROME2', 16, frames=2)
    d.WindowCenter, d.WindowWidth = 1000, 2000
    write('mono2-16-window-2frames', d, 1)
    write('mono1-8', instance(8, 6, 'MONOCHROME1', 8))
    write('rgb-8', instance(6, 8, 'RGB', 8, samples=3))
    d = instance(8, 8, 'PALETTE COLOR', 8)
    for t in (0x00281101, 0x00281102, 0x00281103):
        d.add_new(t, 'US', [16, 0, 16])
    for t in (0x00281201, 0x00281202, 0x00281203):
        d.add_new(t, 'OW', bytes(range(32)))
    write('palette-16', d)
    return 0


if __name__ == '__main__':
    sys.exit(main())
