/* dicomveil: entry point. Global options and subcommand dispatch only; each subcommand lives in its own
 * file. Usage errors exit 2 (DECISIONS.md item 15). */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void usage(FILE *f)
{
    fputs("Usage: dicomveil <command> [options] [arguments]\n"
          "       dicomveil --help | --version\n"
          "\n"
          "De-identifies DICOM files with a Google Cloud Healthcare API DeidentifyConfig, self-hosted.\n"
          "\n"
          "Commands:\n"
          "  deidentify   De-identify the DICOM files in SRC... into DST (see below)\n"
          "  inspect      Show what the text stage would transform in SRC..., writing nothing (see below)\n"
          "  render       Write one frame of a DICOM file as a windowed PNG (see below)\n"
          "  serve        Healthcare API-compatible HTTP service (see 'dicomveil serve --help')\n"
          "\n"
          "Global options:\n"
          "  -h, --help     Show this help and exit\n"
          "  --version      Print the version, the git commit and the versions of the libraries it uses, and exit\n"
          "\n",
          f);
    dvc_deidentify_usage(f);
    fputc('\n', f);
    dvc_inspect_usage(f);
    fputc('\n', f);
    dvc_render_usage(f);
    fputc('\n', f);
    dvc_serve_usage(f);
}

int main(int argc, char **argv)
{
    /* A fixed mmap threshold: glibc raises it after each large free, and then serves the next decoded frames from
     * a worker thread's heap, which keeps them after the instance ends. The pixel budget (dv_pixel_budget.h) bounds
     * what instances hold; with memory kept per thread it would not bound the process. 4 MiB: above every metadata
     * allocation (arena blocks are at most 1 MiB), so only frame-sized buffers go to mmap and back to the system.
     * Fixing it also fixes the trim threshold at glibc's 128 KiB, and then the heap gave back and faulted in again
     * a frame's smaller buffers at every frame (16 frames of 1024x1024: 0.43 s -> 0.55 s, all in the kernel):
     * twice the mmap threshold, as glibc's own dynamic rule sets it, keeps them. Measured (bench/RESULTS.md "Pixel
     * memory"): 2 noisy 3072x3072 frames, -j2, one at a time: peak RSS 127 MB before, 98 MB with both. */
    (void)mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    (void)mallopt(M_TRIM_THRESHOLD, 8 * 1024 * 1024);
    if (argc < 2) {
        usage(stderr);
        return DVC_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    /* Every command may hold PHI in memory: no core file copies it (no_core.c). */
    if (dvc_no_core_dumps() != 0)
        dvc_errorf("warning: core dumps could not be turned off; a crash may write this process's memory to a "
                   "core file");
    dvc_crash_report_install();
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return DVC_EXIT_OK;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        dvc_print_version(stdout);
        return DVC_EXIT_OK;
    }
    if (strcmp(cmd, "deidentify") == 0)
        return dvc_cmd_deidentify(argc - 1, argv + 1);
    if (strcmp(cmd, "inspect") == 0)
        return dvc_cmd_inspect(argc - 1, argv + 1);
    if (strcmp(cmd, "render") == 0)
        return dvc_cmd_render(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return dvc_cmd_serve(argc - 1, argv + 1);
    /* Not echoed: a mistyped command line may start with a PHI-bearing path. */
    dvc_errorf("unknown command (try 'dicomveil --help')");
    return DVC_EXIT_USAGE;
}
