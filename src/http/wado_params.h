/* The parameters of the WADO-RS endpoints that look inside an instance, parsed without I/O (so a fuzzer can
 * drive them: tests/fuzz/fuzz_wado_params.c): the frame list of .../frames/{list} and the query parameters of
 * .../rendered (docs/server.md "Frames", "Rendered"). Errors are INVALID_ARGUMENT naming the parameter, never
 * its value. [test_server_web.py "frames '"; test_server_web.py "rendered ?"; fuzz_wado_params] */
#ifndef DVH_WADO_PARAMS_H
#define DVH_WADO_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "http/api_error.h"
#include "http/qido.h"
#include "image/dv_render.h"

#define DVH_FRAME_LIST_MAX 64
#define DVH_VIEWPORT_MAX 4096u

/* "1,3,3" into 1-based numbers (at most DVH_FRAME_LIST_MAX, each 1-999999999, repeats kept). 0 or -1 with e. */
int dvh_frame_list_parse(const char *list, uint32_t *out, size_t *n, dvh_err *e);

typedef struct dvh_render_opts {
    int has_window;          /* window= given: replaces the instance's first VOI window */
    double center, width;
    dv_voi_function function;
    uint32_t vw, vh;         /* viewport (0: none) */
    int quality;             /* JPEG quality 1-100 (default 90) */
} dvh_render_opts;

/* window=center,width[,linear|linear-exact|sigmoid], viewport=vw,vh, quality=1-100; annotation and iccprofile
 * are accepted and ignored; anything else is 400. 0 or -1 with e. */
int dvh_render_opts_parse(const dvh_qparam *p, size_t n, dvh_render_opts *o, dvh_err *e);

#endif
