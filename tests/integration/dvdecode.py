"""Our frame decoder for the integration tests (not a test itself): one build/tests/dv_decode_frame process in its
batch mode ("dv_decode_frame -", tests/helpers/dv_decode_frame.c) serves every frame a test asks for, so an ASan
build pays the helper's start-up (~0.1 s CPU) once per test, not once per frame. Each job still runs as the
one-frame form runs it, with a context of its own.

    helper = DecodeFrame(build_dir, tmp)
    rc, msg = helper.decode(path, frame, raw)             # rc 0: msg is the helper's "rows ... photometric" line
    ...                                                   # else: the exit status (2, 3) and its "error ..." line
    left = helper.close()                                 # its stderr at exit (e.g. a LeakSanitizer report)

A helper that dies (a sanitizer report, a crash) or does not answer within 120 s fails the job it was running
(rc -1, with its stderr), and the next job starts a new one."""
import os
import select
import subprocess


class DecodeFrame:
    def __init__(self, build_dir, tmp):
        self.path = os.path.join(build_dir, "tests", "dv_decode_frame")
        self.tmp, self.proc, self.err = tmp, None, None

    def decode(self, path, frame, raw, rle="", jls="", j2k=""):
        """(returncode, answer) for frame `frame` of `path` (outputs: raw, and the optional RLE / JPEG-LS / JPEG
        2000 re-encodes of dv_decode_frame.c when named); returncode -1 when the helper died or hung."""
        if self.proc is None:
            self.err = open(os.path.join(self.tmp, "dv_decode_frame.err"), "w+")
            self.proc = subprocess.Popen([self.path, "-"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=self.err, text=True)
        try:
            self.proc.stdin.write("\t".join([path, str(frame), raw, rle, jls, j2k]) + "\n")
            self.proc.stdin.flush()
            ready, _, _ = select.select([self.proc.stdout], [], [], 120)
            answer = self.proc.stdout.readline() if ready else ""
        except BrokenPipeError:
            answer = ""
        if answer:
            rc, _, msg = answer.rstrip("\n").partition(" ")
            return int(rc), msg
        return -1, "helper died or hung: " + self.close()[-2000:]

    def close(self):
        """Ends the helper; returns what it wrote on stderr (a sanitizer's report) and its exit status unless 0."""
        if self.proc is None:
            return ""
        self.proc.stdin.close()
        try:
            rc = self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.err.seek(0)
        text = self.err.read()
        self.err.close()
        self.proc = None
        return text + ("" if rc == 0 else f" (helper exit {rc})")
