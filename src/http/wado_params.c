/* WADO-RS parameters (see wado_params.h). Pure: no allocation, no I/O. */
#include "http/wado_params.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dvh_frame_list_parse(const char *list, uint32_t *out, size_t *n, dvh_err *e)
{
    *n = 0;
    const char *p = list;
    for (;;) {
        size_t len = strspn(p, "0123456789");
        if (len == 0 || len > 9)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: 1-based frame numbers separated by commas");
        unsigned long v = strtoul(p, NULL, 10);
        if (v == 0)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: frame numbers start at 1");
        if (*n == DVH_FRAME_LIST_MAX)
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: at most %d frames", DVH_FRAME_LIST_MAX);
        out[(*n)++] = (uint32_t)v;
        p += len;
        if (*p == '\0')
            return 0;
        if (*p != ',')
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "frame list: 1-based frame numbers separated by commas");
        p++;
    }
}


/* Comma-separated numbers of s into v (at most max); their count, or -1 when one is not a number. */
static int numbers(const char *s, double *v, int max)
{
    int n = 0;
    const char *p = s;
    while (n < max) {
        char *end;
        /* Decimal only: strtod also reads hex ("0x10"), "inf", "nan" and leading spaces, none of which PS3.18's
         * decimal strings are. [test_server_web.py "rendered ?window=0x10,0x10: 400"] */
        size_t lead = strspn(p, "+-");
        if (lead > 1 || !((p[lead] >= '0' && p[lead] <= '9') || p[lead] == '.') ||
            strspn(p + lead, "0123456789.eE+-") < strcspn(p + lead, ","))
            return -1;
        v[n] = strtod(p, &end);
        if (end == p || !(v[n] == v[n]) || v[n] > 1e12 || v[n] < -1e12)
            return -1;
        n++;
        if (*end == '\0')
            return n;
        if (*end != ',')
            return -1;
        p = end + 1;
    }
    return -1;
}

int dvh_render_opts_parse(const dvh_qparam *p, size_t n, dvh_render_opts *o, dvh_err *e)
{
    memset(o, 0, sizeof *o);
    o->quality = 90;
    for (size_t i = 0; i < n; i++) {
        const char *k = p[i].key, *v = p[i].value;
        if (strcmp(k, "window") == 0) {
            char num[128];
            const char *fn = NULL;
            snprintf(num, sizeof num, "%s", v);
            /* center,width[,function]: the function is a word, so split it off before the numbers */
            char *c2 = strchr(num, ',');
            char *c3 = c2 ? strchr(c2 + 1, ',') : NULL;
            if (c3) {
                *c3 = '\0';
                fn = c3 + 1;
            }
            double cw[2];
            if (numbers(num, cw, 2) != 2)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "window: center,width[,function] expected");
            o->function = DV_VOI_LINEAR;
            if (fn && strcmp(fn, "linear-exact") == 0)
                o->function = DV_VOI_LINEAR_EXACT;
            else if (fn && strcmp(fn, "sigmoid") == 0)
                o->function = DV_VOI_SIGMOID;
            else if (fn && strcmp(fn, "linear") != 0)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "window: function is linear, linear-exact or sigmoid");
            if (o->function == DV_VOI_LINEAR ? cw[1] < 1 : cw[1] <= 0)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "window: width must be at least 1 (linear) or above 0");
            o->has_window = 1;
            o->center = cw[0];
            o->width = cw[1];
        } else if (strcmp(k, "viewport") == 0) {
            double vp[6];
            int c = numbers(v, vp, 6);
            if (c == 6)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "viewport: only vw,vh is supported (no cropping)");
            if (c != 2 || vp[0] < 1 || vp[1] < 1 || vp[0] > DVH_VIEWPORT_MAX || vp[1] > DVH_VIEWPORT_MAX ||
                vp[0] != (uint32_t)vp[0] || vp[1] != (uint32_t)vp[1])
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "viewport: vw,vh whole numbers of 1-%u", DVH_VIEWPORT_MAX);
            o->vw = (uint32_t)vp[0];
            o->vh = (uint32_t)vp[1];
        } else if (strcmp(k, "quality") == 0) {
            double q;
            if (numbers(v, &q, 1) != 1 || q < 1 || q > 100 || q != (int)q)
                return dvh_fail(e, DVH_INVALID_ARGUMENT, "quality: a whole number of 1-100");
            o->quality = (int)q;
        } else if (strcmp(k, "annotation") != 0 && strcmp(k, "iccprofile") != 0) {
            return dvh_fail(e, DVH_INVALID_ARGUMENT, "unknown rendered parameter (window, viewport, quality)");
        }
    }
    return 0;
}
