"""OpenCV's linear algebra, checked against NumPy's: run by packaging/slim.py with the shared BLAS preloaded.

Every routine the shim forwards is reached: the four matrix products, LU, Cholesky,
QR and SVD solves (s and d), least squares, the SVD itself and a determinant. Prints
"ok" or fails with the first mismatch.
"""

import cv2
import numpy as np

rng = np.random.default_rng(7)


def close(ours, reference, tol: float, what: str) -> None:
    if not np.allclose(ours, reference, rtol=tol, atol=tol):
        raise SystemExit(f"blas_check: {what} differs from NumPy's")


for dtype, tol in ((np.float32, 1e-3), (np.float64, 1e-9)):
    name = np.dtype(dtype).name
    a = rng.standard_normal((6, 6)).astype(dtype)
    b = rng.standard_normal((6, 3)).astype(dtype)
    close(cv2.gemm(a, b, 1.0, None, 0.0), a @ b, tol, f"gemm {name}")
    for flag, label in ((cv2.DECOMP_LU, "LU"), (cv2.DECOMP_SVD, "SVD"), (cv2.DECOMP_QR, "QR")):
        ok, x = cv2.solve(a, b, flags=flag)
        close(a @ x, b, tol * 10, f"{label} solve {name}")
    spd = (a @ a.T + 6 * np.eye(6)).astype(dtype)
    ok, x = cv2.solve(spd, b, flags=cv2.DECOMP_CHOLESKY)
    close(spd @ x, b, tol * 10, f"Cholesky solve {name}")
    w, u, vt = cv2.SVDecomp(a)
    close(u @ np.diag(w.ravel()) @ vt, a, tol * 10, f"SVD {name}")
    tall, y = rng.standard_normal((9, 4)).astype(dtype), rng.standard_normal((9, 1)).astype(dtype)
    ok, x = cv2.solve(tall, y, flags=cv2.DECOMP_QR)
    close(x.ravel(), np.linalg.lstsq(tall, y, rcond=None)[0].ravel(), tol * 100, f"least squares {name}")
    close(cv2.determinant(a), np.linalg.det(a), tol * 100, f"determinant {name}")
    c = (rng.standard_normal((4, 4)) + 1j * rng.standard_normal((4, 4))).astype(
        np.complex64 if dtype == np.float32 else np.complex128)
    planes = np.ascontiguousarray(c).view(dtype).reshape(4, 4, 2)
    product = cv2.gemm(planes, planes, 1.0, None, 0.0)
    close(np.ascontiguousarray(product).view(c.dtype).reshape(4, 4), c @ c, tol * 10, f"complex gemm {name}")
print("ok")
