/*
 * OpenCV's BLAS and LAPACK calls, answered by the system's LAPACK and BLAS (liblapack.so.3, libblas.so.3).
 *
 * The opencv-python-headless wheel carries its own OpenBLAS (38 MB) for the 4 matrix products and
 * 15 LAPACK routines cv2 imports, and NumPy's wheel another (25 MB). The bundle carries neither:
 * its NumPy is built without BLAS (packaging/numpy_noblas.py), and packaging/slim.py builds this
 * file into a library with the soname cv2 asks for, linked to the system's LAPACK and BLAS, which
 * every distribution ships under these sonames with the standard 32-bit-integer Fortran interface.
 *
 * The 15 LAPACK routines need nothing here: cv2 calls them by their Fortran names, and the dynamic
 * linker finds them in liblapack.so.3, which this library needs. Only the C interface to the
 * matrix products (CBLAS) is written out, because Debian's libblas.so.3 carries it and Fedora's
 * does not (it has a separate libcblas.so.3): each call goes to the Fortran ?gemm_ every libblas
 * has, with the row-major case turned into the column-major product it equals (C^T = B^T A^T).
 * No arithmetic is done here; slim.py checks OpenCV's results against NumPy's before packing.
 */
#include <stddef.h>

enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112, CONJ_TRANS = 113 };

static char op(int trans) { return trans == TRANS ? 'T' : trans == CONJ_TRANS ? 'C' : 'N'; }

/* gfortran's hidden lengths of the two character arguments come last (1 each) */
#define GEMM(T, N, ALPHA)                                                                          \
    void N##gemm_(const char *, const char *, const int *, const int *, const int *, ALPHA,        \
                  const T *, const int *, const T *, const int *, ALPHA, T *, const int *, size_t, \
                  size_t);                                                                         \
    void cblas_##N##gemm(int order, int ta, int tb, int m, int n, int k, ALPHA_VALUE_##N alpha,    \
                         const T *a, int lda, const T *b, int ldb, ALPHA_VALUE_##N beta, T *c,     \
                         int ldc) {                                                                \
        char opa = op(ta), opb = op(tb);                                                           \
        if (order == ROW_MAJOR)                                                                    \
            N##gemm_(&opb, &opa, &n, &m, &k, ADDRESS_##N(alpha), b, &ldb, a, &lda,                 \
                     ADDRESS_##N(beta), c, &ldc, 1, 1);                                            \
        else                                                                                       \
            N##gemm_(&opa, &opb, &m, &n, &k, ADDRESS_##N(alpha), a, &lda, b, &ldb,                 \
                     ADDRESS_##N(beta), c, &ldc, 1, 1);                                            \
    }

/* real products take alpha and beta by value, complex ones by address; Fortran takes both by address */
#define ALPHA_VALUE_s float
#define ALPHA_VALUE_d double
#define ALPHA_VALUE_c const void *
#define ALPHA_VALUE_z const void *
#define ADDRESS_s(x) (&(x))
#define ADDRESS_d(x) (&(x))
#define ADDRESS_c(x) (x)
#define ADDRESS_z(x) (x)

GEMM(float, s, const float *)
GEMM(double, d, const double *)
GEMM(void, c, const void *)
GEMM(void, z, const void *)
