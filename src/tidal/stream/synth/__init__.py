"""Seeded synthetic streams with known concepts and drifts.

Every generator is vectorised (numpy, whole chunks at a time), reproducible for a seed, and
turns into a Source with ``take(n, block_size=4096)``; the rows do not depend on the block size.

>>> from tidal.stream.synth import SEA, ConceptDrift
>>> drifting = ConceptDrift(SEA(variant=0, seed=1), SEA(variant=2, seed=1), position=5000)
>>> src = drifting.take(10_000)
>>> src.fingerprint() == drifting.take(10_000, block_size=7).fingerprint()
True
"""

from tidal.stream.synth._base import Generator
from tidal.stream.synth.agrawal import Agrawal
from tidal.stream.synth.drift import ConceptDrift
from tidal.stream.synth.hyperplane import Hyperplane
from tidal.stream.synth.led import LED
from tidal.stream.synth.rbf import RandomRBF, RandomRBFDrift
from tidal.stream.synth.sea import SEA
from tidal.stream.synth.stagger import STAGGER

__all__ = [
    "LED",
    "SEA",
    "STAGGER",
    "Agrawal",
    "ConceptDrift",
    "Generator",
    "Hyperplane",
    "RandomRBF",
    "RandomRBFDrift",
]
