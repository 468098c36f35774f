#!/usr/bin/python3
"""Memory of a lazily backed virtual machine, for benchmarks: the one home of how bench/percore.py and bench/mpi.sh
keep the hypervisor's page faults out of the figures (docs/decisions.md "Per-core rates are measured on a fresh
file system per run"; bench/RESULTS.md "Per-core rates on a lazily backed virtual machine").

On the virtual machines of this project's CI (Firecracker, PVM) the guest hands free memory back to the host
(virtio-balloon free page reporting, Linux mm/page_reporting.c: every free 2 MiB block at once, min_free_ms 0),
and the next touch of such a page faults on the host inside the guest's memcpy, billed to whichever run touched
it first: usually the one after a run that deleted its outputs.

    /usr/bin/python3 bench/vm_memory.py pause          prints the order to put back (or "-"), then a note line
    /usr/bin/python3 bench/vm_memory.py restore ORDER  puts it back ("-": nothing)
    /usr/bin/python3 bench/vm_memory.py prefault BYTES touches and frees BYTES of memory

DV_REPORTING_ORDER names another knob (the tests' stand-in: they must not change the machine).
"""
import contextlib
import os
import sys

REPORTING_ORDER = os.environ.get("DV_REPORTING_ORDER", "/sys/module/page_reporting/parameters/page_reporting_order")
NO_REPORTING_ORDER = "11"  # above the largest buddy order (10): no free block qualifies, nothing is reported


def pause():
    """Pause free page reporting where this machine has it and lets us (root). (order to put back or None,
    a note on what was done for the method line)."""
    try:
        with open(REPORTING_ORDER) as f:
            old = f.read().strip()
    except OSError:
        return None, "no free page reporting here"
    try:
        with open(REPORTING_ORDER, "w") as f:
            f.write(NO_REPORTING_ORDER)
    except OSError:
        return None, f"free page reporting left on (order {old}: not allowed to pause it; figures may carry host faults)"
    return old, f"free page reporting paused for the series (page_reporting_order {old} -> {NO_REPORTING_ORDER})"


def restore(old):
    """Put back what pause() changed (old: its first result). False when that failed."""
    if old is None:
        return True
    try:
        with open(REPORTING_ORDER, "w") as f:
            f.write(old)
        return True
    except OSError:
        print(f"vm_memory: could not put page_reporting_order back to {old}", file=sys.stderr)
        return False


@contextlib.contextmanager
def free_page_reporting_paused():
    """pause() for the with block, restore() after it. Yields the note. Why: cp -r of 1000 CT instances onto a
    fresh ext4 took 0.44-1.00 s of CPU after 5 s of quiet and 0.13-0.14 s with reporting paused; 2 MPI ranks on
    4000 CT instances into tmpfs took 1.4-1.5 s where the same run took 0.41 s (bench/RESULTS.md)."""
    old, note = pause()
    try:
        yield note
    finally:
        restore(old)


def prefault(nbytes):
    """Touch nbytes of memory and give it back, just before a timed run, so the memory that run fills (page
    cache, tmpfs) comes from pages the machine already backs. Untimed; every timed run gets it, so no tool is
    favoured."""
    if nbytes <= 0:
        return
    b = bytearray(nbytes)
    b[::4096] = b"\1" * len(range(0, nbytes, 4096))
    del b


def main(argv):
    if len(argv) == 2 and argv[1] == "pause":
        old, note = pause()
        print(old if old is not None else "-")
        print(note)
        return 0
    if len(argv) == 3 and argv[1] == "restore":
        return 0 if restore(None if argv[2] == "-" else argv[2]) else 1
    if len(argv) == 3 and argv[1] == "prefault" and argv[2].isdigit():
        prefault(int(argv[2]))
        return 0
    print(__doc__.strip().split("\n\n")[2], file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
