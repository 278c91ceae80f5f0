"""Seeded randomness: one generator for the whole library, so that a seed
makes initialization, dropout, shuffling and augmentation reproducible and a
checkpoint can store and restore the exact random state."""
from .backend import xp

_generator = xp.random.default_rng(0)


def manual_seed(seed):
    """Reseed striate's generator (like ``torch.manual_seed``)."""
    global _generator
    _generator = xp.random.default_rng(int(seed))


def generator():
    """The library-wide generator (a ``numpy.random.Generator``)."""
    return _generator


def get_rng_state():
    """A JSON-serializable snapshot of the generator, for checkpoints."""
    return _generator.bit_generator.state


def set_rng_state(state):
    """Restore a snapshot taken with :func:`get_rng_state`."""
    _generator.bit_generator.state = state
