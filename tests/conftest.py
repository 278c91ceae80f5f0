import os
import sys

import numpy as np
import pytest

# Tests import the harness as a plain module.
sys.path.insert(0, os.path.dirname(__file__))


@pytest.fixture(autouse=True)
def _seeded():
    """Every test starts from the same random state: tests are deterministic."""
    import striate
    striate.manual_seed(0)
    np.random.seed(0)
    yield
