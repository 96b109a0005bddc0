"""Ed25519 signing of signals: the operator signs, every subscriber's client verifies against a pinned key."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
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


# ---------------------------------------------------------------------------------------------------- hash chain
def signal_hash(signal: Signal) -> str:
    """SHA-256 (hex) of the signal's canonical bytes: what the next signal on its surface carries as ``prev_hash``.

    The canonical bytes cover every field but the signature (including this signal's own ``prev_hash``), so each
    hash commits to the whole history of the surface before it.
    """
    return hashlib.sha256(signal.canonical_bytes()).hexdigest()


def chain(signal: Signal, previous: Signal | None, key: Ed25519PrivateKey) -> Signal:
    """``signal`` linked after ``previous`` (None: it starts the surface's chain) and signed."""
    return sign_signal(signal.model_copy(update={"prev_hash": signal_hash(previous) if previous else ""}), key)


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """The first signal on a surface where the published history is not what was signed in sequence."""

    surface: str
    signal_id: str
    reason: str


@dataclass(slots=True)
class _Surface:
    signals: int = 0
    linked: int = 0
    by_hash: dict[str, Signal] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # signal id -> its hash
    children: dict[str, list[str]] = field(default_factory=dict)  # hash -> ids of signals claiming it as prev
    waiting: dict[str, list[Signal]] = field(default_factory=dict)  # missing prev hash -> signals claiming it
    roots_with_children: dict[str, Signal] = field(default_factory=dict)  # chain starts (prev_hash "") in use
    breaks: list[ChainBreak] = field(default_factory=list)


class ChainCheck:
    """Checks signals against the operator's key and the per-surface hash chain; signals may come in any order.

    What it catches, per surface:
    - a signal whose signature does not verify (edited without the key, or forged);
    - a signal edited and re-signed with the key: the next signal's ``prev_hash`` no longer names any signal
      (a *missing predecessor*), and where the checker holds a copy received earlier (``witnesses``, e.g. the
      client's own records) the two copies differ;
    - a signal removed: the next one's predecessor is missing;
    - a signal inserted: two signals claim the same predecessor (a fork); the one nothing links to is named;
    - a cut where the chain was restarted (a second chain start that others link to).

    With ``complete=True`` (the operator's whole log, read in order) a missing predecessor is a break. With
    ``complete=False`` (the subscriber's view: the history endpoint serves resolved signals only) it is a *gap*:
    the missing signal may still be open, or may have been removed; only its resolution (or a witness) tells.
    Signals from before the chain existed (no ``prev_hash``, nothing linking to them) are counted as unchained.
    """

    def __init__(self, public_key: Ed25519PublicKey, *, complete: bool,
                 witnesses: Iterable[Signal] = ()) -> None:
        self.public_key = public_key
        self.complete = complete
        self.surfaces: dict[str, _Surface] = {}
        self._witness_by_id = {w.id: w for w in witnesses}
        self._witness_by_hash = {signal_hash(w): w for w in self._witness_by_id.values()}

    def add(self, signal: Signal) -> None:
        """Take one signal into the check (any order); breaks are kept per surface."""
        state = self.surfaces.setdefault(signal.surface, _Surface())
        state.signals += 1
        if not verify_signal(signal, self.public_key):
            state.breaks.append(ChainBreak(signal.surface, signal.id,
                                           "its signature does not verify: edited after signing, or forged"))
            return
        digest = signal_hash(signal)
        if signal.id in state.ids:
            if state.ids[signal.id] != digest:
                state.breaks.append(ChainBreak(signal.surface, signal.id, "two different signals carry this id"))
            return
        witness = self._witness_by_id.get(signal.id)
        if witness is not None and signal_hash(witness) != digest:
            state.breaks.append(ChainBreak(signal.surface, signal.id,
                                           "differs from the copy of it received when it was published: edited"))
        state.ids[signal.id] = digest
        state.by_hash[digest] = signal
        for child in state.waiting.pop(digest, []):
            self._link(state, child, digest)
        if signal.prev_hash:
            if signal.prev_hash in state.by_hash or self._bridged(signal.prev_hash, state):
                self._link(state, signal, signal.prev_hash)
            else:
                state.waiting.setdefault(signal.prev_hash, []).append(signal)

    def _bridged(self, prev: str, state: _Surface) -> bool:
        """Whether witnessed signals (received earlier, not in this history) lead from ``prev`` to one we hold."""
        seen: set[str] = set()
        while prev in self._witness_by_hash and prev not in seen:
            seen.add(prev)
            prev = self._witness_by_hash[prev].prev_hash
            if not prev or prev in state.by_hash:
                return True
        return False

    def _link(self, state: _Surface, signal: Signal, prev: str) -> None:
        state.linked += 1
        siblings = state.children.setdefault(prev, [])
        siblings.append(signal.id)
        parent = state.by_hash.get(prev)
        if parent is not None and not parent.prev_hash:
            state.roots_with_children[parent.id] = parent

    def breaks(self) -> list[ChainBreak]:
        """Every break found, first per surface first."""
        out: list[ChainBreak] = []
        for name in sorted(self.surfaces):
            state = self.surfaces[name]
            found = list(state.breaks)
            for kids in state.children.values():
                if len(kids) > 1:
                    found.append(ChainBreak(name, self._inserted(state, kids),
                                            f"{len(kids)} signals claim the same predecessor: one was inserted"))
            roots = sorted(state.roots_with_children.values(), key=lambda s: (s.published_at, s.id))
            for root in roots[1:]:
                found.append(ChainBreak(name, root.id, "the chain starts again here: history before it was cut"))
            if self.complete:
                for waiting in state.waiting.values():
                    for signal in waiting:
                        found.append(ChainBreak(name, signal.id, "the signal it follows is not in the history: "
                                                                 "edited or removed"))
            out.extend(sorted(found, key=lambda b: (self._published(state, b.signal_id), b.signal_id)))
        return out

    @staticmethod
    def _published(state: _Surface, signal_id: str) -> str:
        digest = state.ids.get(signal_id)
        signal = state.by_hash.get(digest) if digest else None
        return signal.published_at.isoformat() if signal is not None else ""

    @staticmethod
    def _inserted(state: _Surface, kids: list[str]) -> str:
        """Of signals claiming one predecessor, the inserted one: nothing links to it (else the latest)."""
        leaves = [k for k in kids if not state.children.get(state.ids[k])]
        pool = leaves if len(leaves) == 1 else kids
        return max(pool, key=lambda k: (ChainCheck._published(state, k), k))

    def gaps(self) -> list[tuple[str, str]]:
        """(surface, signal id) of signals whose predecessor is not here (complete=False): open, or removed."""
        if self.complete:
            return []
        return sorted((name, s.id) for name, state in self.surfaces.items()
                      for waiting in state.waiting.values() for s in waiting)

    @property
    def signals(self) -> int:
        return sum(state.signals for state in self.surfaces.values())

    @property
    def linked(self) -> int:
        return sum(state.linked for state in self.surfaces.values())

    def summary(self) -> str:
        """One line: "history verified: N signals, chain intact" or "history broken at <id> (<surface>): why"."""
        found = self.breaks()
        if found:
            first = found[0]
            return f"history broken at {first.signal_id} ({first.surface}): {first.reason}"
        text = f"history verified: {self.signals} signals, chain intact"
        gaps = self.gaps()
        if gaps:
            text += (f" where complete; {len(gaps)} signal(s) link to one not in this history "
                     "(still open, or removed)")
        return text
