/* dicomveil deidentify: arguments, validation and the order of effects.
 *
 * The contract (DECISIONS.md items 10 and 15): exit 2 for a usage, config or key error, and then NOTHING has
 * been written. So everything that can be refused is checked before DST or anything in it is created:
 * arguments, the config (compiled into a plan), the paths (DST not inside a SRC, no SRC inside DST, report and
 * key not inside DST, no file the run writes onto one it reads or another it writes), the key. Only then is DST created (mkdir -p) and the pool started. Exit 0 when every
 * instance succeeded (skipped non-DICOM files and duplicates are not failures), 1 when any failed.
 *
 * Source paths are named by argument position in messages, never echoed: they can hold PHI. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_mpi.h"

#define JOBS_MAX 1024
#define MIB (1024ull * 1024ull)
/* --max-depth / --max-metadata ranges (their defaults are dv_limits_default's: 128 and 32 MiB). Deeper
 * nesting than 1024 would risk the workers' stacks; 1 MiB of metadata is the least a real instance needs. */
#define DEPTH_MAX 1024
#define METADATA_MIN MIB
#define METADATA_MAX (64ull * 1024ull * MIB)
/* --memory-budget (docs/decisions.md "Memory budget"): default 512 MiB, raised when the per-instance caps
 * need more (one instance's maximum + BUDGET_HEADROOM); never below one instance's maximum + one slice. */
#define BUDGET_DEFAULT (512ull * MIB)
#define BUDGET_HEADROOM (64ull * MIB)
#define BUDGET_MAX (1ull << 50)

void dvc_deidentify_usage(FILE *f)
{
    fputs("Usage: dicomveil deidentify --config CFG.json [options] [--] SRC... DST\n"
          "\n"
          "Reads every DICOM file in SRC... (files, or folders walked recursively; symlinks, FIFOs, sockets and\n"
          "devices inside folders are not followed: reported as skipped) and writes the de-identified instances to\n"
          "  DST/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm\n"
          "named by the NEW UIDs (source file names are never reused). DST is created when missing; it must not\n"
          "be inside a SRC, nor a SRC inside it. Sources are never modified. Inputs that are the same instance\n"
          "yield one output: the first in sorted input order wins, whatever --jobs is, and the others count as\n"
          "duplicates. A file that was in DST before the run is never overwritten.\n"
          "\n"
          "Options (--opt VALUE and --opt=VALUE are both accepted):\n"
          "  -c, --config FILE    DeidentifyConfig JSON of the Healthcare API (the config object, or a request\n"
          "                       body with a \"config\" key), at most 1 MiB. Required.\n"
          "  -k, --key-file FILE  Secret key: the file's raw bytes, at least 16 (e.g. head -c 32 /dev/urandom).\n"
          "                       The same key gives the same new UIDs in every run.\n"
          "                       Default: $XDG_CONFIG_HOME/dicomveil/key (~/.config/dicomveil/key), created\n"
          "                       once with 32 random bytes, mode 0600. A key inside DST is refused.\n"
          "  -j, --jobs N         Worker threads, 1-1024 (default: the number of online CPUs).\n"
          "  -r, --report FILE    Write a JSON run report (mode 0600, atomically): per input its source path,\n"
          "                       status (ok, failed, skipped, duplicate) and error class, in input order,\n"
          "                       the text findings transformed per infoType, and for burned-in text the\n"
          "                       frames examined, boxes redacted and output transfer syntax (counts,\n"
          "                       never values or recognised text). It\n"
          "                       never names outputs or new UIDs. Refused inside DST or a SRC, and onto\n"
          "                       the config, the key or another file the run writes (also for --mapping,\n"
          "                       --preview and the --resume journal).\n"
          "  -m, --mapping FILE   Write the re-identification crosswalk (CSV, mode 0600, atomically): per input\n"
          "                       written (status ok or duplicate) its original and new Study/Series/SOP\n"
          "                       Instance UIDs, and original and new PatientID when the config changed it.\n"
          "                       UTF-8: values decoded with each instance's SpecificCharacterSet; a value\n"
          "                       that does not decode is its bytes, \\xHH for each not printable ASCII;\n"
          "                       a backslash is written \\\\ in every field. A field starting with = + - @\n"
          "                       TAB CR or ' gets one leading ' (no spreadsheet formula): strip it to read.\n"
          "                       THIS FILE IS PHI: keep it with the source data. Refused inside DST or a SRC.\n"
          "      --preview DIR    Write before/after PNGs of every frame whose pixels were redacted into DIR\n"
          "                       (created, mode 0700): DIR/<new SOPInstanceUID>_frame<N>_before.png with the\n"
          "                       redacted boxes outlined in red, and _after.png as written (N from 0), for\n"
          "                       instances written to DST only (not a duplicate, not a failed one). The\n"
          "                       before pictures show the burned-in text: THEY ARE PHI. Refused inside DST\n"
          "                       or a SRC (also through a bind mount), and when DIR exists writable by group\n"
          "                       or others; a symbolic link in DIR is replaced, never written through.\n"
          "      --memory-budget BYTES  Memory all workers together may hold for instance metadata and\n"
          "                       inflated deflated datasets (default 512M, or about --max-metadata + 75M when that\n"
          "                       is more; at least --max-metadata + 12M). Workers wait for it rather than\n"
          "                       fail, so their memory stays bounded whatever --jobs is. Burned-in text\n"
          "                       redaction draws from --pixel-memory instead.\n"
          "      --max-depth N    Sequence nesting cap per instance, 1-1024 (default 128).\n"
          "      --max-metadata BYTES  In-memory metadata cap per instance, 1M-64G (default 32M).\n"
          "      --pixel-memory BYTES  Memory all workers together may hold for burned-in text redaction\n"
          "                       (decoded frames, the detector's and the codecs' buffers, the redacted pixel\n"
          "                       data), at least 1M (default: half the memory of the machine, or of its\n"
          "                       container; with --mpi, that half shared among the ranks of a node, each\n"
          "                       with its own budget, at least 256M each). Each instance is\n"
          "                       charged an estimate from its pixel attributes before it decodes anything;\n"
          "                       workers wait for room in turn, and an instance whose estimate exceeds the\n"
          "                       whole budget fails (error class limit; nothing written).\n"
          "      --pixel-frame-ms MS  Time bound per frame of burned-in text redaction (decode, text detection,\n"
          "                       OCR), milliseconds, 1-3600000 (default 30000). A frame over it fails its\n"
          "                       instance (error class limit; nothing written).\n"
          "                       BYTES: a number with an optional K, M or G suffix (powers of 1024).\n"
          "  -q, --quiet          No progress bar (the final summary line is still printed).\n"
          "      --fsync          fsync every output file and its directory before counting it as written.\n"
          "      --resume         Keep a journal of finished inputs in REPORT.journal (beside --report, which\n"
          "                       it needs) and, when it exists, skip every input it shows done whose output\n"
          "                       still exists with the journaled SHA-256; redo the rest. Use it on the first\n"
          "                       run too. A run killed at any moment and resumed any number of times ends\n"
          "                       with the same DST and report as one uninterrupted run. Not with --mapping.\n"
          "                       At the end, an output an earlier attempt wrote for an input that is no\n"
          "                       longer in SRC, or now fails, is removed from DST (and its folders when\n"
          "                       left empty), as a fresh run would not write it; the report counts them\n"
          "                       (stale_outputs_removed). Nothing the run did not write is touched.\n"
          "                       One run at a time per report (REPORT.lock, removed at the end): a second\n"
          "                       is refused.\n"
          "      --mpi            Run as one rank of an MPI job (mpirun -np N / srun dicomveil deidentify --mpi\n"
          "                       ...; DST on a file system every rank sees): rank 0 lists the sources and\n"
          "                       deals them in chunks, every rank de-identifies with --jobs threads, and DST,\n"
          "                       the report and the journal are those of a single-process run. Needs\n"
          "                       --key-file; not with --mapping or --preview. Only when built with MPI.\n"
          "                       Rank 0's stderr adds a line on listing and dealing and one line of CPU\n"
          "                       seconds per rank (workers, main thread, lister, other).\n"
          "  -h, --help           Show this help and exit.\n"
          "  --                   End of options: everything after it is SRC... DST.\n"
          "\n"
          "stderr: a progress bar when it is a terminal, one line per failed instance as\n"
          "\"instance #<index>: <error class>: <message>\" (index into the report's \"instances\", from 0;\n"
          "paths and tag values are never printed), and a final summary line.\n"
          "\n"
          "Environment:\n"
          "  XDG_CONFIG_HOME          Where the default key lives (see --key-file).\n"
          "  DICOMVEIL_NO_O_TMPFILE=1 Write outputs via hidden .dvtmp-* names + link() instead of O_TMPFILE\n"
          "                           (automatic without O_TMPFILE; a terminating signal other than\n"
          "                           SIGKILL removes them, and --resume those a SIGKILL left).\n"
          "  DICOMVEIL_LINK_VIA_PROC=1 Name O_TMPFILE outputs through /proc/self/fd instead of\n"
          "                           linkat(AT_EMPTY_PATH) (automatic where that is refused).\n"
          "  DICOMVEIL_COPY_RANGE=1|0 Copy pixel data into DST with copy_file_range (1) or through the\n"
          "                           worker's buffer (0). Unset: copy_file_range only where DST is on NFS,\n"
          "                           SMB or Ceph, whose servers copy without the data crossing the network.\n"
          "  TESSDATA_PREFIX          Where the OCR model eng.traineddata is (burned-in text); when set, only\n"
          "                           there. Unset: /usr/share/tesseract-ocr/{5,4.00}/tessdata and the like.\n"
          "  DICOMVEIL_MPI_CHUNK=N    --mpi: inputs dealt per message (1-4096; default 512).\n"
          "  DICOMVEIL_JOURNAL_MAX=N  --resume: the journal bytes a resume reads (1 to 4294967296, the default);\n"
          "                           a run warns once its journal passes it (lowered by tests).\n"
          "\n"
          "Exit status: 0 every instance succeeded (skipped non-DICOM files, skipped DICOMDIRs and duplicates\n"
          "               included),\n"
          "             1 some instance failed (see the report), or the report or a --preview picture could\n"
          "               not be written,\n"
          "             2 usage, config or key error: nothing was written.\n",
          f);
}

typedef struct opts {
    const char *config;
    const char *key_file;
    const char *report;
    const char *mapping;
    const char *preview;
    unsigned jobs;
    int quiet;
    int do_fsync;
    int resume;
    int mpi;
    uint64_t memory_budget; /* 0: the default */
    uint64_t pixel_memory;  /* 0: the default (dv_pixel_budget_default_total) */
    uint32_t max_depth;     /* 0: the default */
    uint64_t max_metadata;  /* 0: the default */
    uint32_t pixel_frame_ms; /* 0: the default */
} opts;

enum {
    OPT_FSYNC = 256,
    OPT_MEMORY_BUDGET,
    OPT_PIXEL_MEMORY,
    OPT_MAX_DEPTH,
    OPT_MAX_METADATA,
    OPT_PREVIEW,
    OPT_RESUME,
    OPT_MPI,
    OPT_PIXEL_FRAME_MS
};

/* A byte count with an optional K/M/G suffix (powers of 1024), within [min, max] (cli.h). */
int dvc_parse_bytes(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*s < '0' || *s > '9')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10, end++;
    else if (*end == 'M' || *end == 'm')
        shift = 20, end++;
    else if (*end == 'G' || *end == 'g')
        shift = 30, end++;
    if (*end || v > (max >> shift))
        return -1;
    v <<= shift;
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

static int parse_jobs(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > JOBS_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* Returns -1 to continue, else an exit code. */
static int parse_args(int argc, char **argv, opts *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'}, {"key-file", required_argument, NULL, 'k'},
        {"jobs", required_argument, NULL, 'j'},   {"report", required_argument, NULL, 'r'},
        {"quiet", no_argument, NULL, 'q'},        {"fsync", no_argument, NULL, OPT_FSYNC},
        {"help", no_argument, NULL, 'h'},         {"mapping", required_argument, NULL, 'm'},
        {"memory-budget", required_argument, NULL, OPT_MEMORY_BUDGET},
        {"pixel-memory", required_argument, NULL, OPT_PIXEL_MEMORY},
        {"max-depth", required_argument, NULL, OPT_MAX_DEPTH},
        {"max-metadata", required_argument, NULL, OPT_MAX_METADATA},
        {"preview", required_argument, NULL, OPT_PREVIEW},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"mpi", no_argument, NULL, OPT_MPI},
        {"pixel-frame-ms", required_argument, NULL, OPT_PIXEL_FRAME_MS},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":c:k:j:r:m:qh", longs, NULL)) != -1) {
        uint64_t v;
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'k': o->key_file = optarg; break;
        case 'r': o->report = optarg; break;
        case 'm': o->mapping = optarg; break;
        case OPT_MEMORY_BUDGET:
            if (dvc_parse_bytes(optarg, 1, BUDGET_MAX, &o->memory_budget) < 0) {
                dvc_errorf("deidentify: --memory-budget wants a byte count such as 512M (try --help)");
                return DVC_EXIT_USAGE;
            }
            break;
        case OPT_PIXEL_MEMORY:
            if (dvc_parse_bytes(optarg, MIB, BUDGET_MAX, &o->pixel_memory) < 0) {
                dvc_errorf("deidentify: --pixel-memory wants a byte count of at least 1M such as 4G (try --help)");
                return DVC_EXIT_USAGE;
            }
            break;
        case OPT_MAX_DEPTH:
            if (dvc_parse_bytes(optarg, 1, DEPTH_MAX, &v) < 0 || optarg[strlen(optarg) - 1] > '9') {
                dvc_errorf("deidentify: --max-depth wants a whole number from 1 to %d", DEPTH_MAX);
                return DVC_EXIT_USAGE;
            }
            o->max_depth = (uint32_t)v;
            break;
        case OPT_MAX_METADATA:
            if (dvc_parse_bytes(optarg, METADATA_MIN, METADATA_MAX, &o->max_metadata) < 0) {
                dvc_errorf("deidentify: --max-metadata wants a byte count from 1M to 64G");
                return DVC_EXIT_USAGE;
            }
            break;
        case OPT_PIXEL_FRAME_MS:
            if (dvc_parse_bytes(optarg, 1, DV_RUN_PIXEL_FRAME_MS_MAX, &v) < 0 || optarg[strlen(optarg) - 1] > '9') {
                dvc_errorf("deidentify: --pixel-frame-ms wants a whole number from 1 to %u", DV_RUN_PIXEL_FRAME_MS_MAX);
                return DVC_EXIT_USAGE;
            }
            o->pixel_frame_ms = (uint32_t)v;
            break;
        case 'q': o->quiet = 1; break;
        case OPT_FSYNC: o->do_fsync = 1; break;
        case OPT_PREVIEW: o->preview = optarg; break;
        case OPT_RESUME: o->resume = 1; break;
        case OPT_MPI: o->mpi = 1; break;
        case 'j':
            if (parse_jobs(optarg, &o->jobs) < 0) {
                dvc_errorf("deidentify: --jobs wants a whole number from 1 to %d", JOBS_MAX);
                return DVC_EXIT_USAGE;
            }
            break;
        case 'h': dvc_deidentify_usage(stdout); return DVC_EXIT_OK;
        case ':': dvc_errorf("deidentify: an option is missing its value (try --help)"); return DVC_EXIT_USAGE;
        default:
            /* Not echoed: a misplaced argument could be a PHI-bearing path starting with '-'. */
            dvc_errorf("deidentify: unknown option (try --help)");
            return DVC_EXIT_USAGE;
        }
    }
    if (!o->config) {
        dvc_errorf("deidentify: --config is required (try --help)");
        return DVC_EXIT_USAGE;
    }
    if (o->resume && (!o->report || o->mapping)) {
        /* The journal lives beside the report; it holds no original identifiers, so the crosswalk of
         * restored inputs could not be rebuilt (docs/decisions.md "Resumable runs"). */
        dvc_errorf("deidentify: --resume needs --report (its journal lives beside it) and cannot be used with "
                   "--mapping");
        return DVC_EXIT_USAGE;
    }
    if (o->mpi && (!o->key_file || o->mapping || o->preview)) {
        /* Every rank must read one key (a default key created by racing ranks could differ); the crosswalk and
         * the pictures are not gathered to rank 0 (docs/decisions.md "MPI batch mode"). */
        dvc_errorf("deidentify: --mpi needs --key-file and cannot be used with --mapping or --preview");
        return DVC_EXIT_USAGE;
    }
    if (argc - optind < 2) {
        dvc_errorf("deidentify: need at least one SRC and a DST (try --help)");
        return DVC_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        if (argv[i][0] == '\0') {
            dvc_errorf("deidentify: argument %d is empty", i - optind + 1);
            return DVC_EXIT_USAGE;
        }
    }
    return -1;
}

typedef struct paths {
    char *dst;    /* resolved */
    char **srcs;  /* resolved, nsrc */
    size_t nsrc;
} paths;

static void paths_free(paths *p)
{
    for (size_t i = 0; i < p->nsrc; i++)
        free(p->srcs[i]);
    free(p->srcs);
    free(p->dst);
}

/* Resolved path r (a side file, maybe not there yet) is DST or a SRC or below one: by name, and by the device
 * and inode of r's existing ancestors, which a bind mount or a second mount of one export gives a second name
 * (dvc_path_within_fs, as check_paths compares DST and the sources). [test_cli_errors.sh "side file through a
 * bind mount"] */
static int within_dst_or_src(const char *r, const paths *p)
{
    if (dvc_path_within(r, p->dst) || dvc_path_within_fs(r, p->dst))
        return 1;
    for (size_t i = 0; i < p->nsrc; i++)
        if (dvc_path_within(r, p->srcs[i]) || dvc_path_within_fs(r, p->srcs[i]))
            return 1;
    return 0;
}

/* A file the run writes beside its output (--report, its journal, --mapping): refused inside DST or a SRC (it
 * holds source paths, path ids or original identifiers, which must not travel with the de-identified output or
 * change the sources), its directory must exist now (a typo fails before any work), and it must be nothing yet,
 * a regular file, a link to one, a character device or a FIFO (dvc_side_path_kind: what dvc_file_replace
 * writes). what: how messages name it (an option, never the path); holds: what it holds, for the message.
 * *resolved receives the resolved path (malloc'd). 0, or an exit code after printing why. */
static int check_side_file(const char *what, const char *holds, const char *path, const paths *p, char **resolved)
{
    struct stat st;
    char *r = dvc_path_resolve(path);
    if (!r) {
        dvc_errorf("%s: %s", what, strerror(errno));
        return DVC_EXIT_USAGE;
    }
    int bad = within_dst_or_src(r, p);
    char *slash = strrchr(r, '/');
    char *dir = slash == r ? strdup("/") : strndup(r, (size_t)(slash - r));
    int dir_ok = dir && stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    const char *refusal = dvc_side_path_refusal(dvc_side_path_kind(path));
    free(dir);
    if (bad) {
        dvc_errorf("refusing %s inside the destination or a source: it holds %s, which must not travel with the "
                   "de-identified output or change the sources", what, holds);
        free(r);
        return DVC_EXIT_USAGE;
    }
    if (!dir_ok || refusal) {
        dvc_errorf("%s: %s", what, refusal ? refusal : "its directory does not exist");
        free(r);
        return DVC_EXIT_USAGE;
    }
    *resolved = r;
    return 0;
}

/* A file the run reads or writes outside DST and the sources, for distinct_files. */
typedef struct run_file {
    const char *what; /* how messages name it: an option, never the path (it may hold PHI) */
    const char *path; /* as given; NULL: not part of this run */
    int writes;
} run_file;

/* The one rule for the files a run touches beside DST and the sources (docs/decisions.md "Files the run
 * writes"): each file it writes (the report, the report's journal, the mapping, the preview directory) must be
 * none of the files it reads (the config, the key, explicit or default) and none of the others it writes.
 * Otherwise the run destroys what it depends on (the report over the key loses the key, and with it every
 * later run's UIDs; the mapping over the config writes re-identification data where nobody guards it) or one
 * side file replaces another. Compared by resolved path, and by device and inode where the file exists, so a
 * hard link, a bind mount or any second name of one file is caught too. A read file that cannot be resolved is
 * left to its loader, which refuses it. 0, or DVC_EXIT_USAGE after naming the two options. */
static int distinct_files(const run_file *f, size_t n)
{
    char **r = calloc(n ? n : 1, sizeof *r);
    struct stat *st = calloc(n ? n : 1, sizeof *st);
    int *exists = calloc(n ? n : 1, sizeof *exists);
    int rc = 0;
    if (!r || !st || !exists) {
        dvc_errorf("out of memory");
        rc = DVC_EXIT_USAGE;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (!f[i].path)
            continue;
        if (!(r[i] = dvc_path_resolve(f[i].path)) && f[i].writes) {
            dvc_errorf("%s: %s", f[i].what, strerror(errno));
            rc = DVC_EXIT_USAGE;
        }
        exists[i] = r[i] && stat(r[i], &st[i]) == 0;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        for (size_t k = i + 1; rc == 0 && k < n; k++) {
            if (!r[i] || !r[k] || !(f[i].writes || f[k].writes))
                continue;
            if (strcmp(r[i], r[k]) == 0 ||
                (exists[i] && exists[k] && st[i].st_dev == st[k].st_dev && st[i].st_ino == st[k].st_ino)) {
                dvc_errorf("refusing %s and %s: they name the same file, and a file the run writes must be one of "
                           "its own (not a file it reads, nor another it writes)", f[i].what, f[k].what);
                rc = DVC_EXIT_USAGE;
            }
        }
    }
    for (size_t i = 0; r && i < n; i++)
        free(r[i]);
    free(r);
    free(st);
    free(exists);
    return rc;
}

/* --preview DIR: its pictures show burned-in text (PHI), so DIR must not be inside DST or a SRC (they would
 * travel with the de-identified output or change the sources); an existing DIR must be a directory, writable
 * by its owner only (anyone else could plant names among the pictures, or read what is staged there). It is
 * created (0700) with DST. 0, or an exit code after printing why. [integration.test_cli_preview] */
static int check_preview_dir(const char *dir, const paths *p)
{
    struct stat st;
    int exists = stat(dir, &st) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
        dvc_errorf("--preview: exists and is not a directory");
        return DVC_EXIT_USAGE;
    }
    if (exists && dvc_preview_dir_shared(&st))
        return DVC_EXIT_USAGE;
    char *r = dvc_path_resolve(dir);
    if (!r) {
        dvc_errorf("--preview: %s", strerror(errno));
        return DVC_EXIT_USAGE;
    }
    int bad = within_dst_or_src(r, p);
    free(r);
    if (bad) {
        dvc_errorf("refusing --preview inside the destination or a source: its pictures show the burned-in text "
                   "(PHI), which must not travel with the de-identified output or change the sources");
        return DVC_EXIT_USAGE;
    }
    return 0;
}

/* Every path check; 0 or an exit code after printing why. Nothing is created here. */
static int check_paths(char **srcv, size_t nsrc, const char *dst, const opts *o, paths *p)
{
    struct stat st;
    if (!(p->dst = dvc_path_resolve(dst))) {
        dvc_errorf("destination: %s", strerror(errno));
        return DVC_EXIT_USAGE;
    }
    if (stat(dst, &st) == 0 && !S_ISDIR(st.st_mode)) {
        dvc_errorf("destination exists and is not a directory");
        return DVC_EXIT_USAGE;
    }
    if (!(p->srcs = calloc(nsrc, sizeof *p->srcs)))
        return DVC_EXIT_USAGE;
    for (size_t i = 0; i < nsrc; i++) {
        if (stat(srcv[i], &st) < 0) {
            dvc_errorf("source argument %zu: %s", i + 1, strerror(errno));
            return DVC_EXIT_USAGE;
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            dvc_errorf("source argument %zu is neither a regular file nor a directory", i + 1);
            return DVC_EXIT_USAGE;
        }
        if (!(p->srcs[i] = dvc_path_resolve(srcv[i]))) {
            dvc_errorf("source argument %zu: %s", i + 1, strerror(errno));
            return DVC_EXIT_USAGE;
        }
        p->nsrc = i + 1;
        /* By name, and by device and inode: a bind mount (or a second mount of one NFS export) gives one
         * directory two names. [test_cli_errors.sh "DST inside SRC through a bind mount"] */
        if (dvc_path_within(p->dst, p->srcs[i]) || dvc_path_within_fs(p->dst, p->srcs[i])) {
            dvc_errorf("the destination is inside source argument %zu; choose a DST outside every SRC", i + 1);
            return DVC_EXIT_USAGE;
        }
        if (dvc_path_within(p->srcs[i], p->dst) || dvc_path_within_fs(p->srcs[i], p->dst)) {
            dvc_errorf("source argument %zu is inside the destination; choose a DST outside every SRC", i + 1);
            return DVC_EXIT_USAGE;
        }
    }
    char *report = NULL, *mapping = NULL, *journal = NULL, *lock = NULL, *r1 = NULL, *r2 = NULL;
    /* The key dvc_key_load will read: --key-file, else the default key (NULL without a home directory, which
     * the load refuses). */
    char *key = dvc_key_path(o->key_file);
    int rc = 0;
    if (o->report)
        rc = check_side_file("--report", "source paths", o->report, p, &report);
    int report_kind = o->report ? dvc_side_path_kind(o->report) : DVC_SIDE_NEW;
    if (rc == 0 && o->resume && report_kind != DVC_SIDE_NEW && report_kind != DVC_SIDE_REGULAR) {
        /* the journal and the lock are REPORT.journal and REPORT.lock: beside a device, in /dev */
        dvc_errorf("--resume: --report must name a regular file (its journal and lock are written beside it)");
        rc = DVC_EXIT_USAGE;
    }
    if (rc == 0 && o->resume && o->report &&
        (!(journal = dvc_journal_path(o->report)) || !(lock = dvc_journal_lock_path(o->report)))) {
        dvc_errorf("out of memory");
        rc = DVC_EXIT_USAGE;
    }
    if (rc == 0 && journal)
        rc = check_side_file("the journal of --report (--resume)", "source path ids", journal, p, &r1);
    if (rc == 0 && lock)
        rc = check_side_file("the lock of --report (--resume)", "the run's lock", lock, p, &r2);
    if (rc == 0 && o->mapping)
        rc = check_side_file("--mapping", "the original identifiers (PHI)", o->mapping, p, &mapping);
    if (rc == 0 && o->preview)
        rc = check_preview_dir(o->preview, p);
    if (rc == 0) {
        run_file files[] = {
            {"--config", o->config, 0},
            {o->key_file ? "--key-file" : "the default key (see --key-file)", key, 0},
            {"--report", o->report, 1},
            {"the journal of --report (--resume)", journal, 1},
            {"the lock of --report (--resume)", lock, 1},
            {"--mapping", o->mapping, 1},
            {"--preview", o->preview, 1},
        };
        rc = distinct_files(files, sizeof files / sizeof files[0]);
    }
    free(key);
    free(report);
    free(journal);
    free(lock);
    free(r1);
    free(r2);
    free(mapping);
    return rc;
}

/* The per-instance caps and the run-wide budgets from the options: *pixel gets the pixel stage's
 * (dv_pixel_budget.h). NULL after printing why. */
static dv_budget *make_limits(const opts *o, unsigned node_ranks, dv_limits *lim, dv_pixel_budget **pixel)
{
    dv_limits_default(lim);
    if (o->max_depth)
        lim->max_depth = o->max_depth;
    if (o->max_metadata)
        lim->max_metadata_bytes = o->max_metadata;
    uint64_t instance_max = dv_limits_memory_max(lim);
    uint64_t total = o->memory_budget;
    if (!total) {
        total = BUDGET_DEFAULT;
        if (total < instance_max + BUDGET_HEADROOM)
            total = instance_max + BUDGET_HEADROOM;
    }
    dv_error err;
    dv_error_clear(&err);
    dv_budget *b = dv_budget_new(total, instance_max, &err);
    if (!b) {
        if (err.code == DV_ERR_USAGE)
            dvc_errorf("deidentify: --memory-budget must be at least %llu bytes (one instance's maximum, "
                       "--max-metadata + the ~10 MiB a streaming inflater holds, plus 1 MiB)",
                       (unsigned long long)(instance_max + DV_BUDGET_SLICE));
        else
            dvc_errorf("%s", err.message);
        return NULL;
    }
    lim->budget = b;
    /* The default is half the memory, shared among this node's MPI ranks: each rank has its own budget, and
     * half the memory each would promise the node's memory more than once. */
    uint64_t pixel_total = o->pixel_memory ? o->pixel_memory : dv_pixel_budget_default_share(node_ranks);
    if (!(*pixel = dv_pixel_budget_new(pixel_total, &err))) {
        dvc_errorf("%s", err.message);
        dv_budget_free(b);
        return NULL;
    }
    lim->pixel_budget = *pixel;
    return b;
}

static unsigned default_jobs(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : n > JOBS_MAX ? JOBS_MAX : (unsigned)n;
}

int dvc_cmd_deidentify(int argc, char **argv)
{
    opts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char **srcv = argv + optind;
    size_t nsrc = (size_t)(argc - optind - 1);
    const char *dst = argv[argc - 1];

    dv_plan *plan = NULL;
    dv_key *key = NULL;
    dv_budget *budget = NULL;
    dv_pixel_budget *pixel_budget = NULL;
    dv_run *lib = NULL;
    paths p = {0};
    dvc_inputs in = {0};
    dvc_item *items = NULL;
    dvc_output out = {.dst_fd = -1};
    dvc_journal *journal = NULL;
    dv_limits limits;
    int mpi_rank = 0, mpi_size = 1, mpi_agreed = 0;
    if (o.mpi && dvc_mpi_init(&mpi_rank, &mpi_size) < 0)
        return DVC_EXIT_USAGE;
    (void)mpi_size;
    int node_ranks = o.mpi ? dvc_mpi_node_size() : 1; /* collective: before anything a rank may refuse */
    rc = DVC_EXIT_USAGE;

    /* 1. Everything that can be refused, before anything is written. */
    if (!(budget = make_limits(&o, (unsigned)node_ranks, &limits, &pixel_budget)))
        goto done;
    if (!(plan = dvc_plan_load(o.config)))
        goto done;
    if (check_paths(srcv, nsrc, dst, &o, &p) != 0)
        goto done;
    if (!(key = dvc_key_load(o.key_file, p.dst)))
        goto done;
    dv_error err;
    dv_error_clear(&err);
    if (!(lib = dv_run_new(plan, key, &limits, &err))) {
        dvc_errorf("%s", err.message);
        goto done;
    }
    dv_run_want_identifiers(lib, o.mapping != NULL);
    if (o.resume && mpi_rank == 0) { /* --mpi: rank 0 alone keeps the journal */
        if (!(journal = dvc_journal_open(o.report, o.config, key, p.dst, p.srcs, p.nsrc, o.do_fsync)))
            goto done;
    }

    if (o.mpi) { /* the rest is mpi_run.c's, once every rank got this far */
        mpi_agreed = 1;
        if (!dvc_mpi_agree(1)) {
            dvc_errorf("deidentify: --mpi: another rank refused the run (see its message); nothing was written");
            goto done;
        }
        dvm_args a = {.plan = plan, .key = key, .limits = &limits, .lib = lib, .journal = journal, .srcv = srcv,
                      .nsrc = nsrc, .dst = dst, .report = o.report, .jobs = o.jobs ? o.jobs : default_jobs(),
                      .quiet = o.quiet, .do_fsync = o.do_fsync, .resume = o.resume};
        rc = dvc_mpi_deidentify(&a);
        goto done;
    }

    /* 2. The input list (read-only). */
    for (size_t i = 0; i < nsrc; i++) {
        if (dvc_walk(srcv[i], &in) < 0) {
            dvc_errorf("out of memory while listing the sources");
            rc = DVC_EXIT_FAILED;
            goto done;
        }
    }
    if (!(items = calloc(in.n ? in.n : 1, sizeof *items))) {
        dvc_errorf("out of memory");
        rc = DVC_EXIT_FAILED;
        goto done;
    }
    for (size_t i = 0; i < in.n; i++) {
        items[i].path = in.v[i].path;
        items[i].walk_err = in.v[i].walk_err;
    }

    /* 3. First write: the destination. */
    unsigned jobs = o.jobs ? o.jobs : default_jobs();
    if (dvc_mkdir_p(dst, 0755) < 0 || dvc_output_init(&out, dst, jobs, o.do_fsync) < 0) {
        dvc_errorf("cannot create the destination: %s", strerror(errno));
        goto done;
    }
    if (o.preview && dvc_mkdir_p(o.preview, 0700) < 0) {
        dvc_errorf("cannot create the --preview directory: %s", strerror(errno));
        goto done;
    }

    dvc_progress progress;
    dvc_preview preview = {.dir = o.preview, .progress = &progress, .dirfd = -1};
    if (o.preview && dvc_preview_open(&preview) < 0) {
        rc = DVC_EXIT_FAILED;
        goto done;
    }
    if (o.preview)
        dv_run_set_frame_observer(lib, dvc_preview_observe, &preview);
    if (o.pixel_frame_ms)
        dv_run_set_pixel_frame_ms(lib, o.pixel_frame_ms);
    dvc_run run = {.lib = lib, .plan = plan, .out = &out, .progress = &progress, .items = items, .n = in.n,
                   .jobs = jobs, .mapping = o.mapping != NULL, .preview = o.preview ? &preview : NULL};
    pthread_mutex_init(&run.status_lock, NULL);
    if (journal) {
        size_t restored = dvc_journal_restore(journal, &run);
        if (restored == (size_t)-1) {
            pthread_mutex_destroy(&run.status_lock);
            dvc_preview_close(&preview);
            rc = DVC_EXIT_FAILED;
            goto done;
        }
        out.journal = run.journal = journal;
        dvc_errorf("resume: %zu of %zu inputs restored from the journal", restored, in.n);
    }
    double t0 = dvc_now();
    dvc_progress_start(&progress, !o.quiet && isatty(STDERR_FILENO), in.n);
    if (dvc_pool_run(&run) < 0) {
        dvc_progress_stop(&progress);
        dvc_errorf("cannot start worker threads: %s", strerror(errno));
        rc = DVC_EXIT_FAILED;
    } else {
        double elapsed = dvc_now() - t0;
        dvc_progress_stop(&progress);
        rc = dv_run_count(lib, DV_OUTCOME_FAILED) ? DVC_EXIT_FAILED : DVC_EXIT_OK;
        if (journal) {
            /* Outputs earlier attempts wrote for inputs that are gone from the sources or fail now: a fresh run
             * over these sources would not have them (docs/decisions.md "Withdrawn inputs"). Without --resume
             * there is no record of what a run wrote, so nothing is ever removed. */
            size_t not_removed = 0;
            run.stale_removed = dvc_journal_sweep(journal, out.dst_fd, dvc_output_stale, &run, &not_removed);
            if (not_removed)
                rc = DVC_EXIT_FAILED;
        } else {
            dvc_output_note_temps(out.dst_fd);
        }
        if (o.report && dvc_report_write(o.report, &run, elapsed) < 0)
            rc = DVC_EXIT_FAILED;
        if (o.mapping && dvc_mapping_write(o.mapping, &run) < 0)
            rc = DVC_EXIT_FAILED;
        if (o.preview) {
            size_t bad = atomic_load(&preview.failed);
            fprintf(stderr, "dicomveil: preview: %zu redacted frame(s) pictured", atomic_load(&preview.written));
            if (bad)
                fprintf(stderr, ", %zu could not be", bad);
            fputc('\n', stderr);
            if (bad)
                rc = DVC_EXIT_FAILED;
        }
        dvc_warn_burned_in(&run); /* before the summary, which stays the last line */
        dvc_summary(&progress, lib, elapsed);
    }
    dvc_progress_destroy(&progress);
    pthread_mutex_destroy(&run.status_lock);
    dvc_preview_close(&preview);

done:
    if (o.mpi) {
        if (!mpi_agreed)
            dvc_mpi_agree(0); /* this rank refused: every rank stops before writing */
        dvc_mpi_finalize();
    }
    dvc_output_close(&out);
    dvc_journal_close(journal);
    for (size_t i = 0; items && i < in.n; i++) {
        free(items[i].message);
        free(items[i].mapping);
        free(items[i].text_findings);
        free(items[i].pixels);
    }
    free(items);
    dvc_inputs_free(&in);
    paths_free(&p);
    dv_run_free(lib);
    dv_budget_free(budget);
    dv_pixel_budget_free(pixel_budget);
    dv_key_free(key);
    dv_plan_free(plan);
    return rc;
}
