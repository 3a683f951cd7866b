import io
import os

import pytest

from openipt.core import stream_crypto
from openipt.core.stream_crypto import CHUNK_SIZE, DecryptionError, decrypt_stream, encrypt_stream

SIZES = [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE, 3 * CHUNK_SIZE + 17]


def seal(plain: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    encrypt_stream(io.BytesIO(plain), out, key)
    return out.getvalue()


def open_sealed(sealed: bytes, key: bytes) -> bytes:
    out = io.BytesIO()
    decrypt_stream(io.BytesIO(sealed), out, key)
    return out.getvalue()


class Trickle(io.RawIOBase):
    """A reader that hands out at most 1000 bytes per read, as sockets and storages may."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._data.read(min(size, 1000) if size >= 0 else 1000)


@pytest.mark.parametrize("size", SIZES)
def test_round_trip_across_chunk_boundaries(size):
    key = stream_crypto.new_key()
    plain = os.urandom(size)
    sealed = seal(plain, key)
    assert open_sealed(sealed, key) == plain
    if size >= 16:  # a shorter plaintext turns up in random ciphertext by chance
        assert plain not in sealed


def test_sealed_reports_size_and_sha256():
    import hashlib

    plain = os.urandom(CHUNK_SIZE * 2 + 5)
    result = encrypt_stream(io.BytesIO(plain), io.BytesIO(), stream_crypto.new_key())
    assert result.size == len(plain)
    assert result.sha256 == hashlib.sha256(plain).hexdigest()


def test_short_reads_are_handled():
    key = stream_crypto.new_key()
    plain = os.urandom(CHUNK_SIZE * 2 + 333)
    out = io.BytesIO()
    encrypt_stream(Trickle(plain), out, key)
    back = io.BytesIO()
    decrypt_stream(Trickle(out.getvalue()), back, key)
    assert back.getvalue() == plain


def test_same_plaintext_seals_differently_each_time():
    key = stream_crypto.new_key()
    plain = b"a" * 100
    assert seal(plain, key) != seal(plain, key)


@pytest.mark.parametrize("position", [0, 9, 20, CHUNK_SIZE + 30, -1])
def test_any_changed_byte_is_detected(position):
    key = stream_crypto.new_key()
    sealed = bytearray(seal(os.urandom(CHUNK_SIZE * 2 + 10), key))
    sealed[position] ^= 0x01
    with pytest.raises(DecryptionError):
        open_sealed(bytes(sealed), key)


def test_truncation_at_a_chunk_boundary_is_detected():
    key = stream_crypto.new_key()
    sealed = seal(os.urandom(CHUNK_SIZE * 3), key)
    header = len(stream_crypto.MAGIC) + 8
    block = CHUNK_SIZE + 16
    for chunks in (1, 2):
        with pytest.raises(DecryptionError):
            open_sealed(sealed[: header + chunks * block], key)


def test_truncation_inside_a_chunk_and_to_the_header_is_detected():
    key = stream_crypto.new_key()
    sealed = seal(os.urandom(CHUNK_SIZE + 100), key)
    for cut in (len(sealed) - 1, len(sealed) - 50, 16, 5, 0):
        with pytest.raises(DecryptionError):
            open_sealed(sealed[:cut], key)


def test_reordered_chunks_are_detected():
    key = stream_crypto.new_key()
    sealed = seal(os.urandom(CHUNK_SIZE * 3), key)
    header = len(stream_crypto.MAGIC) + 8
    block = CHUNK_SIZE + 16
    head, body = sealed[:header], sealed[header:]
    chunks = [body[i : i + block] for i in range(0, len(body), block)]
    swapped = head + chunks[1] + chunks[0] + chunks[2]
    with pytest.raises(DecryptionError):
        open_sealed(swapped, key)


def test_appended_data_is_detected():
    key = stream_crypto.new_key()
    sealed = seal(os.urandom(CHUNK_SIZE), key)
    with pytest.raises(DecryptionError):
        open_sealed(sealed + sealed[-(CHUNK_SIZE + 16) :], key)


def test_wrong_key_is_refused():
    sealed = seal(b"hello", stream_crypto.new_key())
    with pytest.raises(DecryptionError):
        open_sealed(sealed, stream_crypto.new_key())


def test_a_key_of_the_wrong_length_is_refused():
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"hello", b"short")


def test_the_iterator_yields_chunks_no_larger_than_a_chunk():
    key = stream_crypto.new_key()
    plain = os.urandom(CHUNK_SIZE * 2 + 1)
    parts = list(stream_crypto.decrypt_chunks(io.BytesIO(seal(plain, key)), key))
    assert [len(p) for p in parts] == [CHUNK_SIZE, CHUNK_SIZE, 1]
    assert b"".join(parts) == plain
