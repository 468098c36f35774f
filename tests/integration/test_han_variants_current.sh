#!/bin/bash
# The committed Han variant table (src/text/han_variants.c) is exactly what tools/gen_han_variants.py produces from
# Unihan_Variants.txt (Debian package unicode-data): nobody edited it by hand and nobody forgot to regenerate after
# changing the generator; the hand-written han_variants.h's range constants are the table's.
set -euo pipefail
SRC=${DV_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
UNIHAN=${DV_UNIHAN_VARIANTS:-/usr/share/unicode/Unihan_Variants.txt.bz2}
cd "$SRC"
if [ ! -e "$UNIHAN" ]; then
    echo "FAIL: $UNIHAN missing: \`make deps\` installs unicode-data" >&2
    exit 1
fi
if ! /usr/bin/python3 tools/gen_han_variants.py --unihan "$UNIHAN" --out src/text --check; then
    echo "FAIL: src/text/han_variants.c is stale or edited by hand; run 'python3 tools/gen_han_variants.py'" >&2
    exit 1
fi
size=$(stat -c %s src/text/han_variants.c)
echo "han variants: 1 passed, 0 failed (generated source $size bytes)"
