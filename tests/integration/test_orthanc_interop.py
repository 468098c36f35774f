#!/usr/bin/env python3
"""Orthanc as a second real DICOMweb client of `dicomveil serve` (issue 7 acceptance).

Debian's `orthanc` + `orthanc-dicomweb` (Makefile DEB_PACKAGES; missing packages FAIL this test, they never
skip it) are started here, as whatever user runs the test (root in CI is fine: Orthanc needs no privilege),
from a temporary JSON configuration: HTTP on a free loopback port with RemoteAccessAllowed false, its DICOM
server disabled (no DICOM port at all), storage and index in a temporary directory, and the DicomWeb plugin
(/usr/share/orthanc/plugins/libOrthancDicomWeb.so, from `dpkg -L orthanc-dicomweb`) configured with our
store as the DICOMweb server "dicomveil".

The round trip: the study of ../shared/data/dicom/dcm_qa_ts (9 instances, one per transfer syntax) is
uploaded to Orthanc over its REST API; Orthanc pushes it to our STOW-RS endpoint
(/dicom-web/servers/dicomveil/stow); the study is deleted from Orthanc; Orthanc retrieves it back over our
WADO-RS (/dicom-web/servers/dicomveil/retrieve); every file Orthanc then holds must be byte-identical to the
original. Both servers are stopped at the end, also on failure (Orthanc is killed if SIGTERM is not enough).
"""
import json
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
from test_server import Server, curl, check, fails, SHARED  # noqa: E402
import orthanc_local  # noqa: E402  (one home for starting Orthanc: tools/orthanc_local.py, also bench/)
from orthanc_local import ORTHANC, free_port, stop  # noqa: E402

PLUGIN = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"
STUDY_DIR = os.path.join(SHARED, "dicom", "dcm_qa_ts")


def orthanc(port, method, path, body=None, ctype="application/json", timeout=30):
    return orthanc_local.call(port, method, path, body, ctype, timeout)


def start_orthanc(tmp, port, dicomweb_url):
    return orthanc_local.start(tmp, port, "dicomveil-interop", {
        "ConcurrentJobs": 1,
        "HttpThreadsCount": 4,
        "Plugins": [PLUGIN],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False,
                     "Servers": {"dicomveil": [dicomweb_url]}},
    })


def main():
    missing = [p for p in (ORTHANC, PLUGIN) if not os.path.exists(p)]
    if missing:
        print("FAIL: Orthanc is not installed (make deps installs orthanc and orthanc-dicomweb): missing %s"
              % missing, file=sys.stderr)
        return 1
    tmp = tempfile.mkdtemp(prefix="dv-orthanc-")
    srv = proc = None
    t0 = time.time()
    try:
        srv = Server(os.path.join(tmp, "data"))
        base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
        curl("-X", "POST", base + "/datasets?datasetId=ds", "-d", "{}")
        curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=st", "-d", "{}")
        web = base + "/datasets/ds/dicomStores/st/dicomWeb/"
        port = free_port()
        proc = start_orthanc(tmp, port, web)
        st, b = orthanc(port, "GET", "/system")
        if not check(st == 200, f"Orthanc started on 127.0.0.1:{port} ({st})"):
            print(open(os.path.join(tmp, "orthanc.log")).read()[-3000:], file=sys.stderr)
            return 1
        st, b = orthanc(port, "GET", "/plugins/dicom-web")
        check(st == 200, f"Orthanc loaded the DicomWeb plugin ({st})")

        originals = {}
        study_ids = set()
        for name in sorted(os.listdir(STUDY_DIR)):
            data = open(os.path.join(STUDY_DIR, name), "rb").read()
            st, b = orthanc(port, "POST", "/instances", data, "application/dicom")
            r = json.loads(b) if st == 200 else {}
            check(st == 200 and r.get("Status") in ("Success", "AlreadyStored"), f"upload {name} to Orthanc ({st})")
            study_ids.add(r.get("ParentStudy"))
            originals[r.get("ID")] = data
        check(len(study_ids) == 1 and len(originals) == 9, f"one study of 9 instances in Orthanc ({len(study_ids)})")
        study = study_ids.pop()
        st, b = orthanc(port, "GET", f"/studies/{study}")
        study_uid = json.loads(b)["MainDicomTags"]["StudyInstanceUID"] if st == 200 else ""

        # Orthanc -> our STOW-RS
        st, b = orthanc(port, "POST", "/dicom-web/servers/dicomveil/stow", {"Resources": [study], "Synchronous": True},
                        timeout=60)
        check(st == 200, f"Orthanc STOW to dicomveil: 200 ({st} {b[:300]!r})")
        st, _, b = curl(web + f"studies/{study_uid}/instances")
        got = json.loads(b) if st == 200 else []
        check(len(got) == 9, f"dicomveil holds the 9 instances Orthanc pushed ({len(got)})")

        # forget them in Orthanc, then Orthanc's DICOMweb client retrieves the study from us
        st, _ = orthanc(port, "DELETE", f"/studies/{study}")
        st2, b = orthanc(port, "GET", "/instances")
        check(st == 200 and json.loads(b) == [], "Orthanc emptied before the retrieve")
        st, b = orthanc(port, "POST", "/dicom-web/servers/dicomveil/retrieve",
                        {"Resources": [{"Study": study_uid}], "Synchronous": True}, timeout=60)
        check(st == 200, f"Orthanc WADO-RS retrieve from dicomveil: 200 ({st} {b[:300]!r})")
        st, b = orthanc(port, "GET", "/instances")
        ids = json.loads(b) if st == 200 else []
        check(sorted(ids) == sorted(originals), f"Orthanc holds the same 9 instances again ({len(ids)})")
        same = 0
        for i in ids:
            st, data = orthanc(port, "GET", f"/instances/{i}/file")
            if check(st == 200 and data == originals.get(i), f"instance {i[:8]}: byte-identical after the round trip"):
                same += 1
        check(same == 9, f"round trip byte-identical for all 9 instances ({same})")
        print(f"orthanc interop: {same}/9 byte-identical, {time.time() - t0:.1f} s")
    finally:
        stop(proc)
        if srv:
            srv.stop()
        if fails:
            log = os.path.join(tmp, "orthanc.log")
            if os.path.exists(log):
                print(open(log).read()[-3000:], file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print(f"{len(fails)} check(s) failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
