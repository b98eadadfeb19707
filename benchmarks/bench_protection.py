"""Protected templates suite (issue 30 item 1): which scheme, and what it costs in accuracy, linkability, speed.

``python -m benchmarks protection`` (or ``python -m benchmarks.bench_protection``)
embeds the labelled photos of ``../shared/faces`` (both groups of
``bench_groups``: 88 photos of 22 people and 90 of 15) with the default pack and
measures, against the raw matcher (cosine of embeddings):

* **1:N cost**: identify over N templates against the vault's own product
  (``vault.product``, the bare baseline) in the same run: GRP-IoM keyed per vault
  (:mod:`edge_core.biometrics.protection`: hash the probe once, compare packed
  hashes), PolyProtect keyed per identity (``benchmarks.polyprotect``, every
  identity's own polynomial), and GRP-IoM keyed per identity (its Gaussian
  directions regenerated from each identity's secret, or it would store 33 MB per
  identity), timed on a few identities and multiplied out, as printed;
* **accuracy**: the project's own evaluation (``biometrics.evaluation``:
  thresholds for 1 %, 0.1 % and 0.01 % false accepts read off the impostor
  scores by its rule, cross-validated over people) and the per-group rates
  (``biometrics.groups``) at the pooled 0.1 % threshold, raw and protected.
  A protected pair scores photo j's probe against photo i's enrolment under
  i's secret (what a vault does). GRP-IoM per vault is measured under five
  vault secrets (the spread is the scheme's, not the photos');
* **unlinkability**: the same photos enrolled into two vaults (two secrets);
  D<->sys and the highest local D<->(s) (``biometrics.unlinkability``) of
  cross-vault scores between mated (one person, another photo; and the very
  same photo) and non-mated templates. Controls: raw embeddings, and one secret
  in both vaults (both must come out linkable);
* **irreversibility**: an attacker holding a stolen protected template
  optimises an embedding to reproduce it (L-BFGS from the mean face of the
  other people; for IoM through a softmax relaxation of the argmax) with the
  secret known and with a wrong secret, and for PolyProtect with the secret
  recovered by least squares from another photo of the person; the result is
  scored by the raw matcher against the person's other photos, at the raw
  0.1 % threshold.

Secrets are HKDF-derived from fixed bench roots, so every figure is reproduced
exactly; docs/PRIVACY.md records them with this command.
"""

from __future__ import annotations

import itertools
import math
import os
import statistics
import tempfile
import time
from collections.abc import Callable

import numpy as np

from edge_core.biometrics import groups as grouping
from edge_core.biometrics import protection
from edge_core.biometrics.evaluation import DEFAULT_TARGET, PairScores, cross_validate_scores, threshold_for_far
from edge_core.biometrics.unlinkability import unlinkability
from edge_core.keys.material import hkdf

from . import polyprotect
from .bench_groups import FACES, SHARED, photos
from .polyprotect import Polynomial, ProtectedGallery, gallery_scores, polynomial

OVERLAPS = (0, 2, 4)
"""PolyProtect's overlaps measured (the paper's range is 0-4)."""
VAULTS = 5
"""Vault secrets GRP-IoM per vault is measured under."""
SIZES = (1_000, 10_000, 100_000)


def secret_bytes(vault: str, owner: str = "") -> bytes:
    """The secret bytes of a bench vault, or of one person in it, reproducible from the names."""
    root = bytes(hkdf(b"faceseal-bench-protection-root", b"faceseal/bench/" + vault.encode()))
    return bytes(hkdf(root, b"faceseal/bench/identity/" + owner.encode())) if owner else root


def poly_keys(vault: str, people) -> dict[str, Polynomial]:
    return {person: polynomial(secret_bytes(vault, person)) for person in sorted(set(people))}


# ----------------------------------------------------------------------------------- score matrices
def _per_enrolment(labels: np.ndarray, score_under: Callable[[str, np.ndarray], np.ndarray]) -> np.ndarray:
    """Square matrix: row i scores every photo against photo i under i's person's secret."""
    scores = np.empty((len(labels), len(labels)))
    for person in sorted(set(labels)):
        rows = np.flatnonzero(labels == person)
        scores[rows] = score_under(person, rows)
    return scores


def _iom_matrix(one: np.ndarray, two: np.ndarray) -> np.ndarray:
    """Scores of every packed template of ``one`` (rows) against every one of ``two``."""
    return np.stack([protection.scores(row, two) for row in one])


def poly_scores(embeddings: np.ndarray, labels: np.ndarray, overlap: int, scale: float | None = None) -> np.ndarray:
    keys = poly_keys("vault-1", labels)

    def under(person, rows):
        protected = polyprotect.protect(embeddings, keys[person], overlap, scale)
        return protected[rows] @ protected.T
    return _per_enrolment(labels, under)


def iom_identity_scores(embeddings: np.ndarray, labels: np.ndarray) -> np.ndarray:
    def under(person, rows):
        hashes = protection.protect(embeddings, protection.projections(secret_bytes("vault-1", person),
                                                                       embeddings.shape[1]))
        return _iom_matrix(hashes[rows], hashes)
    return _per_enrolment(labels, under)


def iom_vault_templates(embeddings: np.ndarray, vault: str) -> np.ndarray:
    return protection.protect(embeddings, protection.projections(secret_bytes(vault), embeddings.shape[1]))


# ----------------------------------------------------------------------------------- accuracy
def accuracy(scores: np.ndarray, labels: np.ndarray, groups: dict[str, str]) -> dict:
    """Cross-validated thresholds and held-out rates, and the per-group rates at the pooled 0.1 % threshold."""
    reports = cross_validate_scores(scores, list(labels))
    pooled = grouping.pairs(scores, list(labels), groups)
    threshold = threshold_for_far(pooled.score[~pooled.same], DEFAULT_TARGET)
    row = grouping.at_threshold(pooled, "0.1 %", threshold)
    return {
        "targets": [r.as_dict() for r in reports],
        "per_group_at_0.1%": {
            "threshold": round(threshold, 4),
            "groups": {f.group: {"fnmr": f.fnmr.text(), "fmr": f.fmr.text()} for f in row.groups},
            "across": {f.group: f.fmr.text() for f in row.across},
        },
    }


def _pair_scores(scores: np.ndarray, labels: np.ndarray) -> PairScores:
    """The pairs i < j of a score matrix as the DET curve takes them."""
    upper = np.triu_indices(len(labels), k=1)
    same = labels[upper[0]] == labels[upper[1]]
    return PairScores(genuine=scores[upper][same], impostor=scores[upper][~same])


def accuracies(embeddings: np.ndarray, labels: np.ndarray, groups: dict[str, str],
               curves: dict[str, PairScores]) -> dict:
    """Every matcher's accuracy; the pairs of those drawn on the DET curve go into ``curves``."""
    matrices = {"raw": embeddings @ embeddings.T}
    for vault in range(1, VAULTS + 1):
        hashes = iom_vault_templates(embeddings, f"vault-{vault}")
        matrices[f"grp-iom per vault, vault {vault}"] = _iom_matrix(hashes, hashes)
    matrices["grp-iom per identity"] = iom_identity_scores(embeddings, labels)
    for overlap in OVERLAPS:
        matrices[f"polyprotect overlap {overlap}"] = poly_scores(embeddings, labels, overlap)
    matrices["polyprotect overlap 4, unscaled (linear)"] = poly_scores(embeddings, labels, 4, 1.0)
    for name in ("raw", "grp-iom per vault, vault 1", "grp-iom per identity", "polyprotect overlap 4"):
        curves[name] = _pair_scores(matrices[name], labels)
    return {name: accuracy(scores, labels, groups) for name, scores in matrices.items()}


# ----------------------------------------------------------------------------------- unlinkability
def cross_vault(pairs: list[np.ndarray], labels: np.ndarray) -> dict:
    """D<->sys of scores between one vault's templates (rows) and another's (columns), pooled over pairs of
    vaults: mated (another photo; the same photo) and non-mated."""
    same = labels[:, None] == labels[None, :]
    same_photo = np.eye(len(labels), dtype=bool)
    non_mated = np.concatenate([scores[~same] for scores in pairs])
    return {name: unlinkability(np.concatenate([scores[mated] for scores in pairs]), non_mated).as_dict()
            for name, mated in (("other photo", same & ~same_photo), ("same photo", same_photo))}


def linkability(embeddings: np.ndarray, labels: np.ndarray) -> dict:
    """Every pair of the VAULTS vaults pooled (one pair's same-photo scores alone are too few for the
    histograms: its estimate has a floor of about 0.05 where nothing links), and one pair alone."""
    hashes = [iom_vault_templates(embeddings, f"vault-{n}") for n in range(1, VAULTS + 1)]
    polys = [np.stack([polyprotect.protect(e, k) for e, k in zip(embeddings, _keys_of(f"vault-{n}", labels))])
             for n in range(1, VAULTS + 1)]
    pairs = list(itertools.combinations(range(VAULTS), 2))
    return {
        f"grp-iom per vault, {len(pairs)} pairs of vaults": cross_vault(
            [_iom_matrix(hashes[a], hashes[b]) for a, b in pairs], labels),
        "grp-iom per vault, one pair of vaults": cross_vault([_iom_matrix(hashes[0], hashes[1])], labels),
        "null: non-mated scores of one pair drawn as if mated": _null(_iom_matrix(hashes[0], hashes[1]), labels),
        f"polyprotect overlap 4, {len(pairs)} pairs of vaults": cross_vault(
            [polys[a] @ polys[b].T for a, b in pairs], labels),
        "control: grp-iom, one secret in both vaults": cross_vault([_iom_matrix(hashes[0], hashes[0])], labels),
        "control: raw embeddings": cross_vault([embeddings @ embeddings.T], labels),
    }


def _null(scores: np.ndarray, labels: np.ndarray, draws: int = 100) -> dict:
    """The estimate's floor: D<->sys of non-mated scores drawn as the mated ones, as many, against the rest
    (mean and 95th percentile over ``draws``): what "no link at all" measures at this sample size."""
    rng = np.random.default_rng(0)
    same = labels[:, None] == labels[None, :]
    non_mated = scores[~same]
    floors = {}
    for name, count in (("other photo", int((same & ~np.eye(len(labels), dtype=bool)).sum())),
                        ("same photo", len(labels))):
        values = [unlinkability(rng.choice(non_mated, count, replace=False), non_mated).global_score
                  for _ in range(draws)]
        floors[name] = {"d_sys mean": round(float(np.mean(values)), 4),
                        "d_sys 95th percentile": round(float(np.quantile(values, 0.95)), 4)}
    return floors


def _keys_of(vault: str, labels: np.ndarray) -> list[Polynomial]:
    keys = poly_keys(vault, labels)
    return [keys[label] for label in labels]


# ----------------------------------------------------------------------------------- irreversibility
def _lbfgs(loss: Callable, start: np.ndarray) -> np.ndarray:
    from scipy.optimize import minimize

    found = minimize(loss, start, jac=True, method="L-BFGS-B", options={"maxiter": 300})
    return found.x / (np.linalg.norm(found.x) or 1.0)


def invert_iom(template: np.ndarray, directions: np.ndarray, start: np.ndarray) -> np.ndarray:
    """An embedding whose hashes under ``directions`` are the template's: the argmax relaxed to a softmax,
    the cross-entropy with the stolen indices minimised."""
    hashes = ((template[:, None] >> (4 * np.arange(16, dtype=np.uint64))) & np.uint64(15)).ravel().astype(int)
    count = len(hashes)  # a template of fewer words is the first hashes of a full one (:func:`hash_counts`)
    w = directions[:count * protection.CANDIDATES].astype(np.float64)
    pick = np.arange(count) * protection.CANDIDATES + hashes

    def loss(x):
        z = (w @ x).reshape(count, protection.CANDIDATES)
        top = z.max(axis=1, keepdims=True)
        e = np.exp(z - top)
        total = e.sum(axis=1, keepdims=True)
        value = float(np.sum(np.log(total) + top.ravel()[:, None] - z.ravel()[pick][:, None]))
        grad_z = e / total
        grad_z.ravel()[pick] -= 1.0
        return value, w.T @ grad_z.ravel()
    return _lbfgs(loss, start)


def _poly_jacobian(x: np.ndarray, key: Polynomial, overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Unnormalised PolyProtect output of ``x`` (before its sqrt(d) scaling) and its Jacobian (outputs x d)."""
    order, dim = len(key.coefficients), len(x)
    starts = np.arange(0, dim - order + 1, order - overlap)
    index = starts[:, None] + np.arange(order)
    scale = math.sqrt(dim)
    windows = x[index] * scale
    out = (key.coefficients * windows ** key.exponents).sum(axis=1)
    slopes = key.coefficients * key.exponents * windows ** (key.exponents - 1) * scale
    jacobian = np.zeros((len(starts), dim))
    np.add.at(jacobian, (np.repeat(np.arange(len(starts)), order), index.ravel()), slopes.ravel())
    return out, jacobian


def invert_poly(target: np.ndarray, key: Polynomial, start: np.ndarray, overlap: int) -> np.ndarray:
    """An embedding whose PolyProtect template under ``key`` has the largest cosine with ``target``."""
    def loss(x):
        out, jacobian = _poly_jacobian(x, key, overlap)
        norm = np.linalg.norm(out) or 1.0
        cosine = out @ target / norm
        return -cosine, -((target / norm - cosine * out / norm**2) @ jacobian)
    return _lbfgs(loss, start)


def recover_poly_secret(template: np.ndarray, photo: np.ndarray, overlap: int,
                        order: int = polyprotect.ORDER) -> tuple[Polynomial, float]:
    """The attacker's best PolyProtect secret mapping a known photo's embedding onto a stolen template: least
    squares per exponent permutation; returns it and the cosine it reaches."""
    windows = (photo * math.sqrt(len(photo)))[np.arange(0, len(photo) - order + 1, order - overlap)[:, None]
                                              + np.arange(order)]
    best, best_cos = None, -2.0
    for exponents in itertools.permutations(range(1, order + 1)):
        design = windows ** np.array(exponents)
        coefficients = np.linalg.lstsq(design, template, rcond=None)[0]
        out = design @ coefficients
        cosine = float(out @ template / (np.linalg.norm(out) or 1.0))
        if cosine > best_cos:
            best, best_cos = Polynomial(coefficients, np.array(exponents)), cosine
    return best, best_cos


def _attack_summary(pairs: list[tuple[float, float]], raw_threshold: float) -> dict:
    itself, others = np.array(pairs).T
    return {"cosine with the stolen photo, median": round(float(np.median(itself)), 3),
            "best cosine with the person's other photos, median": round(float(np.median(others)), 3),
            "accepted by the raw matcher (other photos, 0.1 % threshold)": f"{int((others >= raw_threshold).sum())}"
                                                                         f"/{len(others)}"}


def irreversibility(embeddings: np.ndarray, labels: np.ndarray, raw_threshold: float) -> dict:
    """One attack per person with three photos or more: their first photo's template is stolen; the result is
    scored by the raw matcher against their other photos. PolyProtect's secret is recovered from the second
    photo, and the last is used to link."""
    directions = protection.projections(secret_bytes("vault-1"), embeddings.shape[1])
    guessed = protection.projections(secret_bytes("attacker-guess"), embeddings.shape[1])
    keys, wrong = poly_keys("vault-1", labels), poly_keys("attacker-guess", labels)
    overlap = polyprotect.OVERLAP
    outcomes: dict[str, list] = {name: [] for name in (
        "grp-iom, secret known", "grp-iom, wrong secret", "polyprotect, secret known", "polyprotect, wrong secret",
        "polyprotect, secret recovered from another photo")}
    reproduced, exact, mated, non_mated = [], 0, [], []
    attacked = [person for person in sorted(set(labels)) if (labels == person).sum() >= 3]
    for person in attacked:
        own = np.flatnonzero(labels == person)
        stolen, other = own[0], own[1:]
        start = embeddings[labels != person].mean(axis=0)
        start /= np.linalg.norm(start)

        def score(x):  # the raw matcher: the stolen photo itself, and the best of the person's other photos
            return float(x @ embeddings[stolen]), float(np.max(embeddings[other] @ x))

        template = protection.protect(embeddings[stolen], directions)[0]
        found = invert_iom(template, directions, start)
        reproduced.append(float(protection.scores(template, protection.protect(found, directions))[0]))
        outcomes["grp-iom, secret known"].append(score(found))
        outcomes["grp-iom, wrong secret"].append(score(invert_iom(template, guessed, start)))

        poly = polyprotect.protect(embeddings[stolen], keys[person]).astype(np.float64)
        outcomes["polyprotect, secret known"].append(score(invert_poly(poly, keys[person], start, overlap)))
        outcomes["polyprotect, wrong secret"].append(score(invert_poly(poly, wrong[person], start, overlap)))
        guess, _ = recover_poly_secret(poly, embeddings[other[0]], overlap)
        truth = keys[person]
        exact += bool(np.array_equal(guess.exponents, truth.exponents) and np.allclose(
            np.rint(guess.coefficients / guess.coefficients[0] * truth.coefficients[0]), truth.coefficients))
        outcomes["polyprotect, secret recovered from another photo"].append(
            score(invert_poly(poly, guess, start, overlap)))
        mated.append(recover_poly_secret(poly, embeddings[other[-1]], overlap)[1])
        for stranger in sorted(set(labels) - {person})[:6]:
            non_mated.append(recover_poly_secret(poly, embeddings[np.flatnonzero(labels == stranger)[0]], overlap)[1])
    summary = {name: _attack_summary(pairs, raw_threshold) for name, pairs in outcomes.items()}
    summary["grp-iom, secret known"]["hashes reproduced, median"] = round(float(np.median(reproduced)), 3)
    mated_, non = np.array(mated), np.array(non_mated)
    summary["polyprotect, secret recovered exactly (up to scale)"] = f"{exact}/{len(attacked)}"
    summary["polyprotect, linkage with a known photo (least-squares fit cosine)"] = {
        "mated median": round(float(np.median(mated_)), 3), "non-mated median": round(float(np.median(non)), 3),
        "mated above every non-mated": f"{int((mated_ > non.max()).sum())}/{len(mated_)}",
        "d_sys": unlinkability(mated_, non).as_dict()["d_sys"]}
    summary["people attacked"] = len(attacked)
    summary["raw threshold"] = round(raw_threshold, 4)
    return summary


def hash_counts(embeddings: np.ndarray, labels: np.ndarray, raw_threshold: float) -> dict:
    """Fewer hashes, less for an attacker holding the secret to invert, and less accuracy: GRP-IoM with its
    first 64, 128, 256 hashes (exactly what a scheme of that many hashes under the same secret gives), held-out
    FRR at 0.1 % FAR and the secret-known inversion's acceptance by the raw matcher."""
    directions = protection.projections(secret_bytes("vault-1"), embeddings.shape[1])
    full = protection.protect(embeddings, directions)
    rows = {}
    for count in (64, 128, 256, protection.HASHES):
        words = full[:, :count // 16]
        mismatches = (1.0 - _iom_matrix(words, words)) * protection.HASHES  # scores() counts against HASHES
        report = next(r for r in cross_validate_scores(1.0 - mismatches / count, list(labels))
                      if r.target == DEFAULT_TARGET)
        accepted, attacked = 0, 0
        for person in sorted(set(labels)):
            own = np.flatnonzero(labels == person)
            if len(own) < 3:
                continue
            start = embeddings[labels != person].mean(axis=0)
            found = invert_iom(words[own[0]], directions, start / np.linalg.norm(start))
            accepted += bool(np.max(embeddings[own[1:]] @ found) >= raw_threshold)
            attacked += 1
        rows[str(count)] = {"frr at 0.1 % far": round(report.frr, 4),
                            "secret-known inversion accepted by the raw matcher": f"{accepted}/{attacked}"}
    return rows


# ----------------------------------------------------------------------------------- 1:N cost
def _median_seconds(run: Callable[[], object], repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def cost(dim: int) -> dict:
    """Identify's time over N templates (one per identity) against the raw product, in the same run."""
    from edge_core.vault import product

    rng = np.random.default_rng(0)
    probe = rng.standard_normal(dim).astype(np.float32)
    probe /= np.linalg.norm(probe)
    directions = protection.projections(os.urandom(32), dim)
    keys = [polynomial(os.urandom(32)) for _ in range(max(SIZES))]
    rows = []
    for size in SIZES:
        matrix = rng.standard_normal((size, dim)).astype(np.float32)
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
        hashes = protection.protect(matrix, directions)
        gallery = ProtectedGallery.build(polyprotect.protect(matrix, keys[0]), keys[:size])  # contents: no matter
        bare = _median_seconds(lambda: product.cosines(matrix, probe))
        iom = _median_seconds(lambda: protection.scores(protection.protect(probe, directions)[0], hashes))
        poly = _median_seconds(lambda: gallery_scores(probe, gallery))
        rows.append({"templates": size, "raw product ms": round(bare * 1e3, 2),
                     "grp-iom per vault ms": round(iom * 1e3, 2), "grp-iom per vault / raw": round(iom / bare, 1),
                     "polyprotect per identity ms": round(poly * 1e3, 2),
                     "polyprotect per identity / raw": round(poly / bare, 1)})
    sample = 4
    secrets = [os.urandom(32) for _ in range(sample)]
    per_identity = _median_seconds(lambda: [protection.protect(probe, protection.projections(s, dim))
                                            for s in secrets], repeats=3) / sample
    bare_100k = rows[-1]["raw product ms"] / 1e3
    return {"rows": rows,
            "grp-iom per vault, deriving the vault's directions once per unlock, s": round(
                _median_seconds(lambda: protection.projections(os.urandom(32), dim), repeats=3), 3),
            "grp-iom per identity": {
                "seconds per identity (timed on 4, regenerating its directions)": round(per_identity, 4),
                f"at {SIZES[-1]:,} identities, multiplied out, s": round(per_identity * SIZES[-1], 1),
                f"at {SIZES[-1]:,} / raw product": round(per_identity * SIZES[-1] / bare_100k),
                "directions per identity if stored instead, MB": round(
                    protection.HASHES * protection.CANDIDATES * dim * 4 / 1e6, 1)}}


# ----------------------------------------------------------------------------------- the suite
def embed(pack: str | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, str], str]:
    """(embeddings, labels, person -> group, pack) of the photos in which the default pack finds a face."""
    from benchmarks.bench_groups import _embed
    from edge_core.biometrics import default_pack_name, install_pack, load_pack, read_image

    paths, labels, groups = photos()
    saved = os.environ.get("FACESEAL_MODELS")
    with tempfile.TemporaryDirectory(prefix="faceseal-protection-") as scratch:
        os.environ["FACESEAL_MODELS"] = scratch
        try:
            pack = pack or default_pack_name()
            install_pack(pack, SHARED / "models")
            embeddings = _embed(load_pack(pack), [read_image(path) for path in paths])
        finally:
            if saved is None:
                del os.environ["FACESEAL_MODELS"]
            else:
                os.environ["FACESEAL_MODELS"] = saved
    found = ~np.isnan(embeddings[:, 0])
    return embeddings[found].astype(np.float64), np.array(labels)[found], groups, pack


def evaluate(embeddings: np.ndarray, labels: np.ndarray, groups: dict[str, str],
             curves: dict[str, PairScores] | None = None) -> dict:
    """Accuracy, unlinkability, irreversibility of every scheme measured (DET pairs into ``curves``)."""
    figures = {"photos": len(labels), "people": len(set(labels)),
               "accuracy": accuracies(embeddings, labels, groups, {} if curves is None else curves),
               "unlinkability": linkability(embeddings, labels)}
    raw_threshold = figures["accuracy"]["raw"]["per_group_at_0.1%"]["threshold"]
    figures["irreversibility"] = irreversibility(embeddings, labels, raw_threshold)
    figures["grp-iom hashes"] = hash_counts(embeddings, labels, raw_threshold)
    return figures


def run(write: bool = False) -> dict:
    """``make bench``: measure and print (skipped without ../shared/faces); with ``write``, also draw
    docs/images/det-protection.png."""
    if not FACES.is_dir():
        print(f"bench_protection: skipped, {FACES.resolve()} is absent")
        return {"skipped": f"{FACES.resolve()} is absent"}
    embeddings, labels, groups, pack = embed()
    curves: dict[str, PairScores] = {}
    figures = {"pack": pack, **evaluate(embeddings, labels, groups, curves), "cost": cost(embeddings.shape[1])}
    report(figures)
    if write:
        draw(figures, curves)
    return figures


def draw(figures: dict, curves: dict[str, PairScores]) -> None:
    """The DET curves of raw and protected matching, each matcher's held-out 0.1 % point marked."""
    from edge_core.biometrics.det_plot import write_det_png

    from .bench_accuracy import REPO

    marks = []
    for name in curves:
        point = next(t for t in figures["accuracy"][name]["targets"] if t["target_far"] == DEFAULT_TARGET)
        marks.append((f"{point['frr'] * 100:.1f} %", point["far"], point["frr"]))
    path = write_det_png(curves, REPO / "docs" / "images" / "det-protection.png", marks=marks,
                         title=f"raw and protected matching, pack {figures['pack']}, shared/faces")
    print(f"drew {path}")


def report(figures: dict) -> None:
    print(f"pack {figures['pack']}: {figures['photos']} photos of {figures['people']} people")
    for name, result in figures["accuracy"].items():
        point = next(t for t in result["targets"] if t["target_far"] == DEFAULT_TARGET)
        group = result["per_group_at_0.1%"]
        print(f"  {name:<40} 0.1 % FAR: threshold {point['threshold']:.3f}, held-out FRR {point['frr'] * 100:.2f} % "
              f"{[round(v * 100, 2) for v in point['frr_95']]}, FAR {point['far'] * 100:.3f} %; per group at "
              f"{group['threshold']:.3f}: " + "; ".join(f"{g} FNMR {v['fnmr']} FMR {v['fmr']}"
                                                           for g, v in group["groups"].items()))
    for name, result in figures["unlinkability"].items():
        print(f"  unlinkability, {name}: " + "; ".join(f"{k}: {v}" for k, v in result.items()))
    for name, result in figures["irreversibility"].items():
        print(f"  irreversibility, {name}: {result}")
    for count, row in figures["grp-iom hashes"].items():
        print(f"  grp-iom with {count} hashes: {row}")
    for row in figures["cost"]["rows"]:
        print(f"  identify, {row}")
    for name, value in figures["cost"].items():
        if name != "rows":
            print(f"  identify, {name}: {value}")


if __name__ == "__main__":
    import sys

    run(write="--write" in sys.argv[1:])
