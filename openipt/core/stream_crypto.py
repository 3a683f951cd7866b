"""Streamed authenticated encryption of large files (docs/adr/0021-session-recordings.md).

A file is sealed in 64 KiB chunks with AES-256-GCM so that neither side ever holds the whole
file in memory. The layout is a header (``MAGIC`` and an 8-byte random nonce prefix) followed by
the chunks, each its ciphertext and 16-byte tag. Chunk ``i`` uses the nonce ``prefix || i`` (a
4-byte counter) and authenticates the header, its index and whether it is the last chunk, so
reordered, dropped, appended or truncated chunks fail to decrypt, as does any changed byte or a
wrong key. An empty file is one empty final chunk.

Pure functions over binary file objects; the caller chooses the key (32 random bytes per file).
"""

from __future__ import annotations

import hashlib
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"OIPTSTR1"
CHUNK_SIZE = 64 * 1024
KEY_SIZE = 32
_PREFIX_SIZE = 8
_TAG_SIZE = 16
_HEADER_SIZE = len(MAGIC) + _PREFIX_SIZE
_MAX_CHUNKS = 2**32


class DecryptionError(Exception):
    """The data is not what was sealed with this key: changed, cut short, or another key."""


@dataclass(frozen=True)
class Sealed:
    """What was sealed: the plaintext's length and SHA-256 (hex)."""

    size: int
    sha256: str


def new_key() -> bytes:
    return os.urandom(KEY_SIZE)


def _aad(header: bytes, index: int, final: bool) -> bytes:
    return header + struct.pack(">IB", index, 1 if final else 0)


def _nonce(prefix: bytes, index: int) -> bytes:
    return prefix + struct.pack(">I", index)


def _read_full(src: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes, fewer only at the end of the stream."""
    parts: list[bytes] = []
    wanted = size
    while wanted > 0:
        part = src.read(wanted)
        if not part:
            break
        parts.append(part)
        wanted -= len(part)
    return b"".join(parts)


def _cipher(key: bytes) -> AESGCM:
    if len(key) != KEY_SIZE:
        raise ValueError("The key must be 32 bytes")
    return AESGCM(key)


def encrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> Sealed:
    """Read ``src`` to its end and write it sealed to ``dst``."""
    cipher = _cipher(key)
    prefix = os.urandom(_PREFIX_SIZE)
    header = MAGIC + prefix
    dst.write(header)
    digest = hashlib.sha256()
    size = 0
    index = 0
    chunk = _read_full(src, CHUNK_SIZE)
    while True:
        following = _read_full(src, CHUNK_SIZE) if len(chunk) == CHUNK_SIZE else b""
        final = not following
        if index >= _MAX_CHUNKS:
            raise ValueError("The file is too large to seal")
        digest.update(chunk)
        size += len(chunk)
        dst.write(cipher.encrypt(_nonce(prefix, index), chunk, _aad(header, index, final)))
        if final:
            break
        chunk = following
        index += 1
    return Sealed(size=size, sha256=digest.hexdigest())


def decrypt_chunks(src: BinaryIO, key: bytes) -> Iterator[bytes]:
    """The plaintext of a sealed stream, chunk by chunk (for a streaming response). Raises
    ``DecryptionError`` at the first chunk that does not authenticate; the chunks already
    yielded were genuine."""
    cipher = _cipher(key)
    header = _read_full(src, _HEADER_SIZE)
    if len(header) != _HEADER_SIZE or not header.startswith(MAGIC):
        raise DecryptionError("Not a sealed stream")
    prefix = header[len(MAGIC) :]
    block_size = CHUNK_SIZE + _TAG_SIZE
    block = _read_full(src, block_size)
    index = 0
    while True:
        if len(block) < _TAG_SIZE:
            raise DecryptionError("The stream is cut short")
        following = _read_full(src, block_size) if len(block) == block_size else b""
        final = not following
        try:
            plain = cipher.decrypt(_nonce(prefix, index), block, _aad(header, index, final))
        except InvalidTag as error:
            raise DecryptionError("A chunk does not authenticate") from error
        yield plain
        if final:
            return
        block = following
        index += 1


def decrypt_stream(src: BinaryIO, dst: BinaryIO, key: bytes) -> int:
    """Write the plaintext of ``src`` to ``dst``; returns its length. On ``DecryptionError``
    ``dst`` may hold a genuine prefix and must be discarded."""
    size = 0
    for plain in decrypt_chunks(src, key):
        dst.write(plain)
        size += len(plain)
    return size
