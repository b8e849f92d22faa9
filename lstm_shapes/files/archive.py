"""Zip archives read with limits: members read whole only when small, data read by byte range."""

from __future__ import annotations

import struct
import zipfile
import zlib
from typing import IO

from ..errors import FileFormatError

MAX_MEMBER = 64 << 20  # a pickle or header member larger than this is refused, whatever its zip entry declares
# what zipfile raises on damaged, encrypted or unsupported members
ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, NotImplementedError, RuntimeError, EOFError, OSError, ValueError)


def open_zip(path: str) -> zipfile.ZipFile:
    """The archive, or one line saying why it cannot be opened."""
    try:
        return zipfile.ZipFile(path)
    except ZIP_ERRORS as error:
        raise FileFormatError(f"{path}: not a readable zip archive ({error})") from None


def read_member(archive: zipfile.ZipFile, path: str, name: str, limit: int = MAX_MEMBER) -> bytes:
    """A small member's bytes, never more than `limit` of them even if a compressed member would inflate further."""
    info = archive.getinfo(name)
    if info.file_size > limit:
        raise FileFormatError(f"{path}: {name} declares {info.file_size} bytes; this reader reads at most {limit}")
    try:
        with archive.open(info) as member:
            data = member.read(limit + 1)
    except ZIP_ERRORS as error:
        raise FileFormatError(f"{path}: {name} cannot be read ({error})") from None
    if len(data) > limit:
        raise FileFormatError(f"{path}: {name} inflates past {limit} bytes (a zip bomb?)")
    return data


def open_member(archive: zipfile.ZipFile, path: str, name: str) -> IO[bytes]:
    """A member opened for streaming reads, or one line."""
    try:
        return archive.open(name)
    except ZIP_ERRORS as error:
        raise FileFormatError(f"{path}: {name} cannot be read ({error})") from None


def stored(info: zipfile.ZipInfo) -> bool:
    """Whether a member's bytes lie in the file as they are: not compressed, not encrypted."""
    return info.compress_type == zipfile.ZIP_STORED and info.compress_size == info.file_size and not info.flag_bits & 1


def stored_start(path: str, info: zipfile.ZipInfo) -> int:
    """Where a stored member's bytes begin in the file, from its local header (one line if that is damaged)."""
    try:
        with open(path, "rb") as raw:
            return _data_start(raw, path, info)
    except OSError as error:
        raise FileFormatError(f"{path}: {info.filename} cannot be read ({(error.strerror or str(error)).lower()})") from None


def _data_start(raw: IO[bytes], path: str, info: zipfile.ZipInfo) -> int:
    raw.seek(info.header_offset)
    header = raw.read(30)
    if len(header) < 30 or header[:4] != b"PK\x03\x04":
        raise FileFormatError(f"{path}: {info.filename} has a damaged local header")
    name_length, extra_length = struct.unpack("<HH", header[26:30])
    return info.header_offset + 30 + name_length + extra_length


def read_range(path: str, name: str, start: int, size: int) -> bytes:
    """`size` bytes from byte `start` of member `name`: a seek for a stored member, a streamed read otherwise."""
    with open_zip(path) as archive:
        try:
            info = archive.getinfo(name)
        except KeyError:
            raise FileFormatError(f"{path}: {name} is missing from the archive") from None
        if start < 0 or size < 0 or start + size > info.file_size:
            raise FileFormatError(f"{path}: {name} holds {info.file_size} bytes, not bytes {start} to {start + size}")
        try:
            if info.compress_type == zipfile.ZIP_STORED:
                with open(path, "rb") as raw:
                    raw.seek(_data_start(raw, path, info) + start)
                    data = raw.read(size)
            else:
                with archive.open(info) as member:
                    member.seek(start)  # a compressed member is inflated up to `start`, in bounded chunks
                    data = member.read(size)
        except ZIP_ERRORS as error:
            raise FileFormatError(f"{path}: {name} cannot be read ({error})") from None
    if len(data) != size:
        raise FileFormatError(f"{path}: {name} ends before byte {start + size} (truncated)")
    return data
