"""PasswordHasher: hashing with the configured algorithm, verification of any format, off the event loop."""

from __future__ import annotations

import asyncio
import base64
import os
import re
import threading

import pytest

from kratos.hash.errors import PasswordTooLongError, UnknownHashFormatError
from kratos.hash.hasher import PasswordHasher
from kratos.hash.params import Argon2Params, BcryptParams

FAST_ARGON2 = Argon2Params(memory_kib=64, iterations=1, parallelism=2)
PBKDF2 = (
    "$pbkdf2-sha256$i=100000,l=32$1jP+5Zxpxgtee/iPxGgOz0RfE9/KJuDElP1ley4VxXc$"
    "QJxzfvdbHYBpydCbHoFg3GJEqMFULwskiuqiJctoYpI"
)


def bcrypt_hasher(cost: int = 4, **kwargs: int) -> PasswordHasher:
    return PasswordHasher("bcrypt", BcryptParams(cost=cost), FAST_ARGON2, **kwargs)


def argon2_hasher(params: Argon2Params = FAST_ARGON2, **kwargs: int) -> PasswordHasher:
    return PasswordHasher("argon2", BcryptParams(cost=4), params, **kwargs)


def raw_b64_len(text: str) -> int:
    return len(base64.b64decode(text + "=" * (-len(text) % 4)))


def test_bcrypt_round_trip() -> None:
    async def scenario() -> None:
        hasher = bcrypt_hasher()
        try:
            hashed = await hasher.hash("secret-pässword")
            assert re.fullmatch(r"\$2a\$04\$[./A-Za-z0-9]{53}", hashed)
            assert await hasher.verify("secret-pässword", hashed)
            assert not await hasher.verify("secret-password", hashed)
            assert not hasher.needs_rehash(hashed)
            assert bcrypt_hasher(cost=5).needs_rehash(hashed)
            assert argon2_hasher().needs_rehash(hashed)
            assert await hasher.hash("secret-pässword") != hashed  # fresh salt
        finally:
            hasher.close()

    asyncio.run(scenario())


def test_bcrypt_default_cost_is_12() -> None:
    assert BcryptParams().cost == 12

    async def scenario() -> str:
        hasher = PasswordHasher("bcrypt", BcryptParams(), FAST_ARGON2)
        try:
            return await hasher.hash("password")
        finally:
            hasher.close()

    hashed = asyncio.run(scenario())
    assert hashed.startswith("$2a$12$")
    assert len(hashed) == 60


def test_bcrypt_rejects_passwords_over_72_bytes() -> None:
    async def scenario() -> None:
        hasher = bcrypt_hasher()
        try:
            hashed = await hasher.hash("a" * 72)
            assert await hasher.verify("a" * 72, hashed)
            with pytest.raises(PasswordTooLongError, match="72 bytes") as excinfo:
                await hasher.hash("a" * 73)
            assert excinfo.value.length == 73
            with pytest.raises(PasswordTooLongError):
                await hasher.hash("€" * 25)  # 25 characters, 75 bytes
            assert not await hasher.verify("a" * 73, hashed)
        finally:
            hasher.close()

    asyncio.run(scenario())


def test_argon2_round_trip_and_parameters() -> None:
    async def scenario() -> None:
        hasher = argon2_hasher()
        try:
            hashed = await hasher.hash("correct horse")
            match = re.fullmatch(
                r"\$argon2id\$v=19\$m=64,t=1,p=2\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)", hashed
            )
            assert match is not None
            assert raw_b64_len(match.group(1)) == 16
            assert raw_b64_len(match.group(2)) == 32
            assert await hasher.verify("correct horse", hashed)
            assert not await hasher.verify("correct horsf", hashed)
            assert not hasher.needs_rehash(hashed)
            for changed in (
                Argon2Params(memory_kib=128, iterations=1, parallelism=2),
                Argon2Params(memory_kib=64, iterations=2, parallelism=2),
                Argon2Params(memory_kib=64, iterations=1, parallelism=1),
                Argon2Params(memory_kib=64, iterations=1, parallelism=2, salt_length=32),
                Argon2Params(memory_kib=64, iterations=1, parallelism=2, key_length=16),
            ):
                assert argon2_hasher(changed).needs_rehash(hashed)
            assert bcrypt_hasher().needs_rehash(hashed)
            # A bcrypt-configured hasher still verifies argon2 hashes (and vice versa).
            assert await bcrypt_hasher().verify("correct horse", hashed)
        finally:
            hasher.close()

    asyncio.run(scenario())


def test_foreign_and_malformed_hashes() -> None:
    async def scenario() -> None:
        hasher = argon2_hasher()
        try:
            assert await hasher.verify("test", PBKDF2)
            assert not await hasher.verify("tset", PBKDF2)
            assert hasher.needs_rehash(PBKDF2)
            assert hasher.needs_rehash("$argon2i$v=19$m=64,t=1,p=2$c2FsdHNhbHQ$aGFzaGhhc2g")
            for broken in ("", "plaintext", "$argon2id$v=19$garbage", "$2a$04$short"):
                assert not await hasher.verify("test", broken)
                assert hasher.needs_rehash(broken)
                with pytest.raises(UnknownHashFormatError):
                    hasher.validate(broken)
            hasher.validate(PBKDF2)
        finally:
            hasher.close()

    asyncio.run(scenario())


def test_configured_parameters_widen_the_import_limits() -> None:
    huge = "$argon2id$v=19$m=4194304,t=1,p=4$cm94YnRVOW5jZzFzcVE4bQ$MNzk5BtR2vUhrp6qQEjRNw"
    small = argon2_hasher()
    big = argon2_hasher(Argon2Params(memory_kib=4194304, iterations=1, parallelism=4, key_length=16))
    try:
        with pytest.raises(UnknownHashFormatError, match="out of bounds"):
            small.validate(huge)
        big.validate(huge)  # hashes of the configured parameters are always accepted
        assert not big.needs_rehash(huge)
    finally:
        small.close()
        big.close()


def test_work_runs_off_the_event_loop_in_a_bounded_pool() -> None:
    async def scenario() -> tuple[list[bool], int, set[str]]:
        hasher = argon2_hasher(Argon2Params(memory_kib=1024, iterations=2, parallelism=1), max_concurrency=2)
        try:
            assert hasher.max_concurrency == 2
            task = asyncio.ensure_future(hasher.hash("slow"))
            ticks = 0
            while not task.done():
                await asyncio.sleep(0.001)
                ticks += 1
            assert ticks >= 1  # the loop kept running while the hash was computed
            hashed = task.result()
            results = await asyncio.gather(*(hasher.verify("slow", hashed) for _ in range(12)))
            workers = {t.name for t in threading.enumerate() if t.name.startswith("kratos-hash")}
            return results, ticks, workers
        finally:
            hasher.close()

    results, _, workers = asyncio.run(scenario())
    assert results == [True] * 12
    assert 1 <= len(workers) <= 2
    assert not {t.name for t in threading.enumerate() if t.name in workers}  # close() joined them


def test_defaults_and_close() -> None:
    hasher = bcrypt_hasher()
    assert hasher.max_concurrency == (os.cpu_count() or 1)
    hasher.close()
    with pytest.raises(RuntimeError):
        asyncio.run(hasher.hash("after close"))
    params = Argon2Params()
    assert (params.memory_kib, params.iterations, params.salt_length, params.key_length) == (
        131072,
        1,
        16,
        32,
    )
    assert params.parallelism == 2 * (os.cpu_count() or 1)


@pytest.mark.parametrize(
    "make",
    [
        lambda: BcryptParams(cost=3),
        lambda: BcryptParams(cost=32),
        lambda: Argon2Params(memory_kib=8, parallelism=2),
        lambda: Argon2Params(iterations=0),
        lambda: Argon2Params(salt_length=4),
        lambda: PasswordHasher("md5", BcryptParams(), FAST_ARGON2),  # type: ignore[arg-type]
        lambda: PasswordHasher("bcrypt", BcryptParams(), FAST_ARGON2, max_concurrency=0),
    ],
)
def test_invalid_configuration_is_refused(make: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - each case has its own message
        make()  # type: ignore[operator]
