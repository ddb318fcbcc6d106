"""Metadata out of images before they reach the staff's groups.

A photo can carry where it was taken (EXIF GPS), the camera's owner, the author and
editing software; a reporter rarely knows. Images are re-encoded by Pillow without any
of that (orientation applied to the pixels first, so the picture still stands upright).
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageOps, UnidentifiedImageError

log = logging.getLogger(__name__)

FORMATS = ("JPEG", "PNG", "WEBP", "TIFF")
MAX_PIXELS = 80_000_000  # a decompression bomb is refused, not decoded


def without_metadata(data: bytes) -> bytes | None:
    """The image re-encoded with no metadata; None if `data` is not an image we clean."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format
            if fmt not in FORMATS or image.width * image.height > MAX_PIXELS:
                return None
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            options = {"quality": 92} if fmt in ("JPEG", "WEBP") else {}
            upright.save(out, format=fmt, **options)  # no exif=, pnginfo=, xmp=: none kept
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        log.info("image not cleaned (%s): sent as it came", exc)
        return None
    return out.getvalue()
