/* dicomveil render: one frame of a DICOM file as a windowed PNG, for a person to look at (issue 11 item 5).
 *
 * Decoding is the library's frame interface (src/image/dv_image.h), windowing and PNG encoding are
 * src/image/render.c and png_write.c (dv_render.h); this file only opens the input and writes the output, which
 * replaces OUT atomically (temp file beside it, fsync, rename: dvc_file_replace, as for --report). Exit 0 when
 * the PNG was written, 1 when the input cannot be rendered (not DICOM, no pixel data, frame out of range,
 * undecodable), 2 for a usage error. The input path is never echoed: it can hold PHI.
 * [integration.test_cli_render] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "image/dv_image.h"
#include "image/dv_render.h"

#define RENDER_FRAME_DEFAULT (128ull << 20)
#define RENDER_FRAME_MAX (4ull << 30)

void dvc_render_usage(FILE *f)
{
    fputs("Usage: dicomveil render [--frame N] [--max-frame-bytes BYTES] [--] IN.dcm OUT.png\n"
          "\n"
          "Writes one frame of IN.dcm as an 8-bit PNG (greyscale or RGB), shown as a viewer would: monochrome\n"
          "through the first VOI LUT Sequence item, else the first WindowCenter/WindowWidth pair (both after\n"
          "RescaleSlope/Intercept; VOILUTFunction LINEAR, LINEAR_EXACT or SIGMOID), else the frame's own\n"
          "minimum..maximum; MONOCHROME1 inverted;\n"
          "colour as RGB; PALETTE COLOR through its lookup table. Every transfer syntax dicomveil decodes is\n"
          "accepted. OUT.png is replaced atomically (mode 0600).\n"
          "\n"
          "Options:\n"
          "  -f, --frame N   Frame to render, counted from 0 (default 0).\n"
          "  --max-frame-bytes BYTES\n"
          "                  Largest decoded frame to render (K/M/G suffixes; default 128M, at most 4G): a\n"
          "                  larger one is refused (limit) before its memory is taken. Rendering holds about\n"
          "                  twice this (a 128 MiB frame of 16-bit pixels: 261 MiB peak RSS).\n"
          "  -h, --help      Show this help and exit.\n"
          "\n"
          "Exit status: 0 written, 1 the input cannot be rendered (the error class and reason are printed; the\n"
          "path never is), 2 usage error.\n",
          f);
}

static int fail(const char *what, const dv_error *err)
{
    dvc_errorf("render: %s: %s: %s", what, dv_code_name(err->code), err->message);
    return DVC_EXIT_FAILED;
}

/* Decode frame `frame` of the file open at fd and encode it as PNG into *png (the decode path is the
 * library's dv_render_instance_frame, shared with the server's WADO-RS rendered). Exit code. */
static int render_fd(int fd, uint64_t size, uint32_t frame, uint64_t max_frame, uint8_t **png, size_t *png_len)
{
    dv_image_limits lim;
    dv_image_limits_default(&lim);
    lim.max_frame_bytes = max_frame;
    dv_error err;
    dv_error_clear(&err);
    dv_fd_source fs;
    dv_source src = dv_source_fd(&fs, fd, size);
    dv_instance *inst = dv_instance_read(&src, NULL, &err);
    if (!inst)
        return fail("input", &err);
    dv_picture pic = {0};
    const char *stage = "render";
    uint32_t nframes = 0;
    int rc = DVC_EXIT_OK;
    if (dv_render_instance_frame(inst, frame, NULL, &lim, &pic, &nframes, &stage, &err)) {
        if (err.code == DV_ERR_USAGE) {
            dvc_errorf("render: --frame %u is out of range: the instance has %u frame%s (counted from 0)", frame,
                       nframes, nframes == 1 ? "" : "s");
            rc = DVC_EXIT_FAILED;
        } else {
            rc = fail(stage, &err);
        }
    } else if (dv_png_encode(&pic, png, png_len, &err)) {
        rc = fail("render", &err);
    }
    dv_picture_free(&pic);
    dv_instance_free(inst);
    return rc;
}

int dvc_cmd_render(int argc, char **argv)
{
    static const struct option longs[] = {{"frame", required_argument, NULL, 'f'},
                                           {"max-frame-bytes", required_argument, NULL, 'm'},
                                           {"help", no_argument, NULL, 'h'},
                                           {NULL, 0, NULL, 0}};
    uint32_t frame = 0;
    /* Below the library's 512 MiB: a few KB of deflated zeros decode to a frame that size, and rendering it
     * took 1 GB (stop 40 finding 4). 128 MiB still holds any radiograph or mammogram (8k x 8k x 16 bits). */
    uint64_t max_frame = RENDER_FRAME_DEFAULT;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":f:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f': {
            char *end;
            errno = 0;
            unsigned long v = strtoul(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] < '0' || optarg[0] > '9' || v > 0xFFFFFFFFul) {
                dvc_errorf("render: --frame wants a frame number counted from 0");
                return DVC_EXIT_USAGE;
            }
            frame = (uint32_t)v;
            break;
        }
        case 'm':
            if (dvc_parse_bytes(optarg, 1, RENDER_FRAME_MAX, &max_frame) < 0) {
                dvc_errorf("render: --max-frame-bytes wants a byte count from 1 to 4G (K/M/G suffixes)");
                return DVC_EXIT_USAGE;
            }
            break;
        case 'h': dvc_render_usage(stdout); return DVC_EXIT_OK;
        case ':': dvc_errorf("render: an option is missing its value (try --help)"); return DVC_EXIT_USAGE;
        default: dvc_errorf("render: unknown option (try --help)"); return DVC_EXIT_USAGE;
        }
    }
    if (argc - optind != 2 || !argv[optind][0] || !argv[optind + 1][0]) {
        dvc_errorf("render: want IN.dcm and OUT.png (try --help)");
        return DVC_EXIT_USAGE;
    }
    const char *in = argv[optind], *outp = argv[optind + 1];
    /* O_NONBLOCK: a FIFO given as IN is refused below, not waited on for ever (stop 40's red team) */
    int fd = dvc_open_input(in, O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        dvc_errorf("render: input: %s", fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0)
            close(fd);
        return DVC_EXIT_FAILED;
    }
    /* OUT naming IN itself (the same path, a link to it, a hard link) would replace the source with its picture:
     * sources are never modified. */
    struct stat ost;
    const char *bad_out = stat(outp, &ost) != 0                                    ? NULL
                          : S_ISDIR(ost.st_mode)                                   ? "is a directory"
                          : ost.st_dev == st.st_dev && ost.st_ino == st.st_ino ? "is the input file"
                                                                                   : NULL;
    if (bad_out) {
        close(fd);
        dvc_errorf("render: output: %s", bad_out);
        return DVC_EXIT_USAGE;
    }
    uint8_t *png = NULL;
    size_t len = 0;
    int rc = render_fd(fd, (uint64_t)st.st_size, frame, max_frame, &png, &len);
    close(fd);
    if (rc == DVC_EXIT_OK && dvc_file_replace(outp, (const char *)png, len, "render: output") < 0)
        rc = DVC_EXIT_FAILED;
    free(png);
    return rc;
}
