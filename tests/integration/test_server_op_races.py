#!/usr/bin/env python3
"""Operations racing other requests over the same stores (docs/decisions.md "One de-identification per
destination store", "A dataset or store an operation uses is not deleted"):

* two dicomStores.deidentify started at the same moment into ONE destination store: one runs, the other is
  refused with FAILED_PRECONDITION, so the success counters of the operations add up to the instances the
  destination holds (before: both ran and each counted every instance, the second finding each output stored
  already by the first);
* the same for a dicomStores.deidentify into a store that a running datasets.deidentify writes, and for two
  datasets.deidentify into one new dataset (the second is 409 ALREADY_EXISTS: the destination must not exist);
* once the operation is done, a de-identification into the same store is accepted again;
* DELETE of the source dataset, of the source store, or of the destination dataset while an operation reads
  or writes it: 400 FAILED_PRECONDITION naming the operation, nothing deleted, the operation completes with
  every instance counted and stored (before: the source dataset went with the operation's own record, the
  destination stayed partial); once the operation is done, the DELETE succeeds;
* a DICOMweb DELETE of a study, series or instance in the source store or of a study in the destination store
  while a de-identification reads or writes them: refused the same way, the operation counts what its
  destination holds (before: the DELETEs ran, the counter said 600 and the destination held 550); once it is
  done, the DELETE in the destination runs;
* a dataset DELETE while a DeleteStudy of N instances records its Operation (op_record.c) waits for the record
  and then runs (before: refused naming the DeleteStudy's own, unfinished, operation);
* a datasets.deidentify whose operation row cannot be written (an index failure injected with an SQLite
  trigger) after it created its destination dataset: 500 and no destination left, so a retry into the same
  destination runs (before: the dataset stayed, the retry was 409 ALREADY_EXISTS).

The source holds N generated 8x8 instances (built here with pydicom), enough that an operation with one pool
thread still runs when the next request arrives (each check also verifies that it did). A few seconds.
"""
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

import test_server as ts  # noqa: E402  (its Server helper and tiny_instance; its checks are not run)
from test_server import check  # noqa: E402

ROOT = "1.2.826.0.1.3680043.9.7433.79."
N = 600
LOC = "projects/p/locations/l"


def call(port, method, path, body=None):
    """(status, JSON answer) of one API call."""
    return ts.json_call(method, f"http://127.0.0.1:{port}{path}", body, timeout=60)


def stow_all(port, store, one_study=False):
    """STOW the N instances into store (multipart bodies of 100): 12 studies of 50, or one_study of N."""
    ok = True
    for k in range(0, N, 100):
        body = b""
        for n in range(k, min(N, k + 100)):
            study = 0 if one_study else n // 50
            body += (b"--race\r\nContent-Type: application/dicom\r\n\r\n"
                     + ts.tiny_instance(ROOT, n, study, study, "Race^Patient%d" % n, "RACE%d" % n) + b"\r\n")
        body += b"--race--\r\n"
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        c.request("POST", "/v1beta1/%s/dicomWeb/studies" % store, body=body,
                  headers={"Content-Type": 'multipart/related; type="application/dicom"; boundary=race'})
        r = c.getresponse()
        r.read()
        c.close()
        ok = ok and r.status == 200
    return ok


def poll(port, name, timeout=120):
    t0, op = time.time(), {}
    while time.time() - t0 < timeout:
        st, op = call(port, "GET", "/v1beta1/" + name)
        if st != 200 or op.get("done"):
            return st, op
        time.sleep(0.05)
    return st, op


def success(op):
    return int(op.get("metadata", {}).get("counter", {}).get("success", "0"))


def instances(port, store):
    st, m = call(port, "GET", "/v1beta1/%s:getDICOMStoreMetrics" % store)
    return int(m.get("instanceCount", "-1")) if st == 200 else -1


def together(port, requests):
    """Send the requests [(method, path, body)] at the same moment (one thread each); their (status, JSON)."""
    out = [None] * len(requests)
    gate = threading.Barrier(len(requests))

    def send(i):
        gate.wait()
        out[i] = call(port, *requests[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return out


def refused(answer, field):
    """A FAILED_PRECONDITION naming field and an operation, with neither a UID nor a patient name."""
    st, r = answer
    msg = r.get("error", {}).get("message", "")
    return (st == 400 and r["error"].get("status") == "FAILED_PRECONDITION" and msg.startswith(field + ":")
            and "operation" in msg and ROOT not in msg and "Race" not in msg), msg


def running(port, name):
    st, op = call(port, "GET", "/v1beta1/" + name)
    return st == 200 and not op.get("done")


def run(tmp):
    srv = ts.Server(os.path.join(tmp, "data"), "--op-workers", "1")
    try:
        port = srv.port
        base = "/v1beta1/" + LOC
        call(port, "POST", base + "/datasets?datasetId=src", {})
        call(port, "POST", base + "/datasets/src/dicomStores?dicomStoreId=s", {})
        check(stow_all(port, LOC + "/datasets/src/dicomStores/s"), f"STOW of the {N} source instances")
        call(port, "POST", base + "/datasets?datasetId=dst", {})
        call(port, "POST", base + "/datasets/dst/dicomStores?dicomStoreId=d", {})
        dst = LOC + "/datasets/dst/dicomStores/d"

        # ---- two dicomStores.deidentify into one store at the same moment ----
        req = (base + "/datasets/src/dicomStores/s:deidentify", {"destinationStore": dst})
        answers = together(port, [("POST",) + req, ("POST",) + req])
        started = [r["name"] for st, r in answers if st == 200]
        others = [a for a in answers if a[0] != 200]
        ops = [poll(port, name)[1] for name in started]
        counted = sum(success(op) for op in ops)
        held = instances(port, dst)
        why = [refused(a, "destinationStore") for a in others]
        check(len(started) == 1 and len(others) == 1 and why[0][0],
              f"two store de-identifications into one store: one runs, the other FAILED_PRECONDITION "
              f"({[a[0] for a in answers]}: {[w[1] for w in why]})")
        check(counted == held == N and all(op.get("done") and "response" in op for op in ops),
              f"two store de-identifications into one store: the counters add up to the instances stored "
              f"({counted} counted by {len(ops)} operation(s), {held} stored)")

        # once it is done, a de-identification into the same store runs (its outputs are there already)
        st, op = call(port, *("POST",) + req)
        st2, op = poll(port, op.get("name", "")) if st == 200 else (st, op)
        check(st == 200 and op.get("done") and success(op) == N and instances(port, dst) == N,
              f"once the first is done, a de-identification into the same store is accepted ({st}, "
              f"{success(op)} counted, {instances(port, dst)} stored)")

        # ---- a store de-identification into a store a running datasets.deidentify writes ----
        st, dop = call(port, "POST", base + "/datasets/src:deidentify", {"destinationDataset": LOC + "/datasets/out1"})
        was_running = st == 200 and running(port, dop["name"])
        answer = call(port, "POST", base + "/datasets/src/dicomStores/s:deidentify",
                      {"destinationStore": LOC + "/datasets/out1/dicomStores/s"})
        ok, msg = refused(answer, "destinationStore")
        check(was_running and ok, f"a store de-identification into a store a dataset de-identification writes: "
                                  f"FAILED_PRECONDITION (running: {was_running}; {answer[0]} {msg})")
        if answer[0] == 200:
            poll(port, answer[1]["name"])
        st, dop = poll(port, dop.get("name", ""))
        check(dop.get("done") and success(dop) == instances(port, LOC + "/datasets/out1/dicomStores/s") == N,
              f"the dataset de-identification counted what it stored ({success(dop)})")

        # ---- two datasets.deidentify into one new dataset: the destination must not exist ----
        req = ("POST", base + "/datasets/src:deidentify", {"destinationDataset": LOC + "/datasets/out2"})
        answers = together(port, [req, req])
        started = [r["name"] for st, r in answers if st == 200]
        statuses = sorted(st for st, _ in answers)
        conflict = [r for st, r in answers if st == 409]
        ops = [poll(port, name)[1] for name in started]
        check(statuses == [200, 409] and conflict and conflict[0]["error"]["status"] == "ALREADY_EXISTS"
              and sum(success(op) for op in ops) == instances(port, LOC + "/datasets/out2/dicomStores/s") == N,
              f"two dataset de-identifications into one new dataset: one runs, the other 409 ({statuses}, "
              f"{sum(success(op) for op in ops)} counted)")

        # ---- deleting what a running operation reads or writes ----
        for i, (what, target, field) in enumerate([("the source dataset", base + "/datasets/src", "dataset"),
                                                   ("the source store", base + "/datasets/src/dicomStores/s",
                                                    "dicomStore"),
                                                   ("the destination dataset", None, "dataset")]):
            out = "del%d" % i
            st, op = call(port, "POST", base + "/datasets/src:deidentify", {"destinationDataset": LOC + "/datasets/" + out})
            name = op.get("name", "")
            url = target or base + "/datasets/" + out
            was_running = st == 200 and running(port, name)
            answer = call(port, "DELETE", url)
            ok, msg = refused(answer, field)
            check(was_running and ok and ("operation %s" % name.rsplit("/", 1)[-1]) in msg,
                  f"DELETE of {what} while an operation reads or writes it: FAILED_PRECONDITION naming the "
                  f"operation (running: {was_running}; {answer[0]} {msg})")
            st, op = poll(port, name)
            stored = instances(port, LOC + "/datasets/%s/dicomStores/s" % out)
            check(st == 200 and op.get("done") and "response" in op and success(op) == stored == N,
                  f"DELETE of {what} during the operation: the operation completes, counted {success(op)}, "
                  f"stored {stored} of {N} ({st})")
            check(instances(port, LOC + "/datasets/src/dicomStores/s") == N,
                  f"DELETE of {what} during the operation: the source is intact")
        # ---- DICOMweb DELETE in a store a running operation reads or writes ----
        src_web = base + "/datasets/src/dicomStores/s/dicomWeb"
        out_web = base + "/datasets/webdel/dicomStores/s/dicomWeb"
        st, op = call(port, "POST", base + "/datasets/src:deidentify", {"destinationDataset": LOC + "/datasets/webdel"})
        name = op.get("name", "")
        out_study, t0 = None, time.time()
        while st == 200 and out_study is None and time.time() - t0 < 60 and running(port, name):
            qst, found = call(port, "GET", out_web + "/studies")  # an output study to delete (its UID is new)
            if qst == 200 and isinstance(found, list) and found:
                out_study = found[0]["0020000D"]["Value"][0]
        was_running = out_study is not None and running(port, name)
        targets = [("a study of the source store", src_web + "/studies/%s1.0" % ROOT),
                   ("a series of the source store", src_web + "/studies/%s1.1/series/%s2.1" % (ROOT, ROOT)),
                   ("an instance of the source store",
                    src_web + "/studies/%s1.2/series/%s2.2/instances/%s3.100" % (ROOT, ROOT, ROOT)),
                   ("a study of the destination store", out_web + "/studies/%s" % out_study)]
        answers = [(what, call(port, "DELETE", url)) for what, url in targets]
        still = running(port, name)  # running after the last answer: every DELETE came during the operation
        for what, answer in answers:
            ok, msg = refused(answer, "dicomStore")
            check(was_running and still and ok and ("operation %s" % name.rsplit("/", 1)[-1]) in msg
                  and str(out_study) not in msg,
                  f"DICOMweb DELETE of {what} while an operation reads or writes the store: FAILED_PRECONDITION "
                  f"naming the operation (running before and after: {was_running} {still}; {answer[0]} {msg})")
        st, op = poll(port, name)
        stored = instances(port, LOC + "/datasets/webdel/dicomStores/s")
        check(st == 200 and op.get("done") and "response" in op and success(op) == stored == N
              and instances(port, LOC + "/datasets/src/dicomStores/s") == N,
              f"DICOMweb DELETEs during the operation: it completes, counted {success(op)}, stored {stored} of {N}, "
              f"the source intact")
        st, r = call(port, "DELETE", out_web + "/studies/%s" % out_study)
        check(st == 200 and r.get("done") and instances(port, LOC + "/datasets/webdel/dicomStores/s") < N,
              f"once the operation is done, a DICOMweb DELETE in its destination store runs ({st})")

        # ---- a DeleteStudy's recorded operation and a DELETE of its dataset ----
        # A DeleteStudy records an Operation (one item per instance removed, op_record.c). A dataset DELETE that
        # came while it recorded saw that operation unfinished and was refused because of it (or, between the
        # instances' delete and the record, took the dataset from under it: the DeleteStudy answered 500). The
        # record is made under the operations' guard now: the dataset DELETE waits for it, then runs.
        call(port, "POST", base + "/datasets?datasetId=rec", {})
        call(port, "POST", base + "/datasets/rec/dicomStores?dicomStoreId=r", {})
        check(stow_all(port, LOC + "/datasets/rec/dicomStores/r", one_study=True),
              f"STOW of one study of {N} instances")
        got = {}

        def delete_study():
            got["study"] = call(port, "DELETE", base + "/datasets/rec/dicomStores/r/dicomWeb/studies/%s1.0" % ROOT)

        t = threading.Thread(target=delete_study)
        t.start()
        recording, t0 = [], time.time()
        while not recording and t.is_alive() and time.time() - t0 < 60:
            lst, ops = call(port, "GET", base + "/datasets/rec/operations?filter=done%3Dfalse")
            recording = ops.get("operations", []) if lst == 200 else []
        answer = call(port, "DELETE", base + "/datasets/rec")
        t.join()
        st, op = got["study"]
        check(bool(recording) and answer[0] == 200 and st == 200 and op.get("done") and success(op) == N,
              f"a dataset DELETE while a DeleteStudy records its operation waits for it, then runs (seen "
              f"recording: {bool(recording)}; dataset DELETE {answer[0]} "
              f"{answer[1].get('error', {}).get('message', '')}; DeleteStudy {st}, counted {success(op)})")

        # ---- a datasets.deidentify that fails after creating its destination ----
        # The operation's row cannot be written (an index failure, injected by a trigger): the start fails after
        # the destination dataset and its stores were made. Nothing of them may stay, or a retry is 409.
        db = sqlite3.connect(os.path.join(tmp, "data", "index.sqlite"))
        db.execute("CREATE TRIGGER dv_test_no_op BEFORE INSERT ON operations BEGIN SELECT RAISE(ABORT, 'injected'); END")
        db.commit()
        late = ("POST", base + "/datasets/src:deidentify", {"destinationDataset": LOC + "/datasets/late"})
        st, r = call(port, *late)
        gst, _ = call(port, "GET", base + "/datasets/late")
        db.execute("DROP TRIGGER dv_test_no_op")
        db.commit()
        db.close()
        check(st == 500 and r.get("error", {}).get("status") == "INTERNAL" and gst == 404,
              f"a datasets.deidentify that fails to start after creating its destination leaves no destination "
              f"({st}; GET of the destination: {gst})")
        st, op = call(port, *late)
        st, op = poll(port, op.get("name", "")) if st == 200 else (st, op)
        check(st == 200 and op.get("done") and success(op) == N
              and instances(port, LOC + "/datasets/late/dicomStores/s") == N,
              f"its retry into the same destination runs ({st} {op.get('error', {}).get('message', '')})")

        st, _ = call(port, "DELETE", base + "/datasets/del2")
        check(st == 200, f"once the operation is done, its destination dataset can be deleted ({st})")
        st, _ = call(port, "DELETE", base + "/datasets/src")
        check(st == 200, f"once the operations are done, the source dataset can be deleted ({st})")
        log = "".join(srv.lines)
        check(ROOT not in log and "Race^" not in log, "the server's log holds no UID and no name")
    finally:
        rc = srv.stop()
    check(rc == 0, f"the server stops cleanly ({rc})")


def main():
    tmp = tempfile.mkdtemp(prefix="dv-server-races-")
    try:
        run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if ts.fails:
        print(f"test_server_op_races: {len(ts.fails)} check(s) failed", file=sys.stderr)
        return 1
    print("test_server_op_races: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
