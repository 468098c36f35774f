#!/usr/bin/env python3
"""Instance file names (docs/decisions.md "Server storage"; src/store/dvs_blobs.h): a file is named by the keyed
hash of its store id and SOPInstanceUID, so a name is known before the instance is indexed and can be taken
by something else. The cases that brings, each seen from a client and from the data directory:

* a leftover file under the name of an instance the index does not hold (a failed batch, a crash between
  link and commit) is replaced by the next STOW of that instance, whatever it held;
* two concurrent STOWs of the same SOPInstanceUID with different bytes: one is stored (200), the other is a
  duplicate (409, 0x0111), and the file holds exactly the stored one's bytes, in every round;
* an instance whose file has the name of the rule before this one (the SHA-256 of its bytes: a data directory
  written by an older server) is still retrieved, refused as a duplicate (no file of the new rule left behind)
  and deleted with its file.
* a store deleted while STOWs into it run leaves no instance file behind (docs/decisions.md "Deleting a store
  or dataset").
* a file a kill left under an instance's name with no row is removed at the next start (not while another
  server holds DATA/blob.lock).
(A DELETE then a re-STOW of the same instance: test_server_web.py "re-STOW after DELETE"; the operation redone
after kill -9: test_server_ops.py "kill -9".) The instances are built here (pydicom, 8x8 pixels); a few seconds.
"""
import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, "/usr/lib/python3/dist-packages")

import test_server as ts  # noqa: E402  (its Server helper and curl; its checks are not run)
from test_server import check, curl  # noqa: E402

ROOT = "1.2.826.0.1.3680043.9.7433.78."
ROUNDS = 12
DELETE_DELAYS = [0.01, 0.03, 0.06, 0.1, 0.15, 0.25]
DELETE_PARTS = 400


def instance(n, variant=0):
    """Instance n as Part 10 bytes; variants differ in PatientName only (same UIDs, other bytes)."""
    return ts.tiny_instance(ROOT, n, 1, 1, "Names^Variant%d" % variant, "NAMES")


def stow(port, path, body):
    """(status, failure reasons) of one single-instance STOW."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    c.request("POST", path, body=body, headers={"Content-Type": "application/dicom"})
    r = c.getresponse()
    b = r.read()
    c.close()
    reasons = []
    if b:
        for item in json.loads(b).get("00081198", {}).get("Value", []):
            reasons += item.get("00081197", {}).get("Value", [])
    return r.status, reasons


def retrieve(web, n):
    st, _, b = curl(f"{web}/studies/{ROOT}1.1/series/{ROOT}2.1/instances/{ROOT}3.{n}", "-H",
                    "Accept: application/dicom")
    return b if st == 200 else None


def dataset_and_store(srv):
    """Dataset ds and its store st on srv: (the API's base URL, the store's STOW path)."""
    base = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l"
    curl("-X", "POST", base + "/datasets?datasetId=ds", "-d", "{}")
    curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=st", "-d", "{}")
    return base, "/v1beta1/projects/p/locations/l/datasets/ds/dicomStores/st/dicomWeb/studies"


def store_folder(data):
    """The one store's id (its folder's name), its folder under DATA and the key that names its files."""
    sid = os.listdir(os.path.join(data, "stores"))[0]
    return sid, os.path.join(data, "stores", sid), open(os.path.join(data, "keys", "naming.key"), "rb").read()


def run(tmp):
    data = os.path.join(tmp, "data")
    srv = ts.Server(data)
    try:
        base, path = dataset_and_store(srv)
        web = base + "/datasets/ds/dicomStores/st/dicomWeb"
        check(stow(srv.port, path, instance(0))[0] == 200, "STOW of a first instance")
        sid, sdir, key = store_folder(data)

        def file_of(n):
            p = os.path.join(sdir, ts.instance_name(key, sid, ROOT + "3.%d" % n))
            return open(p, "rb").read() if os.path.exists(p) else None

        # A leftover under the name of an instance not indexed: replaced, not refused and not kept.
        with open(os.path.join(sdir, ts.instance_name(key, sid, ROOT + "3.1")), "wb") as f:
            f.write(b"leftover of a failed batch")
        one = instance(1)
        st, reasons = stow(srv.port, path, one)
        check(st == 200 and file_of(1) == one and retrieve(web, 1) == one,
              f"a leftover file under the instance's name is replaced by its STOW ({st} {reasons})")

        # Concurrent STOWs of one SOPInstanceUID with different bytes: one stored, one 0x0111, the file whole.
        bad = []
        for r in range(ROUNDS):
            n = 100 + r
            bodies = [instance(n, 1), instance(n, 2)]
            out = [None, None]
            go = threading.Barrier(2)

            def send(i):
                go.wait()
                out[i] = stow(srv.port, path, bodies[i])

            threads = [threading.Thread(target=send, args=(i,)) for i in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            won = [i for i in (0, 1) if out[i][0] == 200]
            lost = [i for i in (0, 1) if out[i] == (409, [0x0111])]
            if len(won) != 1 or len(lost) != 1 or file_of(n) != bodies[won[0]] or retrieve(web, n) != bodies[won[0]]:
                bad.append((r, out))
        check(not bad, f"concurrent STOWs of one SOPInstanceUID: one stored, one 0x0111, its bytes on disk ({bad[:3]})")
        check(not [f for f in os.listdir(sdir) if not f.endswith(".dcm")], "no temporary file left in the store")

        # A store deleted while STOWs into it run: no instance file outlives it (they hold patient data, and a
        # deleted store's id is never used again, so no later put would replace them).
        live = set(os.listdir(os.path.join(data, "stores")))
        leftovers = []
        for r, delay in enumerate(DELETE_DELAYS):
            name = "gone%d" % r
            curl("-X", "POST", base + "/datasets/ds/dicomStores?dicomStoreId=" + name, "-d", "{}")
            spath = "/v1beta1/projects/p/locations/l/datasets/ds/dicomStores/%s/dicomWeb/studies" % name
            parts = [[instance(1000 + 200 * t + i) for i in range(DELETE_PARTS)] for t in range(2)]
            results = [None, None]

            def send(t):
                boundary = b"dv-gone-7f3a"
                body = b"".join(b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n" + x + b"\r\n"
                                for x in parts[t]) + b"--" + boundary + b"--\r\n"
                c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
                try:
                    c.request("POST", spath, body=body, headers={
                        "Content-Type": 'multipart/related; type="application/dicom"; boundary=dv-gone-7f3a'})
                    results[t] = c.getresponse().status
                except OSError as e:
                    results[t] = str(e)
                c.close()

            threads = [threading.Thread(target=send, args=(t,)) for t in (0, 1)]
            for t in threads:
                t.start()
            time.sleep(delay)
            st, _, _ = curl("-X", "DELETE", base + "/datasets/ds/dicomStores/" + name)
            for t in threads:
                t.join()
            for d in set(os.listdir(os.path.join(data, "stores"))) - live:
                files = os.listdir(os.path.join(data, "stores", d))
                if files:
                    leftovers.append((r, st, results, d, len(files)))
        check(not leftovers, f"store deleted during STOWs: no instance file left in a deleted store ({leftovers[:3]})")

        # An instance stored under the SHA-256 name of the rule before: read, refused again, deleted.
        old = instance(2)
        check(stow(srv.port, path, old)[0] == 200, "STOW of the instance to rename")
    finally:
        check(srv.stop() == 0, "first server exits 0")
    new_name = ts.instance_name(key, sid, ROOT + "3.2")
    old_name = hashlib.sha256(old).hexdigest() + ".dcm"
    os.rename(os.path.join(sdir, new_name), os.path.join(sdir, old_name))
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    db.execute("UPDATE instances SET blob=? WHERE sop_uid=?", (old_name[:-4], ROOT + "3.2"))
    db.commit()
    db.close()
    srv = ts.Server(data)
    try:
        web = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/ds/dicomStores/st/dicomWeb"
        check(retrieve(web, 2) == old, "an instance file under its old SHA-256 name is retrieved")
        st, reasons = stow(srv.port, path, old)
        check((st, reasons) == (409, [0x0111]) and not os.path.exists(os.path.join(sdir, new_name))
              and os.path.exists(os.path.join(sdir, old_name)),
              f"its re-STOW is a duplicate and leaves no file of the new rule ({st} {reasons})")
        st, _, _ = curl("-X", "DELETE", f"{web}/studies/{ROOT}1.1/series/{ROOT}2.1/instances/{ROOT}3.2")
        check(st == 200 and not os.path.exists(os.path.join(sdir, old_name)), f"DELETE removes the old-named file ({st})")
    finally:
        check(srv.stop() == 0, "second server exits 0")


def sweep(tmp):
    """A server killed between a put's name and its row leaves a whole instance under its name with no row (red
    team round 5, finding 04a): the next start removes every such file (src/http/blob_sweep.c), not the indexed
    ones nor a hidden temporary file (a put in flight on a file system without O_TMPFILE), and not while another
    server holds DATA/blob.lock (a put of its own between name and row)."""
    data = os.path.join(tmp, "sweep")
    srv = ts.Server(data)
    try:
        base, path = dataset_and_store(srv)
        kept = {n: instance(n) for n in range(3)}
        check(all(stow(srv.port, path, b)[0] == 200 for b in kept.values()), "sweep: STOW of three instances")
    finally:
        check(srv.stop() == 0, "sweep: first server exits 0")
    sid, sdir, key = store_folder(data)
    indexed = sorted(os.listdir(sdir))
    # The state a kill leaves: whole instances linked under their names, no row (in a live store, and in the folder
    # of a store whose row is gone); beside them a hidden temporary name of a put not yet named.
    orphans = [os.path.join(sdir, ts.instance_name(key, sid, ROOT + "3.%d" % n)) for n in (50, 51)]
    os.makedirs(os.path.join(data, "stores", "999"), mode=0o700)
    orphans.append(os.path.join(data, "stores", "999", ts.instance_name(key, "999", ROOT + "3.52")))
    for n, p in enumerate(orphans):
        with open(p, "wb") as f:
            f.write(instance(50 + n))
    tmpname = os.path.join(sdir, ".tmp-0123456789abcdef")
    with open(tmpname, "wb") as f:
        f.write(instance(60))
    # Another server's put between name and row holds DATA/blob.lock shared: no sweep then.
    import fcntl
    lk = os.open(os.path.join(data, "blob.lock"), os.O_RDWR)
    fcntl.flock(lk, fcntl.LOCK_SH)
    srv = ts.Server(data, wait_s=20)
    check(srv.stop() == 0, "sweep: server started beside a held blob lock exits 0")
    os.close(lk)
    check(all(os.path.exists(p) for p in orphans), "sweep: nothing removed while another server holds DATA/blob.lock")
    check(any('"unindexed file sweep skipped"' in line for line in srv.lines), "sweep: the skipped sweep is logged")
    srv = ts.Server(data)
    try:
        web = f"http://127.0.0.1:{srv.port}/v1beta1/projects/p/locations/l/datasets/ds/dicomStores/st/dicomWeb"
        check(not any(os.path.exists(p) for p in orphans), "unindexed files are swept at start")
        check(os.path.exists(tmpname), "sweep: a hidden temporary file (a put not yet named) is left alone")
        check(sorted(f for f in os.listdir(sdir) if f.endswith(".dcm")) == indexed
              and all(retrieve(web, n) == b for n, b in kept.items()), "sweep: the indexed instances are untouched")
        logged = [json.loads(line) for line in srv.lines if '"unindexed files removed"' in line]
        check(len(logged) == 1 and logged[0].get("files") == 3 and logged[0].get("stores") == 2,
              f"sweep: one log line with the counts ({logged})")
        check(not any(ROOT in line or sdir in line for line in srv.lines), "sweep: the log names no UID nor path")
    finally:
        check(srv.stop() == 0, "sweep: last server exits 0")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-names-")
    try:
        run(tmp)
        sweep(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if ts.fails:
        print(f"test_server_names: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_names: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
