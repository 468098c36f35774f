#!/usr/bin/env python3
"""The web console (issue 9) in a real browser: headless Chromium from Debian driven by python3-selenium
against a real `dicomveil serve` started here on loopback.

Part 1 (a server with a token): the console's files are served without the token (CSP, nosniff, no traversal)
while every API route still needs it; a wrong token shows the sign-in prompt again; the right one opens the
datasets; a dataset and a store are created from the console; corpus files from ../shared/data/dicom are
uploaded (the file picker and a drag-and-drop event) and counted; the store's metrics show; the study list
is searched by patient, modality and date range; a study -> series -> instance is opened with the keyboard;
its metadata table shows PatientName and an expandable sequence; an API error is shown from the error JSON.
The token is only in sessionStorage; nothing in the URL, localStorage or the access log.

Part 2 (100k instances): a store whose index holds 100,000 generated instances (written straight into the
index by this test: the documented test-only bulk path, docs/console.md) — the study list's first page must
render in <= 1 s in this browser.

Under ASan (make ctest-asan) only part 1 runs: the timing is the normal build's.

Screenshots of each page go to build/console-screenshots/ (and, with DV_SCREENSHOTS_DIR set, the README's
small copies: `make screenshots`). Chromium missing is a FAILURE, never a skip (`make deps` installs it).
"""
import base64
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

sys.path.insert(0, "/usr/lib/python3/dist-packages")  # Debian's selenium (not a pyenv's)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_server as ts  # noqa: E402  (the server helpers: one home)

BIN = os.environ["DV_BIN"]
SHARED = os.environ["DV_SHARED_DATA"]
SRC_DIR = os.environ["DV_SOURCE_DIR"]
BUILD_DIR = os.environ.get("DV_BUILD_DIR", os.path.join(SRC_DIR, "build"))
SHOTS = os.path.join(BUILD_DIR, "console-screenshots")
README_SHOTS = os.environ.get("DV_SCREENSHOTS_DIR")  # make screenshots: docs/img
TOKEN = "console-test-token-0123456789abcdef"
DICOM = os.path.realpath(os.path.join(SHARED, "dicom"))  # chromedriver wants canonical paths
UPLOAD = [os.path.join(DICOM, p) for p in (
    "dcm_qa_ts/1.dcm", "dcm_qa_ts/2.dcm", "dicognito/CT_small_deflated.dcm", "dicognito/p01_s01_s01_i01.dcm",
    "dicognito/global_patient_id_implicit_vr.dcm", "dicognito/burned_in_yes.dcm", "dwv/sr-rectangle.dcm",
    "dwv/gdcm-CR-MONO1-10-chest.dcm")]
DROPPED = os.path.join(DICOM, "dcm_qa_ts/3.dcm")  # the one file sent by a drop event
# A burned-in corpus file for the review's redaction boxes (an ultrasound frame, JPEG Baseline: redacted in
# the DCT domain, 12 boxes; no patient's text).
BURNED = os.path.join(DICOM, "orthanc-tests/TransferSyntaxes_1.2.840.10008.1.2.4.50.dcm")
BULK_INSTANCES = 100_000
README_PAGES = ("studies", "instance", "deidentify", "config-error", "operations", "review")  # README "Console"

fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    else:
        print("ok:", msg)
    return cond


def need_browser():
    """Chromium, its driver and selenium are test dependencies (DEB_PACKAGES): their absence fails."""
    missing = [p for p in ("/usr/bin/chromium", "/usr/bin/chromedriver") if not os.path.exists(p)]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        print("FAIL: missing " + ", ".join(missing) + ": run 'make deps' (chromium chromium-driver "
              "python3-selenium)", file=sys.stderr)
        sys.exit(1)


def Server(data, *extra):
    """dicomveil serve (test_server.Server, the one home of the server helper) with 4 workers and the source
    tree's console (as installed: --console-dir)."""
    srv = ts.Server(data, "--workers", "4", "--console-dir", os.path.join(SRC_DIR, "console"), *extra, wait_s=15)
    srv.data = data
    return srv


def http(url, method="GET", headers=None, body=None):
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=body)
    try:
        with urllib.request.urlopen(req, timeout=20) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800",
              "--disable-extensions", "--no-first-run", "--disable-background-networking", "--lang=en-US"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


class Page:
    """Thin helpers over the driver: waits by CSS selector or condition, screenshots."""

    def __init__(self, drv):
        self.d = drv

    def wait(self, cond, timeout=20, what="condition"):
        t = time.time() + timeout
        last = None
        while time.time() < t:
            try:
                v = cond()
                if v:
                    return v
            except Exception as e:  # element not there yet, stale: retry
                last = e
            time.sleep(0.05)
        raise AssertionError("timed out waiting for %s (%s)" % (what, last))

    def css(self, sel):
        return self.d.find_element("css selector", sel)

    def all(self, sel):
        return self.d.find_elements("css selector", sel)

    def visible(self, sel, timeout=20):
        return self.wait(lambda: self.css(sel) if self.css(sel).is_displayed() else None, timeout, sel)

    def view(self, name, timeout=20):
        """Wait until the app shows view name (main[data-view]) and is no longer busy."""
        return self.wait(lambda: self.d.execute_script(
            "const m=document.getElementById('main');return m.dataset.view===arguments[0]&&!m.hasAttribute('aria-busy')",
            name), timeout, "view " + name)

    def rerender(self, action, name):
        """Run action (a click that re-renders) and wait for the new render of view name."""
        before = self.css("#main").get_attribute("data-render")
        action()
        self.wait(lambda: self.css("#main").get_attribute("data-render") != before, 20, "re-render")
        return self.view(name)

    def shot(self, name):
        os.makedirs(SHOTS, exist_ok=True)
        self.d.save_screenshot(os.path.join(SHOTS, name + ".png"))
        if README_SHOTS and name in README_PAGES:
            small_copy(os.path.join(SHOTS, name + ".png"), os.path.join(README_SHOTS, "console-%s.png" % name))

    def js(self, script, *args):
        return self.d.execute_script(script, *args)


def small_copy(src, dst):
    """The README's copy: 960 px wide, 64-colour palette PNG (tens of KiB, not hundreds)."""
    from PIL import Image
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    im = Image.open(src).convert("RGB")
    w = 960
    im = im.resize((w, im.height * w // im.width), Image.LANCZOS)
    im.quantize(colors=64, method=Image.MEDIANCUT).save(dst, optimize=True)


def rows(p, table):
    return p.all("#%s tbody tr.openable" % table)


def part1(tmp, drv):
    p = Page(drv)
    srv = Server(os.path.join(tmp, "data1"), "--token-file", token_file(tmp))
    try:
        # --- static files: no token needed, strict headers, nothing outside console/ --------------------
        st, h, body = http(srv.url + "/console/")
        check(st == 200 and b'<script type="module" src="js/app.js">' in body, "console page served without the token")
        csp = h.get("Content-Security-Policy", "")
        check("script-src 'self'" in csp and "default-src 'none'" in csp and "unsafe-inline" not in csp,
              "console page has a strict Content-Security-Policy")
        check(h.get("X-Content-Type-Options") == "nosniff" and h.get("Cache-Control") == "no-cache" and h.get("ETag"),
              "console page: nosniff, no-cache, ETag")
        st2, _, _ = http(srv.url + "/console/", headers={"If-None-Match": h.get("ETag", "")})
        check(st2 == 304, "console page revalidates with its ETag (304)")
        st, h, _ = http(srv.url + "/console/js/app.js")
        check(st == 200 and h.get("Content-Type", "").startswith("text/javascript"), "module served as text/javascript")
        for bad in ("/console/../index.html", "/console/%2e%2e/README.md", "/console/.hidden.js", "/console/x.c"):
            st, _, _ = http(srv.url + bad)
            check(st == 404, "no file outside the console's rules: %s -> %s" % (bad, st))
        st, _, body = http(srv.url + "/v1beta1/projects/p/locations/l/datasets")
        check(st == 401, "API routes still need the token (401)")

        # --- sign-in: no token, then a wrong one, then the right one -------------------------------------
        drv.get(srv.url + "/console/")
        p.visible("#signin")
        check(p.css("#token-input") == drv.switch_to.active_element, "sign-in prompt shown and focused without a token")
        p.shot("signin")
        p.css("#token-input").send_keys("wrong-token-000000000000")
        p.css("#signin-submit").click()
        p.wait(lambda: p.css("#signin").is_displayed() and "refused" in p.css("#signin-reason").text, what="re-prompt")
        check(True, "a wrong token shows the sign-in prompt again, saying it was refused")
        check(p.js("return sessionStorage.getItem('dicomveil.token')") is None, "a refused token is dropped")
        p.css("#token-input").send_keys(TOKEN)
        p.css("#token-input").send_keys("\n")  # Enter submits
        p.view("datasets")
        check(not p.css("#signin").is_displayed(), "the right token opens the console")

        # --- datasets and stores, created from the console -----------------------------------------------
        p.css("#new-dataset").send_keys("research\n")
        p.wait(lambda: len(rows(p, "datasets")) == 1, what="dataset row")
        p.shot("datasets")
        rows(p, "datasets")[0].click()
        p.view("stores")
        p.css("#new-store").send_keys("incoming\n")
        p.wait(lambda: len(rows(p, "stores")) == 1, what="store row")
        # An API error shows the server's error JSON (a dataset ID that breaks the pattern is caught by the
        # form; a duplicate store is the server's 409).
        p.css("#new-store").send_keys("incoming\n")
        msg = p.wait(lambda: p.css("#message").text if p.css("#message").is_displayed() else None, what="error message")
        check("409" in msg and "ALREADY_EXISTS" in msg, "an API error is shown from its error JSON: %r" % msg)
        p.css("#new-store").clear()
        rows(p, "stores")[0].send_keys("\n")  # keyboard: Enter opens the focused row
        p.view("studies")

        # --- upload: the picker (several files) and a drop event (one) -----------------------------------
        p.css("#upload-input").send_keys("\n".join(UPLOAD))
        p.wait(lambda: p.css("#upload-status").get_attribute("data-done") == "true", 60, "upload done")
        status = p.css("#upload-status").text
        check(("%d stored, 0 failed" % len(UPLOAD)) in status, "picker upload stored every file: %r" % status)
        p.view("studies")
        b64 = base64.b64encode(open(DROPPED, "rb").read()).decode()
        p.js("""const bytes = Uint8Array.from(atob(arguments[0]), c => c.charCodeAt(0));
                const dt = new DataTransfer(); dt.items.add(new File([bytes], 'dropped.dcm', {type: 'application/dicom'}));
                document.getElementById('dropzone').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));""", b64)
        p.wait(lambda: p.css("#upload-status").get_attribute("data-done") == "true"
               and "1 stored, 0 failed" in p.css("#upload-status").text, 30, "drop upload")
        check(True, "a dropped file is stored (STOW multipart built in the browser)")
        p.view("studies")
        p.wait(lambda: len(rows(p, "studies")) >= 5, what="studies listed")
        n_studies = len(rows(p, "studies"))
        check(n_studies >= 5, "uploaded studies listed (%d)" % n_studies)
        p.shot("studies")

        # Metrics on the store page.
        drv.back()
        p.view("stores")
        p.wait(lambda: p.all("#stores tbody td")[3].text not in ("…", ""), what="metrics")
        cells = [c.text for c in p.all("#stores tbody td")]
        check(cells[3].replace(",", "") == str(len(UPLOAD) + 1), "store metrics count the instances: %r" % cells)
        p.shot("stores")
        drv.forward()
        p.view("studies")

        # --- search: patient, modality, date range; paging -----------------------------------------------
        def search(**fields):
            p.rerender(lambda: p.css("#search-clear").click(), "studies")
            for k, v in fields.items():
                el = p.css("#" + k)
                if el.get_attribute("type") == "date":
                    p.js("arguments[0].value = arguments[1]", el, v)
                else:
                    el.send_keys(v)
            p.rerender(lambda: p.css("#search-go").click(), "studies")
            return [r.find_elements("css selector", "td") for r in rows(p, "studies")]

        got = search(patient="compressedsamples^mr")
        check(len(got) == 2 and all("CompressedSamples^MR1" in r[0].text for r in got),
              "search by patient name (case-insensitive prefix): %d rows" % len(got))
        got = search(patient="1CT1")
        check(len(got) == 1 and got[0][1].text == "1CT1", "search by patient ID")
        got = search(modality="CR")
        check(len(got) == 1 and "CR" in got[0][3].text, "search by modality")
        got = search(dateFrom="2004-01-01", dateTo="2004-01-31")
        check(len(got) == 2 and all(r[2].text.startswith("2004-01") for r in got), "search by date range: %d" % len(got))
        sel = p.css("#pageSize")
        search()
        from selenium.webdriver.support.ui import Select
        Select(p.css("#pageSize")).select_by_value("25")
        _ = sel
        p.rerender(lambda: p.css("#search-go").click(), "studies")
        check(p.css("#page-prev").get_attribute("disabled") is not None, "first page: Previous disabled")

        # --- study -> series -> instance with the keyboard ----------------------------------------------
        got = search(patient="dwv")
        rows(p, "studies")[0].send_keys("\n")
        p.view("series")
        p.shot("series")
        rows(p, "series")[0].send_keys("\n")
        p.view("instances")
        rows(p, "instances")[0].send_keys("\n")
        p.view("instance")
        name_row = p.wait(lambda: p.css('table.meta tr[data-tag="00100010"]'), what="PatientName row")
        check("PatientName" in name_row.text and "dwv^patientName" in name_row.text, "metadata shows PatientName")
        det = p.all("table.meta details")
        check(len(det) >= 1, "sequences are expandable (%d)" % len(det))
        if det:
            det[0].find_element("css selector", "summary").click()
            check(det[0].get_attribute("open") is not None and det[0].find_elements("css selector", "table.meta tr"),
                  "a sequence opens to its items' attributes")
        p.shot("instance")

        part_deid(p, srv)
        t = time.time()
        part_boxes(p, srv)
        print("redaction boxes: %.1f s" % (time.time() - t))

        # --- what is kept where ----------------------------------------------------------------------
        check(drv.current_url == srv.url + "/console/", "the URL stays /console/ (no UID, no name, no token)")
        check(p.js("return localStorage.length") == 0, "nothing in localStorage")
        check(p.js("return sessionStorage.getItem('dicomveil.token')") == TOKEN, "the token is in sessionStorage")
        check(p.js("return JSON.stringify(history.state)").startswith('{"k":'),
              "history entries hold a number, not the view's state (no UID or search value in the profile)")
        p.css("#signout").click()
        p.visible("#signin")
        check(p.js("return sessionStorage.getItem('dicomveil.token')") is None, "sign out forgets the token")
        check(p.js("return document.getElementById('main').textContent.trim()") == ""
              and p.js("return document.getElementById('crumbs').textContent.trim()") == ""
              and p.js("return document.querySelectorAll('#main img').length") == 0,
              "sign out clears the view: nothing of the previous user's data stays on the page")
        check(p.js("return window.dicomveilConsole.state().view") == "datasets", "sign out resets the view's state")
        errors = [e for e in drv.get_log("browser") if e.get("level") == "SEVERE" and e.get("source") != "network"]
        check(not errors, "no script errors in the browser console: %r" % errors[:3])
    finally:
        srv.stop()
    # The search values must not be in the log's text; the clock ("time", with microseconds) and the numbers
    # (bytes_in, ms) are the server's own measurements and may contain the digits of a date (".120045Z" or
    # "bytes_in":120045 made this check fail at random).
    def log_text(line):
        try:
            rec = json.loads(line)
        except ValueError:
            return line
        return " ".join(v for k, v in rec.items() if isinstance(v, str) and k != "time") if isinstance(rec, dict) else line
    text = "\n".join(log_text(l) for l in srv.lines)
    check(TOKEN not in text and "dwv^patientName" not in text and "CompressedSamples" not in text and "2004" not in text,
          "access log holds no token, name or search value")
    log = "".join(srv.lines)
    check('"route":"console.static"' in log, "console requests are logged by route name")
    check("Sanitizer" not in log and srv.proc.returncode == 0,
          "the server stopped cleanly (exit %s, no sanitizer report)" % srv.proc.returncode)


def op_row_state(p, state, timeout=90):
    """Wait until the newest operation row (the first) reaches state; its cells."""
    def done():
        r = p.all("#operations tbody tr[data-op]")
        return r and r[0].get_attribute("data-state") == state and r[0]
    row = p.wait(done, timeout, "operation " + state)
    return [c.text for c in row.find_elements("css selector", "td")]


def part_deid(p, srv):
    """The wizard (presets, live validation, filter), operations, review."""
    from selenium.webdriver.support.ui import Select
    drv = p.d
    # Every preset is a config the server accepts (the dry-run extension endpoint).
    presets = drv.execute_async_script("import('/console/js/presets.js').then(m => arguments[0](m.PRESETS))")
    bad = []
    for pr in presets:
        st, _, body = http(srv.url + "/dicomveil/v1/deidentifyConfig:validate", "POST",
                           {"Authorization": "Bearer " + TOKEN, "Content-Type": "application/json"},
                           json.dumps({"config": pr["config"]}).encode())
        if st != 200:
            bad.append((pr["id"], body[:200]))
    check(len(presets) >= 11 and not bad, "all %d presets validate on the server: %r" % (len(presets), bad))

    p.css("#nav-deidentify").click()
    p.view("deidentify")
    Select(p.css("#src-dataset")).select_by_value("research")
    p.wait(lambda: p.css("#src-store"), what="store select")
    Select(p.css("#src-store")).select_by_value("incoming")
    p.wait(lambda: p.css("#dst-new-store") and p.all("#filter-tree li"), what="destination and filter tree")
    # A bad config: the server's error at its JSON path.
    ed = p.css("#config-editor")
    p.js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", ed,
         json.dumps({"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "removeTag": {}},
                                                    {"queries": ["NoSuchKeyword"], "deleteTag": {}}]}}, indent=2))
    path = p.wait(lambda: p.css("#config-status").get_attribute("data-path"), what="config error path")
    check(path == "config.dicomTagConfig.actions[1].queries[0]" and "At config.dicomTagConfig.actions[1].queries[0]"
          in p.css("#config-status").text, "a bad config shows the server's error at its JSON path: %r" % path)
    check(ed.get_attribute("aria-invalid") == "true", "the editor is marked invalid")
    p.shot("config-error")
    # A repeated key is sent as typed, so the server refuses it (JSON.parse would keep the last one silently).
    p.js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", ed,
         '{"dicomTagConfig": {"actions": [{"queries": ["PatientName"], "removeTag": {}}]},\n'
         ' "dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}}')
    p.wait(lambda: "repeats a key" in p.css("#config-status").text, what="repeated key refused")
    status = p.css("#config-status").text
    check(ed.get_attribute("aria-invalid") == "true" and "line 2, column " in status and "of the config" in status,
          "a config repeating a key is refused by the server's dry run, at the editor's line: %r" % status)
    # A setting accepted with no effect: the dry run's warning is shown beside "accepts".
    p.js("arguments[0].value = arguments[1]; arguments[0].dispatchEvent(new Event('input'))", ed,
         '{"dicomTagConfig": {"profileType": "KEEP_ALL_PROFILE"}, "text": {}}')
    p.wait(lambda: "accepts" in p.css("#config-status").text, what="text-only config accepted")
    check("Warning: config.text: no effect" in p.css("#config-status").text,
          "the dry run's warnings are shown: %r" % p.css("#config-status").text)
    p.js("arguments[0].value = '{\"dicomTagConfig\": '; arguments[0].dispatchEvent(new Event('input'))", ed)
    p.wait(lambda: "Not JSON" in p.css("#config-status").text, what="JSON syntax error")
    check(True, "a JSON syntax error is shown before anything is sent")
    # The guide's deleteTag preset, the whole store, into a new store.
    Select(p.css("#preset")).select_by_value("delete-name")
    p.wait(lambda: "accepts" in p.css("#config-status").text, what="preset valid")
    p.css("#dst-new-store").send_keys("deid-all")
    p.shot("deidentify")
    p.css("#deid-start").click()
    p.view("operations")
    cells = op_row_state(p, "done")
    check(int(cells[3]) + int(cells[4]) == len(UPLOAD) + 1 and int(cells[5]) == 0,
          "the operation reaches done with every instance counted: %r" % cells)
    check(cells[1] == "DeidentifyDicomStore" or "eidentify" in cells[1], "operation method shown: %r" % cells[1])
    p.shot("operations")
    p.all("#operations tbody tr")[0].find_element("css selector", "button[data-action=errors]").click()
    p.wait(lambda: "Error log" in p.css("#ops-detail").text, what="error log")
    check(True, "the error log opens")

    # Review: the CT study, its instance, PatientName removed, frames.
    p.all("#operations tbody tr")[0].find_element("css selector", "button[data-action=review]").click()
    p.view("review")
    p.wait(lambda: len(p.all("#review-study option")) >= 5, what="review studies")
    opt = [o for o in p.all("#review-study option") if "CT1" in o.text]
    Select(p.css("#review-study")).select_by_value(opt[0].get_attribute("value"))
    p.css("#review-by-study").click()
    p.wait(lambda: p.all("#review-pairs tbody tr"), what="review pairs")
    p.all("#review-pairs tbody tr")[0].send_keys("\n")
    row = p.wait(lambda: p.css('#diff tr[data-path="(0010,0010)"]'), what="diff PatientName")
    check(row.get_attribute("data-status") == "removed", "review: PatientName shows as removed (%s)" % row.get_attribute("data-status"))
    uid = p.css('#diff tr[data-path="(0008,0018)"]').get_attribute("data-status")
    check(uid == "regenerated", "review: SOPInstanceUID shows as regenerated (%s)" % uid)
    nested = p.all('#diff tr[data-path*=" › "]')
    check(len(nested) > 0, "review: nested attributes are in the diff (%d rows)" % len(nested))

    def frames_state():
        out = []
        for fid in ("frame-original", "frame-deid"):
            img = p.css("#" + fid)
            status = img.find_element("xpath", "../figcaption/p").text
            if img.get_attribute("data-loaded") == "true":
                out.append("loaded")
            elif "No rendered frame" in status:
                out.append(status)
            else:
                return None
        return out
    fs = p.wait(frames_state, 30, "rendered frames")
    if all("501 UNIMPLEMENTED" in f for f in fs):
        # This server has no rendered endpoint yet (wp-srv-web not merged here): the console must say so, in
        # the API's words, on both sides; the moment the endpoint exists, the branch below is what is checked.
        print("NOTE: rendered frames are 501 on this server: image loading not checked")
        check(all("retrieveRendered" in f for f in fs), "review: a server without rendered frames is reported: %r" % fs)
    else:
        loaded = fs == ["loaded", "loaded"] and p.js("return document.getElementById('frame-deid').naturalWidth") > 0
        check(loaded, "review: the original's and the de-identified rendered frames load: %r" % fs)
    # Reviewer marks: kept with the operation by the server, listed on the page, and still there when the
    # review is opened again.
    p.css("#mark-attention").click()
    p.wait(lambda: "Needs attention (1)" in p.css("#review-marks").text, what="mark listed")
    op_name = p.js("return window.dicomveilConsole.state().op")
    st, _, body = http(srv.url + "/dicomveil/v1/reviewMarks?operation=" + op_name,
                       headers={"Authorization": "Bearer " + TOKEN})
    marks = json.loads(body).get("marks", []) if st == 200 else []
    check(len(marks) == 1 and marks[0].startswith("/studies/") and "/instances/" in marks[0],
          "review marks: the mark is kept with the operation on the server")
    p.shot("review-diff")
    # A reload starts at the datasets (no view state outlives the page: docs/console.md "What the console
    # keeps"); the review opened again from the operations lists the mark the server kept.
    drv.refresh()
    p.view("datasets")
    check(p.js("return JSON.stringify(history.state)").startswith('{"k":'),
          "history entries hold a number, not the view's state, after a reload too")
    p.css("#nav-operations").click()
    p.view("operations")
    Select(p.css("#ops-dataset")).select_by_value("research")
    op_id = op_name.rsplit("/", 1)[-1]
    row = p.wait(lambda: p.css('#operations tbody tr[data-op="%s"]' % op_id), what="the reviewed operation's row")
    row.find_element("css selector", "button[data-action=review]").click()
    p.view("review")
    check("Needs attention (1)" in p.css("#review-marks").text and marks and marks[0] in p.css("#review-marks").text,
          "review marks: listed again when the review is reopened")
    # After the reload the page no longer knows where the operation wrote (no API method says): the review must
    # not default its "De-identified" store to the original store (it paired each original with itself and
    # showed the source's PatientName as the de-identified value) but ask for the destination.
    Select(p.css("#rv-src-store")).select_by_value("incoming")
    check(p.css("#rv-dst-store").get_attribute("value") == "",
          "review of an operation started elsewhere: no destination store preselected (%r)"
          % p.css("#rv-dst-store").get_attribute("value"))
    p.css("#review-sample").click()
    p.wait(lambda: "Choose the de-identified store" in p.css("#message").text, what="destination asked for")
    check(not p.all("#review-pairs"), "review without a destination store: no pairs listed")
    Select(p.css("#rv-dst-store")).select_by_value("incoming")
    p.css("#review-sample").click()
    p.wait(lambda: "is the original store" in p.css("#message").text, what="same store refused")
    check(not p.all("#review-pairs"), "review with the original store as destination: no pairs listed")
    Select(p.css("#rv-dst-store")).select_by_value("deid-all")
    p.wait(lambda: [o for o in p.all("#review-study option") if "CT1" in o.text], what="review studies")
    opt = [o for o in p.all("#review-study option") if "CT1" in o.text]
    Select(p.css("#review-study")).select_by_value(opt[0].get_attribute("value"))
    p.css("#review-by-study").click()
    p.wait(lambda: p.all("#review-pairs tbody tr"), what="review pairs after choosing the destination")
    p.all("#review-pairs tbody tr")[0].send_keys("\n")
    row = p.wait(lambda: p.css('#diff tr[data-path="(0010,0010)"]'), what="diff PatientName")
    check(row.get_attribute("data-status") == "removed",
          "review after a reload: PatientName removed in the chosen destination (%s)" % row.get_attribute("data-status"))

    # A filter built by ticking one study: only its instances are de-identified.
    p.css("#nav-deidentify").click()
    p.view("deidentify")
    Select(p.css("#src-dataset")).select_by_value("research")
    p.wait(lambda: p.css("#src-store"), what="store select")
    Select(p.css("#src-store")).select_by_value("incoming")
    p.wait(lambda: p.all("#filter-tree li"), what="filter tree")
    labels = [l for l in p.all("#filter-tree > li > label") if "CT1" in l.text]
    labels[0].click()
    Select(p.css("#preset")).select_by_value("basic")
    p.wait(lambda: "accepts" in p.css("#config-status").text, what="preset valid")
    p.css("#dst-new-store").send_keys("deid-ct")
    p.css("#deid-start").click()
    p.view("operations")
    cells = op_row_state(p, "done")
    check(cells[3] == "1" and cells[4] == "0", "a filtered operation de-identifies only the ticked study: %r" % cells)
    st, _, body = http(srv.url + "/v1beta1/projects/local/locations/local/datasets/research/dicomStores/deid-ct:"
                       "getDICOMStoreMetrics", headers={"Authorization": "Bearer " + TOKEN})
    check(st == 200 and json.loads(body).get("instanceCount") == "1", "the filtered destination holds 1 instance")
    # The filter file names source UIDs: the console takes it back once the operation has started.
    fdir = os.path.join(srv.data, "filters")
    left = [f for f in os.listdir(fdir) if f.endswith(".txt")] if os.path.isdir(fdir) else []
    check(not left, "the console removed its filter file after starting the operation: %d left" % len(left))
    part_filter_delete(srv)


def part_filter_delete(srv):
    """DELETE /dicomveil/v1/filterFiles removes a filter file it handed out, and nothing else."""
    auth = {"Authorization": "Bearer " + TOKEN}
    ext = srv.url + "/dicomveil/v1/filterFiles"
    st, _, body = http(ext, "POST", {**auth, "Content-Type": "text/plain"}, b"/studies/1.2.3\n")
    uri = json.loads(body)["resourcePathsGcsUri"] if st == 200 else ""
    path = uri[len("file://"):]
    check(st == 200 and os.path.isfile(path), "a filter file handed over (%s)" % st)
    q = lambda u: ext + "?resourcePathsGcsUri=" + urllib.parse.quote(u, safe="")
    index = os.path.join(os.path.realpath(srv.data), "index.sqlite")
    for bad in ["", "file://" + index, uri.replace(".txt", ".txt/../../index.sqlite"), "file://" + path + "x",
                uri[:-5] + "G.txt", uri.replace("/filters/", "/filters/../filters/")]:
        st, _, _ = http(q(bad), "DELETE", auth)
        check(st == 400, "DELETE of %r refused with 400: %s" % (bad[-40:], st))
    check(os.path.isfile(path) and os.path.isfile(index), "the refused DELETEs removed nothing")
    st, _, _ = http(q(uri), "DELETE")
    check(st == 401, "DELETE without the token refused: %s" % st)
    st, _, body = http(q(uri), "DELETE", auth)
    check(st == 200 and json.loads(body) == {} and not os.path.exists(path), "DELETE removed the filter file: %s" % st)
    st, _, _ = http(q(uri), "DELETE", auth)
    check(st == 404, "a second DELETE is 404: %s" % st)


def part_boxes(p, srv):
    """The review's redaction boxes: a cleanImage (REDACT_ALL_TEXT) de-identification of one burned-in
    instance, its review with the boxes the operation recorded outlined over both frames."""
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select
    drv = p.d
    auth = {"Authorization": "Bearer " + TOKEN}
    base = srv.url + "/v1beta1/projects/local/locations/local/datasets/research/dicomStores"
    st, _, _ = http(base + "?dicomStoreId=burned", "POST", {**auth, "Content-Type": "application/json"}, b"{}")
    st2, _, _ = http(base + "/burned/dicomWeb/studies", "POST", {**auth, "Content-Type": "application/dicom"},
                     open(BURNED, "rb").read())
    check(st == 200 and st2 == 200, "a burned-in instance stored (%s, %s)" % (st, st2))
    p.css("#nav-deidentify").click()
    p.view("deidentify")
    Select(p.css("#src-dataset")).select_by_value("research")
    p.wait(lambda: p.css("#src-store"), what="store select")
    Select(p.css("#src-store")).select_by_value("burned")
    p.wait(lambda: p.all("#filter-tree li"), what="filter tree")
    Select(p.css("#preset")).select_by_value("clean-image-all")
    p.wait(lambda: "accepts" in p.css("#config-status").text, what="preset valid")
    p.css("#dst-new-store").send_keys("burned-deid")
    p.css("#deid-start").click()
    p.view("operations")
    cells = op_row_state(p, "done")
    check(cells[3] == "1" and cells[4] == "0", "the cleanImage operation de-identified the instance: %r" % cells)
    p.all("#operations tbody tr")[0].find_element("css selector", "button[data-action=review]").click()
    p.view("review")
    p.css("#review-sample").click()
    p.wait(lambda: p.all("#review-pairs tbody tr"), what="review pair")
    p.all("#review-pairs tbody tr")[0].send_keys("\n")

    def shown():
        ok = p.js("const a = document.getElementById('frame-original'), b = document.getElementById('frame-deid');"
                  "return a && b && a.dataset.loaded === 'true' && b.dataset.loaded === 'true' &&"
                  " a.naturalWidth > 0 && b.naturalWidth > 0")
        return ok and p.css("#frame-deid-boxes").get_attribute("data-boxes") is not None and \
            p.css("#frame-original-boxes").get_attribute("data-boxes") is not None
    p.wait(shown, 30, "both frames loaded with their outlines")
    check(True, "redaction boxes: both rendered frames load (naturalWidth > 0)")
    n_deid = len(p.all("#frame-deid-boxes rect.box"))
    n_orig = len(p.all("#frame-original-boxes rect.box"))
    check(n_deid >= 1 and n_orig == n_deid, "redaction boxes: %d outlined on the output, %d on the original" % (n_deid, n_orig))
    check("dashed" in p.css("#frame-original-boxes").get_attribute("class"), "the original's outlines are dashed")
    legend = p.css("#frame-deid-legend").text
    check(legend.startswith("%d box" % n_deid) and "redacted on this frame" in legend, "legend: %r" % legend)
    check("redacted" in p.css("#review-boxes").text, "summary: %r" % p.css("#review-boxes").text)
    # The overlay covers the picture as displayed (scaled), not the frame's own size.
    geo = p.js("const i = document.getElementById('frame-deid'), s = document.getElementById('frame-deid-boxes');"
               "const a = i.getBoundingClientRect(), b = s.getBoundingClientRect();"
               "return [a.left, a.top, a.width, a.height, b.left, b.top, b.width, b.height, i.naturalWidth];")
    check(all(abs(geo[k] - geo[k + 4]) < 1.5 for k in range(4)) and geo[2] > 0,
          "the overlay lies exactly over the displayed image: %r" % geo)
    # Keyboard: the outline toggle is a labelled checkbox; Space hides the outlines and shows them again.
    box = p.css("#review-outlines")
    box.send_keys(Keys.SPACE)
    p.wait(lambda: not p.css("#frame-deid-boxes").is_displayed(), what="outlines hidden")
    check(box.get_attribute("aria-controls") == "review-frames", "the outline toggle hides the outlines (keyboard)")
    box.send_keys(Keys.SPACE)
    p.wait(lambda: p.css("#frame-deid-boxes").is_displayed(), what="outlines shown")
    p.js("document.getElementById('review-boxes').scrollIntoView()")
    p.shot("review")
    # The boxes the page drew are the server's record for that output instance.
    op_name = p.js("return window.dicomveilConsole.state().op")
    st, _, body = http(base + "/burned-deid/dicomWeb/instances", headers=auth)
    r = json.loads(body)[0] if st == 200 else {}
    inst = "/studies/%s/series/%s/instances/%s" % tuple(r.get(t, {}).get("Value", [""])[0]
                                                        for t in ("0020000D", "0020000E", "00080018"))
    st, _, body = http(srv.url + "/dicomveil/v1/redactionBoxes?" + urllib.parse.urlencode(
        {"operation": op_name, "instance": inst}), headers=auth)
    rec = json.loads(body) if st == 200 else {}
    check(rec.get("boxCount") == n_deid and len(rec.get("boxes", [])) == n_deid,
          "the outlines are the server's record of that output instance (%s boxes)" % rec.get("boxCount"))
    # An instance without redaction says so: the CT of the first (metadata-only) operation's review.
    p.css("#nav-operations").click()
    p.view("operations")
    reviewable = [b for b in p.all("#operations tbody tr[data-op] button[data-action=review]")]
    reviewable[-1].click()  # the oldest de-identification: the guide's deleteTag, no cleanImage
    p.view("review")
    Select(p.css("#rv-src-store")).select_by_value("incoming")
    Select(p.css("#rv-dst-store")).select_by_value("deid-all")  # started before the reload: not known here
    p.css("#review-sample").click()
    p.wait(lambda: p.all("#review-pairs tbody tr"), what="review pairs")
    # An original listed "no output" cannot be compared: open one that has its output (all of them here; stop
    # 43's CI: a series-level SeriesNumber made some "no output" for a while, see review.js SAME_IN_OUTPUT).
    paired = [r for r in p.all("#review-pairs tbody tr")
              if r.find_elements("css selector", "td")[3].text.startswith("paired")]
    check(len(paired) == len(p.all("#review-pairs tbody tr")), "review of the first operation: every sampled "
          "original has its output (%d of %d)" % (len(paired), len(p.all("#review-pairs tbody tr"))))
    check(bool(paired), "review of the first operation: some sampled original has its output")
    paired[0].send_keys("\n")
    p.wait(lambda: p.css("#review-boxes").get_attribute("data-recorded") == "false", what="no record")
    check("No burned-in text redaction" in p.css("#review-boxes").text and not p.all("#review-outlines"),
          "an instance without redaction says so: %r" % p.css("#review-boxes").text)


def token_file(tmp):
    path = os.path.join(tmp, "token")
    if not os.path.exists(path):
        with open(path, "w") as f:
            f.write(TOKEN + "\n")
        os.chmod(path, 0o600)
    return path


def bulk_fill(data, store_row, n_instances, root="1.2.826.0.1.3680043.10.999", first_id=0):
    """The test-only bulk path (docs/console.md): rows written straight into the index's tables, 5 instances
    a series, one series a study, study dates spread over 20 years, InstanceNumber the instance's position + 1
    (unique in the store: the review pairs by it). No instance file exists: the study list reads the index only.
    A second store takes another root and first_id (its study and series rows' ids start after it)."""
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    db.execute("PRAGMA synchronous=OFF")
    n_studies = n_instances // 5
    db.executemany("INSERT INTO studies(id, store_id, study_uid, patient_name, patient_id, study_date, "
                   "accession_number, study_description) VALUES(?,?,?,?,?,?,?,?)",
                   ((first_id + i + 1, store_row, "%s.1.%d" % (root, i), "Bulk^Patient%05d" % (i % 50000),
                     "BP%06d" % i, "%04d%02d%02d" % (2000 + i % 20, 1 + i % 12, 1 + i % 28), "A%07d" % i,
                     "generated") for i in range(n_studies)))
    db.executemany("INSERT INTO series(id, study_id, series_uid, modality, series_number) VALUES(?,?,?,?,?)",
                   ((first_id + i + 1, first_id + i + 1, "%s.2.%d" % (root, i), "CT", "1") for i in range(n_studies)))
    db.executemany("INSERT INTO instances(series_id, store_id, sop_uid, transfer_syntax, blob, size, sop_class_uid, "
                   "instance_number) VALUES(?,?,?,?,?,?,?,?)",
                   ((first_id + i // 5 + 1, store_row, "%s.3.%d" % (root, i), "1.2.840.10008.1.2.1",
                     "%064x" % (first_id * 5 + i), 1000, "1.2.840.10008.5.1.4.1.1.2", str(i + 1))
                    for i in range(n_instances)))
    db.commit()
    db.close()


def part2(tmp, drv):
    p = Page(drv)
    data = os.path.join(tmp, "data2")
    srv = Server(data)
    base = srv.url + "/v1beta1/projects/local/locations/local/datasets"
    http(base + "?datasetId=big", "POST", {"Content-Type": "application/json"}, b"{}")
    http(base + "/big/dicomStores?dicomStoreId=s100k", "POST", {"Content-Type": "application/json"}, b"{}")
    http(base + "/big/dicomStores?dicomStoreId=d100k", "POST", {"Content-Type": "application/json"}, b"{}")
    srv.stop()
    t0 = time.time()
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    store_row = db.execute("SELECT id FROM stores WHERE name='s100k'").fetchone()[0]
    cols = {r[1] for t in ("studies", "series", "instances") for r in db.execute("PRAGMA table_info(%s)" % t)}
    db.close()
    for c in ("patient_name", "patient_id", "study_date", "accession_number", "study_description",
              "modality", "series_number", "sop_class_uid", "instance_number"):
        if not check(c in cols, "index column %s exists (the bulk path follows the schema)" % c):
            return
    bulk_fill(data, store_row, BULK_INSTANCES)
    db = sqlite3.connect(os.path.join(data, "index.sqlite"))
    dst_row = db.execute("SELECT id FROM stores WHERE name='d100k'").fetchone()[0]
    db.close()
    # the review's "de-identified" twin: the same instance attributes under other UIDs
    bulk_fill(data, dst_row, BULK_INSTANCES, root="1.2.826.0.1.3680043.10.998", first_id=BULK_INSTANCES)
    print("bulk index fill: %d instances in %.1f s" % (BULK_INSTANCES, time.time() - t0))
    srv = Server(data)
    base = srv.url + "/v1beta1/projects/local/locations/local/datasets"
    try:
        st, _, body = http(base + "/big/dicomStores/s100k:getDICOMStoreMetrics")
        m = json.loads(body) if st == 200 else {}
        check(m.get("instanceCount") == str(BULK_INSTANCES), "the 100k store's metrics count %s instances" % m.get("instanceCount"))
        drv.get(srv.url + "/console/")
        p.view("datasets")
        rows(p, "datasets")[0].click()
        p.view("stores")
        p.wait(lambda: p.all("#stores tbody td")[3].text.replace(",", "") == str(BULK_INSTANCES), what="100k metrics")
        # Time from the click on the store to the study list's first page painted; three times (back to the
        # store list in between), the fastest asserted: the machine's 2 cores are shared with other builds
        # (load averages above 20 seen), whose noise is no property of the console; all three are printed.
        times = []
        for _ in range(3):
            # The click is dispatched in the page, so the time is the console's (request, QIDO, DOM, paint),
            # not the WebDriver round trip's.
            p.js("window.__seen = new Promise(res => new MutationObserver((m, o) => {"
                 "  if (document.querySelector('#studies tbody tr.openable')) { o.disconnect();"
                 "    requestAnimationFrame(() => res(performance.now() - window.__t0)); } })"
                 ".observe(document.getElementById('main'), {childList: true, subtree: true}));"
                 "window.__t0 = performance.now(); document.querySelector('#stores tbody tr.openable').click();")
            times.append(drv.execute_async_script("const done = arguments[0]; window.__seen.then(done);"))
            p.view("studies")
            n = len(rows(p, "studies"))
            if len(times) < 3:
                drv.back()
                p.view("stores")
        ms = min(times)
        print("100k store: first page of %d studies in %s ms (best %.0f)" % (n, ", ".join("%.0f" % t for t in times), ms))
        check(n == 50 and ms <= 1000, "100k instances: the study list's first page renders in <= 1 s (best of 3: %.0f ms)" % ms)
        p.rerender(lambda: p.css("#page-next").click(), "studies")
        check(len(rows(p, "studies")) == 50 and "51–100" in p.css(".pager .range").text, "the next page is served by offset")
        # The review's random sample is drawn from the whole store (console/js/review.js sampleInstances): 3 x 5
        # draws from 100,000 instances; drawn from the first 5,000 only (as before) none would be past it.
        got = drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/console/js/review.js').then(async (m) => { const out = [];"
            "  for (let i = 0; i < 3; i++) out.push(...(await m.sampleInstances('big', 's100k', 5)).map("
            "    (r) => r['00080018'].Value[0]));"
            "  done(out); }).catch((e) => done(String(e)));")
        idx = [int(u.rsplit(".", 1)[1]) for u in got] if isinstance(got, list) else []
        check(len(idx) == 15 and all(len(set(idx[i:i + 5])) == 5 for i in (0, 5, 10)) and max(idx) >= 5000,
              "review sample of the whole store: 3 x 5 distinct instances, some past the first 5,000: %s" % (got,))
        # review pairs past the first 5,000: each of 10 sampled originals of s100k is paired with the d100k
        # instance of its InstanceNumber, alone (no tie), wherever it lies in d100k (not in its first page)
        got = drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/console/js/review.js').then(async (m) => {"
            "  const src = [...await m.sampleInstances('big', 's100k', 5), ...await m.sampleInstances('big', 's100k', 5)];"
            "  const pairs = await m.pairOutputs(src, 'big', 'd100k', async () => []);"
            "  done(pairs.map((p) => [p.src['00080018'].Value[0], p.dst ? p.dst['00080018'].Value[0] : null, p.ties]));"
            "}).catch((e) => done(String(e)));")
        ok = isinstance(got, list) and len(got) == 10 and all(
            d is not None and d.endswith("998.3." + s.rsplit(".", 1)[1]) and t == 0 for s, d, t in got)
        check(ok and max(int(s.rsplit(".", 1)[1]) for s, _, _ in got) >= 5000,
              "review pairs past the first 5,000: each sampled original with its twin, no tie: %s" % (got,))
        # review pairs no stranger: an original whose InstanceNumber no output has is "no output", not paired
        # with the best of the destination's first page, which agrees on SOP class, modality, rows, columns and
        # series (stop 42's review: it was shown "paired"); the same original with its own number pairs.
        got = drv.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "import('/console/js/review.js').then(async (m) => {"
            "  const [r] = await m.sampleInstances('big', 's100k', 1);"
            "  const page = async () => m.sampleInstances('big', 'd100k', 5);"
            "  const lone = {...r, '00200013': {vr: 'IS', Value: [987654321]}};"
            "  const pairs = await m.pairOutputs([lone, r], 'big', 'd100k', page);"
            "  done(pairs.map((p) => p.dst ? p.dst['00080018'].Value[0] : null));"
            "}).catch((e) => done(String(e)));")
        check(isinstance(got, list) and len(got) == 2 and got[0] is None and got[1] is not None,
              "review pairs no stranger: an original with no output is unpaired, its twin still found: %s" % (got,))
        p.shot("studies-100k")
    finally:
        srv.stop()


def sanitized():
    """The ASan/UBSan build (make ctest-asan) links libasan: its run checks the server under the browser flows
    (part 1); the 1 s timing (part 2) is a property of the normal build."""
    r = subprocess.run(["ldd", BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


def main():
    need_browser()
    tmp = tempfile.mkdtemp(prefix="dv-console-")
    drv = browser()
    drv.set_script_timeout(30)
    try:
        t = time.time()
        part1(tmp, drv)
        print("part 1: %.1f s" % (time.time() - t))
        if sanitized():
            print("part 2 (100k timing) runs in the normal build only: this binary is sanitized")
        else:
            t = time.time()
            part2(tmp, drv)
            print("part 2: %.1f s" % (time.time() - t))
    except Exception as e:  # a wait that timed out, an element missing: a failure with a screenshot
        import traceback
        traceback.print_exc()
        check(False, "%s: %s" % (type(e).__name__, str(e).splitlines()[0] if str(e) else ""))
        try:
            Page(drv).shot("failure")
        except Exception:
            pass
    finally:
        drv.quit()
        shutil.rmtree(tmp, ignore_errors=True)
    if fails:
        print("%d FAILED" % len(fails), file=sys.stderr)
        return 1
    print("console: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
