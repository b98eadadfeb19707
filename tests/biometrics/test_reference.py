"""FaceSeal agrees with references it did not write, and its embeddings are stable.

FaceSeal decodes SCRFD, aligns and embeds with its own NumPy code (no
insightface at run time); the references are the libraries run directly on the
same images: InsightFace's ``SCRFD`` class with its own session, its
``norm_crop`` and ``ArcFaceONNX``, and ``cv2.FaceDetectorYN``. Landmarks must
agree within 0.05 pixel (SCRFD) or 1 pixel (YuNet, which we shrink ourselves),
crops within 1 grey level on average, embeddings to a cosine of 0.9999.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge_core.biometrics import load_pack, pack_info, read_image

from .conftest import SHARED_FACES, SHARED_MODELS, TESTED_PACKS

GROUP_PHOTOS = ["multi_face/two_people.jpg", "multi_face/obama_and_biden.jpg", "multi_face/kit_with_rose.jpg"]


def _shrunk(image: np.ndarray, side: int) -> np.ndarray:
    scale = side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _assert_same_faces(ours, boxes: np.ndarray, landmarks: np.ndarray, label: str, tolerance: float = 1.0) -> None:
    assert len(ours) == len(boxes), f"{label}: {len(ours)} faces vs reference {len(boxes)}"
    for face in ours:
        nearest = int(np.argmin(np.abs(boxes[:, :4] - face.box).sum(axis=1)))
        difference = np.abs(landmarks[nearest].reshape(5, 2) - face.landmarks).max()
        assert difference <= tolerance, f"{label}: landmarks differ by {difference:.3f} px"
        assert np.abs(boxes[nearest, :4] - face.box).max() <= tolerance, f"{label}: boxes differ"


def _images(photos):
    for name in [p.file for p in photos] + GROUP_PHOTOS:
        yield name, read_image(SHARED_FACES / name)


def test_scrfd_landmarks_match_insightface_scrfd(models_env, photos):
    from insightface.model_zoo.scrfd import SCRFD

    params = pack_info("scrfd").detector.params
    reference = SCRFD(model_file=str(SHARED_MODELS / "det_500m.onnx"))
    reference.prepare(0, input_size=tuple(params["input_size"]), det_thresh=params["score_threshold"],
                      nms_thresh=params["nms_threshold"])
    pipeline = load_pack("scrfd")
    for name, image in _images(photos):
        boxes, landmarks = reference.detect(image)
        _assert_same_faces(pipeline.detect(image), boxes, landmarks, name, tolerance=0.05)


def test_crops_and_embeddings_match_insightface(models_env, photos, tmp_path):
    import warnings

    from insightface.model_zoo.arcface_onnx import ArcFaceONNX
    from insightface.utils import face_align

    from edge_core.biometrics.embedders import OnnxEmbedder

    pipeline = load_pack("scrfd")
    # insightface runs MobileFaceNet as an ArcFace model ((x - 127.5) / 127.5 on RGB):
    # ours, configured the same way, must give the same vector from the same crop.
    reference = ArcFaceONNX(model_file=str(SHARED_MODELS / "mobilefacenet_foamliu.onnx"))
    ours = OnnxEmbedder((SHARED_MODELS / "mobilefacenet_foamliu.onnx").read_bytes(), name="mfn", pack="test",
                        embedding_size=128, mean=(127.5,) * 3, std=(127.5,) * 3)
    for photo in photos[::4]:
        image = read_image(photo.path)
        face = pipeline.embed_one(image, largest=True)[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            expected_crop = face_align.norm_crop(image, landmark=face.landmarks, image_size=112)
        crop = pipeline.align(image, face)
        assert np.abs(crop.astype(float) - expected_crop).mean() <= 1.0, photo.file
        expected = reference.get_feat(expected_crop).ravel()
        cosine = float(ours.embed(expected_crop) @ (expected / np.linalg.norm(expected)))
        assert cosine >= 0.9999, f"{photo.file}: cosine {cosine:.6f} with insightface's embedding"


def test_yunet_landmarks_match_cv2_face_detector_yn(models_env, photos):
    params = pack_info("open").detector.params
    pipeline = load_pack("open")
    reference = cv2.FaceDetectorYN.create(
        str(SHARED_MODELS / "face_detection_yunet_2026may.onnx"), "", (320, 320),
        params["score_threshold"], params["nms_threshold"],
    )
    frame = np.zeros((480, 640, 3), np.uint8)
    portrait = _shrunk(read_image(SHARED_FACES / photos[0].file), 480)
    frame[: portrait.shape[0], : portrait.shape[1]] = portrait
    inputs = [("640x480 frame", frame)] + [(n, _shrunk(i, params["max_side"])) for n, i in _images(photos)]
    for name, image in inputs:
        reference.setInputSize((image.shape[1], image.shape[0]))
        _, rows = reference.detect(image)
        rows = np.zeros((0, 15)) if rows is None else rows
        boxes = np.column_stack([rows[:, 0], rows[:, 1], rows[:, 0] + rows[:, 2], rows[:, 1] + rows[:, 3]])
        _assert_same_faces(pipeline.detect(image), boxes, rows[:, 4:14], name)


@pytest.mark.parametrize("pack", TESTED_PACKS)
def test_same_photo_twice_gives_cosine_one(pack, models_env, photos):
    pipeline = load_pack(pack)
    first = pipeline.embed_one(read_image(photos[0].path), largest=True)[1]
    second = pipeline.embed_one(read_image(photos[0].path), largest=True)[1]
    assert float(first @ second) == pytest.approx(1.0, abs=1e-6)
    assert first.dtype == np.float32 and first.shape == (pipeline.embedding_size,)
    assert float(np.linalg.norm(first)) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("pack", TESTED_PACKS)
def test_reencoded_jpeg_stays_above_095(pack, models_env, photos, photo_embeddings):
    pipeline = load_pack(pack)
    for index in range(0, len(photos), 8):
        original = read_image(photos[index].path)
        ok, data = cv2.imencode(".jpg", original, [cv2.IMWRITE_JPEG_QUALITY, 75])
        assert ok
        recoded = cv2.imdecode(data, cv2.IMREAD_COLOR)
        embedding = pipeline.embed_one(recoded, largest=True)[1]
        cosine = float(embedding @ photo_embeddings[pack][index])
        assert cosine >= 0.95, f"{photos[index].file}: cosine {cosine:.3f} after re-encoding"
