/*
 * No AV1 codec: libaom's entry points, each answering "this build cannot do that".
 *
 * The opencv-python-headless wheel reads and writes AVIF photos through libavif, and libavif
 * encodes and decodes their AV1 payload with libaom (8 MB). FaceSeal promises JPEG, PNG, BMP,
 * WebP and TIFF photos (edge_core/ops/calibrate.py, app/widgets/source.py), and video frames come
 * through FFmpeg, which has its own AV1 decoders: nothing FaceSeal reads needs libaom.
 * packaging/slim.py builds this file under the soname libavif asks for and puts it in place of
 * libaom; libavif still parses an AVIF container, then fails to create the codec, so OpenCV reads
 * an AVIF photo as "cannot be read" (an empty image) and refuses to write one, exactly as an
 * OpenCV built without AVIF would. linux/aom_check.py checks that before the bundle is packed.
 *
 * Only the 20 functions libavif imports are here (``nm -D --undefined-only`` on it); slim.py
 * stops the build if a newer libavif imports one this file lacks.
 */
#include <stddef.h>

typedef int aom_codec_err_t;
enum { AOM_CODEC_INCAPABLE = 4 };

static const char NO_AV1[] = "this FaceSeal build has no AV1 codec (AVIF photos are not supported)";

const void *aom_codec_av1_cx(void) { return NULL; }
const void *aom_codec_av1_dx(void) { return NULL; }

aom_codec_err_t aom_codec_dec_init_ver(void *ctx, const void *iface, const void *cfg, long flags, int ver) {
    (void)ctx; (void)iface; (void)cfg; (void)flags; (void)ver;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_enc_init_ver(void *ctx, const void *iface, const void *cfg, long flags, int ver) {
    (void)ctx; (void)iface; (void)cfg; (void)flags; (void)ver;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_enc_config_default(const void *iface, void *cfg, unsigned int usage) {
    (void)iface; (void)cfg; (void)usage;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_enc_config_set(void *ctx, const void *cfg) {
    (void)ctx; (void)cfg;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_control(void *ctx, int id, ...) {
    (void)ctx; (void)id;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_set_option(void *ctx, const char *name, const char *value) {
    (void)ctx; (void)name; (void)value;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_decode(void *ctx, const unsigned char *data, size_t size, void *user) {
    (void)ctx; (void)data; (void)size; (void)user;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_encode(void *ctx, const void *img, long long pts, unsigned long duration, long flags) {
    (void)ctx; (void)img; (void)pts; (void)duration; (void)flags;
    return AOM_CODEC_INCAPABLE;
}

aom_codec_err_t aom_codec_destroy(void *ctx) {
    (void)ctx;
    return 0; /* nothing was created */
}

const void *aom_codec_get_cx_data(void *ctx, const void **iter) { (void)ctx; (void)iter; return NULL; }
void *aom_codec_get_frame(void *ctx, const void **iter) { (void)ctx; (void)iter; return NULL; }
void *aom_img_alloc(void *img, int fmt, unsigned int w, unsigned int h, unsigned int align) {
    (void)img; (void)fmt; (void)w; (void)h; (void)align;
    return NULL;
}
void aom_img_free(void *img) { (void)img; }

const char *aom_codec_err_to_string(aom_codec_err_t err) { (void)err; return NO_AV1; }
const char *aom_codec_error(const void *ctx) { (void)ctx; return NO_AV1; }
const char *aom_codec_error_detail(const void *ctx) { (void)ctx; return NO_AV1; }
int aom_codec_version(void) { return 0; }
const char *aom_codec_version_str(void) { return "none"; }
