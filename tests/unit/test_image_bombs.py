"""Pictures that cost more to open than they weigh: a few hundred kilobytes of PNG that
decode to hundreds of megabytes. Refused by their size in pixels, read from the header,
before any decode; and the decodes that do run (checking at intake, cleaning for a unit)
are few at a time, so a handful of large pictures cannot exhaust the memory."""

from __future__ import annotations

import io
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image, ImageFile

from bot.channels.filecheck import DECODES_AT_ONCE, MediaRefused, checked_type, image_decodes
from bot.core.files import ALL_TYPES
from bot.core.model import AttachmentKind
from bot.scrub import without_metadata


def png(width: int, height: int, mode: str = "1") -> bytes:
    out = io.BytesIO()
    Image.new(mode, (width, height)).save(out, "PNG", optimize=True)
    return out.getvalue()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The sizes of the pictures Pillow decodes, as it decodes them."""
    seen: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def recorded(image: ImageFile.ImageFile) -> object:
        seen.append(image.size)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recorded)
    return seen


def test_a_huge_picture_is_refused_before_it_is_decoded(decodes: list[tuple[int, int]]) -> None:
    bomb = png(8944, 8944)  # 80 megapixels in a few hundred kilobytes
    assert len(bomb) < 1024 * 1024
    with pytest.raises(MediaRefused) as refused:
        checked_type(bomb, AttachmentKind.DOCUMENT, ALL_TYPES)
    assert refused.value.reason == "media_too_many_pixels"
    assert not image_decodes(bomb)
    assert without_metadata(bomb) is None
    assert decodes == []  # refused by the header alone


def test_a_48_megapixel_phone_photo_is_taken_and_a_png_checked_undecoded(
    decodes: list[tuple[int, int]],
) -> None:
    photo = png(8000, 6000)
    assert checked_type(photo, AttachmentKind.PHOTO, ALL_TYPES) == "image/png"
    assert decodes == []  # its compressed data measured, not decoded into memory


def test_a_png_whose_data_is_short_of_its_size_is_refused() -> None:
    small, large = png(300, 200, "RGB"), png(300, 201, "RGB")
    header_end = 8 + 8 + 13 + 4  # signature, then the IHDR chunk
    mixed = large[:header_end] + small[header_end:]  # each chunk whole, a row missing
    assert image_decodes(small) and image_decodes(large)
    assert not image_decodes(mixed)


def interlaced_png(width: int, height: int, missing: int = 0) -> bytes:
    """An RGB PNG written in Adam7's seven passes (Pillow reads them, never writes them)."""
    passes = ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2))
    rows = b"".join(
        bytes(1 + 3 * w) * h
        for x, y, dx, dy in (*passes, (0, 1, 1, 2))
        if (w := (width - x + dx - 1) // dx) and (h := (height - y + dy - 1) // dy)
    )

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 2, 0, 0, 1])
    pixels = zlib.compress(rows[: len(rows) - missing])
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_an_interlaced_png_is_measured_by_its_seven_passes() -> None:
    whole, short = interlaced_png(13, 11), interlaced_png(13, 11, missing=1)
    with Image.open(io.BytesIO(whole)) as image:
        image.load()  # Pillow agrees it is whole
    assert image_decodes(whole)
    assert not image_decodes(short)


def test_only_a_few_pictures_are_decoded_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = png(400, 300, "RGB")
    load = ImageFile.ImageFile.load
    state = threading.Condition()
    in_flight, peak = 0, 0
    release = threading.Event()

    def held(image: ImageFile.ImageFile) -> object:
        nonlocal in_flight, peak
        with state:
            in_flight += 1
            peak = max(peak, in_flight)
            state.notify_all()
        release.wait(timeout=10)
        try:
            return load(image)
        finally:
            with state:
                in_flight -= 1

    monkeypatch.setattr(ImageFile.ImageFile, "load", held)
    with ThreadPoolExecutor(max_workers=12) as pool:
        checks = [pool.submit(image_decodes, picture) for _ in range(6)]
        cleanings = [pool.submit(without_metadata, picture) for _ in range(6)]
        with state:
            assert state.wait_for(lambda: in_flight >= DECODES_AT_ONCE, timeout=10)
            # every call has started; none more may get in while these are held (a
            # bounded wait for what must not happen)
            assert not state.wait_for(lambda: in_flight > DECODES_AT_ONCE, timeout=0.5)
        release.set()
        assert all(check.result(timeout=10) for check in checks)
        assert all(cleaning.result(timeout=10) for cleaning in cleanings)
    assert peak == DECODES_AT_ONCE
