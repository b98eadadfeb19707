"""Every photo with a visible frontal face gives an embedding: tight crops and grayscale included.

The test makes the hard cases itself from the labelled photos: the face cut out
with a 10 % margin and resized to 112, 150 and 200 px (a passport or ID-card
crop: SCRFD finds nothing there without the border the pipeline adds), and the
whole photo in grey. The embedding must still be the person's: closer to their
own other photos than the pack's threshold.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_core.biometrics import load_pack, read_image

from .conftest import TESTED_PACKS

SIZES = (112, 150, 200)


def _tight_crop(image: np.ndarray, box: np.ndarray, size: int) -> np.ndarray:
    x1, y1, x2, y2 = box
    side = max(x2 - x1, y2 - y1) * 1.1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    top, left = max(0, int(cy - side / 2)), max(0, int(cx - side / 2))
    crop = image[top:int(cy + side / 2), left:int(cx + side / 2)]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)


def _grey(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)


@pytest.mark.parametrize("pack", TESTED_PACKS)
def test_tight_crops_and_grey_photos_give_the_persons_embedding(pack, models_env, photos, photo_embeddings):
    pipeline = load_pack(pack)
    embeddings = photo_embeddings[pack]
    for index in range(0, len(photos), 6):
        image = read_image(photos[index].path)
        face = pipeline.embed_one(image, largest=True)[0]
        others = [j for j, p in enumerate(photos) if p.identity == photos[index].identity and j != index]
        cases = {f"{size} px crop": _tight_crop(image, face.box, size) for size in SIZES}
        cases["grey crop"] = _grey(cases["150 px crop"])
        cases["grey photo"] = _grey(image)
        for label, case in cases.items():
            found, embedding = pipeline.embed_one(case, largest=True)
            assert 0 <= found.landmarks[:, 0].min() and found.landmarks[:, 0].max() <= case.shape[1], label
            best = float((embeddings[others] @ embedding).max())
            assert best >= pipeline.threshold, f"{pack} {photos[index].file} {label}: {best:.3f} to their other photos"


def test_a_picture_without_a_face_still_has_none(models_env):
    # The second, bordered search must not invent a face.
    for pack in TESTED_PACKS:
        assert load_pack(pack).detect(np.full((160, 160, 3), 128, np.uint8)) == []
