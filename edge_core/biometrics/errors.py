"""Errors of the biometrics pipeline, each a one-line message a person can act on.

They derive from the shared ``ModelError`` (model packs and model files) and
``UsageError`` (what the user handed in), so the CLI maps them to the exit codes
it already uses. No message ever carries an embedding or image content.
"""

from __future__ import annotations

from edge_core.errors import FaceSealError, ModelError, UsageError


class UnknownPack(ModelError):
    """The manifest has no pack of that name."""


class PackNotInstalled(ModelError):
    """The pack exists in the manifest but is not (fully) installed on this machine."""


class ModelIntegrityError(ModelError):
    """A model file does not have the sha256 the manifest promises (corrupted, swapped, truncated)."""


class ModelRuntimeError(ModelError):
    """onnxruntime or OpenCV refused a model file, or failed while running it."""


class PackSourceError(ModelError):
    """An install source (folder, zip or download URL) is missing, unreadable or lacks a file."""


class ManifestError(ModelError):
    """The pack manifest itself is unreadable or inconsistent (a packaging bug, not user error)."""


class ImageUnreadable(UsageError):
    """An image file is missing, not an image, or truncated."""


class VideoUnreadable(UsageError):
    """A video file is missing or cannot be decoded."""


class CameraUnavailable(FaceSealError):
    """No camera answers at that index: a normal situation on many machines, not a crash."""


class NoFaceFound(UsageError):
    """The image holds no face the detector can find."""


class MultipleFaces(UsageError):
    """The image holds several faces where exactly one was expected."""


class NotEnoughSamples(UsageError):
    """Enrolment ended (source exhausted) before enough frames passed the quality gates.

    ``rejections`` keeps the per-frame reasons so a UI can show what went wrong.
    """

    def __init__(self, message: str, rejections: tuple = ()) -> None:
        super().__init__(message)
        self.rejections = rejections


class CameraIndexInvalid(UsageError):
    """A camera index outside the range any machine has (OpenCV crashes on some, such as -1)."""
