#!/bin/bash
# The committed dictionaries (src/text/lexicon_data.c, lexicon_data.h) are exactly what tools/gen_lexicons.py
# produces from ../shared/data/lexicons and tools/lexicons/curated.txt: nobody edited them by hand and nobody
# forgot to regenerate after changing the generator, the curated word classes or the cut-offs.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${DV_SHARED_DATA:-$SRC/../shared/data}
cd "$SRC"
if ! /usr/bin/python3 tools/gen_lexicons.py --shared "$SHARED" --out src/text --check; then
    echo "FAIL: src/text/lexicon_data.* are stale or edited by hand; run 'python3 tools/gen_lexicons.py'" >&2
    exit 1
fi
# the generated source stays small enough for the repository (docs/text-lexicons.md: cut-offs)
size=$(stat -c %s src/text/lexicon_data.c)
if (( size > 5 * 1024 * 1024 )); then
    echo "FAIL: src/text/lexicon_data.c is $size bytes, over 5 MiB: tighten the cut-offs" >&2
    exit 1
fi
# only redistributable sources are read (GFDL, CC BY-SA and LGPL lists are for evaluation only)
if grep -E "jmichael|frequencywords|iso_3166|us_states" tools/gen_lexicons.py | grep -v '^ *#' | grep -v "never read" >/dev/null; then
    echo "FAIL: tools/gen_lexicons.py names a source that may not go into committed tables" >&2
    exit 1
fi
echo "lexicons: 3 passed, 0 failed (generated source $size bytes)"
