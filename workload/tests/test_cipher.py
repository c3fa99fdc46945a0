"""Encryption at rest: upstream's wire format (checked against Go), key rotation, and refusals."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from config_data import MINIMAL

from kratos.config import ConfigError, KratosConfig, load_config
from kratos.driver.registry import Registry
from kratos.hash.cipher import (
    AesGcmCipher,
    Cipher,
    CipherError,
    NoopCipher,
    XChaCha20Poly1305Cipher,
    make_cipher,
)

DATA = Path(__file__).parent / "data"
SAMPLES = json.loads((DATA / "ciphers.json").read_text())
OLD, NEW = b"32-LONG-SECRET-NOT-SECURE-AT-ALL", b"change this password to a secret"
AEADS: dict[str, type[AesGcmCipher] | type[XChaCha20Poly1305Cipher]] = {
    "aes": AesGcmCipher,
    "xchacha20-poly1305": XChaCha20Poly1305Cipher,
}
NONCE = {"aes": 12, "xchacha20-poly1305": 24}


def aead(algorithm: str, *keys: bytes) -> Cipher:
    return AEADS[algorithm](list(keys))


def sample_id(sample: dict[str, str]) -> str:
    return f"{sample['algorithm']}-{sample['plaintext'][:12]}"


@pytest.mark.parametrize("sample", SAMPLES, ids=sample_id)
def test_we_decrypt_what_upstreams_code_encrypted(sample: dict[str, str]) -> None:
    cipher = aead(sample["algorithm"], sample["key"].encode())
    assert cipher.decrypt(sample["ciphertext"]).decode() == sample["plaintext"]
    assert cipher.decrypt(sample["ciphertext"].upper()).decode() == sample["plaintext"]


def test_aes_reads_upstreams_legacy_fixture() -> None:
    # cipher/cipher_test.go TestAESBackwardsCompatibility: sealed by the older cryptopasta code.
    legacy = (
        "74756223e46170ef0579f207af41b7ed435d649ae94f22bd57934398e9861870e58feba1e949d28f18dfdda6395eabf4"
        "d2d31fdeb2b07c4c428e9829509470f6d8e23c17708f1368b6"
    )
    assert AesGcmCipher([NEW]).decrypt(legacy) == b"fixture: encrypted with caller-supplied nonce"


@pytest.fixture(scope="module")
def go_open(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Go program in tests/data/ciphers_go, built once; skipped where Go or its modules are missing."""
    if shutil.which("go") is None:
        pytest.skip("go is not installed")
    binary = tmp_path_factory.mktemp("go") / "ciphers_go"
    built = subprocess.run(
        ["go", "build", "-o", str(binary), "."], cwd=DATA / "ciphers_go", capture_output=True, text=True
    )
    if built.returncode != 0:
        pytest.skip(f"cannot build the Go program: {built.stderr.strip()}")
    return binary


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_go_decrypts_what_we_encrypt(go_open: Path, algorithm: str) -> None:
    plaintext = "refresh-token ✓ ".encode() * 5
    ciphertext = aead(algorithm, NEW, OLD).encrypt(plaintext)
    opened = subprocess.run(
        [str(go_open), "open", algorithm, NEW.decode(), ciphertext],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bytes.fromhex(opened.stdout.strip()) == plaintext


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_round_trip_layout_and_fresh_nonces(algorithm: str) -> None:
    cipher = aead(algorithm, OLD)
    message = b"my secret message!"
    first, second = cipher.encrypt(message), cipher.encrypt(message)
    assert first != second  # a random nonce each time
    assert len(bytes.fromhex(first)) == NONCE[algorithm] + len(message) + 16
    assert first == first.lower()
    assert cipher.decrypt(first) == cipher.decrypt(second) == message
    assert cipher.decrypt(cipher.encrypt(bytes(range(256)))) == bytes(range(256))


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_empty_values_stay_empty(algorithm: str) -> None:
    for cipher in (aead(algorithm, OLD), aead(algorithm)):  # no key needed for nothing
        assert cipher.encrypt(b"") == ""
        assert cipher.decrypt("") == b""


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_rotation_encrypts_with_the_first_and_decrypts_with_any(algorithm: str) -> None:
    old_ciphertext = aead(algorithm, OLD).encrypt(b"sealed before the rotation")
    rotated = aead(algorithm, NEW, OLD)
    assert rotated.decrypt(old_ciphertext) == b"sealed before the rotation"
    new_ciphertext = rotated.encrypt(b"sealed after")
    assert aead(algorithm, NEW).decrypt(new_ciphertext) == b"sealed after"
    with pytest.raises(CipherError, match="no configured cipher secret opens it"):
        aead(algorithm, OLD).decrypt(new_ciphertext)


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_tampering_and_wrong_keys_are_refused(algorithm: str) -> None:
    cipher = aead(algorithm, OLD)
    raw = bytearray.fromhex(cipher.encrypt(b"do not touch"))
    for index in (0, NONCE[algorithm], len(raw) - 1):  # nonce, body, tag
        altered = raw.copy()
        altered[index] ^= 1
        with pytest.raises(CipherError, match="wrong secret or altered data"):
            cipher.decrypt(altered.hex())
    with pytest.raises(CipherError, match="wrong secret or altered data"):
        aead(algorithm, NEW).decrypt(raw.hex())


@pytest.mark.parametrize("algorithm", sorted(AEADS))
@pytest.mark.parametrize(
    ("ciphertext", "message"),
    [
        ("not-empty", "unable to decode the hex-encoded ciphertext"),
        ("abc", "unable to decode the hex-encoded ciphertext"),
        ("ab cd", "unable to decode the hex-encoded ciphertext"),
        ("é", "unable to decode the hex-encoded ciphertext"),
        (b"bad-data".hex(), "the ciphertext is too short: 8 bytes"),
        (b"sixteen-bytes!!!".hex(), "the ciphertext is too short: 16 bytes"),
    ],
)
def test_bad_input_is_a_clear_error(algorithm: str, ciphertext: str, message: str) -> None:
    with pytest.raises(CipherError, match=message):
        aead(algorithm, OLD).decrypt(ciphertext)


@pytest.mark.parametrize("algorithm", sorted(AEADS))
def test_without_keys_nothing_is_encrypted(algorithm: str) -> None:
    with pytest.raises(CipherError, match=r"unable to encrypt: no cipher secrets are configured \(secrets"):
        aead(algorithm).encrypt(b"x")
    with pytest.raises(CipherError, match="unable to decrypt: no cipher secrets are configured"):
        aead(algorithm).decrypt("00" * 40)


def test_keys_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="cipher key 1 must be 32 bytes long, got 5"):
        AesGcmCipher([OLD, b"short"])


def test_noop_is_hex_as_upstream() -> None:
    noop = NoopCipher()
    assert noop.encrypt(b"my secret message!") == "6d7920736563726574206d65737361676521"
    assert noop.decrypt("6D7920736563726574206D65737361676521") == b"my secret message!"
    assert noop.encrypt(b"") == ""
    assert noop.decrypt("") == b""
    with pytest.raises(CipherError, match="unable to decode"):
        noop.decrypt("xyz")


def config(tmp_path: Path, extra: str) -> KratosConfig:
    base, overlay = tmp_path / "base.yml", tmp_path / "extra.yml"
    schema = (DATA / "identity.default.schema.json").resolve()
    base.write_text(MINIMAL.replace("file:///etc/identity.schema.json", f"file://{schema}"))
    overlay.write_text(extra)
    return load_config([base, overlay], env={})


def config_problems(tmp_path: Path, extra: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, extra)
    return caught.value.problems


def test_cipher_secrets_must_be_32_ascii_bytes(tmp_path: Path) -> None:
    extra = f"ciphers: {{algorithm: aes}}\nsecrets:\n  cipher: ['{OLD.decode()}', short, '{'é' * 32}']\n"
    assert config_problems(tmp_path, extra) == [
        "secrets.cipher[1]: must be exactly 32 characters long, got 5",
        "secrets.cipher[2]: must be 32 bytes long in UTF-8: use ASCII characters only",
    ]


@pytest.mark.parametrize("algorithm", sorted(AEADS))
@pytest.mark.parametrize("secrets", ["", "secrets: {cipher: []}\n"])
def test_an_encrypting_algorithm_needs_a_cipher_secret(tmp_path: Path, algorithm: str, secrets: str) -> None:
    assert config_problems(tmp_path, f"ciphers: {{algorithm: {algorithm}}}\n{secrets}") == [
        f"secrets.cipher: is required when ciphers.algorithm is {algorithm}"
    ]


@pytest.mark.parametrize("algorithm", ["noop", *sorted(AEADS)])
def test_make_cipher_and_the_registry_use_the_configured_algorithm(tmp_path: Path, algorithm: str) -> None:
    loaded = config(
        tmp_path,
        f"ciphers: {{algorithm: {algorithm}}}\nsecrets: {{cipher: ['{NEW.decode()}', '{OLD.decode()}']}}\n",
    )
    expected = AEADS.get(algorithm, NoopCipher)
    made = make_cipher(loaded)
    assert type(made) is expected

    async def scenario() -> Cipher:
        registry = await Registry.open(loaded)
        try:
            return registry.cipher
        finally:
            await registry.close()

    cipher = asyncio.run(scenario())
    assert type(cipher) is expected
    sealed = cipher.encrypt(b"token")
    assert made.decrypt(sealed) == b"token"
    if algorithm != "noop":  # sealed with the first secret, so readable with it alone
        assert aead(algorithm, NEW).decrypt(sealed) == b"token"
        with pytest.raises(CipherError):
            aead(algorithm, OLD).decrypt(sealed)


def test_noop_needs_no_secret(tmp_path: Path) -> None:
    assert type(make_cipher(config(tmp_path, "ciphers: {algorithm: noop}\n"))) is NoopCipher
