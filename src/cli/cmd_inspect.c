/* dicomveil inspect (issue 6 item 5): what the text stage WOULD transform, per instance and element, with
 * nothing written and the sources only read. The engine does the work (dv_run_inspect: the deidentify path
 * applied in memory, an observer told each finding); this file parses arguments, lists inputs and prints.
 *
 * Privacy (docs/text.md "inspect"): by default no value and no source path is printed (an instance is named by
 * its input ordinal and SOP Class UID, which are not PHI); --show-values adds the matched text and the source
 * path, for a reviewer on the data's own machine. stderr never carries either (cli.h).
 * Exit codes as deidentify (DECISIONS.md item 15): 2 usage/config/key error, 1 an instance failed, else 0. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "text/dv_text.h"

void dvc_inspect_usage(FILE *f)
{
    fputs("Usage: dicomveil inspect --config CFG.json [options] [--] SRC...\n"
          "\n"
          "Shows what the text stage of `deidentify` with the same config WOULD transform in the DICOM files of\n"
          "SRC... (files, or folders walked recursively), without writing anything: per instance and element the\n"
          "tag path (nested sequences as (0040,A730)[0].(0040,A160)), VR, infoType, character span (code points,\n"
          "start-end, end exclusive), detector (pattern, lexicon, denylist, context, structure for an encapsulated\n"
          "document's element holding the text, or vr for a DA/DT/AS value) and transformation. Instances are\n"
          "named by their input ordinal (#0, #1, ... in sorted input order, as in deidentify's report) and SOP\n"
          "Class UID. Values and source paths are hidden unless --show-values.\n"
          "\n"
          "Options (--opt VALUE and --opt=VALUE are both accepted):\n"
          "  -c, --config FILE    DeidentifyConfig JSON, as for deidentify. Required.\n"
          "  -k, --key-file FILE  Secret key, as for deidentify. Optional: only the values of date shifts and\n"
          "                       hashes depend on it and inspect never prints them; without it a random key is\n"
          "                       used for this run and no key file is read or created.\n"
          "      --show-values    Also print the matched text and each instance's source path. THIS PRINTS PHI:\n"
          "                       use it only where the data may be seen.\n"
          "      --format FMT     text (default) or json: one JSON document (docs/text.md \"inspect\").\n"
          "  -h, --help           Show this help and exit.\n"
          "\n"
          "Exit status: 0 every instance was inspected (files that are not DICOM instances are skipped),\n"
          "             1 some instance could not be read or processed,\n"
          "             2 usage, config or key error.\n",
          f);
}

typedef struct iopts {
    const char *config;
    const char *key_file;
    int show_values;
    int json;
} iopts;

enum { OPT_SHOW_VALUES = 256, OPT_FORMAT };

static int parse_args(int argc, char **argv, iopts *o)
{
    static const struct option longs[] = {
        {"config", required_argument, NULL, 'c'},
        {"key-file", required_argument, NULL, 'k'},
        {"show-values", no_argument, NULL, OPT_SHOW_VALUES},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":c:k:h", longs, NULL)) != -1) {
        switch (c) {
        case 'c': o->config = optarg; break;
        case 'k': o->key_file = optarg; break;
        case OPT_SHOW_VALUES: o->show_values = 1; break;
        case OPT_FORMAT:
            if (strcmp(optarg, "json") == 0) {
                o->json = 1;
            } else if (strcmp(optarg, "text") == 0) {
                o->json = 0;
            } else {
                dvc_errorf("inspect: --format wants text or json");
                return DVC_EXIT_USAGE;
            }
            break;
        case 'h': dvc_inspect_usage(stdout); return DVC_EXIT_OK;
        case ':': dvc_errorf("inspect: an option is missing its value (try --help)"); return DVC_EXIT_USAGE;
        default:
            dvc_errorf("inspect: unknown option (try --help)"); /* not echoed: it could be a path */
            return DVC_EXIT_USAGE;
        }
    }
    if (!o->config) {
        dvc_errorf("inspect: --config is required (try --help)");
        return DVC_EXIT_USAGE;
    }
    if (argc - optind < 1) {
        dvc_errorf("inspect: need at least one SRC (try --help)");
        return DVC_EXIT_USAGE;
    }
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (argv[i][0] == '\0' || stat(argv[i], &st) < 0) {
            dvc_errorf("inspect: source argument %d: %s", i - optind + 1,
                       argv[i][0] ? strerror(errno) : "empty");
            return DVC_EXIT_USAGE;
        }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            dvc_errorf("inspect: source argument %d is neither a regular file nor a directory", i - optind + 1);
            return DVC_EXIT_USAGE;
        }
    }
    return -1;
}

/* A key for this run only: nothing inspect prints depends on it. */
static dv_key *ephemeral_key(void)
{
    uint8_t b[32];
    size_t got = 0;
    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            dvc_errorf("getrandom failed: %s", strerror(errno));
            return NULL;
        }
        got += (size_t)n;
    }
    dv_error err;
    dv_error_clear(&err);
    dv_key *k = dv_key_new(b, sizeof b, &err);
    explicit_bzero(b, sizeof b);
    if (!k)
        dvc_errorf("%s", err.message);
    return k;
}

/* "(0040,A730)[0].(0040,A160)". */
static void tag_path(const dv_text_finding_info *f, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < f->depth && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "(%04X,%04X)[%u].", f->seq_tags[i] >> 16, f->seq_tags[i] & 0xFFFFu,
                              f->items[i]);
    if (n < cap)
        snprintf(buf + n, cap - n, "(%04X,%04X)", f->tag >> 16, f->tag & 0xFFFFu);
}

typedef struct collect {
    json_t *findings; /* the current instance's */
    int show_values;
    int oom;
} collect;

/* The observer (dv_text_observer_fn): one JSON object per finding; the text only with --show-values. */
static void on_finding(void *user, const dv_text_finding_info *f)
{
    collect *c = user;
    char path[64 * 24];
    tag_path(f, path, sizeof path);
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "path", path, "vr", f->vr, "info_type",
                          f->info_type, "start", (json_int_t)f->start, "end", (json_int_t)f->end, "detector",
                          f->detector, "transformation", f->transformation);
    if (o && c->show_values) {
        json_t *v = json_stringn(f->text, f->text_len);
        json_object_set_new(o, "value", v ? v : json_string("\xEF\xBF\xBD"));
    }
    if (!o || json_array_append_new(c->findings, o) != 0)
        c->oom = 1;
}

/* A string for a terminal: printable ASCII and UTF-8 as they are, quotes and backslashes escaped, control
 * characters as \xHH (a value must not move the cursor or end the line). */
static void print_quoted(FILE *out, const char *s)
{
    if (!s)
        s = "";
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p < 0x20 || *p == 0x7F)
            fprintf(out, "\\x%02X", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

static void print_instance_text(FILE *out, json_t *inst, int show_values)
{
    json_int_t index = json_integer_value(json_object_get(inst, "index"));
    const char *status = json_string_value(json_object_get(inst, "status"));
    const char *sop = json_string_value(json_object_get(inst, "sop_class_uid"));
    json_t *findings = json_object_get(inst, "findings");
    fprintf(out, "instance #%lld", (long long)index);
    if (sop && *sop)
        fprintf(out, " (SOP Class %s)", sop);
    if (show_values) {
        fputs(" ", out);
        print_quoted(out, json_string_value(json_object_get(inst, "source")));
    }
    if (strcmp(status, "ok") != 0) {
        const char *why = json_string_value(json_object_get(inst, "error_class"));
        fprintf(out, ": %s%s%s\n", status, why ? ": " : "", why ? why : "");
        return;
    }
    size_t n = json_array_size(findings);
    if (n == 0) {
        fputs(": nothing to transform\n", out);
        return;
    }
    fprintf(out, ": %zu finding%s\n", n, n == 1 ? "" : "s");
    size_t i;
    json_t *f;
    json_array_foreach(findings, i, f) {
        fprintf(out, "  %s %s %s %lld-%lld %s %s", json_string_value(json_object_get(f, "path")),
                json_string_value(json_object_get(f, "vr")), json_string_value(json_object_get(f, "info_type")),
                (long long)json_integer_value(json_object_get(f, "start")),
                (long long)json_integer_value(json_object_get(f, "end")),
                json_string_value(json_object_get(f, "detector")),
                json_string_value(json_object_get(f, "transformation")));
        if (show_values) {
            fputc(' ', out);
            print_quoted(out, json_string_value(json_object_get(f, "value")));
        }
        fputc('\n', out);
    }
}

/* Inspect input i into a new JSON object (NULL on ENOMEM). *failed is set when the instance failed. */
static json_t *inspect_one(dv_run *run, const dvc_input *in, size_t i, int show_values, uint32_t *totals,
                           int *failed)
{
    json_t *inst = json_pack("{s:I}", "index", (json_int_t)i);
    collect c = {.findings = json_array(), .show_values = show_values};
    if (!inst || !c.findings) {
        json_decref(inst);
        json_decref(c.findings);
        return NULL;
    }
    if (show_values) {
        json_t *p = json_string(in->path);
        json_object_set_new(inst, "source", p ? p : json_string("(path not UTF-8)"));
    }
    dv_error err;
    dv_error_clear(&err);
    dv_result res;
    dv_result_init(&res);
    char sop[DV_UID_MAX + 1] = "";
    dv_outcome o = DV_OUTCOME_FAILED;
    /* O_NOFOLLOW as deidentify's (pool.c): a listed file that is a link by now is not followed out of SRC. */
    /* O_NONBLOCK: a FIFO named, or put in a listed file's place, is refused below, not waited on (stop 40) */
    int fd = !DVC_WALK_OPENS(in->walk_err)
                 ? -1
                 : dvc_open_input(in->path, O_NONBLOCK | (in->walk_err == DVC_WALK_ARGUMENT ? 0 : O_NOFOLLOW));
    struct stat st;
    const char *not_followed = in->walk_err == DVC_WALK_NOT_FOLLOWED ? DVC_SKIP_NOT_REGULAR : NULL;
    if (not_followed) {
        o = DV_OUTCOME_SKIPPED;
        dv_run_count_outcome(run, DV_OUTCOME_SKIPPED);
    } else if (fd < 0 || fstat(fd, &st) < 0) {
        dv_fail(&err, DV_ERR_IO, "cannot open the input: %s", strerror(in->walk_err > 0 ? in->walk_err : errno));
        dv_run_count_outcome(run, DV_OUTCOME_FAILED);
    } else if (!S_ISREG(st.st_mode)) {
        dv_fail(&err, DV_ERR_IO, "input is not a regular file");
        dv_run_count_outcome(run, DV_OUTCOME_FAILED);
    } else {
        dv_fd_source fs;
        dv_source src = dv_source_fd(&fs, fd, (uint64_t)st.st_size);
        o = dv_run_inspect(run, &src, on_finding, &c, &res, sop, &err);
    }
    if (fd >= 0)
        close(fd);
    const char *status = o == DV_OUTCOME_OK ? "ok" : o == DV_OUTCOME_SKIPPED ? "skipped" : "failed";
    json_object_set_new(inst, "status", json_string(status));
    json_object_set_new(inst, "sop_class_uid", json_string(sop));
    if (o != DV_OUTCOME_OK) {
        json_object_set_new(inst, "error_class",
                            json_string(not_followed             ? not_followed
                                        : o == DV_OUTCOME_SKIPPED ? dv_skip_name(res.skipped)
                                                                  : dv_code_name(err.code)));
        json_array_clear(c.findings);
    }
    if (o == DV_OUTCOME_FAILED) {
        *failed = 1;
        /* Engine messages name tags and offsets, never values; the path stays out of stderr. */
        dvc_errorf("instance #%zu: %s: %s", i, dv_code_name(err.code), err.message);
    }
    json_t *counts = json_object();
    for (int t = 0; o == DV_OUTCOME_OK && counts && t < DV_IT_COUNT; t++) {
        if (res.text_findings[t]) {
            json_object_set_new(counts, dv_infotype_name((dv_infotype)t), json_integer(res.text_findings[t]));
            totals[t] += res.text_findings[t];
        }
    }
    json_object_set_new(inst, "findings", c.findings);
    json_object_set_new(inst, "counts", counts ? counts : json_object());
    if (c.oom) {
        json_decref(inst);
        return NULL;
    }
    return inst;
}

int dvc_cmd_inspect(int argc, char **argv)
{
    iopts o = {0};
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    char **srcv = argv + optind;
    size_t nsrc = (size_t)(argc - optind);
    dv_plan *plan = NULL;
    dv_key *key = NULL;
    dv_run *run = NULL;
    dvc_inputs in = {0};
    json_t *root = NULL, *list = NULL;
    rc = DVC_EXIT_USAGE;
    if (!(plan = dvc_plan_load(o.config)))
        goto done;
    if (!(key = o.key_file ? dvc_key_load(o.key_file, NULL) : ephemeral_key()))
        goto done;
    dv_error err;
    dv_error_clear(&err);
    if (!(run = dv_run_new(plan, key, NULL, &err))) {
        dvc_errorf("%s", err.message);
        goto done;
    }
    rc = DVC_EXIT_FAILED;
    int cleans = dv_run_cleans_text(run);
    root = json_object();
    list = json_array();
    if (!root || !list)
        goto oom;
    json_object_set_new(root, "tool", json_string("dicomveil"));
    json_object_set_new(root, "version", json_string(DICOMVEIL_VERSION));
    json_object_set_new(root, "cleans_text", json_boolean(cleans));
    json_object_set_new(root, "show_values", json_boolean(o.show_values));
    if (!cleans) {
        /* Nothing in this config reaches the text stage: say so rather than list every instance as clean. */
        rc = DVC_EXIT_OK;
        if (o.json) {
            json_object_set_new(root, "instances", list);
            list = NULL;
            json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
            fputc('\n', stdout);
        } else {
            puts("The config cleans no text (no cleanTextTag, DEIDENTIFY_TAG_CONTENTS or cleanDescriptors): "
                 "nothing would be transformed by the text stage.");
        }
        goto done;
    }
    for (size_t i = 0; i < nsrc; i++)
        if (dvc_walk(srcv[i], &in) < 0)
            goto oom;
    uint32_t totals[DV_IT_COUNT] = {0};
    size_t with = 0, nfind = 0;
    int failed = 0;
    for (size_t i = 0; i < in.n; i++) {
        json_t *inst = inspect_one(run, &in.v[i], i, o.show_values, totals, &failed);
        if (!inst)
            goto oom;
        size_t nf = json_array_size(json_object_get(inst, "findings"));
        with += nf > 0;
        nfind += nf;
        if (!o.json) {
            print_instance_text(stdout, inst, o.show_values); /* streamed: memory does not grow with inputs */
            json_decref(inst);
        } else if (json_array_append_new(list, inst) != 0) {
            goto oom;
        }
    }
    json_t *by = json_object();
    for (int t = 0; by && t < DV_IT_COUNT; t++)
        if (totals[t])
            json_object_set_new(by, dv_infotype_name((dv_infotype)t), json_integer(totals[t]));
    json_t *summary = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}", "instances", (json_int_t)in.n, "inspected",
                                (json_int_t)dv_run_count(run, DV_OUTCOME_OK), "skipped",
                                (json_int_t)dv_run_count(run, DV_OUTCOME_SKIPPED), "failed",
                                (json_int_t)dv_run_count(run, DV_OUTCOME_FAILED), "with_findings", (json_int_t)with,
                                "findings", by ? by : json_object());
    if (!summary)
        goto oom;
    json_object_set_new(summary, "total_findings", json_integer((json_int_t)nfind));
    if (o.json) {
        json_object_set_new(root, "instances", list);
        list = NULL;
        json_object_set_new(root, "summary", summary);
        json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        fputc('\n', stdout);
    } else {
        printf("summary: %zu input%s, %llu inspected, %llu skipped, %llu failed; %zu with findings, %zu finding%s",
               in.n, in.n == 1 ? "" : "s", (unsigned long long)dv_run_count(run, DV_OUTCOME_OK),
               (unsigned long long)dv_run_count(run, DV_OUTCOME_SKIPPED),
               (unsigned long long)dv_run_count(run, DV_OUTCOME_FAILED), with, nfind, nfind == 1 ? "" : "s");
        const char *sep = " (";
        for (int t = 0; t < DV_IT_COUNT; t++) {
            if (totals[t]) {
                printf("%s%s %u", sep, dv_infotype_name((dv_infotype)t), totals[t]);
                sep = ", ";
            }
        }
        puts(*sep == ',' ? ")" : "");
        json_decref(summary);
    }
    rc = failed ? DVC_EXIT_FAILED : DVC_EXIT_OK;
    if (fflush(stdout) != 0) {
        dvc_errorf("cannot write the output: %s", strerror(errno));
        rc = DVC_EXIT_FAILED;
    }
    goto done;
oom:
    dvc_errorf("out of memory");
    rc = DVC_EXIT_FAILED;
done:
    json_decref(list);
    json_decref(root);
    dvc_inputs_free(&in);
    dv_run_free(run);
    dv_key_free(key);
    dv_plan_free(plan);
    return rc;
}
