"""Hostile files, made at test time (never committed): a gzip bomb, and the like."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HEAD, TAIL = b'{"Records":[', b"]}"


def write_gzip_bomb(path: Path, inflated_size: int, chunk_size: int = 1 << 20) -> Path:
    """A well-formed CloudTrail log of no events, ``{"Records":[`` + spaces + ``]}``, ``inflated_size`` bytes
    once inflated (rounded up to whole chunks of spaces), in about a thousandth of that.

    Written in a second or so whatever the size: the spaces are one chunk compressed once after a full flush
    (which resets the compressor, so every chunk compresses to the same bytes), repeated; only the CRC is
    computed over every chunk.
    """
    from isal import isal_zlib

    chunks = max(1, -(-(inflated_size - len(HEAD) - len(TAIL)) // chunk_size))
    spaces = b" " * chunk_size
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = deflate.compress(HEAD) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(spaces) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail = deflate.compress(TAIL) + deflate.flush(zlib.Z_FINISH)
    crc = isal_zlib.crc32(HEAD)
    for _ in range(chunks):
        crc = isal_zlib.crc32(spaces, crc)
    crc = isal_zlib.crc32(TAIL, crc)
    size = len(HEAD) + chunks * chunk_size + len(TAIL)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head)
        for _ in range(chunks):
            out.write(block)
        out.write(tail + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return path
