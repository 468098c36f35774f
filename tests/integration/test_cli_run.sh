#!/usr/bin/env bash
# dicomveil deidentify end to end on real files: output layout with the new UIDs, skipped non-DICOM files and
# DICOMDIRs, duplicates (first wins, never overwritten), a truncated input failing alone, the run report
# (input order, no output paths, no tag values), no paths on stderr, sources unchanged, same key -> identical
# outputs, hostile UIDs confined to DST (and regenerated under primaryIds KEEP, which keeps only UIDs), and an
# instance without SOPInstanceUID failing as "invalid".
set -euo pipefail

# shellcheck source=tests/integration/cli_lib.sh
source "$(dirname "$0")/cli_lib.sh"
command -v dcmdump >/dev/null || { echo "FAIL: dcmdump (dcmtk) is required" >&2; exit 1; }

# Source paths live under PHI-looking names: stdout and stderr must never show them.
MUST_NOT_PRINT=("Smith" "Trunc^")

CT="$DATA/pydicom/CT_small.dcm"
MR="$DATA/pydicom/MR_small.dcm"
SRC="$T/Smith^Jane_1970"
mkdir -p "$SRC/sub"
cp "$CT" "$SRC/CT_small.dcm"
cp "$MR" "$SRC/MR_small.dcm"
cp "$CT" "$SRC/sub/same_instance_again.dcm"           # a duplicate under another name
cp "$DATA/pydicom/dicomdir/DICOMDIR" "$SRC/DICOMDIR" # a directory record, not an instance
echo "clinic notes, not DICOM" >"$SRC/notes.txt"
ln -s .. "$SRC/sub/loop"                              # must not be followed (would loop)
ln -s "$CT" "$SRC/link_to_ct.dcm"                     # symlinks inside a SRC folder are not followed: listed, skipped
head -c 32 /dev/urandom >"$T/key" && chmod 600 "$T/key"
head -c 32 /dev/urandom >"$T/key2" && chmod 600 "$T/key2"
echo '{"dicomTagConfig":{"profileType":"ATTRIBUTE_CONFIDENTIALITY_BASIC_PROFILE"}}' >"$T/cfg.json"
( cd "$SRC" && find . -type f -print0 | sort -z | xargs -0 sha256sum ) >"$T/src.sha256"
# Access times older than the files' mtimes: on a relatime mount a plain read updates them, dicomveil's must not
# (docs/decisions.md "Inputs are read without touching their access time"). The control shows the mount does.
find "$SRC" -type f -exec touch -a -d '2001-02-03 04:05:06' {} + && cp "$CT" "$T/atime-control"
touch -a -d '2001-02-03 04:05:06' "$T/atime-control" && cat "$T/atime-control" >/dev/null
( cd "$SRC" && find . -type f -printf '%p %A@\n' | sort ) >"$T/src.atimes"

# Directory atimes too ("directory atimes"): set last, read with stat only (listing a directory, as find does,
# would update it on this relatime mount) before and after run A.
touch -a -d '2001-02-03 04:05:06' "$SRC" "$SRC/sub"
dir_atimes=$(stat -c '%X' "$SRC" "$SRC/sub")
# ---- run A: a folder with DICOM, text, DICOMDIR, a duplicate -> exit 0 ----
run 0 "run A" deidentify --config "$T/cfg.json" --key-file "$T/key" --jobs 1 --report "$T/repA.json" \
    "$SRC" "$T/dstA"
summary=$(tail -n 1 "$T/err")
re='^instances: 2 ok, 0 failed, 4 skipped, 1 duplicate; [0-9]+\.[0-9] instances/s, [0-9]+\.[0-9] MB/s \(input bytes\), elapsed [0-9]+\.[0-9]{2}s$'
[[ "$summary" =~ $re ]] || fail "run A: summary line is '$summary'"

# Layout: exactly DST/2.25.x/2.25.y/2.25.z.dcm, two of them, nothing else (no temp files).
mapfile -t outs < <(cd "$T/dstA" && find . -type f | sed 's|^\./||' | sort)
[ "${#outs[@]}" -eq 2 ] || fail "run A: expected 2 output files, found ${#outs[@]}: ${outs[*]:-}"
for f in "${outs[@]}"; do
    [[ "$f" =~ ^2\.25\.[0-9]+/2\.25\.[0-9]+/2\.25\.[0-9]+\.dcm$ ]] || { fail "run A: output path '$f'"; continue; }
    p="$T/dstA/$f"
    dcmdump -q "$p" >/dev/null 2>&1 || fail "run A: dcmdump cannot read $f"
    sop=$(tag "$p" SOPInstanceUID)
    [ "$(basename "$f" .dcm)" = "$sop" ] || fail "run A: file name of $f is not its SOPInstanceUID ($sop)"
    [ "$(tag "$p" MediaStorageSOPInstanceUID)" = "$sop" ] || fail "run A: MediaStorageSOPInstanceUID != SOP in $f"
    [ "$(basename "$(dirname "$f")")" = "$(tag "$p" SeriesInstanceUID)" ] || fail "run A: series dir of $f"
    [ "$(dirname "$(dirname "$f")")" = "$(tag "$p" StudyInstanceUID)" ] || fail "run A: study dir of $f"
done
for in_file in "$CT" "$MR"; do
    old=$(tag "$in_file" SOPInstanceUID)
    [ -n "$old" ] || fail "could not read the SOPInstanceUID of an input"
    grep -rqF "$old" "$T/dstA" && fail "run A: an original SOPInstanceUID survives in the output"
    printf '%s\n' "${outs[@]}" | grep -F "$old" >/dev/null && fail "run A: an original UID is used in an output path"
done

# Sources unchanged.
dir_atimes_after=$(stat -c '%X' "$SRC" "$SRC/sub")
if [ "$(stat -c %X "$T/atime-control")" = "$(date -d '2001-02-03 04:05:06' +%s)" ]; then
    echo "NOTE: this mount does not update access times on read: the sources' atimes cannot be checked here"
else
    ( cd "$SRC" && find . -type f -printf '%p %A@\n' | sort ) | cmp -s - "$T/src.atimes" ||
        fail "run A changed the sources' access times"
    [ "$dir_atimes_after" = "$dir_atimes" ] || fail "directory atimes: run A changed the source folders' access times"
fi
( cd "$SRC" && sha256sum --quiet -c "$T/src.sha256" ) || fail "sources changed after run A"

# Report: valid JSON, input order, statuses, and nothing that links to the outputs or holds tag values.
exp_order='./CT_small.dcm ./DICOMDIR ./MR_small.dcm ./link_to_ct.dcm ./notes.txt ./sub/loop ./sub/same_instance_again.dcm'
order=$(json "$T/repA.json" "' '.join('./'+i['source'].split('/Smith^Jane_1970/',1)[1] for i in d['instances'])")
[ "$order" = "$exp_order" ] || fail "report A: instances order is '$order'"
statuses=$(json "$T/repA.json" "' '.join(i['status']+':'+str(i['error_class'])+':'+str(i.get('reason')) for i in d['instances'])")
# symlinks in a folder are not followed, and not left out either ("symlinks listed as skipped")
exp='ok:None:None skipped:None:directory ok:None:None skipped:None:not_regular_file skipped:not_dicom:not_dicom skipped:None:not_regular_file duplicate:None:None'
[ "$statuses" = "$exp" ] || fail "report A: statuses are '$statuses'"
[ "$(json "$T/repA.json" "d['tool'], d['counts']['ok'], d['counts']['skipped'], d['counts']['duplicate'], d['counts']['failed']")" \
    = "dicomveil 2 4 1 0" ] || fail "report A: header/counts wrong"
json "$T/repA.json" "d['version'], d['config_summary'], d['elapsed_seconds']" >/dev/null || fail "report A: fields missing"
[ "$(stat -c %a "$T/repA.json")" = 600 ] || fail "report A: mode is not 600"
for f in "${outs[@]}"; do
    for uid in $(echo "$f" | tr '/' ' ' | sed 's/\.dcm//'); do
        grep -qF "$uid" "$T/repA.json" && fail "report A contains an output UID/path component"
    done
done
grep -qF "dstA" "$T/repA.json" && fail "report A names the destination"
for in_file in "$CT" "$MR"; do
    for kw in PatientName PatientID; do
        v=$(tag "$in_file" "$kw")
        [ -n "$v" ] || { fail "could not read $kw of an input"; continue; }
        grep -qF "$v" "$T/repA.json" && fail "report A contains the $kw value of an input"
        grep -qF "$v" "$T/err" && fail "run A stderr contains the $kw value of an input"
    done
done

# ---- stale report temp files removed: what a run killed while writing its report left beside it (mode 0600,
#      holding source paths) goes when the report is written again; look-alikes that are not ours stay ----
for n in repB.json.tmp-aB3xY9 repB.json.tmp-Zz0000; do printf 'Trunc^Case/a.dcm' >"$T/$n"; chmod 600 "$T/$n"; done
printf x >"$T/repB.json.tmp-keep644"; chmod 600 "$T/repB.json.tmp-keep644"   # 7 characters: not a temp name
printf x >"$T/repB.json.tmp-kp0644"; chmod 644 "$T/repB.json.tmp-kp0644"     # not mode 0600: not ours
# ---- run B: a truncated file fails alone -> exit 1, the others are still written ----
TSRC="$T/Trunc^Case"
mkdir -p "$TSRC"
cp "$CT" "$TSRC/a.dcm"
head -c 1000 "$MR" >"$TSRC/b_truncated.dcm"
cp "$MR" "$TSRC/c.dcm"
run 1 "run B" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/repB.json" "$TSRC" "$T/dstB"
[ ! -e "$T/repB.json.tmp-aB3xY9" ] && [ ! -e "$T/repB.json.tmp-Zz0000" ] ||
    fail "stale report temp files removed: a leftover temp file of the report is still there"
[ -e "$T/repB.json.tmp-keep644" ] && [ -e "$T/repB.json.tmp-kp0644" ] ||
    fail "stale report temp files removed: a file that is not one of our temp files was removed"
[ -z "$(ls "$T" | grep -E '^repB\.json\.tmp-.{6}$' | grep -v kp0644)" ] || fail "the report's own temp file stayed"
[ "$(find "$T/dstB" -type f -name '*.dcm' | wc -l)" -eq 2 ] || fail "run B: the two good inputs were not both written"
[ -z "$(find "$T/dstB" -type f ! -name '*.dcm')" ] || fail "run B: stray non-.dcm files in DST"
bst=$(json "$T/repB.json" "' '.join(i['status'] for i in d['instances'])")
[ "$bst" = "ok failed ok" ] || fail "run B: statuses '$bst'"
bclass=$(json "$T/repB.json" "d['instances'][1]['error_class']")
case "$bclass" in malformed | io | limit | not_dicom | unsupported | invalid) ;; *) fail "run B: class '$bclass'" ;; esac
json "$T/repB.json" "d['instances'][1]['source'].endswith('b_truncated.dcm') or sys.exit(1)" >/dev/null ||
    fail "run B: the failed entry is not the truncated file"
grep -qE "^instance #1: $bclass: .+" "$T/err" || fail "run B: no 'instance #1: $bclass: ...' line on stderr"
grep -qF "b_truncated" "$T/err" && fail "run B: stderr names the failed file"
grep -qE '^instances: 2 ok, 1 failed, 0 skipped' "$T/err" || fail "run B: summary '$(tail -n 1 "$T/err")'"

# ---- determinism: same key -> identical outputs (other job count); other key -> other UIDs ----
run 0 "run C" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --jobs 4 "$SRC" "$T/dstC"
( cd "$T/dstC" && find . -type f | sed 's|^\./||' | sort ) >"$T/listC"
printf '%s\n' "${outs[@]}" | cmp -s - "$T/listC" || fail "run C: a second run with the same key gives other paths"
for f in "${outs[@]}"; do
    cmp -s "$T/dstA/$f" "$T/dstC/$f" || fail "run C: $f differs between two runs with the same key"
done
run 0 "run D" deidentify -q --config "$T/cfg.json" --key-file "$T/key2" "$SRC" "$T/dstD"
( cd "$T/dstD" && find . -type f | sed 's|^\./||' | sort ) >"$T/listD"
[ "$(wc -l <"$T/listD")" -eq 2 ] || fail "run D: expected 2 outputs"
comm -12 "$T/listC" "$T/listD" | grep . >/dev/null && fail "run D: another key gave the same output UIDs"

# ---- re-run into the same DST: everything is a duplicate, nothing is overwritten ----
for f in "${outs[@]}"; do stat -c '%i %Y' "$T/dstA/$f"; done >"$T/stat_before"
cp -r "$T/dstA" "$T/dstA_copy"
run 0 "run A again" deidentify -q --config "$T/cfg.json" --key-file "$T/key" "$SRC" "$T/dstA"
grep -qE '^instances: 0 ok, 0 failed, 4 skipped, 3 duplicate;' "$T/err" ||
    fail "re-run: summary '$(tail -n 1 "$T/err")'"
for f in "${outs[@]}"; do stat -c '%i %Y' "$T/dstA/$f"; done | cmp -s - "$T/stat_before" || fail "re-run replaced a file"
diff -r "$T/dstA" "$T/dstA_copy" >/dev/null || fail "re-run changed DST"

# ---- several SRC arguments: a file then a folder, in argument order ----
run 0 "run E" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/repE.json" \
    "$SRC/MR_small.dcm" "$SRC/sub" "$T/dstE"
eorder=$(json "$T/repE.json" "' '.join(i['source'].rsplit('/',1)[1]+':'+i['status'] for i in d['instances'])")
[ "$eorder" = "MR_small.dcm:ok loop:skipped same_instance_again.dcm:ok" ] || fail "run E: '$eorder'"

# ---- hostile UIDs (kept byte for byte by a keepTag) stay inside DST under stable fallback names ----
HSRC="$T/hostile"
mkdir -p "$HSRC"
cp "$MR" "$HSRC/h.dcm" && chmod u+w "$HSRC/h.dcm"
dcmodify -nb -q -m "(0008,0018)=../../../../evil" -m "(0020,000d)=.." -m "(0020,000e)=" "$HSRC/h.dcm"
[ "$(tag "$HSRC/h.dcm" SOPInstanceUID)" = "../../../../evil" ] || fail "could not build the hostile input"
echo '{"dicomTagConfig":{"profileType":"KEEP_ALL_PROFILE","actions":[{"queries":["StudyInstanceUID",
  "SeriesInstanceUID","SOPInstanceUID"],"keepTag":{}}]}}' >"$T/keep.json"
mkdir -p "$T/cage"
run 0 "hostile UIDs" deidentify -q --config "$T/keep.json" --key-file "$T/key" "$HSRC" "$T/cage/dst"
sop_hash=$(printf '%s' "../../../../evil" | sha256sum | cut -c1-16)
study_hash=$(printf '%s' ".." | sha256sum | cut -c1-16)
got=$(cd "$T/cage" && find . -type f | sed 's|^\./||')
[ "$got" = "dst/_invalid-$study_hash/_noseries/_invalid-$sop_hash.dcm" ] || fail "hostile UIDs: output at '$got'"
[ -z "$(find "$T" -maxdepth 1 -name 'evil*')" ] || fail "hostile UIDs: a file escaped DST"
# primaryIds KEEP keeps primary IDs that are UIDs: these are not, so they are regenerated by the keyed function
# (docs/decisions.md "primaryIds: KEEP keeps primary IDs that are UIDs"): 2.25. + HMAC-SHA256(key, value)[:16].
echo '{"dicomTagConfig":{"profileType":"KEEP_ALL_PROFILE","options":{"primaryIds":"KEEP"}}}' >"$T/pkeep.json"
run 0 "hostile UIDs under primaryIds KEEP" deidentify -q --config "$T/pkeep.json" --key-file "$T/key" "$HSRC" \
    "$T/cage/dstP"
regen() { python3 -c 'import hmac,hashlib,sys; k=open(sys.argv[1],"rb").read()
print("2.25.%d" % int.from_bytes(hmac.new(k, sys.argv[2].encode(), hashlib.sha256).digest()[:16], "big"))' "$T/key" "$1"; }
got=$(cd "$T/cage/dstP" && find . -type f | sed 's|^\./||')
[ "$got" = "$(regen ..)/_noseries/$(regen ../../../../evil).dcm" ] ||
    fail "hostile UIDs under primaryIds KEEP: output at '$got'"

# ---- no SOPInstanceUID -> failed, class invalid ----
# Written as a bare dataset (-F: no file meta), because the engine rightly takes a missing SOPInstanceUID from
# the file meta's MediaStorageSOPInstanceUID when there is one.
NSRC="$T/nosop"
mkdir -p "$NSRC"
cp "$MR" "$NSRC/n.dcm" && chmod u+w "$NSRC/n.dcm"
dcmodify -nb -q -F -e "(0008,0018)" "$NSRC/n.dcm"
[ -z "$(tag "$NSRC/n.dcm" SOPInstanceUID)$(tag "$NSRC/n.dcm" MediaStorageSOPInstanceUID)" ] ||
    fail "could not build an input without SOPInstanceUID"
run 1 "no SOPInstanceUID" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/repN.json" \
    "$NSRC" "$T/dstN"
[ "$(json "$T/repN.json" "d['instances'][0]['status'], d['instances'][0]['error_class']")" = "failed invalid" ] ||
    fail "no SOPInstanceUID: not reported as failed/invalid"
[ -z "$(find "$T/dstN" -type f 2>/dev/null)" ] || fail "no SOPInstanceUID: something was written"

# ---- walk order: byte order of the names, folder by folder (walk.c sorts on the first 8 bytes, then strcmp) ----
# Names that tie in their first 8 bytes, end inside them, differ only past them, upper case, a high byte.
OSRC="$T/order"
mkdir -p "$OSRC/abcdefgh0"
for n in b a abcdefgh abcdefgh1 abcdefgg9 abcdefghi ABCDEFGHZ $'\xc3\xa9' z abcdefg abc abcdefgh0/x; do
    echo "not DICOM" >"$OSRC/$n"
done
run 0 "walk order" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/repO.json" "$OSRC" \
    "$T/dstO"
got=$(json "$T/repO.json" "' '.join(i['source'].rsplit('/order/', 1)[1] for i in d['instances'])")
want=$(cd "$OSRC" && python3 -c "
import os
paths = [os.path.relpath(os.path.join(d, f), '.') for d, _, fs in os.walk('.') for f in fs]
print(' '.join(sorted(paths, key=lambda p: [c.encode('utf-8', 'surrogateescape') for c in p.split('/')])))")
[ "$got" = "$want" ] || fail "walk order: '$got', expected '$want'"

# ---- pixel data: copy_file_range only where asked (docs/decisions.md "Pixel data are copied through the worker's
# buffer"): DST here is a local file system, so the bulk values go through the buffer; DICOMVEIL_COPY_RANGE=1
# copies them with copy_file_range; the outputs are the same bytes either way. ----
PSRC="$T/pixels"
mkdir -p "$PSRC"
cp "$DATA/pydicom/examples_rgb_color.dcm" "$DATA/pydicom/examples_overlay.dcm" "$PSRC/"
# LeakSanitizer cannot run in a traced process (the ASan build): the untraced runs above check for leaks.
untraced_leaks=(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
for mode in default 1 0; do
    envs=()
    [ "$mode" = default ] || envs=(DICOMVEIL_COPY_RANGE="$mode")
    if command -v strace >/dev/null; then
        env "${envs[@]}" "${untraced_leaks[@]}" strace -f -qq -e trace=copy_file_range -o "$T/st-$mode" "$DV_BIN" deidentify -q \
            --jobs 1 --config "$T/cfg.json" --key-file "$T/key" "$PSRC" "$T/dstP-$mode" >/dev/null 2>&1 ||
            fail "pixel data ($mode): the run failed"
        calls=$(grep -c 'copy_file_range(' "$T/st-$mode" || true)
        if [ "$mode" = 1 ]; then
            [ "$calls" -ge 2 ] || fail "pixel data: DICOMVEIL_COPY_RANGE=1 made $calls copy_file_range calls"
        else
            [ "$calls" -eq 0 ] || fail "pixel data ($mode): $calls copy_file_range calls onto a local file system"
        fi
    else
        env "${envs[@]}" "$DV_BIN" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" "$PSRC" \
            "$T/dstP-$mode" >/dev/null 2>&1 || fail "pixel data ($mode): the run failed"
    fi
done
[ "$(find "$T/dstP-default" -name '*.dcm' | wc -l)" -eq 2 ] || fail "pixel data: expected 2 outputs"
diff -r "$T/dstP-default" "$T/dstP-1" >/dev/null || fail "pixel data: copy_file_range gave other bytes"
diff -r "$T/dstP-default" "$T/dstP-0" >/dev/null || fail "pixel data: DICOMVEIL_COPY_RANGE=0 gave other bytes"
# the pixel data values are the sources', byte for byte
python3 - "$PSRC" "$T/dstP-default" <<'EOF' || fail "pixel data: an output's Pixel Data is not its source's"
import glob, sys
import pydicom
src = sorted(pydicom.dcmread(f).PixelData for f in glob.glob(sys.argv[1] + "/*.dcm"))
out = sorted(pydicom.dcmread(f).PixelData for f in glob.glob(sys.argv[2] + "/**/*.dcm", recursive=True))
sys.exit(0 if src == out and all(len(p) >= 65536 for p in src) else 1)
EOF

# ---- an output volume that fills up: the instance fails alone, class io, and the message says why (the
# sink's errno; the writer alone only knew "copying (7FE0,0010) failed") ----
FULL="$T/full"
FSRC="$T/fullsrc"
mkdir -p "$FULL" "$FSRC"
cp "$DATA/deid-data/us_RGB_IMAGE.dcm" "$FSRC/" # 2.5 MB of pixel data: more than the sink's buffer, so the
                                               # volume fills while the writer copies PixelData, not at commit
if mount -t tmpfs -o size=64k tmpfs "$FULL" 2>/dev/null; then
    run 1 "disk full" deidentify -q --jobs 1 --config "$T/cfg.json" --key-file "$T/key" --report "$T/repF.json" \
        "$FSRC" "$FULL/dst"
    got=$(json "$T/repF.json" "sorted(set((i['status'], i.get('error_class'), i.get('error', '')) for i in d['instances']))")
    case "$got" in
    *"'failed', 'io', 'copying (7FE0,0010) failed: No space left on device'"*) ;;
    *) fail "disk full: not reported as failed/io with the reason: $got" ;;
    esac
    [ -z "$(find "$FULL" -type f 2>/dev/null)" ] || fail "disk full: a partial output was left"
    umount "$FULL"
else
    echo "NOTE: mount -t tmpfs refused here: the disk-full case is not checked on this machine"
fi

# ---- an input that declares burned-in annotation, written without pixel redaction: said, never silent ----
# (docs/decisions.md "Declared burned-in annotation is reported"). dicognito's burned_in_yes.dcm has
# BurnedInAnnotation YES; CT_small has none.
BSRC="$T/burned_src"
mkdir -p "$BSRC"
cp "$DATA/dicognito/burned_in_yes.dcm" "$CT" "$BSRC/"
run 0 "burned-in declared" deidentify --jobs 1 --config "$T/cfg.json" --key-file "$T/key" --report "$T/repB2.json" \
    "$BSRC" "$T/dstB2"
grep -q '^dicomveil: warning: 1 instance(s) declare burned-in annotation (0028,0301 YES) and were written with their pixels unredacted' "$T/err" ||
    fail "burned-in declared: no warning on stderr: $(head -c 400 "$T/err")"
[[ "$(tail -n 1 "$T/err")" == instances:* ]] || fail "burned-in declared: the summary is not the last line"
got=$(json "$T/repB2.json" "d['counts']['burned_in_not_redacted'], sorted((i['source'].rsplit('/', 1)[1], bool(i.get('pixels', {}).get('burned_in_annotation_not_redacted'))) for i in d['instances'])")
[ "$got" = "1 [('CT_small.dcm', False), ('burned_in_yes.dcm', True)]" ] || fail "burned-in declared: report says $got"
echo '{"dicomTagConfig": {"options": {"cleanImage": {"textRedactionMode": "REDACT_ALL_TEXT"}}}}' >"$T/cfg_img.json"
run 0 "burned-in redacted" deidentify --jobs 1 --config "$T/cfg_img.json" --key-file "$T/key" \
    --report "$T/repB3.json" "$BSRC" "$T/dstB3"
! grep -q 'burned-in annotation' "$T/err" || fail "burned-in redacted: warned although the pixels were redacted"
[ "$(json "$T/repB3.json" "d['counts']['burned_in_not_redacted']")" = 0 ] || fail "burned-in redacted: counted"
# ---- a file listed in a SRC folder and replaced by a symbolic link (or a FIFO) before it is read (a big run reads it
# minutes or hours after the listing; an archive's tiering or dedup can do that) is not followed out of SRC: it is
# skipped as not_regular_file, as a listing at that moment would have it. A file argument that is a link is
# still followed (the user named it). The run is stopped once it wrote its first output (listing done), the
# last file swapped, then continued; retried when the run ended before it could be stopped. ----
LSRC="$T/Smith^Swap"
mkdir -p "$LSRC"
gen_distinct "$LSRC" 300
cp "$MR" "$T/elsewhere.dcm"
cp "$LSRC/ct00299.dcm" "$T/ct00299.keep"
cp "$LSRC/ct00298.dcm" "$T/ct00298.keep"
swapped=0
for try in 1 2 3; do
    rm -rf "$T/dstL" "$T/repL.json" "$LSRC/ct00299.dcm" "$LSRC/ct00298.dcm"
    cp "$T/ct00299.keep" "$LSRC/ct00299.dcm"
    cp "$T/ct00298.keep" "$LSRC/ct00298.dcm"
    "$DV_BIN" deidentify -q --jobs 1 --fsync --config "$T/cfg.json" --key-file "$T/key" --report "$T/repL.json" \
        "$LSRC" "$T/dstL" 2>"$T/errL" &
    pid=$!
    i=0
    while [ -z "$(find "$T/dstL" -name '*.dcm' -print -quit 2>/dev/null)" ] && [ $i -lt 2000 ]; do
        sleep 0.005
        i=$((i + 1))
    done
    kill -STOP "$pid" 2>/dev/null || true
    if [ "$(find "$T/dstL" -name '*.dcm' | wc -l)" -lt 298 ] && kill -0 "$pid" 2>/dev/null; then
        rm "$LSRC/ct00299.dcm" "$LSRC/ct00298.dcm"
        ln -s "$T/elsewhere.dcm" "$LSRC/ct00299.dcm"
        mkfifo "$LSRC/ct00298.dcm"
        swapped=1
    fi
    kill -CONT "$pid" 2>/dev/null || true
    wait "$pid" || true
    [ "$swapped" = 1 ] && break
done
if [ "$swapped" = 1 ]; then
    got=$(json "$T/repL.json" "[(i['status'], i.get('reason')) for i in d['instances'] if i['source'].endswith('/ct00299.dcm')]")
    [ "$got" = "[('skipped', 'not_regular_file')]" ] ||
        fail "link swapped in after the listing: followed out of SRC ($got)"
    got=$(json "$T/repL.json" "[(i['status'], i.get('reason')) for i in d['instances'] if i['source'].endswith('/ct00298.dcm')]")
    [ "$got" = "[('skipped', 'not_regular_file')]" ] ||
        fail "FIFO swapped in after the listing: not skipped as the listing would have it ($got)"
    [ "$(find "$T/dstL" -name '*.dcm' | wc -l)" = 298 ] || fail "link/FIFO swapped in after the listing: outputs"
else
    fail "link swapped in after the listing: the run always ended before it could be stopped"
fi
ln -s "$T/elsewhere.dcm" "$T/named_link.dcm"
run 0 "file argument that is a link" deidentify -q --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/repN.json" "$T/named_link.dcm" "$T/dstN"
[ "$(json "$T/repN.json" 'd["counts"]["ok"]')" = 1 ] || fail "file argument that is a link: not followed"

# ---- side files onto special files (devices, FIFOs, links): a rename over them replaced the node itself
#      (as root, --report /dev/null left a regular file at /dev/null for the whole machine: stop 38's red
#      team). A character device or FIFO is written in place, a link to a file has its file replaced, the
#      rest is refused before any work ----
mkdir -p "$T/side"
mkfifo "$T/side/fifo"
# The test holds the FIFO open read-write (such an open never waits), so the run's open finds a reader whatever
# the machine's load: a background `cat` that had not reached its open yet made the run fail (ENXIO, as it
# should) and then waited for a writer for ever (seen once under a parallel ASan build). The report, a few
# hundred bytes, stays in the pipe's buffer until it is read below without blocking.
exec 7<>"$T/side/fifo"
run 0 "report onto a FIFO" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/side/fifo" \
    "$CT" "$T/dstS1"
python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_NONBLOCK)
data = b""
while True:
    try:
        chunk = os.read(fd, 65536)
    except BlockingIOError:
        break
    if not chunk:
        break
    data += chunk
sys.stdout.buffer.write(data)
' "$T/side/fifo" >"$T/side/fifo.got"
exec 7<&-
[ -p "$T/side/fifo" ] || fail "report onto a FIFO: the FIFO was replaced"
[ "$(json "$T/side/fifo.got" 'd["counts"]["ok"]' 2>/dev/null)" = 1 ] || fail "report onto a FIFO: its reader got no report"
if mknod "$T/side/null" c 1 3 2>/dev/null; then # root (CI): the node /dev/null is
    run 0 "report and mapping onto /dev/null's device" deidentify -q --config "$T/cfg.json" --key-file "$T/key" \
        --report "$T/side/null" "$CT" "$T/dstS2"
    [ -c "$T/side/null" ] || fail "report onto a character device: the device node was replaced by a file"
fi
echo old >"$T/side/target.json"
ln -s target.json "$T/side/link.json"
run 0 "report onto a link" deidentify -q --config "$T/cfg.json" --key-file "$T/key" --report "$T/side/link.json" \
    --mapping "$T/side/link.json.csv" "$CT" "$T/dstS3"
[ -L "$T/side/link.json" ] || fail "report onto a link: the link was replaced"
[ "$(json "$T/side/target.json" 'd["counts"]["ok"]' 2>/dev/null)" = 1 ] || fail "report onto a link: its file unchanged"
ln -s nowhere.json "$T/side/dangling.json"
run 2 "report onto a link to nothing" deidentify -q --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/side/dangling.json" "$CT" "$T/dstS4"
grep -q 'is a symbolic link to nothing' "$T/err" || fail "report onto a link to nothing: message '$(head -c 200 "$T/err")'"
[ ! -e "$T/dstS4" ] && [ -L "$T/side/dangling.json" ] || fail "report onto a link to nothing: work was done"
run 2 "--resume with the report on a FIFO" deidentify -q --resume --config "$T/cfg.json" --key-file "$T/key" \
    --report "$T/side/fifo" "$CT" "$T/dstS5"
grep -q 'must name a regular file' "$T/err" || fail "--resume onto a FIFO: message '$(head -c 200 "$T/err")'"
[ ! -e "$T/side/fifo.journal" ] && [ ! -e "$T/dstS5" ] || fail "--resume onto a FIFO: a journal or DST was made"

finish test_cli_run
