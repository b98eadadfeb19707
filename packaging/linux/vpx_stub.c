/*
 * No libvpx: the VP8/VP9 entry points FFmpeg's libvpx wrappers import, each answering "incapable".
 *
 * The opencv-python-headless wheel's FFmpeg links libvpx (3.7 MB) for two things: encoding VP8
 * and VP9 (FaceSeal writes no video) and an optional second VP8/VP9 decoder. FFmpeg's own
 * decoders ("vp8", "vp9") are the ones it picks for reading, so video files decode without
 * libvpx. packaging/slim.py builds this file under the soname libavcodec asks for and puts it in
 * place of libvpx; linux/codec_check.py checks before the bundle is packed that VP8 and VP9
 * videos still decode frame for frame. Only the functions libavcodec imports are here; slim.py
 * stops the build if a newer FFmpeg imports one this file lacks.
 */
#include <stddef.h>

typedef int vpx_codec_err_t;
enum { VPX_CODEC_INCAPABLE = 4 };

static const char NO_VPX[] = "this FaceSeal build has no libvpx (FFmpeg's own VP8/VP9 decoders read videos)";

const void *vpx_codec_vp8_cx(void) { return NULL; }
const void *vpx_codec_vp8_dx(void) { return NULL; }
const void *vpx_codec_vp9_cx(void) { return NULL; }
const void *vpx_codec_vp9_dx(void) { return NULL; }
long vpx_codec_get_caps(const void *iface) { (void)iface; return 0; }

vpx_codec_err_t vpx_codec_dec_init_ver(void *ctx, const void *iface, const void *cfg, long flags, int ver) {
    (void)ctx; (void)iface; (void)cfg; (void)flags; (void)ver;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_enc_init_ver(void *ctx, const void *iface, const void *cfg, long flags, int ver) {
    (void)ctx; (void)iface; (void)cfg; (void)flags; (void)ver;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_enc_config_default(const void *iface, void *cfg, unsigned int usage) {
    (void)iface; (void)cfg; (void)usage;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_enc_config_set(void *ctx, const void *cfg) {
    (void)ctx; (void)cfg;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_control_(void *ctx, int id, ...) {
    (void)ctx; (void)id;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_decode(void *ctx, const unsigned char *data, unsigned int size, void *user, long deadline) {
    (void)ctx; (void)data; (void)size; (void)user; (void)deadline;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_encode(void *ctx, const void *img, long long pts, unsigned long duration, long flags,
                                 unsigned long deadline) {
    (void)ctx; (void)img; (void)pts; (void)duration; (void)flags; (void)deadline;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_set_frame_buffer_functions(void *ctx, void *get, void *release, void *priv) {
    (void)ctx; (void)get; (void)release; (void)priv;
    return VPX_CODEC_INCAPABLE;
}

vpx_codec_err_t vpx_codec_destroy(void *ctx) {
    (void)ctx;
    return 0; /* nothing was created */
}

const void *vpx_codec_get_cx_data(void *ctx, const void **iter) { (void)ctx; (void)iter; return NULL; }
void *vpx_codec_get_frame(void *ctx, const void **iter) { (void)ctx; (void)iter; return NULL; }
void *vpx_img_wrap(void *img, int fmt, unsigned int w, unsigned int h, unsigned int align, unsigned char *data) {
    (void)img; (void)fmt; (void)w; (void)h; (void)align; (void)data;
    return NULL;
}

const char *vpx_codec_err_to_string(vpx_codec_err_t err) { (void)err; return NO_VPX; }
const char *vpx_codec_error(const void *ctx) { (void)ctx; return NO_VPX; }
const char *vpx_codec_error_detail(const void *ctx) { (void)ctx; return NO_VPX; }
const char *vpx_codec_build_config(void) { return ""; }
int vpx_codec_version(void) { return 0; }
const char *vpx_codec_version_str(void) { return "none"; }
