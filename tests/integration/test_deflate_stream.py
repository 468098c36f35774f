#!/usr/bin/env python3
"""A deflated file whose dataset inflates to ~200 MB de-identifies through the CLI with bounded memory.

Issue 5 item 12 (docs/decisions.md "Deflated datasets stream"): the dataset of a Deflated Explicit VR Little
Endian file is inflated streaming, so a large OB value inside it streams like native pixel data does.
Checks: exit 0 and one output; the CLI's peak RSS stays far below the inflated size; the output is deflated
again, pydicom reads it, its PixelData is byte-identical to the input's, and the PHI element is gone.
Env (set by ctest): DV_BIN. Run with /usr/bin/python3.
"""
import os
import resource
import struct
import subprocess
import sys
import tempfile
import zlib

import pydicom

DV_BIN = os.environ.get("DV_BIN") or os.path.join(os.path.dirname(__file__), "..", "..", "build", "dicomveil")
VALUE_BYTES = 200 * 1000 * 1000
BLOCK = 65536
DEFLATED = b"1.2.840.10008.1.2.1.99"
SOP_CLASS = b"1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture


def pad(v, ch=b"\0"):
    return v + ch if len(v) % 2 else v


def el(tag, vr, value):
    g, e = tag >> 16, tag & 0xFFFF
    if vr in (b"OB", b"OW", b"UN", b"SQ", b"UT"):
        return struct.pack("<HH", g, e) + vr + b"\0\0" + struct.pack("<I", len(value)) + value
    return struct.pack("<HH", g, e) + vr + struct.pack("<H", len(value)) + value


def block(i):
    # Mostly repetitive (deflates well) but every 64 KiB block differs, so a misplaced block is caught.
    return struct.pack("<Q", i) + bytes((j * 7) & 0xFF for j in range(256)) * ((BLOCK - 8) // 256) + b"\xAB" * 248


BASE = block(0)[8:]


def value_chunks():
    for i in range(VALUE_BYTES // BLOCK):
        yield struct.pack("<Q", i) + BASE
    rest = VALUE_BYTES % BLOCK
    if rest:
        yield (struct.pack("<Q", VALUE_BYTES // BLOCK) + BASE)[:rest]


def make_input(path):
    meta_body = (el(0x00020001, b"OB", b"\0\1") + el(0x00020002, b"UI", pad(SOP_CLASS))
                 + el(0x00020003, b"UI", pad(b"2.25.4242")) + el(0x00020010, b"UI", pad(DEFLATED))
                 + el(0x00020012, b"UI", pad(b"1.2.3.4")))
    meta = b"\0" * 128 + b"DICM" + el(0x00020000, b"UL", struct.pack("<I", len(meta_body))) + meta_body
    ds_head = (el(0x00080016, b"UI", pad(SOP_CLASS)) + el(0x00080018, b"UI", pad(b"2.25.4242"))
               + el(0x00100010, b"PN", pad(b"STREAM^PATIENT", b" ")) + el(0x0020000D, b"UI", pad(b"2.25.7"))
               + el(0x0020000E, b"UI", pad(b"2.25.8")))
    px_header = struct.pack("<HH", 0x7FE0, 0x0010) + b"OB\0\0" + struct.pack("<I", VALUE_BYTES)
    co = zlib.compressobj(1, zlib.DEFLATED, -15)
    with open(path, "wb") as f:
        f.write(meta)
        f.write(co.compress(ds_head + px_header))
        for c in value_chunks():
            f.write(co.compress(c))
        f.write(co.flush())


def main():
    failures = []
    with tempfile.TemporaryDirectory(prefix="dv-deflate-") as tmp:
        src = os.path.join(tmp, "in")
        os.mkdir(src)
        make_input(os.path.join(src, "big_deflated.dcm"))
        size = os.path.getsize(os.path.join(src, "big_deflated.dcm"))
        key = os.path.join(tmp, "key")
        with open(key, "wb") as f:
            f.write(b"dicomveil-deflate-stream-key-001")
        os.chmod(key, 0o600)
        cfg = os.path.join(tmp, "config.json")
        with open(cfg, "w") as f:
            f.write("{}")
        dst = os.path.join(tmp, "out")
        cmd = [DV_BIN, "deidentify", "--config", cfg, "--key-file", key, "--jobs", "1", "--quiet", src, dst]
        # GNU time reports the CLI's own peak RSS (getrusage of our children would include this Python
        # process: subprocess spawns with vfork, and the child inherits the parent's high-water mark).
        rss_file = os.path.join(tmp, "rss")
        timed = ["/usr/bin/time", "-f", "%M", "-o", rss_file] + cmd if os.path.exists("/usr/bin/time") else cmd
        p = subprocess.run(timed, capture_output=True, text=True, errors="replace", timeout=600)
        if timed is cmd:
            peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0  # an upper bound
        else:
            with open(rss_file) as f:
                peak_mb = int(f.read().split()[-1]) / 1024.0
        print(f"  input {size} bytes deflated, {VALUE_BYTES} bytes of value; CLI exit {p.returncode}, "
              f"peak RSS {peak_mb:.1f} MB")
        if p.returncode != 0:
            failures.append(f"CLI failed: {p.stderr.strip()[-300:]}")
        # Far below the 200 MB the dataset inflates to (sanitizer builds carry shadow memory: more room).
        limit_mb = 128 if "asan" in DV_BIN else 32
        if peak_mb > limit_mb:
            failures.append(f"peak RSS {peak_mb:.1f} MB exceeds {limit_mb} MB")
        outs = [os.path.join(d, n) for d, _, ns in os.walk(dst) for n in ns if n.endswith(".dcm")]
        if len(outs) != 1:
            failures.append(f"expected one output, found {len(outs)}")
        else:
            ds = pydicom.dcmread(outs[0])
            if ds.file_meta.TransferSyntaxUID != DEFLATED.decode():
                failures.append(f"output transfer syntax {ds.file_meta.TransferSyntaxUID}")
            if "PatientName" in ds and str(ds.PatientName) == "STREAM^PATIENT":
                failures.append("PatientName survived")
            px = ds.PixelData
            if len(px) != VALUE_BYTES:
                failures.append(f"PixelData is {len(px)} bytes, expected {VALUE_BYTES}")
            else:
                pos = 0
                for c in value_chunks():
                    if px[pos:pos + len(c)] != c:
                        failures.append(f"PixelData differs in the block at byte {pos}")
                        break
                    pos += len(c)
    for f in failures:
        print("FAIL:", f)
    print("test_deflate_stream:", "FAIL" if failures else "ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
