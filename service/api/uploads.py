"""Image uploads (search by image): bounded reading, type by content, size from the header, then decoding.

Checks run cheapest first and each answers with its own status: more than ``max_bytes`` -> 413; not JPEG or
PNG by its first bytes (whatever the file name or content type claims) -> 415; more than ``max_pixels``
pixels by the header -> 422 before any pixel is decoded (a small file can claim a huge image); a file that
does not decode -> 422.
"""

from __future__ import annotations

import io
import warnings
from typing import BinaryIO

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

# Magic bytes at the start of each accepted format.
JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ACCEPTED_TYPES = {"image/jpeg": JPEG_MAGIC, "image/png": PNG_MAGIC}
ACCEPTED_NAMES = "JPEG or PNG"


class UploadError(ValueError):
    """An upload the API will not take; ``status_code`` is the HTTP answer, the message says why."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


def read_limited(file: BinaryIO, max_bytes: int) -> bytes:
    """At most ``max_bytes`` bytes of ``file``; UploadError 413 when it holds more."""
    data = file.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UploadError(
            413,
            f"the image is larger than {max_bytes} bytes; send a smaller crop (a vehicle, not a whole frame)",
        )
    return data


def sniff_type(data: bytes) -> str:
    """The media type of ``data`` by its magic bytes; UploadError 415 for anything but JPEG and PNG."""
    for media_type, magic in ACCEPTED_TYPES.items():
        if data.startswith(magic):
            return media_type
    raise UploadError(
        415, f"the upload is not a {ACCEPTED_NAMES} image (by its content); send a .jpg or .png crop"
    )


def _too_many_pixels(described: str, max_pixels: int) -> UploadError:
    return UploadError(
        422, f"the image is {described}, more than the limit of {max_pixels} pixels; send a smaller crop"
    )


def check_pixels(data: bytes, max_pixels: int) -> tuple[int, int]:
    """(width, height) px read from the image's header, no pixel decoded; UploadError 422 when it has more
    than ``max_pixels`` pixels or the header cannot be read."""
    with warnings.catch_warnings():
        # Pillow warns about (and, beyond twice its own limit, refuses) huge images; our limit decides here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                width, height = image.size
        except Image.DecompressionBombError:
            raise _too_many_pixels("larger than Pillow will open", max_pixels) from None
        # ImportError: once ultralytics is loaded (a camera's detector in this process), its patch of
        # Image.open answers an unidentified file by importing a HEIF plugin that is not installed.
        except (UnidentifiedImageError, OSError, ValueError, SyntaxError, ImportError):
            raise UploadError(
                422, "the image header cannot be read (a corrupt file?); send a valid image"
            ) from None
    if width * height > max_pixels:
        raise _too_many_pixels(f"{width}x{height} pixels", max_pixels)
    return width, height


def decode_upload(file: BinaryIO, max_bytes: int, max_pixels: int) -> np.ndarray:
    """The uploaded image as (H, W, 3) uint8 BGR, after every check above."""
    data = read_limited(file, max_bytes)
    sniff_type(data)
    check_pixels(data, max_pixels)
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise UploadError(
            422, "the image cannot be decoded (truncated or corrupt); send a complete JPEG or PNG"
        )
    return image
