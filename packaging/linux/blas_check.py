"""OpenCV's linear algebra on the bundle's BLAS, checked against NumPy's: run by packaging/slim.py.

OpenCV does small matrices itself and hands a product or a decomposition to BLAS or
LAPACK only above a size (100 rows or columns), so every matrix here is larger than
that (at 6 x 6, as this check once used, it reached none of them): the four matrix products (each with its operands
transposed too, which the row-major call turns around), LU, Cholesky, QR and SVD
solves (s and d), least squares, the SVD itself and a determinant. Prints "ok" or
fails with the first mismatch. tests/packaging/test_blas.py checks that each of
these reaches the library under test.
"""

import cv2
import numpy as np

rng = np.random.default_rng(7)
N = 128  # above OpenCV's HAL_*_SMALL_MATRIX_THRESH (100)


def close(ours, reference, tol: float, what: str) -> None:
    if not np.allclose(ours, reference, rtol=tol, atol=tol):
        raise SystemExit(f"blas_check: {what} differs from NumPy's")


for dtype, tol in ((np.float32, 1e-3), (np.float64, 1e-9)):
    name = np.dtype(dtype).name
    a = rng.standard_normal((N, N)).astype(dtype) + N * np.eye(N, dtype=dtype)  # well conditioned
    b = rng.standard_normal((N, 3)).astype(dtype)
    wide = rng.standard_normal((3, N)).astype(dtype)
    close(cv2.gemm(a, b, 1.0, None, 0.0), a @ b, tol, f"gemm {name}")
    close(cv2.gemm(a, wide, 1.0, None, 0.0, flags=cv2.GEMM_1_T | cv2.GEMM_2_T), a.T @ wide.T, tol,
          f"gemm of transposes {name}")
    for flag, label in ((cv2.DECOMP_LU, "LU"), (cv2.DECOMP_SVD, "SVD"), (cv2.DECOMP_QR, "QR")):
        ok, x = cv2.solve(a, b, flags=flag)
        close(a @ x, b, tol * 10, f"{label} solve {name}")
    spd = (a @ a.T).astype(dtype)
    ok, x = cv2.solve(spd, b, flags=cv2.DECOMP_CHOLESKY)
    close(spd @ x / N, b / N, tol * 10, f"Cholesky solve {name}")
    w, u, vt = cv2.SVDecomp(a)
    close(u @ np.diag(w.ravel()) @ vt / N, a / N, tol * 10, f"SVD {name}")
    tall, y = rng.standard_normal((2 * N, N)).astype(dtype), rng.standard_normal((2 * N, 1)).astype(dtype)
    ok, x = cv2.solve(tall, y, flags=cv2.DECOMP_QR)
    close(x.ravel(), np.linalg.lstsq(tall.astype(np.float64), y, rcond=None)[0].ravel(), tol * 100,
          f"least squares {name}")
    scaled = a / dtype(N)  # a determinant near 1, which float32 holds
    close(cv2.determinant(scaled), np.linalg.det(scaled.astype(np.float64)), tol * 100, f"determinant {name}")
    c = (rng.standard_normal((N, N)) + 1j * rng.standard_normal((N, N))).astype(
        np.complex64 if dtype == np.float32 else np.complex128)
    planes = np.ascontiguousarray(c).view(dtype).reshape(N, N, 2)
    product = cv2.gemm(planes, planes, 1.0, None, 0.0)
    close(np.ascontiguousarray(product).view(c.dtype).reshape(N, N), c @ c, tol * 10, f"complex gemm {name}")
print("ok")
