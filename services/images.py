"""Images from the network or the camera, decoded safely and shrunk for the terminal.

Everything here runs off the UI thread. Payloads are untrusted: size-capped, checked for
decompression bombs before decoding, and every failure is a short `ImageError`.
"""

from __future__ import annotations

import base64
import binascii
import io
import warnings

from PIL import Image, UnidentifiedImageError

from .payload import classify, human_size

MAX_PAYLOAD = 16 * 1024 * 1024  # bytes: a 20 MB payload is refused before decoding
MAX_PIXELS = 40_000_000  # a 50,000 × 50,000 PNG is refused from its header


class ImageError(Exception):
    """Why a payload cannot be shown as an image (one short line)."""


def image_bytes(payload: bytes) -> bytes:
    """The encoded image inside a payload (raw JPEG/PNG, or base64 JPEG)."""
    kind = classify(payload[:4096]) if len(payload) > 4096 else classify(payload)
    if kind in ("jpeg", "png"):
        return payload
    if kind == "base64-jpeg":
        try:
            return base64.b64decode(payload, validate=False)
        except (binascii.Error, ValueError):
            raise ImageError("base64 that does not decode") from None
    raise ImageError("not an image (JPEG, PNG or base64 JPEG)")


def decode(payload: bytes, fit: tuple[int, int] | None = None) -> Image.Image:
    """Decode an image payload; with `fit`, shrink it to fit inside (w, h) pixels, using
    JPEG's DCT scaling (`draft`) so a 1920×1080 frame is never decoded at full size.
    `info["source_size"]` keeps the size it was sent at."""
    if len(payload) > MAX_PAYLOAD:
        raise ImageError(f"{human_size(len(payload))} is too large to preview")
    data = image_bytes(payload)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            width, height = img.size
            if width * height > MAX_PIXELS:
                raise ImageError(f"{width:,}×{height:,} pixels: refused (a decompression bomb?)")
            if fit is not None and img.format == "JPEG":
                img.draft("RGB", (fit[0], fit[1]))
            img.load()
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError("too many pixels: refused (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError("not a readable image") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise ImageError(f"damaged image: {str(e)[:80]}") from None
    img = img.convert("RGB") if img.mode not in ("RGB", "RGBA") else img
    if fit is not None:
        img.thumbnail(fit, Image.Resampling.BILINEAR, reducing_gap=2.0)
    img.info["source_size"] = (width, height)  # what was sent, not what is shown
    return img


def fit_cells(size: tuple[int, int], cols: int, rows: int) -> tuple[int, int]:
    """Pixels (w, h) of an image of `size` shown in cols × rows half-block cells (two
    pixels a cell vertically), keeping the aspect ratio."""
    w, h = size
    scale = min(cols / w, rows * 2 / h)
    return max(1, int(w * scale)), max(2, int(h * scale) // 2 * 2)
