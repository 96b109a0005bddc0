"""Ed25519 signing of signals: the operator signs, every subscriber's client verifies against a pinned key."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.records import Signal, decode_signature, encode_signature


def load_or_create_key(path: Path) -> Ed25519PrivateKey:
    """The operator's signing key; created on first run in a file only its owner can read (0600)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{path} does not hold an Ed25519 private key")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    # O_EXCL: two processes starting at once must not both write (and so disagree on) the key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def sign_signal(signal: Signal, key: Ed25519PrivateKey) -> Signal:
    """A copy of the signal carrying its signature over the canonical record."""
    unsigned = signal.model_copy(update={"signature": ""})
    return signal.model_copy(update={"signature": encode_signature(key.sign(unsigned.canonical_bytes()))})


def verify_signal(signal: Signal, public: Ed25519PublicKey) -> bool:
    """True only if the signature is valid for exactly this record."""
    if not signal.signature:
        return False
    try:
        public.verify(decode_signature(signal.signature), signal.canonical_bytes())
    except (InvalidSignature, ValueError):
        return False
    return True
