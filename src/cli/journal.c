/* --resume: the journal of finished inputs, REPORT.journal beside the run report (docs/decisions.md
 * "Resumable runs"). [tests/integration/test_cli_resume.sh]
 *
 * Where: next to --report (which is refused inside DST and inside every SRC, cmd_deidentify.c), so the journal
 * is too; it is never in DST. Mode 0600.
 *
 * Lines (text, one write() each, O_APPEND; a line without its newline is a torn tail and ignored):
 *   dicomveil-journal 4 <run id>          first line: SHA-256 of the config bytes, a keyed fingerprint of the
 *                                         key (the key's new UID for a fixed registry UID, never key bytes),
 *                                         the resolved DST and SRCs. A journal of another run is refused, and
 *                                         so is one of format 1 (unkeyed path ids), 2 (no pixels field) or 3
 *                                         (no MACs), with its own message.
 *   C <index> <name>                      written under the claims lock BEFORE this run names a file
 *                                         <name> (= "study/series/sop.dcm", new UIDs) that did not exist:
 *                                         so every name an attempt ever created is known to be this run's.
 *   D <index> <path id> <size> <mtime ns> <ok|duplicate> <name|-> <sha256|-> <findings|-> <pixels|->
 *                                         the input's outcome, after it was committed (name: its output, or
 *                                         for a duplicate the output it duplicates; --mpi journals "-"
 *                                         there, and such a duplicate is redone); path id = first 16
 *                                         bytes of HMAC-SHA256(path-id key, source path); sha256 = of the
 *                                         output bytes; findings and pixels: the report's counts and pixel
 *                                         entry. The grammar's one home: journal_line.c.
 * Every C and D line ends in " <mac>": the first 16 bytes of HMAC-SHA256(MAC key, the line before it), MAC key
 * = dv_key_derive(run key, "dicomveil-journal-mac <run id>") (journal_line.c seals and checks). The journal is a
 * file beside the report, writable by whoever can write there, and a resume acts on its word: a forged C line
 * had a foreign file in DST removed, a forged D hash had a swapped output (the original PHI file) "restored".
 * A line without its MAC is refused: its input is redone as if never journaled, its name is neither seeded nor
 * removed, and stderr says how many lines were refused (a count only). The run id in the label binds the lines
 * to this run: a line sealed for another DST under the same key is refused too.
 * PHI: no source path, no original identifier, no tag value. The new UIDs in <name> are in DST already; unlike
 * the report (source paths) this file links no source to an output by name, only by a KEYED path id. An
 * unkeyed hash (format 1) let anyone holding the journal confirm a guessed path such as
 * phi/DOE^JOHN_12345/x.dcm against a line naming an output; without the key a path id tells nothing. The
 * path-id key is dv_key_derive(run key, "dicomveil-journal-path-id") (HMAC keyed by the label, of the run key):
 * a sub-key of its own, so neither the key nor anything the key computes elsewhere (new UIDs, crypto hashes) is
 * in the journal or gives its sub-keys away. Failed and skipped inputs get no line:
 * redone.
 *
 * One run at a time (REPORT.lock): two --resume runs sharing a report would each compact the journal by
 * renaming a new file over it, so the other would append to an orphaned inode and every later resume would
 * misread its outputs. The lock cannot be the journal (replaced by rename), nor the report (replaced at the
 * end), nor the report's directory (it would also exclude runs with other reports there): it is an empty file
 * of its own beside them, REPORT.lock (mode 0600, no content, so no PHI), flock'ed LOCK_EX|LOCK_NB from
 * before the journal is read until dvc_journal_close, after the report is written. A second run is refused
 * (exit 2, nothing written) rather than made to wait: it would only redo what the first is doing. The holder
 * removes the file before it lets go, so a run leaves beside the report what it left before (a SIGKILLed run
 * leaves the empty file: the next run takes it over); a run that locked a file just removed (its name now
 * names another inode, or none) takes the lock again on the name. Without flock on the file system (ENOLCK,
 * EOPNOTSUPP) the run goes on with a warning: nothing then keeps two runs apart.
 *
 * Durability: a line is in the kernel once write() returns, so it survives the process being killed at any
 * moment (SIGKILL, OOM); with --fsync the journal is opened O_DSYNC, so each line is on disk before the output
 * it announces is named (C) or counted (D), which also survives power loss.
 *
 * Resume (dvc_journal_restore): a D "ok" entry whose input has the same path, size and mtime, and whose output
 * file exists with the journaled hash, is restored without work; among restored entries of one name the
 * lowest index holds it and the others are duplicates (same bytes). A D "duplicate" entry (it names the name it
 * duplicated) with the same input is restored as a duplicate only when a lower index restored ok holds that
 * name now (a lower index held it, and will again); else it is redone. Every other input is redone. The
 * claims table of output.c is seeded: a verified name with its holder, a name some attempt created (C line)
 * whose file exists but verifies for no entry with DVC_OURS_UNKNOWN (a higher index than any), so a lower
 * index redone now replaces it exactly as in one uninterrupted run. Names this run never created keep the
 * never-overwrite rule. The journal is then rewritten compactly (header, names, restored D lines).
 *
 * End of a resumed run (dvc_journal_sweep; docs/decisions.md "Withdrawn inputs"): an output an earlier attempt
 * wrote for an input withdrawn from the sources (or failing now) would stay in DST, unaccounted for, although a
 * fresh run would not write it, and a file is withdrawn precisely because it must not be shared. So once no
 * worker or rank names a file any more, every name of a C line (read back from the journal on disk: only names
 * some attempt announced are ever touched) that the table of names says this run wrote and no input that ended
 * ok holds is removed, then its series and study folders when that left them empty. No line is rewritten: a
 * resume verifies every D line against its output's hash, so a removed output's entry is redone, never
 * expected, and a C line whose file is gone seeds nothing. A kill during the sweep leaves the rest to the next
 * resume's (its names are still C lines, its files are seeded again as an earlier attempt's). The same resume
 * then removes the hidden temp names a SIGKILL left in DST's study/series folders (output.c
 * dvc_output_sweep_temps; docs/decisions.md "Temp names a kill left"). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "cli.h"
#include "engine/dv_plan.h" /* dv_key_hmac: the key's pre-keyed HMAC-SHA256 */
#include "util/dv_grow.h"

/* Format 5: every C and D line ends in its MAC; the path-id and MAC sub-keys are dv_key_derive's (format 4 took
 * them as HMAC(run key, label), which a crypto-hashed value equal to the label printed into an output: stop 54's
 * review). A format other than this one is refused (journal_open), never misread: an older journal's ids and MACs
 * would never match. */
#define JOURNAL_MAGIC "dicomveil-journal 5 "
#define JOURNAL_PREFIX "dicomveil-journal "
#define PATH_ID_LABEL "dicomveil-journal-path-id"
#define MAC_LABEL "dicomveil-journal-mac "
/* 4 GiB, read whole at a resume: about 8.5 million inputs (a finished input has a C and a D line, ~480 bytes;
 * measured in stop 45), so docs/SCALING.md sizes jobs below that. */
#define JOURNAL_MAX (4ull * 1024 * 1024 * 1024)
/* DICOMVEIL_JOURNAL_MAX (a whole number of bytes, 1 to JOURNAL_MAX) lowers it, so that a test can take a run past
 * it without writing gigabytes (test_cli_resume.sh "journal past its limit"), as DICOMVEIL_NO_O_TMPFILE lets a
 * test take the temp-name path. */
#define JOURNAL_MAX_ENV "DICOMVEIL_JOURNAL_MAX"

typedef struct jentry {
    int present;
    int dup; /* 0 ok, 1 duplicate */
    char pathid[33];
    unsigned long long size;
    long long mtime_ns;
    char name[DVC_JLINE_NAME_MAX];
    char hash[65];
    const char *line; /* the sealed D line (without newline) inside j->text, for the compact rewrite */
    size_t line_len;
    size_t body_len; /* its length without the MAC field: what the findings and pixels are read from */
} jentry;

struct dvc_journal {
    char *path;
    char *lock_path; /* REPORT.lock */
    int lock_fd;     /* holds the flock, -1 when none is held */
    char runid[65];
    int fd;
    int dsync;
    int resume;
    dv_key *pid_key; /* the path-id sub-key (see the top of this file) */
    dv_key *mac_key; /* the line MAC sub-key, bound to this run's id (see the top of this file) */
    pthread_mutex_t lock;
    char *text; /* the old journal (resume) */
    size_t text_len;
    uint64_t max;     /* what a resume reads: JOURNAL_MAX, or DICOMVEIL_JOURNAL_MAX */
    uint64_t written; /* the journal's size as this run appends to it (under lock) */
    int past_max;     /* the warning that it passed max was given */
};

static void hex(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* The journal's limit in words: "4 GiB (a job of more than about 8 million inputs)", or a lower
 * DICOMVEIL_JOURNAL_MAX in bytes. */
static const char *limit_text(uint64_t max, char *out, size_t cap)
{
    if (max == JOURNAL_MAX)
        snprintf(out, cap, "4 GiB (a job of more than about 8 million inputs)");
    else
        snprintf(out, cap, "%llu bytes", (unsigned long long)max);
    return out;
}

/* The whole file, at most cap bytes: malloc'd (NUL-terminated), *len set; NULL with errno. */

static char *slurp(const char *path, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return NULL;
    struct stat st;
    int e = fstat(fd, &st) < 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : (uint64_t)st.st_size > cap ? EFBIG : 0;
    if (e) {
        close(fd);
        errno = e;
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    long n = buf ? dvc_read_up_to(fd, buf, (size_t)st.st_size) : -1;
    e = errno;
    close(fd);
    if (n < 0) {
        free(buf);
        errno = e;
        return NULL;
    }
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static int run_id(const char *config, const dv_key *key, const char *dst, char *const *srcs, size_t nsrc,
                  char out[65])
{
    size_t clen = 0;
    char *cfg = slurp(config, DV_CONFIG_MAX_BYTES, &clen);
    if (!cfg)
        return -1;
    char keyprint[DV_UID_MAX + 1];
    dv_uid_regenerate(key, "1.2.3.4.5.6.7.8.9", strlen("1.2.3.4.5.6.7.8.9"), keyprint);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, "dicomveil-journal-v2", 21) == 1 && EVP_DigestUpdate(c, cfg, clen + 1) == 1 &&
             EVP_DigestUpdate(c, keyprint, strlen(keyprint) + 1) == 1 &&
             EVP_DigestUpdate(c, dst, strlen(dst) + 1) == 1;
    for (size_t i = 0; ok && i < nsrc; i++)
        ok = EVP_DigestUpdate(c, srcs[i], strlen(srcs[i]) + 1) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(c);
    free(cfg);
    if (!ok) {
        errno = ENOMEM;
        return -1;
    }
    hex(md, 32, out);
    return 0;
}

static char *report_plus(const char *report, const char *suffix)
{
    size_t rlen = strlen(report), slen = strlen(suffix);
    char *p = malloc(rlen + slen + 1);
    if (p) {
        memcpy(p, report, rlen);
        memcpy(p + rlen, suffix, slen + 1);
    }
    return p;
}

char *dvc_journal_path(const char *report)
{
    return report_plus(report, ".journal");
}

char *dvc_journal_lock_path(const char *report)
{
    return report_plus(report, ".lock");
}

/* Take REPORT.lock (see the top of this file). 0 held (or flock unsupported: warned), 1 another run holds it,
 * -1 error; 1 and -1 after printing why. */
static int take_lock(dvc_journal *j)
{
    for (int tries = 0; tries < 100; tries++) {
        int fd = open(j->lock_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW, 0600);
        if (fd < 0) {
            dvc_errorf("--resume: cannot open the lock beside the report: %s", strerror(errno));
            return -1;
        }
        int r;
        while ((r = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR)
            ;
        if (r != 0) {
            int e = errno;
            close(fd);
            if (e == EWOULDBLOCK) {
                dvc_errorf("--resume: another run is using this --report and its journal; let it finish (or stop "
                           "it), or choose another --report");
                return 1;
            }
            if (e == ENOLCK || e == EOPNOTSUPP || e == EINVAL) {
                dvc_errorf("warning: --resume: the file system of --report cannot lock (%s): nothing keeps "
                           "another run off this journal", strerror(e));
                return 0;
            }
            dvc_errorf("--resume: cannot lock beside the report: %s", strerror(e));
            return -1;
        }
        /* The lock is ours if the name still names the inode we locked: a holder removes the file before it
         * lets go, so an fd opened before that removal can be granted a lock nobody else will ever look at. */
        struct stat a, b;
        if (fstat(fd, &a) == 0 && stat(j->lock_path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
            j->lock_fd = fd;
            return 0;
        }
        close(fd);
    }
    dvc_errorf("--resume: cannot lock beside the report: it keeps being replaced");
    return -1;
}

/* HMAC-SHA256(key, label) as a key of its own (see the top of this file); NULL when out of memory. */
static dv_key *sub_key(const dv_key *key, const char *label)
{
    unsigned char sub[32];
    dv_error err;
    dv_error_clear(&err);
    dv_key *k = dv_key_derive(key, label, sub) == 0 ? dv_key_new(sub, sizeof sub, &err) : NULL;
    OPENSSL_cleanse(sub, sizeof sub);
    return k;
}

dvc_journal *dvc_journal_open(const char *report, const char *config, const dv_key *key, const char *dst,
                              char *const *srcs, size_t nsrc, int dsync)
{
    dvc_journal *j = calloc(1, sizeof *j);
    if (!j || !(j->path = dvc_journal_path(report)) || !(j->lock_path = dvc_journal_lock_path(report))) {
        if (j)
            free(j->path);
        free(j);
        dvc_errorf("out of memory");
        return NULL;
    }
    j->fd = -1;
    j->lock_fd = -1;
    j->dsync = dsync;
    j->max = JOURNAL_MAX;
    pthread_mutex_init(&j->lock, NULL);
    const char *env_max = getenv(JOURNAL_MAX_ENV);
    if (env_max && *env_max) {
        char *end = NULL;
        errno = 0;
        unsigned long long v = strtoull(env_max, &end, 10);
        if (errno || *end || env_max[0] < '0' || env_max[0] > '9' || v < 1 || v > JOURNAL_MAX) {
            dvc_errorf(JOURNAL_MAX_ENV ": expected a whole number of bytes from 1 to %llu",
                       (unsigned long long)JOURNAL_MAX);
            dvc_journal_close(j);
            return NULL;
        }
        j->max = v;
    }
    if (take_lock(j) != 0) {
        dvc_journal_close(j);
        return NULL;
    }
    if (run_id(config, key, dst, srcs, nsrc, j->runid) < 0) {
        dvc_errorf("--resume: cannot fingerprint the run: %s", strerror(errno));
        dvc_journal_close(j);
        return NULL;
    }
    /* The MAC key's label carries the run id, so a line sealed for another run under the same key (another DST
     * or SRC) is refused here too: only this run's lines name files this run may remove. */
    char mac_label[sizeof MAC_LABEL + 64];
    snprintf(mac_label, sizeof mac_label, "%s%s", MAC_LABEL, j->runid);
    if (!(j->pid_key = sub_key(key, PATH_ID_LABEL)) || !(j->mac_key = sub_key(key, mac_label))) {
        dvc_errorf("--resume: cannot derive the journal's keys: out of memory");
        dvc_journal_close(j);
        return NULL;
    }
    j->text = slurp(j->path, j->max, &j->text_len);
    if (!j->text && errno == EFBIG) {
        char lim[64];
        dvc_errorf("--resume: the journal is over %s, more than a resume reads: start over without --resume, or "
                   "split the sources into smaller jobs",
                   limit_text(j->max, lim, sizeof lim));
        dvc_journal_close(j);
        return NULL;
    }
    if (!j->text && errno != ENOENT) {
        dvc_errorf("--resume: cannot read the journal: %s", strerror(errno));
        dvc_journal_close(j);
        return NULL;
    }
    if (j->text) {
        size_t ml = strlen(JOURNAL_MAGIC), pl = strlen(JOURNAL_PREFIX);
        if (j->text_len > pl && memcmp(j->text, JOURNAL_PREFIX, pl) == 0 && j->text[pl] != JOURNAL_MAGIC[pl]) {
            /* Refused like any journal whose first line is not this run's (exit 2, nothing written), but saying
             * why: its lines are of another format (1: unkeyed path ids; 2: no pixel entries; 3: no MACs), so they
             * could only be misread. */
            dvc_errorf("--resume: the journal beside the report is of an older dicomveil (another format); remove "
                       "it to start over, or run without --resume");
            dvc_journal_close(j);
            return NULL;
        }
        if (j->text_len < ml + 65 || memcmp(j->text, JOURNAL_MAGIC, ml) != 0 || j->text[ml + 64] != '\n') {
            dvc_errorf("--resume: the journal beside the report is not a dicomveil journal; remove it or choose "
                       "another --report name");
            dvc_journal_close(j);
            return NULL;
        }
        if (memcmp(j->text + ml, j->runid, 64) != 0) {
            dvc_errorf("--resume: the journal belongs to a different run (config, key, sources or destination "
                       "differ); remove it to start over");
            dvc_journal_close(j);
            return NULL;
        }
        j->resume = 1;
    }
    return j;
}

void dvc_journal_close(dvc_journal *j)
{
    if (!j)
        return;
    if (j->fd >= 0)
        close(j->fd);
    if (j->lock_fd >= 0) {
        /* Removed while still held, so no other run can lock this inode and believe the name is its. */
        unlink(j->lock_path);
        close(j->lock_fd);
    }
    pthread_mutex_destroy(&j->lock);
    dv_key_free(j->pid_key);
    dv_key_free(j->mac_key);
    free(j->text);
    free(j->path);
    free(j->lock_path);
    free(j);
}

static void journal_write(dvc_journal *j, const char *line, size_t len)
{
    pthread_mutex_lock(&j->lock);
    if (j->fd >= 0 && dvc_write_all(j->fd, line, len) < 0) {
        /* The run goes on (its outputs are fine); only a later --resume redoes more. Said once. */
        int e = errno;
        close(j->fd);
        j->fd = -1;
        dvc_errorf("warning: journal write failed (%s): a resume would redo the rest", strerror(e));
    } else if (j->fd >= 0 && (j->written += len) > j->max && !j->past_max) {
        /* Said when it happens, once, not only by the resume that would be refused hours later: the run goes on
         * (its outputs are fine), but if it is stopped now, it cannot be resumed. */
        char lim[64];
        j->past_max = 1;
        dvc_errorf("warning: the journal has passed %s, more than a --resume reads: if this run stops before its "
                   "end it must start over; split the sources into smaller jobs (docs/SCALING.md)",
                   limit_text(j->max, lim, sizeof lim));
    }
    pthread_mutex_unlock(&j->lock);
}

/* The sealed C line of index and name into line: its length with the newline, or 0 (too long, or no MAC). */
static size_t claim_line(const dvc_journal *j, size_t index, const char *name, char line[DVC_JLINE_SEALED_MAX])
{
    int n = snprintf(line, DVC_JLINE_SEALED_MAX, "C %zu %s", index, name);
    return n > 0 && n < DVC_JLINE_SEALED_MAX ? dvc_jline_seal(j->mac_key, line, (size_t)n, DVC_JLINE_SEALED_MAX) : 0;
}

void dvc_journal_claim(dvc_journal *j, size_t index, const char *name)
{
    char line[DVC_JLINE_SEALED_MAX];
    size_t sealed = claim_line(j, index, name, line);
    if (sealed)
        journal_write(j, line, sealed);
}

/* The keyed path id of a source path (see the top of this file). 0, or -1 (out of memory). */
static int path_id(const dvc_journal *j, const char *path, char out[33])
{
    unsigned char md[32];
    if (dv_key_hmac(j->pid_key, path, strlen(path), md) != 0)
        return -1;
    hex(md, 16, out);
    return 0;
}

static long long mtime_ns(const struct stat *st)
{
    return (long long)st->st_mtim.tv_sec * 1000000000ll + st->st_mtim.tv_nsec;
}

void dvc_journal_done(dvc_journal *j, size_t index, const char *path, const struct stat *st, int dup,
                      const char *name, const unsigned char *hash, const uint32_t *findings, const dvc_pixels *px)
{
    dvc_jline d = {.index = index, .dup = dup, .size = (unsigned long long)st->st_size, .mtime_ns = mtime_ns(st)};
    char line[DVC_JLINE_SEALED_MAX];
    if (path_id(j, path, d.pathid) < 0)
        return; /* no line: a resume redoes the input */
    if (hash)
        hex(hash, 32, d.hash);
    else
        strcpy(d.hash, "-");
    snprintf(d.name, sizeof d.name, "%s", name && *name ? name : "-");
    size_t n = dvc_jline_format_d(line, sizeof line, &d, findings, px);
    n = n ? dvc_jline_seal(j->mac_key, line, n - 1, sizeof line) : 0; /* its newline becomes the MAC field's */
    if (n)
        journal_write(j, line, n);
}

/* SHA-256 of the file dst/name as hex; 0, or -1 when it cannot be read. buf: scratch of cap bytes. */
static int file_hash(int dst_fd, const char *name, uint8_t *buf, size_t cap, char out[65])
{
    int fd = openat(dst_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return -1;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int ok = c && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1;
    long n;
    while (ok && (n = dvc_read_up_to(fd, buf, cap)) > 0) {
        ok = EVP_DigestUpdate(c, buf, (size_t)n) == 1;
        if ((size_t)n < cap)
            break;
    }
    if (n < 0)
        ok = 0;
    ok = ok && EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 32;
    EVP_MD_CTX_free(c);
    close(fd);
    if (!ok)
        return -1;
    hex(md, 32, out);
    return 0;
}

typedef struct strbuf {
    char *s;
    size_t len, cap;
} strbuf;

static int sb_add(strbuf *b, const char *s, size_t n)
{
    if (dv_grow(&b->s, &b->cap, b->len + n + 1, 1, 4096) < 0)
        return -1;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
    return 0;
}

/* A name held by an index restored ok (dvc_journal_restore), sorted by name for the duplicates' lookup. */
typedef struct holder {
    const char *name; /* inside its jentry */
    size_t index;
} holder;

static int holder_cmp(const void *a, const void *b)
{
    return strcmp(((const holder *)a)->name, ((const holder *)b)->name);
}

size_t dvc_journal_restore(dvc_journal *j, dvc_run *run)
{
    size_t restored = 0;
    jentry *es = j->resume ? calloc(run->n ? run->n : 1, sizeof *es) : NULL;
    strbuf names = {0}, keep = {0};
    int oom = 0;
    if (j->resume && !es)
        oom = 1;
    /* 1. Parse: the last D line of an index wins; C names collected. Only lines with their MAC: a line
     * without it is not this run's word, so its input is redone and its name is neither seeded nor removed. The
     * first line (the header, checked by dvc_journal_open) has none. */
    size_t refused = 0;
    const char *first_nl = j->text ? memchr(j->text, '\n', j->text_len) : NULL;
    for (size_t off = first_nl ? (size_t)(first_nl - j->text) + 1 : j->text_len; es && off < j->text_len;) {
        const char *line = j->text + off;
        const char *nl = memchr(line, '\n', j->text_len - off);
        if (!nl)
            break; /* torn tail */
        size_t sealed_len = (size_t)(nl - line);
        off += sealed_len + 1;
        long body = dvc_jline_unseal(j->mac_key, line, sealed_len);
        if (body < 0) {
            refused++;
            continue;
        }
        size_t len = (size_t)body;
        if (len > 2 && line[0] == 'C' && line[1] == ' ') {
            const char *sp = memchr(line + 2, ' ', len - 2);
            if (sp && (size_t)(line + len - sp - 1) < DVC_JLINE_NAME_MAX) {
                oom |= sb_add(&names, sp + 1, (size_t)(line + len - sp - 1)) | sb_add(&names, "\n", 1);
            }
        } else if (len > 2 && line[0] == 'D' && line[1] == ' ') {
            jentry e = {0};
            dvc_jline d;
            size_t idx = (size_t)-1;
            if (dvc_jline_parse_d(line, len, &d) == 0) {
                idx = d.index;
                e.dup = d.dup;
                e.size = d.size;
                e.mtime_ns = d.mtime_ns;
                memcpy(e.pathid, d.pathid, sizeof e.pathid);
                memcpy(e.name, d.name, sizeof e.name);
                memcpy(e.hash, d.hash, sizeof e.hash);
            }
            if (idx < run->n && dvc_jline_name_ok(e.name) == (e.name[0] != '-')) {
                e.present = 1;
                e.line = line;
                e.line_len = sealed_len;
                e.body_len = len;
                es[idx] = e;
            }
        }
    }
    if (refused) /* a count, never a line: a line may hold a name (new UIDs) */
        dvc_errorf("warning: --resume: %zu journal line(s) refused (no valid MAC, or altered): not trusted, what "
                   "they name is redone and nothing they name is removed", refused);
    uint8_t *buf = malloc(DVC_SINK_BUFFER);
    if (!buf)
        oom = 1;
    /* 2. Verify and restore the ok entries, lowest index first (it holds its name); then the duplicate
     * entries, each only when the name it duplicated is held by a lower index restored ok just now (its output
     * present with the journaled hash). Otherwise it is redone: the holder failed or changed, or its output is
     * gone, and restoring the duplicate would leave its instance in no file at all; a duplicate of a file that
     * was in DST before the run has no holder here either, and its redo finds that file again. */
    holder *hs = es ? malloc((run->n ? run->n : 1) * sizeof *hs) : NULL;
    size_t nh = 0;
    if (es && !hs)
        oom = 1;
    for (int pass = 0; pass < 2 && hs && buf && !oom; pass++) {
        if (pass == 1)
            qsort(hs, nh, sizeof *hs, holder_cmp);
        for (size_t i = 0; i < run->n; i++) {
            jentry *e = &es[i];
            dvc_item *it = &run->items[i];
            if (!e->present || !DVC_WALK_OPENS(it->walk_err) || e->dup != pass)
                continue;
            struct stat st;
            char pid[33], h[65];
            if (path_id(j, it->path, pid) < 0 || stat(it->path, &st) < 0 || !S_ISREG(st.st_mode) ||
                (unsigned long long)st.st_size != e->size || mtime_ns(&st) != e->mtime_ns ||
                strcmp(pid, e->pathid) != 0) {
                e->present = 0; /* the input changed: redo */
                continue;
            }
            dvc_status status = DVC_ST_DUPLICATE;
            if (!e->dup) {
                if (!dvc_jline_name_ok(e->name) || file_hash(run->out->dst_fd, e->name, buf, DVC_SINK_BUFFER, h) < 0 ||
                    strcmp(h, e->hash) != 0) {
                    e->present = 0; /* the output is gone or not these bytes: redo */
                    continue;
                }
                int held = dvc_output_seed(run->out, e->name, i);
                if (held < 0) {
                    oom = 1;
                    break;
                }
                if (held == 0) {
                    status = DVC_ST_OK;
                    it->text_findings = dvc_jline_findings(e->line, e->body_len);
                    it->pixels = dvc_jline_pixels(e->line, e->body_len);
                    hs[nh++] = (holder){e->name, i};
                }
            } else {
                holder key = {e->name, 0};
                const holder *hd = dvc_jline_name_ok(e->name) ? bsearch(&key, hs, nh, sizeof *hs, holder_cmp) : NULL;
                if (!hd || hd->index >= i) {
                    e->present = 0; /* no lower index of this run holds the name now: redo */
                    continue;
                }
            }
            it->status = status;
            dv_run_count_outcome(run->lib, status == DVC_ST_OK ? DV_OUTCOME_OK : DV_OUTCOME_DUPLICATE);
            /* The run read this input (in an earlier attempt): its bytes count, so the report's input_bytes
             * and rates cover the whole run like its counts. [test_cli_resume.sh "input bytes of a resumed
             * run"] */
            dv_run_count_bytes_in(run->lib, e->size);
            oom |= sb_add(&keep, e->line, e->line_len) | sb_add(&keep, "\n", 1);
            restored++;
        }
    }
    free(hs);
    /* 3. Names an attempt created whose file exists but verifies for no restored entry: this run's, held by
     * an index that is redone now, so any lower index may replace it. */
    strbuf header = {0};
    char head[128];
    int hl = snprintf(head, sizeof head, "%s%s\n", JOURNAL_MAGIC, j->runid);
    oom |= sb_add(&header, head, (size_t)hl);
    for (char *s = names.s, *nl; s && (nl = strchr(s, '\n')); s = nl + 1) {
        *nl = '\0';
        if (!dvc_jline_name_ok(s))
            continue;
        struct stat st;
        if (fstatat(run->out->dst_fd, s, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            dvc_output_seed(run->out, s, DVC_OURS_UNKNOWN) < 0)
            oom = 1;
        char line[DVC_JLINE_SEALED_MAX];
        size_t sealed = claim_line(j, 0, s, line);
        oom |= sealed ? sb_add(&header, line, sealed) : -1;
    }
    oom |= keep.len ? sb_add(&header, keep.s, keep.len) : 0;
    free(buf);
    free(es);
    free(names.s);
    free(keep.s);
    free(j->text);
    j->text = NULL;
    /* 4. The compact journal replaces the old one atomically, then lines are appended to it. */
    if (oom || dvc_file_replace(j->path, header.s, header.len, "journal") < 0 ||
        (j->fd = open(j->path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOCTTY | (j->dsync ? O_DSYNC : 0))) < 0) {
        free(header.s);
        if (oom)
            dvc_errorf("journal: out of memory");
        else if (j->fd < 0 && errno)
            dvc_errorf("journal: %s", strerror(errno));
        return (size_t)-1;
    }
    j->written = header.len;
    free(header.s);
    return restored;
}

/* Remove DST/name, an output an attempt of this run wrote that no input holds now (dvc_journal_sweep), and then
 * its series and study folders when that left them empty (a fresh run over the current sources would not have
 * them either; the kernel's ENOTEMPTY decides, so a folder holding anything else stays). Each folder is opened
 * with O_NOFOLLOW and the file is removed only when it is a regular file: this run writes regular files in real
 * folders only, so a link found on the way is not this run's and is neither followed nor removed. file: remove
 * the file too (0: only the folders, for a name whose file is gone: removed by an attempt killed before its
 * folders went). 1 removed, 0 nothing of ours there, -1 with errno. */
static int remove_stale(int dst_fd, const char *name, int file)
{
    char study[DVC_JLINE_NAME_MAX], *series, *sop;
    snprintf(study, sizeof study, "%s", name); /* dvc_jline_name_ok: exactly three components */
    series = strchr(study, '/');
    *series++ = '\0';
    sop = strchr(series, '/');
    *sop++ = '\0';
    int rc = 0;
    int sfd = openat(dst_fd, study, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int rfd = sfd < 0 ? -1 : openat(sfd, series, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (sfd < 0 || rfd < 0) {
        /* gone already, or a link or a file in place of a folder (not this run's) */
        rc = errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : -1;
    } else if (file && fstatat(rfd, sop, &st, AT_SYMLINK_NOFOLLOW) < 0) {
        rc = errno == ENOENT ? 0 : -1;
    } else if (file && !S_ISREG(st.st_mode)) {
        rc = 0;
    } else if (file && unlinkat(rfd, sop, 0) < 0) {
        rc = errno == ENOENT ? 0 : -1;
    } else {
        rc = file;
    }
    int e = errno;
    if (rc >= 0 && rfd >= 0)
        unlinkat(sfd, series, AT_REMOVEDIR); /* ENOTEMPTY: other outputs live there */
    if (rc >= 0 && sfd >= 0) /* also when the series folder is gone: a kill between the two removals */
        unlinkat(dst_fd, study, AT_REMOVEDIR);
    if (rfd >= 0)
        close(rfd);
    if (sfd >= 0)
        close(sfd);
    errno = e;
    return rc;
}

size_t dvc_journal_sweep(dvc_journal *j, int dst_fd, dvc_stale_fn stale, void *user, size_t *not_removed)
{
    /* The journal as it is now on disk: the compact one dvc_journal_restore wrote (every earlier attempt's C
     * lines) and this attempt's appended lines, so exactly the names some attempt of this run announced before
     * creating them. A C line that did not reach the file (a write failed) names nothing removed: only a name
     * with a C line is ever touched. */
    size_t removed = 0, len = 0;
    *not_removed = 0;
    char *text = slurp(j->path, j->max, &len);
    if (!text) {
        dvc_errorf("warning: --resume: cannot read the journal back (%s): outputs of inputs no longer in the "
                   "sources were not looked for", strerror(errno));
        return 0;
    }
    int failed_errno = 0;
    for (size_t off = 0; off < len;) {
        char *line = text + off, *nl = memchr(line, '\n', len - off);
        if (!nl)
            break; /* torn tail */
        off = (size_t)(nl - text) + 1;
        long body = dvc_jline_unseal(j->mac_key, line, (size_t)(nl - line));
        if (body < 0 || line[0] != 'C' || line[1] != ' ')
            continue; /* not a line this run sealed (dvc_journal_restore counted those it read): never its word */
        line[body] = '\0';
        const char *name = strchr(line + 2, ' ');
        if (!name || !dvc_jline_name_ok(++name))
            continue; /* never a name output.c could not have made (no "..", no fourth component) */
        int s = stale(user, name);
        if (s == DVC_SWEEP_KEEP)
            continue;
        int r = remove_stale(dst_fd, name, s == DVC_SWEEP_STALE);
        if (r > 0) {
            removed++;
        } else if (r < 0 && s == DVC_SWEEP_STALE) { /* folders alone are tidying: their failure is no loss */
            (*not_removed)++;
            failed_errno = errno;
        }
    }
    free(text);
    if (removed) /* a count, never a name: the names are new UIDs, which the report must not link to a source */
        dvc_errorf("resume: %zu stale output(s) removed from the destination (written by this run for inputs no "
                   "longer in the sources, or no longer succeeding)", removed);
    if (*not_removed)
        dvc_errorf("warning: resume: %zu stale output(s) of inputs no longer in the sources (or now failing) could "
                   "not be removed from the destination: %s", *not_removed, strerror(failed_errno));
    if (j->resume) {
        /* A SIGKILLed attempt leaves its open temp name (the O_TMPFILE fallback, or a replace's, output.c): a
         * hidden file no uninterrupted run leaves, some of them truncated instances. Only a resume over an
         * earlier attempt's journal looks (its REPORT.lock keeps this run's other attempts out), and only now,
         * when no worker or rank of this attempt names a file any more. */
        size_t tmp_failed = 0;
        int tmp_errno = 0;
        size_t tmp_removed = dvc_output_sweep_temps(dst_fd, &tmp_failed, &tmp_errno);
        if (tmp_removed)
            dvc_errorf("resume: %zu unfinished temporary file(s) of killed attempts removed from the destination",
                       tmp_removed);
        if (tmp_failed)
            dvc_errorf("warning: resume: %zu unfinished temporary file(s) of killed attempts could not be removed "
                       "from the destination: %s", tmp_failed, strerror(tmp_errno));
        *not_removed += tmp_failed;
    }
    return removed;
}
