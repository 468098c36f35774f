/* CharLS (JPEG-LS) loaded on first use, not at process start (docs/decisions.md "Heavy libraries loaded on
 * demand"; bench/RESULTS.md "Start-up"). libcharls is C++: linking it mapped the C++ runtime (libstdc++,
 * libgcc_s) into every process and ran its static constructors (CharLS fills its lookup tables there), a few ms
 * of CPU per start, although only JPEG-LS pixel data ever needs it. So the library no longer links it: this file
 * defines exactly the CharLS functions codec_jpegls.c and the CLI's --version call, each forwarding to the real
 * one, which dlopen finds the first time any of them (or dv_jpegls_codec_load) is called (src/util/lazy_lib.c).
 * The library loaded is the SONAME pkg-config's CharLS has (dv_lazy_sonames.h).
 *
 * Unavailable library: dv_jpegls_codec_load fails with DV_ERR_UNSUPPORTED naming it, which the codec reports
 * for the frame (the instance fails closed); the forwarders return CharLS's own failure values and never crash.
 * State: as in ocr_lazy.c, the loader's process-wide record, written once under pthread_once.
 * [test_cli_lazy_libs.sh "JPEG-LS"] */
#include <pthread.h>
#include <stddef.h>

#include <charls/charls.h>

#include "dv_lazy_sonames.h"
#include "image/dv_image.h"
#include "util/dv_lazy_lib.h"

#define DV_JPEGLS_FUNCTIONS(X)                                                                                   \
    X(charls_get_version_string)                                                                                 \
    X(charls_get_error_message)                                                                                  \
    X(charls_jpegls_decoder_create)                                                                              \
    X(charls_jpegls_decoder_destroy)                                                                             \
    X(charls_jpegls_decoder_set_source_buffer)                                                                   \
    X(charls_jpegls_decoder_read_header)                                                                         \
    X(charls_jpegls_decoder_get_frame_info)                                                                      \
    X(charls_jpegls_decoder_get_interleave_mode)                                                                 \
    X(charls_jpegls_decoder_get_near_lossless)                                                                   \
    X(charls_jpegls_decoder_get_destination_size)                                                                \
    X(charls_jpegls_decoder_decode_to_buffer)                                                                    \
    X(charls_jpegls_encoder_create)                                                                              \
    X(charls_jpegls_encoder_destroy)                                                                             \
    X(charls_jpegls_encoder_set_frame_info)                                                                      \
    X(charls_jpegls_encoder_set_interleave_mode)                                                                 \
    X(charls_jpegls_encoder_get_estimated_destination_size)                                                      \
    X(charls_jpegls_encoder_set_destination_buffer)                                                              \
    X(charls_jpegls_encoder_encode_from_buffer)                                                                  \
    X(charls_jpegls_encoder_get_bytes_written)

#define DV_JPEGLS_INDEX(f) JLS_##f,
enum { DV_JPEGLS_FUNCTIONS(DV_JPEGLS_INDEX) JLS_N };
#define DV_JPEGLS_NAME(f) #f,
static const char *const jls_names[JLS_N] = {DV_JPEGLS_FUNCTIONS(DV_JPEGLS_NAME)};

static void *jls_fns[JLS_N];
static dv_lazy_lib codec = {.soname = DV_JPEGLS_SONAME, .label = "JPEG-LS codec", .package = DV_JPEGLS_PACKAGE,
                            .names = jls_names, .n = JLS_N, .fns = jls_fns};
static pthread_once_t codec_once = PTHREAD_ONCE_INIT;

static void codec_load(void)
{
    dv_lazy_lib_load(&codec);
}

static int loaded(void)
{
    pthread_once(&codec_once, codec_load);
    return codec.ok;
}

int dv_jpegls_codec_load(dv_error *err)
{
    if (loaded())
        return 0;
    return dv_fail(err, DV_ERR_UNSUPPORTED, "%s", codec.why);
}

/* The forwarders (hidden: libdicomveil.so does not export CharLS's names). FWD(ret, f, (params), (args), fail):
 * f(params) returns the real f(args), or fail without the library. */
#define REAL(f) ((__typeof__(&f))jls_fns[JLS_##f])
#define FWD(ret, f, params, args, fail)                                                                          \
    __attribute__((visibility("hidden"))) ret f params                                                           \
    {                                                                                                            \
        return loaded() ? REAL(f) args : (fail);                                                                 \
    }
#define NO_LIBRARY CHARLS_JPEGLS_ERRC_INVALID_OPERATION

FWD(const char *, charls_get_version_string, (void), (), "unavailable")
FWD(const char *, charls_get_error_message, (charls_jpegls_errc e), (e), "JPEG-LS codec unavailable")
FWD(charls_jpegls_decoder *, charls_jpegls_decoder_create, (void), (), NULL)
FWD(charls_jpegls_errc, charls_jpegls_decoder_set_source_buffer,
    (charls_jpegls_decoder * d, const void *src, size_t n), (d, src, n), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_read_header, (charls_jpegls_decoder * d), (d), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_get_frame_info,
    (const charls_jpegls_decoder *d, charls_frame_info *fi), (d, fi), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_get_interleave_mode,
    (const charls_jpegls_decoder *d, charls_interleave_mode *im), (d, im), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_get_near_lossless,
    (const charls_jpegls_decoder *d, int32_t component, int32_t *near), (d, component, near), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_get_destination_size,
    (const charls_jpegls_decoder *d, uint32_t stride, size_t *n), (d, stride, n), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_decoder_decode_to_buffer,
    (charls_jpegls_decoder * d, void *dst, size_t n, uint32_t stride), (d, dst, n, stride), NO_LIBRARY)
FWD(charls_jpegls_encoder *, charls_jpegls_encoder_create, (void), (), NULL)
FWD(charls_jpegls_errc, charls_jpegls_encoder_set_frame_info,
    (charls_jpegls_encoder * e, const charls_frame_info *fi), (e, fi), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_encoder_set_interleave_mode,
    (charls_jpegls_encoder * e, charls_interleave_mode im), (e, im), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_encoder_get_estimated_destination_size,
    (const charls_jpegls_encoder *e, size_t *n), (e, n), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_encoder_set_destination_buffer,
    (charls_jpegls_encoder * e, void *dst, size_t n), (e, dst, n), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_encoder_encode_from_buffer,
    (charls_jpegls_encoder * e, const void *src, size_t n, uint32_t stride), (e, src, n, stride), NO_LIBRARY)
FWD(charls_jpegls_errc, charls_jpegls_encoder_get_bytes_written, (const charls_jpegls_encoder *e, size_t *n),
    (e, n), NO_LIBRARY)

__attribute__((visibility("hidden"))) void charls_jpegls_decoder_destroy(const charls_jpegls_decoder *d)
{
    if (loaded())
        REAL(charls_jpegls_decoder_destroy)(d);
}

__attribute__((visibility("hidden"))) void charls_jpegls_encoder_destroy(const charls_jpegls_encoder *e)
{
    if (loaded())
        REAL(charls_jpegls_encoder_destroy)(e);
}
