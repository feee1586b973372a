"""Uploaded files at the boundary: checked by their content, images re-encoded, then stored.

Every surface that takes a file (the front door, the operator's form, a reply, a visit, the API,
Open311's media) hands it to ``prepare`` before anything is written. What comes out is an
``Upload`` held in memory: its type read from the bytes (``filetype``), never from the name or the
client's Content-Type; an image decoded and written again by Pillow, turned upright, shrunk to at
most ``KUAIBAN_IMAGE_MAX_SIDE`` pixels on its long side (a JPEG by the decoder's own power-of-two
scaling, so a 4000×3000 photo becomes 2000×1500) and carrying no metadata (EXIF with its
GPS position, XMP, comments); a PDF kept as it is. Anything else, anything larger than
``KUAIBAN_UPLOAD_MAX_MB``, or an image Pillow cannot read is refused with a ``ValidationFailed``
naming the form field, and nothing is stored.

The image work happens before the caller opens its transaction, so no row lock is held while a
photo is decoded; Pillow releases the GIL while it decodes and encodes, so threads of one process
do not wait on each other's photos either. ``store`` writes through Django's storage API
(``STORAGES["attachments"]``) under a name made of the content's SHA-256: storing the same photo
twice writes one file, and a file left by a transaction that rolled back is harmless (the
``attachments_prune`` command can remove files no row refers to).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import unicodedata
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import IO, Any

import filetype
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, storages
from django.http import FileResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from PIL import Image, ImageOps, UnidentifiedImageError

from kuaiban.core.errors import FieldError, ValidationFailed

# What an image may be on the way in; they all leave as JPEG (or PNG where they have transparency).
IMAGE_TYPES = {"image/jpeg", "image/png", "image/webp", "image/gif", "image/bmp", "image/tiff"}
DOCUMENT_TYPES = {"application/pdf": "pdf"}
NAME_MAX = 120
JPEG_QUALITY = 85


@dataclass(frozen=True)
class Upload:
    """A checked file, ready to store: bytes, the type read from them, what to show it as."""

    content: bytes
    content_type: str
    extension: str
    name: str
    width: int | None = None
    height: int | None = None

    @property
    def size(self) -> int:
        return len(self.content)

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    def storage_name(self) -> str:
        digest = self.sha256
        return f"{digest[:2]}/{digest}.{self.extension}"

    def describe(self) -> dict[str, Any]:
        """What the appeal's event records of it (sealed in the hash chain with the event)."""
        return {
            "name": self.name,
            "type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


def max_bytes() -> int:
    return int(settings.KUAIBAN_UPLOAD_MAX_MB) * 1024 * 1024


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldError(field, message)])


def _display_name(raw: str | None, extension: str) -> str:
    """The client's file name, as a label only: no folders, no control characters, our extension."""
    base = os.path.basename((raw or "").replace("\\", "/"))
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    stem = os.path.splitext(base)[0][: NAME_MAX - 6].strip(" .") or "file"
    return f"{stem}.{extension}"


def _read(file: IO[bytes], field: str) -> bytes:
    limit = max_bytes()
    declared = getattr(file, "size", None)
    if isinstance(declared, int) and declared > limit:
        raise _refuse(field, _too_large())
    if hasattr(file, "seek"):
        file.seek(0)
    data = file.read(limit + 1)
    if len(data) > limit:
        raise _refuse(field, _too_large())
    if not data:
        raise _refuse(field, _("The file is empty."))
    return data


def _too_large() -> str:
    return _("The file is larger than %(mb)s MB.") % {"mb": settings.KUAIBAN_UPLOAD_MAX_MB}


def _reencode(data: bytes, name: str | None, field: str) -> Upload:
    side = int(settings.KUAIBAN_IMAGE_MAX_SIDE)
    unreadable = _refuse(field, _("The image cannot be read; send a JPEG or PNG photo."))
    try:
        with warnings.catch_warnings():
            # A decompression bomb (a small file decoding to gigapixels) is an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            if opened.format == "JPEG":
                # Let the JPEG decoder scale down by itself (Pillow's draft: 1/2, 1/4 or 1/8)
                # by the smallest power of two that fits the long side: a 4000×3000 phone photo
                # is decoded straight to 2000×1500, in a quarter of the work, with no resampling
                # after it (which would cost more than decoding and encoding together).
                w, h = opened.size
                k = 1
                while max(w, h) / k > side and k < 8:
                    k *= 2
                opened.draft("RGB", (math.ceil(w / k), math.ceil(h / k)))
            opened.load()
            image = ImageOps.exif_transpose(opened)
            image.thumbnail((side, side), Image.Resampling.LANCZOS)
            transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
            out = io.BytesIO()
            if transparent:
                image.convert("RGBA").save(out, format="PNG")
                content_type, extension = "image/png", "png"
            else:
                # No exif=, icc_profile= or comment= is passed: the new file carries none of them.
                image.convert("RGB").save(out, format="JPEG", quality=JPEG_QUALITY)
                content_type, extension = "image/jpeg", "jpg"
    except (UnidentifiedImageError, Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise unreadable from None
    except (OSError, ValueError, SyntaxError, EOFError):
        raise unreadable from None
    return Upload(
        content=out.getvalue(),
        content_type=content_type,
        extension=extension,
        name=_display_name(name, extension),
        width=image.width,
        height=image.height,
    )


def prepare(file: IO[bytes], *, field: str, images_only: bool = False) -> Upload:
    """Check one uploaded file by its content and return it ready to store (see the module)."""
    data = _read(file, field)
    name = getattr(file, "name", None)
    kind = filetype.guess(data)
    mime = kind.mime if kind is not None else ""
    if mime in IMAGE_TYPES:
        return _reencode(data, name, field)
    if mime in DOCUMENT_TYPES and not images_only:
        extension = DOCUMENT_TYPES[mime]
        return Upload(data, mime, extension, _display_name(name, extension))
    if images_only:
        raise _refuse(field, _("Only photos can be sent here (JPEG, PNG, WebP)."))
    raise _refuse(field, _("This kind of file is not accepted: send photos or PDF documents."))


def prepare_all(
    files: Iterable[IO[bytes]], *, field: str, limit: int, images_only: bool = False
) -> tuple[Upload, ...]:
    """``prepare`` each file of one form field; more than ``limit`` of them is refused at once."""
    files = [f for f in files if f is not None]
    if len(files) > limit:
        raise _refuse(
            field,
            ngettext("At most %(n)d file.", "At most %(n)d files.", limit) % {"n": limit},
        )
    return tuple(prepare(f, field=field, images_only=images_only) for f in files)


def storage() -> Storage:
    return storages["attachments"]


def store(upload: Upload) -> str:
    """Write the file (once per content) and return its name in the attachments storage."""
    name = upload.storage_name()
    target = storage()
    if not target.exists(name):
        saved = target.save(name, ContentFile(upload.content))
        if saved != name:  # another process wrote the same content meanwhile: keep one copy
            target.delete(saved)
    return name


def file_response(name: str, *, content_type: str, filename: str) -> FileResponse:
    """Serve a stored file to someone already allowed to see it.

    Images are shown inline, everything else downloads; the browser is told not to guess the
    type and to treat the file as a sandboxed document (no script of it runs on our origin), and
    no cache but the reader's own keeps it.
    """
    inline = content_type in ("image/jpeg", "image/png")
    response = FileResponse(
        storage().open(name, "rb"),
        content_type=content_type,
        as_attachment=not inline,
        filename=filename,
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
