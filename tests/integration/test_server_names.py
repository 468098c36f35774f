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
  server holds DATA/blob.lock);
* a hidden temporary file of a put killed on the named-temp path (no O_TMPFILE) is removed at the next start,
  one whose writer still holds its flock is not;
* what DICOMweb DELETEs forgot leaves the running server's index files once the index has been idle.
(A DELETE then a re-STOW of the same instance: test_server_web.py "re-STOW after DELETE"; the operation redone
after kill -9: test_server_ops.py "kill -9".) The instances are built here (pydicom, 8x8 pixels); a few seconds.
"""
import hashlib
import http.client
import json
import os
import shutil
import socket
import sqlite3
import subprocess
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
    ones nor a hidden temporary file its writer holds locked (a put in flight on a file system without O_TMPFILE),
    and not while another server holds DATA/blob.lock (a put of its own between name and row)."""
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
    # A put of another server in flight on a file system without O_TMPFILE: its hidden name, locked by its writer.
    tmpname = os.path.join(sdir, ".tmp-0123456789abcdef")
    writer = hold_locked(tmpname, instance(60))
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
        check(os.path.exists(tmpname), "sweep: a hidden temporary file its live writer holds locked is left alone")
        check(sorted(f for f in os.listdir(sdir) if f.endswith(".dcm")) == indexed
              and all(retrieve(web, n) == b for n, b in kept.items()), "sweep: the indexed instances are untouched")
        logged = [json.loads(line) for line in srv.lines if '"unindexed files removed"' in line]
        check(len(logged) == 1 and logged[0].get("files") == 3 and logged[0].get("stores") == 2,
              f"sweep: one log line with the counts ({logged})")
        check(not any(ROOT in line or sdir in line for line in srv.lines), "sweep: the log names no UID nor path")
    finally:
        check(srv.stop() == 0, "sweep: last server exits 0")
        writer.kill()
        writer.wait()


def hold_locked(path, body):
    """A live writer of a hidden temporary file (another server's put): a python3 process that creates path, takes
    flock LOCK_EX on it as dv_locked_tmp_open does, writes body and holds the lock until killed."""
    code = ("import fcntl, os, sys, time\n"
            "fd = os.open(sys.argv[1], os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)\n"
            "fcntl.flock(fd, fcntl.LOCK_EX)\n"
            "os.write(fd, sys.stdin.buffer.read())\n"
            "print('held', flush=True)\n"
            "time.sleep(3600)\n")
    p = subprocess.Popen([sys.executable, "-c", code, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    p.stdin.write(body)
    p.stdin.close()
    check(p.stdout.readline().strip() == b"held", "a live writer holds its temporary file locked")
    return p


def killed_put(tmp):
    """A server killed -9 mid-STOW on a file system without O_TMPFILE (DICOMVEIL_NO_O_TMPFILE=1, what NFS gives)
    leaves the part it was receiving under a hidden ".tmp-*" name: a partial source instance no API reaches. Its
    writer held flock on it, which the kill released, so the next start removes it (one count line, no name), and
    leaves a temporary file whose writer is alive (a python3 process holding the lock, as another server sharing
    DATA would). (Red team round 5, finding 04a's temporary-name half.)"""
    data = os.path.join(tmp, "killed")
    os.environ["DICOMVEIL_NO_O_TMPFILE"] = "1"
    try:
        srv = ts.Server(data)
        try:
            base, path = dataset_and_store(srv)
            check(stow(srv.port, path, instance(70))[0] == 200, "killed put: a first STOW on the named-temp path")
            _, sdir, _ = store_folder(data)
            check(not [f for f in os.listdir(sdir) if f.startswith(".tmp-")], "killed put: a whole put leaves no temp")
            body = instance(71)
            c = socket.create_connection(("127.0.0.1", srv.port), timeout=20)
            c.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/dicom\r\n"
                       "Content-Length: %d\r\n\r\n" % (path, len(body) + 100000)).encode() + body + b"\0" * 50000)
            temps = []
            for _ in range(200):
                temps = [f for f in os.listdir(sdir) if f.startswith(".tmp-")]
                if temps:
                    break
                time.sleep(0.02)
            check(len(temps) == 1, f"killed put: the STOW in flight writes a hidden temporary file ({temps})")
        finally:
            srv.proc.kill()  # SIGKILL: no handler runs, the writer's descriptors (and its flock) go with it
            srv.proc.wait()
            c.close()
        check(all(os.path.exists(os.path.join(sdir, f)) for f in temps), "killed put: the kill leaves it")
        # Another writer killed -9 (the python3 stand-in of another server's put): its file stays, unlocked.
        dead = hold_locked(os.path.join(sdir, ".tmp-00000000deadbeef"), instance(73))
        dead.kill()
        dead.wait()
        temps.append(".tmp-00000000deadbeef")
        live = os.path.join(sdir, ".tmp-fedcba9876543210")
        writer = hold_locked(live, instance(72))
        srv = ts.Server(data)
        try:
            check(not any(os.path.exists(os.path.join(sdir, f)) for f in temps),
                  "a killed put's temporary file is swept at start")
            check(os.path.exists(live), "killed put: a temporary file its live writer holds locked stays")
            logged = [json.loads(line) for line in srv.lines if '"unfinished temporary files removed"' in line]
            check(len(logged) == 1 and logged[0].get("files") == 2, f"killed put: one count line ({logged})")
            check(not any(ROOT in line or sdir in line or ".tmp-" in line for line in srv.lines),
                  "killed put: the log names no UID, path nor file")
        finally:
            check(srv.stop() == 0, "killed put: the restarted server exits 0")
            writer.kill()
            writer.wait()
    finally:
        del os.environ["DICOMVEIL_NO_O_TMPFILE"]


def idle_rebuild(tmp):
    """What DICOMweb DELETEs forgot leaves the running server's index files once the index has been idle for the
    settle time (DICOMVEIL_INDEX_SETTLE_MS, 30 s by default, 5 s here; src/http/index_idle.c): a rebuild (VACUUM),
    logged with its time only, not before the settle time (red team round 5, finding 05, without a store delete or
    a stop); after a kill -9, at the next start's first idle moment. test_store's
    test_sqlite_study_delete_leaves_no_uid_when_idle is the index-level version."""
    data = os.path.join(tmp, "idle")
    gone_root, gone_id = "1.2.826.0.1.3680043.9.7433.79.", "PIDIDLE5519"
    os.environ["DICOMVEIL_INDEX_SETTLE_MS"] = "5000"  # longer than any pause between the DELETEs on a loaded machine
    try:
        srv = ts.Server(data)
    finally:
        del os.environ["DICOMVEIL_INDEX_SETTLE_MS"]
    try:
        _, path = dataset_and_store(srv)
        boundary = b"dv-idle-5a1e"
        parts = []
        for n in range(300):  # interleaved: the deleted rows share pages with the kept ones
            parts.append(ts.tiny_instance(gone_root, n, n // 10, n // 10, "Zwanenburg^Idle", gone_id))
            parts.append(ts.tiny_instance(ROOT, 5000 + n, 500 + n // 10, 500 + n // 10, "Kept^Idle", "PIDKEPT"))
        body = b"".join(b"--" + boundary + b"\r\nContent-Type: application/dicom\r\n\r\n" + x + b"\r\n"
                        for x in parts) + b"--" + boundary + b"--\r\n"
        c = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=60)
        c.request("POST", path, body=body, headers={
            "Content-Type": 'multipart/related; type="application/dicom"; boundary=dv-idle-5a1e'})
        check(c.getresponse().status == 200, "idle rebuild: STOW of 600 instances")
        c.close()
        web = f"{srv.url}{path}"
        codes = [curl("-X", "DELETE", f"{web}/{gone_root}1.{k}")[0] for k in range(30)]
        check(codes == [200] * 30, f"idle rebuild: DELETE of 30 studies ({set(codes)})")
        check(not any('"index rebuilt"' in line for line in srv.lines), "idle rebuild: not before the settle time")
        deadline = time.time() + 30
        while time.time() < deadline and not any('"index rebuilt"' in line for line in srv.lines):
            time.sleep(0.2)
        logged = [json.loads(line) for line in srv.lines if '"index rebuilt"' in line]
        check(len(logged) == 1 and isinstance(logged[0].get("ms"), int), f"idle rebuild: one log line ({logged})")
        held = b""
        for name in ("index.sqlite", "index.sqlite-wal"):
            if os.path.exists(os.path.join(data, name)):
                held += open(os.path.join(data, name), "rb").read()
        check(gone_root.encode() not in held and gone_id.encode() not in held and ROOT.encode() in held,
              "the index is rebuilt once idle: no deleted UID nor PatientID in index.sqlite(-wal), the server running")
        # Killed -9 after a forgetting write, before its settle time: the next start finds the WAL file and rebuilds
        # at its first idle moment.
        st, _, _ = curl("-X", "DELETE", f"{web}/{ROOT}1.500")
        check(st == 200, f"idle rebuild: a DELETE before the kill ({st})")
    finally:
        srv.proc.kill()
        srv.proc.wait()
    os.environ["DICOMVEIL_INDEX_SETTLE_MS"] = "1500"
    try:
        srv = ts.Server(data)
    finally:
        del os.environ["DICOMVEIL_INDEX_SETTLE_MS"]
    try:
        deadline = time.time() + 15
        while time.time() < deadline and not any('"index rebuilt"' in line for line in srv.lines):
            time.sleep(0.2)
        check(any('"index rebuilt"' in line for line in srv.lines),
              "idle rebuild: after a kill -9, the next start rebuilds once idle")
    finally:
        check(srv.stop() == 0, "idle rebuild: server exits 0")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-names-")
    try:
        run(tmp)
        sweep(tmp)
        killed_put(tmp)
        idle_rebuild(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if ts.fails:
        print(f"test_server_names: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_names: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
