/*
 * One BLAS for the whole bundle: OpenCV's BLAS and LAPACK calls, answered by NumPy's OpenBLAS.
 *
 * The opencv-python-headless wheel carries its own OpenBLAS (38 MB) for the 4 matrix products
 * and 18 LAPACK routines cv2 imports; NumPy's wheel carries another (25 MB). packaging/slim.py
 * builds this file into a library with the soname cv2 asks for and puts it in place of OpenCV's
 * copy. Each function converts its arguments and calls NumPy's build of the same routine, which
 * is 64-bit-integer (ILP64) and has its symbols renamed (scipy_<name>64_): no arithmetic is done
 * here. slim.py checks the results against NumPy's before the bundle is packed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef int64_t big;

/* ---- CBLAS: the matrix products ------------------------------------------------------------ */

#define GEMM(T, N, ALPHA)                                                                      \
    void scipy_cblas_##N##gemm64_(int, int, int, big, big, big, ALPHA, const T *, big, const T *, \
                                  big, ALPHA, T *, big);                                          \
    void cblas_##N##gemm(int order, int ta, int tb, int m, int n, int k, ALPHA alpha, const T *a,  \
                         int lda, const T *b, int ldb, ALPHA beta, T *c, int ldc) {               \
        scipy_cblas_##N##gemm64_(order, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);   \
    }

GEMM(float, s, float)
GEMM(double, d, double)
GEMM(void, c, const void *)
GEMM(void, z, const void *)

/* ---- LAPACK (Fortran calling convention: every argument by reference) ---------------------- */

#define B(x) (&(big){*(x)})  /* an int argument, widened to the 64-bit integer the callee reads */

static big *widened(const int *src, big n) {  /* a copy of an int array, or workspace when src is NULL */
    big *out = malloc((size_t)(n > 0 ? n : 1) * sizeof(big));
    if (out && src)
        for (big i = 0; i < n; i++) out[i] = src[i];
    return out;
}

#define GETRF(T, N)                                                                               \
    void scipy_##N##getrf_64_(big *, big *, T *, big *, big *, big *);                            \
    void N##getrf_(int *m, int *n, T *a, int *lda, int *ipiv, int *info) {                        \
        big k = *m < *n ? *m : *n, i64;                                                          \
        big *piv = widened(NULL, k);                                                             \
        if (!piv) { *info = -1; return; }                                                        \
        scipy_##N##getrf_64_(B(m), B(n), a, B(lda), piv, &i64);                                  \
        for (big i = 0; i < k; i++) ipiv[i] = (int)piv[i];                                        \
        *info = (int)i64;                                                                        \
        free(piv);                                                                               \
    }

#define GESV(T, N)                                                                                \
    void scipy_##N##gesv_64_(big *, big *, T *, big *, big *, T *, big *, big *);                 \
    void N##gesv_(int *n, int *nrhs, T *a, int *lda, int *ipiv, T *b, int *ldb, int *info) {     \
        big i64, *piv = widened(NULL, *n);                                                       \
        if (!piv) { *info = -1; return; }                                                        \
        scipy_##N##gesv_64_(B(n), B(nrhs), a, B(lda), piv, b, B(ldb), &i64);                     \
        for (big i = 0; i < *n; i++) ipiv[i] = (int)piv[i];                                       \
        *info = (int)i64;                                                                        \
        free(piv);                                                                               \
    }

#define GESDD(T, N)                                                                               \
    void scipy_##N##gesdd_64_(char *, big *, big *, T *, big *, T *, T *, big *, T *, big *, T *, \
                              big *, big *, big *, size_t);                                      \
    void N##gesdd_(char *jobz, int *m, int *n, T *a, int *lda, T *s, T *u, int *ldu, T *vt,       \
                   int *ldvt, T *work, int *lwork, int *iwork, int *info) {                      \
        big i64, *iw = widened(NULL, 8 * (*m < *n ? *m : *n));                                   \
        (void)iwork;                                                                             \
        if (!iw) { *info = -1; return; }                                                         \
        scipy_##N##gesdd_64_(jobz, B(m), B(n), a, B(lda), s, u, B(ldu), vt, B(ldvt), work,       \
                             B(lwork), iw, &i64, 1);                                             \
        *info = (int)i64;                                                                        \
        free(iw);                                                                                \
    }

#define GELS(T, N)                                                                                \
    void scipy_##N##gels_64_(char *, big *, big *, big *, T *, big *, T *, big *, T *, big *,     \
                             big *, size_t);                                                     \
    void N##gels_(char *trans, int *m, int *n, int *nrhs, T *a, int *lda, T *b, int *ldb,         \
                  T *work, int *lwork, int *info) {                                              \
        big i64;                                                                                 \
        scipy_##N##gels_64_(trans, B(m), B(n), B(nrhs), a, B(lda), b, B(ldb), work, B(lwork),    \
                            &i64, 1);                                                            \
        *info = (int)i64;                                                                        \
    }

#define GEQRF(T, N)                                                                               \
    void scipy_##N##geqrf_64_(big *, big *, T *, big *, T *, T *, big *, big *);                  \
    void N##geqrf_(int *m, int *n, T *a, int *lda, T *tau, T *work, int *lwork, int *info) {      \
        big i64;                                                                                 \
        scipy_##N##geqrf_64_(B(m), B(n), a, B(lda), tau, work, B(lwork), &i64);                  \
        *info = (int)i64;                                                                        \
    }

#define POSV(T, N)                                                                                \
    void scipy_##N##posv_64_(char *, big *, big *, T *, big *, T *, big *, big *, size_t);        \
    void N##posv_(char *uplo, int *n, int *nrhs, T *a, int *lda, T *b, int *ldb, int *info) {     \
        big i64;                                                                                 \
        scipy_##N##posv_64_(uplo, B(n), B(nrhs), a, B(lda), b, B(ldb), &i64, 1);                 \
        *info = (int)i64;                                                                        \
    }

#define POTRF(T, N)                                                                               \
    void scipy_##N##potrf_64_(char *, big *, T *, big *, big *, size_t);                          \
    void N##potrf_(char *uplo, int *n, T *a, int *lda, int *info) {                               \
        big i64;                                                                                 \
        scipy_##N##potrf_64_(uplo, B(n), a, B(lda), &i64, 1);                                    \
        *info = (int)i64;                                                                        \
    }

GETRF(float, s) GETRF(double, d)
GESV(float, s) GESV(double, d)
GESDD(float, s) GESDD(double, d)
GELS(float, s) GELS(double, d)
GEQRF(float, s) GEQRF(double, d)
POSV(float, s) POSV(double, d)
POTRF(float, s) POTRF(double, d)

void scipy_dgeev_64_(char *, char *, big *, double *, big *, double *, double *, double *, big *,
                     double *, big *, double *, big *, big *, size_t, size_t);
void dgeev_(char *jobvl, char *jobvr, int *n, double *a, int *lda, double *wr, double *wi,
            double *vl, int *ldvl, double *vr, int *ldvr, double *work, int *lwork, int *info) {
    big i64;
    scipy_dgeev_64_(jobvl, jobvr, B(n), a, B(lda), wr, wi, vl, B(ldvl), vr, B(ldvr), work, B(lwork),
                    &i64, 1, 1);
    *info = (int)i64;
}
