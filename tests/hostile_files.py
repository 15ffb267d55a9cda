"""Hostile files, made at test time (never committed): a gzip bomb, and the like."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HEAD, TAIL = b'{"Records":[', b"]}"


#: The head and tail of dense logs: millions of empty records, or one metric call of millions of empty points.
DENSE = {
    "records": (HEAD, b"{},", b"{}" + TAIL),
    "points": (HEAD + b'{"eventSource":"metrics-sagemaker.amazonaws.com","eventName":"BatchPutMetrics",'
               b'"eventTime":"2024-05-01T12:00:00Z","eventID":"e-dense","requestParameters":'
               b'{"trialComponentName":"dense","metricData":[', b"{},", b"{}]}}" + TAIL),
}


def write_gzip_bomb(path: Path, inflated_size: int, chunk_size: int = 1 << 20, *, filler: bytes = b" ",
                    head: bytes = HEAD, tail: bytes = TAIL, level: int = 9) -> Path:
    """A well-formed CloudTrail log of no events, ``{"Records":[`` + spaces + ``]}``, ``inflated_size`` bytes
    once inflated (rounded up to whole chunks of spaces), in about a thousandth of that.

    Written in a second or so whatever the size: the spaces are one chunk compressed once after a full flush
    (which resets the compressor, so every chunk compresses to the same bytes), repeated; only the CRC is
    computed over every chunk. ``filler`` (repeated in place of the space), ``head`` and ``tail`` make other
    logs of the kind (see :data:`DENSE`); ``level`` 0 stores the bytes as they are (a file as large as its
    content).
    """
    from isal import isal_zlib

    chunk_size -= chunk_size % len(filler)
    chunks = max(1, -(-(inflated_size - len(head) - len(tail)) // chunk_size))
    spaces = filler * (chunk_size // len(filler))
    deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
    head_block = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    block = deflate.compress(spaces) + deflate.flush(zlib.Z_FULL_FLUSH)
    tail_block = deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = isal_zlib.crc32(head)
    for _ in range(chunks):
        crc = isal_zlib.crc32(spaces, crc)
    crc = isal_zlib.crc32(tail, crc)
    size = len(head) + chunks * chunk_size + len(tail)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff" + head_block)
        for _ in range(chunks):
            out.write(block)
        out.write(tail_block + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF))
    return path
