#!/usr/bin/env python3
"""No core file copies the PHI a crashing dicomveil holds (src/cli/no_core.c; stop 53's red team: a SIGSEGV of
`serve` wrote a 91 MB core, of `deidentify` a 22 MB one, both naming the patient).

1. A running `serve` has a core size limit of 0, soft and hard (/proc/PID/limits), whatever its parent allowed;
   with DV_CORE_DUMPS=1 it keeps its parent's limit (the opt-out for debugging on data without PHI; under ASan,
   which sets the soft limit to 0 by itself, the hard one).
2. Run as user nobody, its /proc/PID files belong to root: the kernel does that for a process that is not
   dumpable (PR_SET_DUMPABLE 0: no core even where core_pattern pipes to a collector that ignores the limit, no
   ptrace by another process of that user); with DV_CORE_DUMPS=1 they are nobody's.
3. Where core_pattern writes a plain file and the build has no ASan (which turns core dumps off by itself): a
   SIGSEGV of `serve` leaves no core in its working directory; with DV_CORE_DUMPS=1 it leaves one (so this check
   can fail). Elsewhere this part says why it did not run.
"""
import os
import pwd
import resource
import signal
import subprocess
import sys
import tempfile
import time

BIN = os.environ["DV_BIN"]
fails = []


def check(cond, msg):
    if not cond:
        fails.append(msg)
        print("FAIL:", msg, file=sys.stderr)
    return cond


def sanitized():
    r = subprocess.run(["ldd", BIN], capture_output=True, text=True)
    return "libasan" in r.stdout


def start_serve(data, cwd, allow, as_nobody=False):
    """`serve` on an ephemeral loopback port; returns (Popen, pid of dicomveil itself) once it listens."""
    env = dict(os.environ)
    env.pop("DV_CORE_DUMPS", None)
    if allow:
        env["DV_CORE_DUMPS"] = "1"
    cmd = [BIN, "serve", "--data", data, "--listen", "127.0.0.1:0", "--workers", "1", "--min-free-disk", "1M"]
    if as_nobody:
        cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "--"] + cmd

    def unlimited_core():  # the parent's limit the child starts with: as high as it goes
        soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
        resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))

    p = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                         preexec_fn=unlimited_core)
    deadline = time.time() + 15
    said = []
    for line in p.stderr:
        if '"event":"listening"' in line:
            return p
        said.append(line)
        if time.time() > deadline:
            break
    p.kill()
    p.wait()
    raise RuntimeError("serve did not start: " + "".join(said))


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def core_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max core file size"):
                return line.split()[4:6]
    return None


def main():
    asan = sanitized()
    parent_hard = resource.getrlimit(resource.RLIMIT_CORE)[1]
    parent = "unlimited" if parent_hard == resource.RLIM_INFINITY else str(parent_hard)
    with tempfile.TemporaryDirectory() as tmp:
        for allow in (False, True):
            data = os.path.join(tmp, "data-%d" % allow)
            p = start_serve(data, tmp, allow)
            try:
                lim = core_limit(p.pid)
                if allow:  # the hard limit: ASan sets the soft one to 0 by itself
                    check(lim is not None and lim[1] == parent and (asan or lim[0] == parent),
                          "DV_CORE_DUMPS=1: core limit %s, want the parent's %s" % (lim, parent))
                else:
                    check(lim == ["0", "0"], "serve's core limit %s, want 0 soft and hard" % (lim,))
            finally:
                stop(p)

        # 2: dumpable, seen as user nobody (as root every /proc file is root's either way)
        nobody = pwd.getpwnam("nobody")
        os.chmod(tmp, 0o711)  # nobody passes through to its own folder
        for allow in (False, True):
            data = os.path.join(tmp, "nobody-%d" % allow)
            os.mkdir(data)
            os.chown(data, nobody.pw_uid, nobody.pw_gid)
            p = start_serve(data, data, allow, as_nobody=True)
            try:
                owner = os.stat("/proc/%d/environ" % p.pid).st_uid
                if allow:
                    check(owner == nobody.pw_uid, "DV_CORE_DUMPS=1: /proc/PID owned by uid %d, want nobody's" % owner)
                else:
                    check(owner == 0, "serve as nobody is dumpable: /proc/PID owned by uid %d, want root" % owner)
            finally:
                stop(p)

        # 3: a crash
        with open("/proc/sys/kernel/core_pattern") as f:
            pattern = f.read().strip()
        if pattern.startswith("|") or "/" in pattern:
            print("test_no_core: crash part not run: core_pattern %r is not a file in the working directory" % pattern)
        elif asan:
            print("test_no_core: crash part not run: ASan turns core dumps off by itself")
        else:
            for allow in (False, True):
                cwd = os.path.join(tmp, "crash-%d" % allow)
                os.mkdir(cwd)
                p = start_serve(os.path.join(cwd, "data"), cwd, allow)
                os.kill(p.pid, signal.SIGSEGV)
                p.wait(30)
                cores = [n for n in os.listdir(cwd) if n.startswith(pattern.split("%")[0] or "core")]
                if allow:
                    check(cores != [], "DV_CORE_DUMPS=1: a SIGSEGV left no core (pattern %r): this check cannot fail"
                          % pattern)
                else:
                    check(cores == [], "a SIGSEGV of serve left a core file: %s" % cores)
    if fails:
        print("test_no_core: %d failure(s)" % len(fails), file=sys.stderr)
        return 1
    print("test_no_core: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
