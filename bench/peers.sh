#!/bin/bash
# The performance record against every peer (issue 8 item 3), part of `make bench`: runs bench/peers.py, which
# measures cp, dicomveil (1 thread, all cores, MPI 1 and 2 ranks), dcmodify, gdcmanon, pydicom_basic.py and
# Orthanc's /instances/{id}/anonymize side by side on the same generated corpora and ../shared/data/dicom, then
# regenerates its section of bench/RESULTS.md and the plots bench/img/peers_*.png (bench/peers_report.py).
#
#   BENCH_SIZE=small bench/peers.sh     # ~3 min idle (~8 at load 20): CT 20/50/100, MR 8, US 24, 1 run each
#   bench/peers.sh                      # full (default): CT 100/300/1000, MR 50, US 200, 3 runs (< ~15 min)
#
# Env: BENCH_SIZE (full), RUNS, DV_BIN (build/dicomveil), DV_SHARED_DATA (../shared/data). Extra arguments are
# passed to bench/peers.py (--keep, --no-report). Not a test: it exits non-zero only on errors.
set -euo pipefail
cd "$(dirname "$0")/.."
exec /usr/bin/python3 bench/peers.py --size "${BENCH_SIZE:-full}" "$@"
