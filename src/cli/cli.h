/* dicomveil command-line tool: declarations shared by the files in src/cli/ (internal to the binary).
 *
 * One file per job: main.c (dispatch), cmd_deidentify.c (arguments, validation, order of effects),
 * cmd_inspect.c (what the text stage would transform, nothing written), plan_load.c (the config),
 * cmd_render.c (one frame as a PNG), preview.c (deidentify --preview pictures),
 * keyfile.c (the secret), paths.c (path resolution), walk.c (input listing), file_io.c (fd source/sink),
 * output.c (atomic, never-overwriting output files: the sink of dv_run_instance), pool.c (worker threads
 * calling dv_run_instance), progress.c (stderr), report.c (JSON run report), mapping.c (--mapping crosswalk).
 * The read -> apply -> write path itself is the library's (src/engine/run.c): the CLI only opens inputs and
 * names outputs.
 *
 * Logging rule for every file here: stderr never carries a tag value, a key byte or a PHI-bearing path
 * (source paths are named by their index; the run report, which the user asked for, holds the paths). */
#ifndef DV_CLI_H
#define DV_CLI_H

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "dicomveil/dicomveil.h"
#include "util/dv_fd_source.h"

/* Exit codes (DECISIONS.md item 15). */
#define DVC_EXIT_OK 0
#define DVC_EXIT_FAILED 1
#define DVC_EXIT_USAGE 2

/* ---- main.c / cmd_deidentify.c ---- */
int dvc_cmd_deidentify(int argc, char **argv);
void dvc_deidentify_usage(FILE *f);
/* A byte count with an optional K/M/G suffix (powers of 1024) into *out: 0, or -1 when malformed or outside
 * [min, max] (deidentify's --memory-budget and --max-metadata, render's --max-frame-bytes). */
int dvc_parse_bytes(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* `dicomveil --version`: version, git commit, linked library versions (src/cli/version.c). */
void dvc_print_version(FILE *f);
/* ---- cmd_serve.c ---- */
int dvc_cmd_serve(int argc, char **argv);
void dvc_serve_usage(FILE *f);
/* ---- cmd_render.c ---- */
int dvc_cmd_render(int argc, char **argv);
void dvc_render_usage(FILE *f);
/* "dicomveil: " + message on stderr. */
void dvc_errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One line on stderr, prefix (may be "") then fmt, written with a single write: MPI ranks and processes sharing
 * stderr cannot tear it (a message and its newline written apart let another rank's line in between, and two
 * failures then read as one: test_cli_mpi). Cut at 4,000 bytes, under PIPE_BUF. */
void dvc_vline(const char *prefix, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* ---- no_core.c ---- */
/* Core dumps off for this process and its children (core size 0, not dumpable: a crash writes no copy of the
 * PHI in memory), unless DV_CORE_DUMPS=1. 0 done or left as asked, -1 either call refused (the caller warns). */
int dvc_no_core_dumps(void);

/* ---- crash_report.c ---- */
/* On a fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS): the signal, the version and the call stack's
 * addresses on stderr (no memory: nothing of an instance), then the default action. Nothing in a sanitizer build. */
void dvc_crash_report_install(void);

/* ---- plan_load.c ---- */
/* Read CFG (at most DV_CONFIG_MAX_BYTES) and compile it; prints its warnings. NULL after printing why (the
 * caller exits 2). The config path is not PHI and is named in messages. */
dv_plan *dvc_plan_load(const char *path);

/* ---- cmd_inspect.c ---- */
int dvc_cmd_inspect(int argc, char **argv);
void dvc_inspect_usage(FILE *f);

/* ---- paths.c ---- */
/* Absolute form of path with every symlink resolved in its longest existing prefix and the rest normalised
 * lexically (the rest does not exist, so it holds no symlink). malloc'd; NULL with errno on failure. */
char *dvc_path_resolve(const char *path);
/* 1 when resolved path inner equals outer or lies below it (component-wise, not a string prefix). */
int dvc_path_within(const char *inner, const char *outer);
/* 1 when inner (absolute, resolved) or one of its existing ancestors is the directory outer names, by device
 * and inode: what dvc_path_within cannot see, a second path to the same directory (a bind mount, a second
 * NFS mount of one export). */
int dvc_path_within_fs(const char *inner, const char *outer);
/* a + "/" + b (no doubled slash). malloc'd, NULL on ENOMEM. */
char *dvc_path_join(const char *a, const char *b);
/* mkdir -p: creates missing components with mode; an existing directory (also one a concurrent process
 * just made) is fine. 0, or -1 with errno. */
int dvc_mkdir_p(const char *path, mode_t mode);

/* ---- keyfile.c ---- */
/* Load the key from key_file, or from (creating it once) the default key path. Refuses a key path inside
 * dst_resolved (NULL: no destination, e.g. inspect). NULL after printing why (the caller exits 2). */
dv_key *dvc_key_load(const char *key_file, const char *dst_resolved);
/* The path dvc_key_load reads: key_file, else the default key's (which may not exist yet). malloc'd; NULL
 * with errno (ENOENT: no home directory for the default key, which dvc_key_load then refuses). */
char *dvc_key_path(const char *key_file);

/* ---- walk.c ---- */
/* walk_err of an entry inside a SRC folder that is neither a regular file nor a directory (a symbolic link,
 * FIFO, socket or device): listed and reported as skipped ("not_regular_file"), never opened or followed. */
#define DVC_WALK_NOT_FOLLOWED (-1)
#define DVC_SKIP_NOT_REGULAR "not_regular_file"
/* walk_err of a SRC argument that is a file: taken as given, a symbolic link followed (the user named it).
 * Every other input was a regular file inside a SRC folder when it was listed and is opened with O_NOFOLLOW:
 * replaced by a link between the listing and the read (hours apart in a big --mpi or resumed run), it would
 * otherwise be followed out of the archive; it is then skipped as not_regular_file, as a listing at that
 * moment would have it. [test_cli_run.sh "link swapped in after the listing"] */
#define DVC_WALK_ARGUMENT (-2)
/* Whether an input of this walk_err is opened and read (a regular file when listed, or a file argument). */
#define DVC_WALK_OPENS(e) ((e) == 0 || (e) == DVC_WALK_ARGUMENT)
typedef struct dvc_input {
    char *path;   /* as given: the SRC argument joined with the relative names below it */
    int walk_err; /* errno when this directory could not be listed (the entry then fails with class io),
                     DVC_WALK_NOT_FOLLOWED or DVC_WALK_ARGUMENT */
} dvc_input;
typedef struct dvc_inputs {
    dvc_input *v;
    size_t n, cap;
    /* Streaming (mpi_coord.c): when set, every input goes to emit instead of v, in the same order, as soon as
     * its directory is read; emit takes the path (malloc'd) on success (0), else the walk stops (-1). */
    int (*emit)(void *user, char *path, int walk_err);
    void *emit_user;
} dvc_inputs;
/* Append root (a regular file) or every regular file below root (a directory), sorted by name bytes.
 * Symlinks below root are not followed (no loops, no escape); root itself is. 0, or -1 on ENOMEM. */
int dvc_walk(const char *root, dvc_inputs *out);
void dvc_inputs_free(dvc_inputs *in);

/* ---- file_io.c ---- */
/* Sources over input files: dv_source_fd (src/util/dv_fd_source.h, shared with the server's store). */

/* A worker's sink buffer: a 526 KB CT instance leaves in one write (1 MiB against 256 KiB: 7 % less CPU on
 * ext4, bench/RESULTS.md "Pixel data through the buffer"). */
#define DVC_SINK_BUFFER (1024u * 1024u)
/* A worker's input buffer: an instance up to this size is read whole by one pread (pool.c), parsed in place and
 * its bulk values written from it (bench/RESULTS.md "Per-core rate against cp, eighth pass"). */
#define DVC_INPUT_BUFFER (1024u * 1024u)
_Static_assert(DVC_INPUT_BUFFER >= DV_SOURCE_HEAD_BYTES, "the input buffer holds the reader's first fill");
typedef struct dvc_fsink {
    int fd;
    uint8_t *buf;
    size_t len, cap;
    int offload; /* bulk copies by copy_file_range (dvc_fs_offloads_copy), else through buf */
    int failed;  /* errno of the first failure, sticky */
} dvc_fsink;
/* A buffered dv_sink over fd using the caller's buffer (cap bytes); copy_from uses copy_file_range when
 * offload is set and the source is a dv_source_fd, else pread + write through buf. Call dvc_sink_flush at
 * the end. */
dv_sink dvc_sink_fd(dvc_fsink *s, int fd, uint8_t *buf, size_t cap, int offload);
/* 1 when bulk copies into fd's file system should use copy_file_range: a network file system whose client
 * copies on the server (NFS, SMB, Ceph; dvc_fs_type_offloads_copy for statfs's f_type), or as
 * DICOMVEIL_COPY_RANGE says (1 always, 0 never) when it is set. */
int dvc_fs_offloads_copy(int fd);
int dvc_fs_type_offloads_copy(long f_type);
int dvc_sink_flush(dvc_fsink *s);
/* write() all of buf (retrying EINTR and short writes): 0, or -1 with errno. */
int dvc_write_all(int fd, const void *buf, size_t len);
/* read() until cap bytes or end of file (any readable fd, pipes included): the length, or -1 with errno. */
long dvc_read_up_to(int fd, void *buf, size_t cap);
/* Opens an input read-only (O_CLOEXEC | O_NOCTTY | flags) without touching its access time where allowed
 * (O_NOATIME; refused with EPERM for another user's file, then opened without it). -1 and errno on failure. */
int dvc_open_input(const char *path, int flags);

/* ---- output.c ---- */
#define DVC_COMPONENT_MAX 65 /* 64 chars + NUL; also fits "_invalid-" + 16 hex */
/* Directory/file name component for a UID: the UID itself when it is a well-formed UID (digits and single
 * dots, <= 64 chars), empty_name when empty, else "_invalid-" + 16 hex of its SHA-256. */
void dvc_uid_component(const char *uid, size_t cap, const char *empty_name, char out[DVC_COMPONENT_MAX]);
/* A character such a name holds ([0-9a-z._-]): the one rule the journal's names (journal_line.c) and the resume's
 * sweep of DST (output.c) are checked against. */
static inline int dvc_component_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-';
}

typedef struct dvc_claims dvc_claims; /* output.c: which input of this run holds each output name */
typedef struct dvc_tmp_slot dvc_tmp_slot;
/* One destination of one run: DST's descriptor, its claims table, one temp-name slot per worker. Nothing
 * about it is process-wide except the registry the fatal-signal handler walks (output.c). */
typedef struct dvc_journal dvc_journal; /* journal.c (--resume) */
/* Claims decided by another process (deidentify --mpi: rank 0 holds the run's one claims table, mpi_coord.c;
 * docs/decisions.md "MPI batch mode"). output.c asks at open (begin, not waiting: the answer comes while the
 * instance is written), and when the file is complete either waits for the answer (decide) or, when it has not
 * come yet, hands the complete unnamed file to the rank (defer), whose next free worker names it once the
 * answer comes (dvc_put_settle), so a worker never waits for a round trip to rank 0. What the put did to the name is
 * reported when it ends, on every path (finish). From the answer to finish the name is locked run-wide (FREE
 * and HIGHER), so the decision and the link/rename on the shared file system are one step for every process. */
enum { DVC_NAME_FREE = 0, DVC_NAME_LOST = 1, DVC_NAME_HIGHER = 2 };
enum { DVC_NAMED_NONE = 0, DVC_NAMED_LINKED = 1, DVC_NAMED_REPLACED = 2, DVC_NAMED_PREEXISTED = 3 };
struct dvc_put;
typedef struct dvc_remote_claims {
    uint32_t (*begin)(void *user, const char *name, size_t index); /* the request's id */
    int (*decide)(void *user, uint32_t req);                        /* waits; DVC_NAME_* */
    /* The answer has not come: 1 when the rank took p (a malloc'd copy, now the rank's), 0 to decide now. */
    int (*defer)(void *user, uint32_t req, struct dvc_put *p);
    void (*finish)(void *user, uint32_t req, const char *name, size_t index, int named); /* DVC_NAMED_* */
    int (*seed)(void *user, const char *name, size_t index); /* dvc_output_seed's answer */
    void *user;
} dvc_remote_claims;
typedef struct dvc_output {
    int dst_fd;
    dvc_journal *journal; /* --resume: names are announced in it before they are created; NULL otherwise */
    int do_fsync;
    dvc_claims *claims;
    dvc_tmp_slot *slots; /* one per worker */
    size_t nslots;
    atomic_int tmpfile_unsupported; /* O_TMPFILE + linkat cannot work here: hidden temp names instead */
    atomic_int empty_path_denied;   /* linkat(AT_EMPTY_PATH) refused (no CAP_DAC_READ_SEARCH): /proc/self/fd */
    const dvc_remote_claims *remote; /* --mpi: the run-wide claims (NULL: this output's own table) */
    int hash_outputs;                /* --mpi --resume: hash every output (the journal is rank 0's) */
    atomic_int unnamed_linked;       /* an unnamed file was linked here once: a deferred one can be too */
    int copy_offload;                /* DST's file system copies on the server (dvc_fs_offloads_copy) */
} dvc_output;
#define DVC_NO_INDEX SIZE_MAX
/* --resume: a name an earlier attempt of this run created, whose writer is redone now (journal.c): higher than
 * any input index, so the lowest index of this attempt replaces it. Never reported as displaced. */
#define DVC_OURS_UNKNOWN (SIZE_MAX - 1)
/* The signals whose handler removes temp names (output.c cleanup_sigs): block them in worker threads. */
void dvc_cleanup_signals(sigset_t *set);
/* Open DST (already created), prepare nworkers temp-name slots, register the output with the (process-wide)
 * fatal-signal cleanup. 0, or -1 with errno. */
int dvc_output_init(dvc_output *o, const char *dst, size_t nworkers, int do_fsync);
void dvc_output_close(dvc_output *o);

/* The CLI's output for dv_run_instance (dv_run.h): DST/<study>/<series>/<sop>.dcm, atomically. Among this
 * run's inputs with the same output name the lowest index that is written successfully holds it, whatever
 * --jobs and the timing: DV_OPEN_DUPLICATE / DV_COMMIT_DUPLICATE when a lower index already holds it (nothing
 * is written, or our file is discarded); when a higher index of this run had already named it, its file is
 * replaced atomically and `displaced` receives that index (which the caller turns into a duplicate). A name
 * that existed before this run is never replaced (every input with that name is a duplicate). */
extern const dv_output dvc_file_output;
/* --resume, before any worker starts: name (as journal.c holds it, "study/series/sop.dcm") is held by index.
 * 0 when it was free (now held), 1 when a lower index already held it (unchanged), -1 on ENOMEM. */
int dvc_output_seed(dvc_output *o, const char *name, size_t index);
/* --resume, after the pool ended: dvc_stale_fn over this output's own claims (not --mpi: rank 0's table decides
 * there, dvm_coord_stale). user: the dvc_run whose items say which inputs ended ok. */
int dvc_output_stale(void *run, const char *name);
/* --resume (dvc_journal_sweep): remove the temp names (".dvtmp-" + 12 hex, regular, owned by this user) that a
 * SIGKILLed attempt left in DST's study/series folders, and the folders that leaves empty; a temp name whose
 * writer still holds its flock (another run writing into DST) stays. The number removed; *failed: how many could
 * not be (the last errno in *failed_errno). Only once no worker names a file. */
size_t dvc_output_sweep_temps(int dst_fd, size_t *failed, int *failed_errno);
/* At the end of a run without --resume, whose own temp names are all gone: remove the temp names no process holds
 * (a run killed with SIGKILL left them: stop 53's red team found them in a release folder after a re-run exited
 * 0), saying how many (a count, no name); warn of the ones it cannot decide (no flock on this file system). A name
 * another live run holds is never touched. */
void dvc_output_note_temps(int dst_fd);
struct dvc_claim;
typedef struct dvc_put {
    /* in */
    dvc_output *o;
    size_t worker; /* selects the temp slot */
    size_t index;  /* input index: the lowest wins a name */
    uint8_t *buf;  /* the worker's sink buffer, cap bytes */
    size_t cap;
    struct dvc_preview_stage *preview; /* --preview: where the observer stages this instance's pictures */
    /* out */
    size_t displaced; /* DVC_NO_INDEX, or the higher index whose output ours replaced */
    int hashed;       /* --resume: hash holds the SHA-256 of the committed output bytes */
    unsigned char hash[32];
    /* output.c's, between open and commit/abort */
    struct dvc_claim *claim;
    int series_fd, fd, named;
    int series_owned; /* series_fd is this put's to close (a deferred --mpi put's); else the worker slot's */
    int remote_begun, remote_named; /* --mpi: begin was called; DVC_NAMED_* for finish */
    uint32_t remote_req;            /* --mpi: the request's id (begin) */
    char final[DVC_COMPONENT_MAX + 4];
    dvc_fsink fs;
} dvc_put;

/* After a failed instance: when its output's sink failed, add the sink's errno text to an I/O error's message
 * (the library's writer cannot know it). */
void dvc_put_explain(const dvc_put *p, dv_error *err);
/* --mpi, a worker of the rank between two inputs (mpi_rank.c take; p->worker set to its own temp-name slot):
 * name the complete file of a deferred put (dvc_remote_claims.defer) as decision says, report it (finish) and
 * close it; p is then done with (the caller frees it). 0 written, 1 a duplicate, -1 failed (err set). */
int dvc_put_settle(dvc_put *p, int decision, dv_error *err);
/* The output name ("study/series/sop.dcm") an open put claimed, or (a duplicate) the name a lower index holds;
 * NULL when open failed before naming. */
const char *dvc_put_name(const dvc_put *p);

/* ---- pool.c ---- */
typedef enum dvc_status {
    DVC_ST_PENDING = 0,
    DVC_ST_OK,
    DVC_ST_FAILED,
    DVC_ST_SKIPPED,
    DVC_ST_DUPLICATE
} dvc_status;

typedef struct dvc_pixels {
    uint32_t frames, boxes, nested_kept;
    int ran;
    int burned_in_unredacted; /* BurnedInAnnotation YES in the input, and no pixel redaction ran (dv_result) */
    char transfer_syntax[65];
} dvc_pixels;

typedef struct dvc_item {
    const char *path;
    int walk_err;
    dvc_status status;
    dv_code code;       /* DV_OK unless failed, or skipped as not DICOM */
    const char *reason; /* for skipped: "not_dicom" or "directory"; static string */
    char *message;      /* engine message (no tag values) for failed/skipped; malloc'd or NULL */
    char *mapping;      /* --mapping only: this input's crosswalk fields (mapping.c), malloc'd; PHI */
    uint32_t *text_findings; /* findings transformed by infoType (DV_RESULT_TEXT_TYPES), malloc'd only when
                                some count is non-zero; counts, never values */
    struct dvc_pixels *pixels; /* issue 11: what the pixel stage did (malloc'd only when it ran); counts and the
                                  output transfer syntax, never recognised text */
    size_t previewed;   /* pool.c, under the preview's lock: frames whose --preview pictures it published */
    int displaced;      /* pool.c, under the status lock: a lower index replaced this one's output before its
                           own worker recorded "ok", which then records "duplicate" instead */
} dvc_item;

typedef struct dvc_progress dvc_progress;
typedef struct dvc_run dvc_run;
/* What a worker learnt about one input, for a front end that collects outcomes itself (dvc_pool_hooks). */
typedef struct dvc_done {
    int ran;             /* the library read the input: st is its fstat (under --mpi, which always stats) */
    struct stat st;
    const char *name;    /* ok: the output name it holds ("study/series/sop.dcm"); duplicate: the name it
                            duplicates; else NULL */
    int hashed;          /* ok and hashing on: hash is the SHA-256 of the output bytes */
    unsigned char hash[32];
} dvc_done;
/* pool.c without its own input list (deidentify --mpi, mpi_rank.c): take gives worker (its id, which selects
 * its temp-name slot in the output: take may name a finished output on that worker's behalf, dvc_put_settle)
 * its next item (its slot in run->items and its input index, which the duplicate rule uses), or -1 when there
 * is no more work (it may wait); done is called after the item's outcome was recorded. NULL: the local CLI
 * (every index of run->items, in order). */
typedef struct dvc_pool_hooks {
    int (*take)(dvc_run *run, size_t worker, size_t *slot, size_t *index);
    void (*done)(dvc_run *run, size_t slot, const dvc_done *d);
    void *user;
} dvc_pool_hooks;
struct dvc_run {
    dv_run *lib;           /* the library run: plan, key, limits, counters */
    const dv_plan *plan;   /* for the report's summary */
    dvc_output *out;
    dvc_progress *progress;
    dvc_item *items;
    size_t n;
    unsigned jobs;
    int mapping;           /* keep each input's crosswalk fields (--mapping) */
    dvc_journal *journal;  /* --resume (journal.c), else NULL */
    atomic_size_t next;
    pthread_mutex_t status_lock; /* statuses and the ok -> duplicate moves (pool.c) */
    const dvc_pool_hooks *hooks; /* --mpi (mpi_rank.c), else NULL */
    struct dvc_preview *preview; /* --preview, else NULL */
    atomic_uint_least64_t worker_cpu_ns; /* CPU time of the workers that ended (--mpi summary, bench/mpi.sh) */
    size_t stale_removed; /* --resume: outputs of inputs no longer ok removed at the end (dvc_journal_sweep) */
};
/* Run every item on run->jobs threads while the calling thread draws progress. 0, or -1 when no thread
 * could be started. */
int dvc_pool_run(dvc_run *run);
const char *dvc_status_name(dvc_status st);

/* ---- progress.c ---- */
double dvc_now(void); /* monotonic seconds */
/* The terminal progress bar and stderr lines of one run (one per run: no process-wide state). */
struct dvc_progress {
    pthread_mutex_t lock;
    int enabled, drawn;
    size_t total;
    double start, last_draw;
};
void dvc_progress_start(dvc_progress *p, int enabled, size_t total);
/* Main thread: redraw the bar (rate-limited to 10 per second). */
void dvc_progress_update(dvc_progress *p, const dv_run *run);
/* Remove the bar before the summary. */
void dvc_progress_stop(dvc_progress *p);
void dvc_progress_destroy(dvc_progress *p);
/* Any thread: one line on stderr, without tearing the bar. */
void dvc_progress_log(dvc_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dvc_summary(dvc_progress *p, const dv_run *run, double elapsed);

/* ---- report.c ---- */
/* Write the JSON run report atomically (temp + rename). 0, or -1 after printing why. */
int dvc_report_write(const char *path, const dvc_run *run, double elapsed);
/* Written instances whose input declares BurnedInAnnotation YES and whose pixels no redaction ran on (the
 * report's counts.burned_in_not_redacted), and the warning that names their number when there are any. */
size_t dvc_burned_in_unredacted(const dvc_run *run);
void dvc_warn_burned_in(const dvc_run *run);

/* ---- mapping.c ---- */
/* The crosswalk fields of one de-identified instance (original and new UIDs, PatientID when changed), as CSV
 * fields in UTF-8 (decoded with the instance's character set; see mapping.c); malloc'd, NULL on ENOMEM. *cs: the
 * calling worker's codec context (NULL until first needed, then made here; the worker frees it). PHI: only ever
 * written to the --mapping file. */
struct dv_charset_ctx;
char *dvc_mapping_fields(const dv_result *res, struct dv_charset_ctx **cs);
/* Write the --mapping CSV (mode 0600, atomically): one row per input whose instance is in DST (ok or
 * duplicate), in input order. 0, or -1 after printing why. */
int dvc_mapping_write(const char *path, const dvc_run *run);

/* ---- preview.c ---- */
/* deidentify --preview DIR: before/after PNGs of every redacted frame (see preview.c). The observer stages an
 * instance's pictures under temporary names; they get their real names only when that instance's output was
 * committed (dvc_preview_settle), so a duplicate or a failed instance never shows or replaces pictures. */
typedef struct dvc_preview {
    const char *dir;        /* created (0700) before the run */
    dvc_progress *progress; /* for messages without tearing the bar */
    int dirfd;              /* dvc_preview_open: every picture is made and named relative to it */
    pthread_mutex_t lock;   /* settles one instance at a time (pool.c: with its ok -> duplicate moves) */
    atomic_size_t seq;      /* temporary names */
    atomic_size_t written;  /* frames whose two pictures were published */
    atomic_size_t failed;   /* frames of published instances whose pictures could not be made or written */
} dvc_preview;
/* One instance's staged pictures (a worker's, between dv_run_instance's start and dvc_preview_settle). */
typedef struct dvc_preview_pic {
    char tmp[48];                       /* its temporary name in the dir */
    char name[DVC_COMPONENT_MAX + 48];  /* its name once published */
} dvc_preview_pic;
typedef struct dvc_preview_stage {
    dvc_preview_pic *pics; /* before and after of each frame, in pairs */
    size_t n, cap;
    size_t failed;               /* frames whose pictures could not be made or staged */
    char uid[DVC_COMPONENT_MAX]; /* the output UID component of the names ("" before the first frame) */
} dvc_preview_stage;
/* Open the (existing) dir for writing pictures: refused (message naming --preview, -1) when it is writable by
 * group or others, who could plant names in it. 0 or -1 after printing why. */
int dvc_preview_open(dvc_preview *pv);
/* 1 after printing why (naming --preview) when the directory st describes is writable by group or others, else
 * 0: checked on its name before anything is created (cmd_deidentify.c) and on the opened directory. */
int dvc_preview_dir_shared(const struct stat *st);
void dvc_preview_close(dvc_preview *pv);
/* The dv_frame_observer_fn of dv_run_set_frame_observer; user is the dvc_preview, ev->instance_arg the
 * instance's dvc_put (its preview field: the stage). Thread-safe. */
void dvc_preview_observe(const dv_frame_event *ev, void *user);
/* Call with pv->lock held, once per instance after dv_run_instance: publish (rename the pictures over their
 * names, counting them) or drop (remove them). replaced: this instance's output displaced another of the same
 * name in this run, whose pictures (same names, maybe more frames) are removed first. Frees the stage. Returns
 * the number of frames published. */
size_t dvc_preview_settle(dvc_preview *pv, dvc_preview_stage *st, int publish, int replaced);
/* ---- journal.c (--resume; docs/decisions.md "Resumable runs") ---- */
/* The journal's path, REPORT + ".journal", and its lock's, REPORT + ".lock" (malloc'd; NULL on ENOMEM). */
char *dvc_journal_path(const char *report);
char *dvc_journal_lock_path(const char *report);
/* The journal REPORT.journal of this run (config, key, DST and SRCs fingerprinted), locked for this run alone
 * (REPORT.lock, until dvc_journal_close). Refuses (NULL after printing why: the caller exits 2, nothing
 * written yet) a journal another run is using, or a journal of another run. Where it may be (not onto
 * a file the run reads or another it writes, not in DST or a SRC) is cmd_deidentify.c's check, made before.
 * An existing journal is read, to be restored after the walk. dsync: --fsync (O_DSYNC). */
dvc_journal *dvc_journal_open(const char *report, const char *config, const dv_key *key, const char *dst,
                              char *const *srcs, size_t nsrc, int dsync);
/* After DST is open and before the pool: restore verified entries into run->items (status, counts, findings),
 * seed the claims table, rewrite the journal compactly and open it for appending. The number restored, or
 * (size_t)-1 after printing why. */
size_t dvc_journal_restore(dvc_journal *j, dvc_run *run);
/* Under the claims lock, before a name that does not exist yet is created. */
void dvc_journal_claim(dvc_journal *j, size_t index, const char *name);
/* An input's committed outcome (ok or duplicate); st: the input's fstat; hash NULL for a duplicate. */
void dvc_journal_done(dvc_journal *j, size_t index, const char *path, const struct stat *st, int dup,
                      const char *name, const unsigned char *hash, const uint32_t *findings, const dvc_pixels *px);
void dvc_journal_close(dvc_journal *j);
/* At the end of a --resume run, once no worker or rank touches DST any more (docs/decisions.md "Withdrawn inputs"):
 * what the table of names says of a name some attempt of this run announced (a C line). KEEP: an input that ended
 * ok holds it, or it is not this run's (a file that was there first); STALE: this run wrote it (an earlier attempt,
 * or an input of this one) and no input that ended ok holds it now; FOLDERS: no attempt's file is known there
 * (the table never saw it: only its folders, when empty, go). */
enum { DVC_SWEEP_KEEP = 0, DVC_SWEEP_STALE = 1, DVC_SWEEP_FOLDERS = 2 };
typedef int (*dvc_stale_fn)(void *user, const char *name);
/* The verdict on one name once the run is over, from what a table of names knows of it (the local claims, or
 * rank 0's under --mpi: one rule for both): a file that was there before the run is kept; a name no input of
 * this run named (holder DVC_NO_INDEX) only has its empty folders tidied; else the file is kept when its holder
 * ended ok and is stale otherwise (an earlier attempt's, DVC_OURS_UNKNOWN, or an input's that did not end ok).
 * Inline: mpi_coord.c is also compiled alone into test_mpi_wire / fuzz_mpi_wire. */
static inline int dvc_sweep_verdict(int preexisted, size_t holder, const dvc_item *items, size_t n)
{
    if (preexisted)
        return DVC_SWEEP_KEEP;
    if (holder == DVC_NO_INDEX)
        return DVC_SWEEP_FOLDERS;
    return holder < n && items[holder].status == DVC_ST_OK ? DVC_SWEEP_KEEP : DVC_SWEEP_STALE;
}
/* Remove from DST every output named by a C line of the journal whose name stale() calls STALE (a regular file
 * in real folders: nothing is followed), and the series and study folders that leaves empty. The number
 * removed; *not_removed: how many could not be (a warning said so, counts only). A resume over an earlier
 * attempt's journal also removes the temp names killed attempts left (dvc_output_sweep_temps; its failures are
 * added to *not_removed). */
size_t dvc_journal_sweep(dvc_journal *j, int dst_fd, dvc_stale_fn stale, void *user, size_t *not_removed);

/* ---- journal_line.c: the journal's D line and every line's MAC (their grammar's one home) ---- */
#define DVC_JLINE_NAME_MAX (3 * DVC_COMPONENT_MAX + 8)
#define DVC_JLINE_MAX (512 + 32 * DV_RESULT_TEXT_TYPES)
typedef struct dvc_jline {
    size_t index;
    int dup; /* 0 ok, 1 duplicate */
    char pathid[33];
    unsigned long long size;
    long long mtime_ns;
    char name[DVC_JLINE_NAME_MAX]; /* "-" or study/series/sop.dcm (check with dvc_jline_name_ok before use) */
    char hash[65];                 /* "-" or the output's SHA-256 in hex */
} dvc_jline;
/* A name as output.c makes it: exactly three components of [0-9a-z._-], none "." or "..". */
int dvc_jline_name_ok(const char *s);
/* The line with its newline into line[cap] (NUL-terminated); its length, 0 when it does not fit. */
size_t dvc_jline_format_d(char *line, size_t cap, const dvc_jline *d, const uint32_t *findings,
                          const dvc_pixels *px);
/* line[0, len) (no newline) parsed as exactly what dvc_jline_format_d writes; 0, or -1. */
int dvc_jline_parse_d(const char *line, size_t len, dvc_jline *d);
/* The findings / pixels field of a parsed D line, malloc'd; NULL for "-", malformed, or out of memory. */
uint32_t *dvc_jline_findings(const char *line, size_t len);
dvc_pixels *dvc_jline_pixels(const char *line, size_t len);
/* Every C and D line ends in its MAC: " " + DVC_JLINE_MAC_HEX lowercase hex digits, the first 16 bytes of
 * HMAC-SHA256(mac_key, the line before that space). mac_key is the run's journal MAC key (journal.c). */
#define DVC_JLINE_MAC_HEX 32
#define DVC_JLINE_SEALED_MAX (DVC_JLINE_MAX + 1 + DVC_JLINE_MAC_HEX + 1) /* a body, its MAC, the newline */
/* line[0, len) is a line's body (no newline): append its MAC and the newline inside line[cap] (NUL-terminated).
 * The sealed length with its newline, or 0 (no room, or the HMAC failed: no line rather than an unsealed one). */
size_t dvc_jline_seal(const dv_key *mac_key, char *line, size_t len, size_t cap);
/* line[0, len) (no newline): the length of its body when its last field is the MAC of that body under mac_key,
 * else -1 (no MAC field, another form of it, or the wrong MAC: the line is not trusted). */
long dvc_jline_unseal(const dv_key *mac_key, const char *line, size_t len);

/* ---- file_replace.c ---- */
/* Replace path with text atomically: a mode-0600 temp file beside it, fsync, rename. A symbolic link to a
 * regular file has its target replaced; a character device or FIFO (/dev/null, /dev/stdout, a pipe) is written
 * in place; anything else is refused (dvc_side_path_refusal). what names the file in messages ("report",
 * "mapping"). 0, or -1 after printing why. */
int dvc_file_replace(const char *path, const char *text, size_t len, const char *what);
/* What path names now, for dvc_file_replace and for the checks before a run (cmd_deidentify.c). */
enum {
    DVC_SIDE_NEW,       /* nothing yet: created */
    DVC_SIDE_REGULAR,   /* a regular file: replaced */
    DVC_SIDE_LINKED,    /* a symbolic link to a regular file: the file replaced, the link kept */
    DVC_SIDE_STREAM,    /* a character device or a FIFO: written in place */
    DVC_SIDE_DANGLING,  /* a symbolic link to nothing: refused */
    DVC_SIDE_DIRECTORY, /* refused */
    DVC_SIDE_OTHER      /* a block device, a socket: refused */
};
int dvc_side_path_kind(const char *path);
/* Why a kind is refused ("is a directory"), or NULL when it is written. */
const char *dvc_side_path_refusal(int kind);

#endif
