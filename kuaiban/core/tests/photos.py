"""Realistic test photos: a phone's JPEG with the camera's EXIF and a GPS position in it."""

from __future__ import annotations

import io
import random

from PIL import ExifTags, Image

# 城关镇东关街, as a phone would write it: degrees, minutes, seconds.
GPS = {
    ExifTags.GPS.GPSLatitudeRef: "N",
    ExifTags.GPS.GPSLatitude: (34.0, 44.0, 52.8),
    ExifTags.GPS.GPSLongitudeRef: "E",
    ExifTags.GPS.GPSLongitude: (116.0, 56.0, 3.6),
}


def phone_jpeg(
    width: int = 1200, height: int = 900, *, gps: bool = True, noise: bool = False, seed: int = 7
) -> bytes:
    """A JPEG as a phone takes it: the camera model and (``gps``) where it was taken in EXIF.

    ``noise`` fills it with random pixels, so it compresses as badly as a real photo does
    (a 4000×3000 one is then about 3 MB at quality 90).
    """
    if noise:
        rnd = random.Random(seed)
        small = (max(1, width // 9), max(1, height // 9))
        image = Image.frombytes("RGB", small, rnd.randbytes(small[0] * small[1] * 3))
        image = image.resize((width, height), Image.Resampling.BICUBIC)
    else:
        image = Image.new("RGB", (width, height), (90, 120, 160))
        for x in range(0, width, 40):
            image.paste((200, 180, 60), (x, 0, x + 10, height))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Huawei"
    exif[ExifTags.Base.Model] = "Mate 60"
    exif[ExifTags.Base.Orientation] = 1
    if gps:
        exif.get_ifd(ExifTags.IFD.GPSInfo).update(GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def has_gps(data: bytes) -> bool:
    exif = Image.open(io.BytesIO(data)).getexif()
    return bool(exif.get_ifd(ExifTags.IFD.GPSInfo))


def has_exif(data: bytes) -> bool:
    image = Image.open(io.BytesIO(data))
    return bool(image.getexif()) or "exif" in image.info
