"""Named random streams: one per source of randomness, keyed by name.

Each stream's seed is ``SeedSequence(seed, spawn_key=(replication, key(name)))``
where ``key`` is a stable hash of the name. So the numbers a stream gives do
not depend on which other streams exist or in which order they are created,
and replication ``r`` draws the same numbers in every scenario (common random
numbers) for as long as the scenario consumes the stream the same way.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stream_key(name: str) -> int:
    """A stable 64-bit integer for a stream name (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "little")


class RandomStreams:
    """The random generators of one replication, created on first use."""

    def __init__(self, seed: int, replication: int):
        if seed < 0 or replication < 0:
            raise ValueError("seed and replication must be non-negative")
        self.seed = seed
        self.replication = replication
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            sequence = np.random.SeedSequence(
                entropy=self.seed, spawn_key=(self.replication, stream_key(name))
            )
            generator = np.random.Generator(np.random.PCG64(sequence))
            self._generators[name] = generator
        return generator

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self._generators))
