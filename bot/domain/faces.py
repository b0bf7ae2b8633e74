"""Is there a recognisable face in this photo? OpenCV's bundled Haar cascade, fully offline.

Used only for a privacy tip (never to store, tag or compare anyone), so a miss costs little and
a false alarm costs one friendly message: the thresholds favour clear, frontal faces of some
size — the ones a group of hundreds could recognise. The image is decoded from bytes in memory
and never written to disk. OpenCV is the optional ``faces`` extra; nothing imports it unless
the tip is switched on.
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

CASCADE = "haarcascade_frontalface_default.xml"
# Detection runs on a copy whose longer side is at most this: faster, and a face too small to
# be found at this size is too small to recognise.
MAX_SIDE = 1024
MIN_FACE_PX = 40
MIN_FACE_FRACTION = 0.07  # of the shorter side: a face in a crowd far away is not "recognisable"
MIN_NEIGHBOURS = 8  # with equalised histograms: one true face, no coins or shuttles (see tests)
# A small PNG can claim gigapixel dimensions; refuse to decode such a bomb.
MAX_PIXELS = 64_000_000


class UnreadableImageError(ValueError):
    """Bytes OpenCV cannot decode as an image."""


@cache
def _opencv() -> tuple[Any, Any]:
    os.environ.setdefault("OPENCV_IO_MAX_IMAGE_PIXELS", str(MAX_PIXELS))
    import cv2  # the optional "faces" extra

    cv2.setNumThreads(1)  # one photo at a time is plenty; leave the cores to the bot
    cascade = cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, CASCADE))  # noqa: PTH118
    if cascade.empty():
        raise RuntimeError(f"OpenCV's {CASCADE} is missing from the installed package")
    return cv2, cascade


def count_faces(image: bytes) -> int:
    """How many clear frontal faces the photo shows (0 when none)."""
    import numpy as np

    cv2, cascade = _opencv()
    try:
        gray = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_GRAYSCALE)
    except cv2.error as exc:  # empty input, or over MAX_PIXELS
        raise UnreadableImageError(f"OpenCV refused the image: {exc.err}") from exc
    if gray is None or gray.size == 0:
        raise UnreadableImageError("not an image OpenCV can read")
    height, width = gray.shape[:2]
    scale = MAX_SIDE / max(height, width)
    if scale < 1:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    gray = cv2.equalizeHist(gray)
    side = max(MIN_FACE_PX, round(min(gray.shape[:2]) * MIN_FACE_FRACTION))
    faces = cascade.detectMultiScale(
        gray, scaleFactor=1.1, minNeighbors=MIN_NEIGHBOURS, minSize=(side, side)
    )
    return len(faces)
