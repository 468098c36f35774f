/* Test-only: rendered overlay lines (dv_overlay_lines.h). */
#include "dv_overlay_lines.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_pgm(const char *path, dv_gray8 *g)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    unsigned w = 0, h = 0, maxv = 0;
    int ok = fscanf(f, "P5 %u %u %u", &w, &h, &maxv) == 3 && maxv == 255 && w && h && w <= 8192 && h <= 8192;
    if (ok)
        ok = fgetc(f) != EOF;
    if (ok) {
        g->px = malloc((size_t)w * h);
        ok = g->px && fread(g->px, 1, (size_t)w * h, f) == (size_t)w * h;
        g->width = w;
        g->height = h;
        g->cap = (size_t)w * h;
    }
    fclose(f);
    return ok ? 0 : -1;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int dvt_lines_load(const char *dir, dvt_lines *out)
{
    memset(out, 0, sizeof *out);
    char path[1024];
    snprintf(path, sizeof path, "%s/lines.tsv", dir);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "dvt_lines_load: cannot open %s\n", path);
        return -1;
    }
    char line[2048];
    size_t cap = 0;
    int rc = 0;
    if (!fgets(line, sizeof line, f)) /* header */
        rc = -1;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *col[18] = {0};
        int n = 0;
        for (char *p = line; n < 18;) {
            col[n++] = p;
            char *t = strchr(p, '\t');
            if (!t)
                break;
            *t = '\0';
            p = t + 1;
        }
        if (n != 18) {
            rc = -1;
            break;
        }
        if (out->n == cap) {
            cap = cap ? cap * 2 : 64;
            dvt_line *nv = realloc(out->v, cap * sizeof *nv);
            if (!nv) {
                rc = -1;
                break;
            }
            out->v = nv;
        }
        dvt_line *l = &out->v[out->n];
        memset(l, 0, sizeof *l);
        snprintf(path, sizeof path, "%s/%s", dir, col[0]);
        if (read_pgm(path, &l->img)) {
            free(l->img.px);
            fprintf(stderr, "dvt_lines_load: bad picture %s\n", col[0]);
            rc = -1;
            break;
        }
        out->n++;
        l->box.x = (uint32_t)atoi(col[1]);
        l->box.y = (uint32_t)atoi(col[2]);
        l->box.w = (uint32_t)atoi(col[3]);
        l->box.h = (uint32_t)atoi(col[4]);
        l->phi = strcmp(col[5], "phi") == 0;
        copy_field(l->kind, sizeof l->kind, col[6]);
        l->size = atoi(col[7]);
        copy_field(l->font, sizeof l->font, col[8]);
        copy_field(l->colour, sizeof l->colour, col[9]);
        copy_field(l->background, sizeof l->background, col[10]);
        copy_field(l->text, sizeof l->text, col[11]);
        copy_field(l->family, sizeof l->family, col[12]);
        copy_field(l->given, sizeof l->given, col[13]);
        copy_field(l->patient_id, sizeof l->patient_id, col[14]);
        copy_field(l->birth_date, sizeof l->birth_date, col[15]);
        copy_field(l->study_date, sizeof l->study_date, col[16]);
        copy_field(l->institution, sizeof l->institution, col[17]);
    }
    fclose(f);
    if (rc)
        dvt_lines_free(out);
    return rc;
}

int dvt_lines_render(const char *source_dir, const char *dir, int count, int seed, dvt_lines *out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s/tests/ocr/render_overlays.py' '%s' --count %d --seed %d",
             source_dir, dir, count, seed);
    if (system(cmd) != 0) {
        fprintf(stderr, "dvt_lines_render: the renderer failed (python3-pil, fonts-dejavu-core)\n");
        return -1;
    }
    return dvt_lines_load(dir, out);
}

void dvt_lines_free(dvt_lines *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].img.px);
    free(l->v);
    memset(l, 0, sizeof *l);
}

void dvt_fold_alnum(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        if (isalnum((unsigned char)*s))
            out[n++] = (char)toupper((unsigned char)*s);
    if (cap)
        out[n] = '\0';
}

int dvt_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 255 || lb > 255)
        return 1000;
    int prev[256], cur[256];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= lb; j++) {
            int c = prev[j - 1] + (a[i - 1] != b[j - 1]);
            if (prev[j] + 1 < c)
                c = prev[j] + 1;
            if (cur[j - 1] + 1 < c)
                c = cur[j - 1] + 1;
            cur[j] = c;
        }
        memcpy(prev, cur, sizeof cur);
    }
    return prev[lb];
}
