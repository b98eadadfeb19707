"""Grey (IR) frames: what makes a camera an IR camera here, and the frame every model is given (issue 27).

An IR camera (Windows Hello's kind: a near-infrared sensor lit by its own
850/940 nm emitter) gives one channel. FaceSeal knows a camera is IR from one
of two things, and nothing else:

* its V4L2 pixel format is a grey one (:data:`IR_FORMATS`: ``GREY``/``Y8``,
  ``Y10``, ``Y12``, ``Y16``), as OpenCV reports it for the opened device;
* or its frames are single-channel: one channel, or three exactly equal ones
  (OpenCV hands a grey format's frames over as BGR with the channel copied
  three times, as it does a grey video file's). A colour sensor's three
  channels differ in every real frame (each has its own Bayer sites and noise).

A camera that lies (a virtual camera fed with grey frames, firmware that says
GREY) is believed: an attacker who controls the camera is out of scope, as
the liveness session already says of a camera's frames.

The models were all trained on colour photos and take three channels, so a
grey frame is given to them with its channel copied three times
(:func:`as_bgr`); 16-bit frames keep their top 8 bits.
"""

from __future__ import annotations

import numpy as np

IR_FORMATS = frozenset({"GREY", "Y8  ", "Y800", "Y10 ", "Y12 ", "Y16 "})
"""V4L2 fourccs of single-channel (grey, IR) pixel formats, as ``CAP_PROP_FOURCC`` spells them."""


def fourcc_text(code: float) -> str:
    """The four characters of an OpenCV ``CAP_PROP_FOURCC`` value ("" when the backend gives none)."""
    value = int(code)
    if value <= 0:
        return ""
    return "".join(chr((value >> (8 * i)) & 0xFF) for i in range(4))


def single_channel(image: np.ndarray) -> bool:
    """Whether a frame carries one channel: 2-D, one plane, or three exactly equal planes."""
    if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1):
        return True
    return (image.ndim == 3 and image.shape[2] == 3 and bool(np.array_equal(image[..., 0], image[..., 1]))
            and bool(np.array_equal(image[..., 1], image[..., 2])))


def is_infrared(fourcc: str, first: np.ndarray) -> bool:
    """Whether a camera counts as IR: a grey V4L2 pixel format, or a first frame that is single-channel."""
    return fourcc in IR_FORMATS or single_channel(first)


def as_bgr(image: np.ndarray) -> np.ndarray:
    """``image`` as the 8-bit three-channel picture the models take: a grey (or 16-bit grey) frame with its channel
    copied three times; anything already 8-bit BGR (or not an image at all, for the caller to refuse) unchanged."""
    if not isinstance(image, np.ndarray) or not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 1)):
        return image
    grey = image.reshape(image.shape[:2])
    if grey.dtype == np.uint16:
        grey = (grey >> 8).astype(np.uint8)
    return np.repeat(grey[:, :, None], 3, axis=2) if grey.dtype == np.uint8 else image
