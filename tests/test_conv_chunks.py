"""Convolutions whose scratch columns are made a few samples at a time
(``conv.CHUNK_BYTES``): forward and every gradient still agree with PyTorch,
whatever the chunk, on the routes that chunk (nothing keeps the columns: no
weight gradient, or the weight gradient from the output gradient's columns)."""
import numpy as np
import pytest
import torch.nn.functional as TF

import striate
import striate.functional as F
from striate.functional import conv

from harness import check_against_torch, randn


@pytest.mark.parametrize("chunk_bytes", [1, 3000, 1 << 40])
@pytest.mark.parametrize("case", [
    dict(x=(5, 4, 7, 7), w=(6, 4, 3, 3), padding=1),            # O <= 2C: flipped route
    dict(x=(5, 2, 6, 6), w=(4, 1, 3, 3), padding=1, groups=2),
    dict(x=(5, 3, 8, 8), w=(4, 3, 3, 3), padding=2, dilation=2),
    dict(x=(5, 1, 6, 6), w=(7, 1, 3, 3), padding=1),            # O > 2C: columns kept
    dict(x=(5, 4, 9, 9), w=(4, 4, 3, 3), stride=2, padding=1),  # strided: col2im route
])
def test_chunked_convolution_matches_torch(monkeypatch, chunk_bytes, case):
    monkeypatch.setattr(conv, "CHUNK_BYTES", chunk_bytes)
    case = dict(case)
    x, w = randn(*case.pop("x"), seed=1), randn(*case.pop("w"), seed=2)
    b = randn(w.shape[0], seed=3)
    check_against_torch(F.conv2d, TF.conv2d, [x, w, b], **case)
    check_against_torch(F.conv2d, TF.conv2d, [x, w, b], grad=[True, False, False], **case)
    check_against_torch(F.conv2d, TF.conv2d, [x, w, b], grad=[False, True, True], **case)


def test_chunks_hold_a_few_samples(monkeypatch):
    # 4 channels x 9 taps x 49 pixels x 4 bytes = 7,056 bytes of columns per sample
    monkeypatch.setattr(conv, "CHUNK_BYTES", 15000)
    assert conv.chunk_size((5, 4, 7, 7), (6, 4, 3, 3), 4) == 2
    monkeypatch.setattr(conv, "CHUNK_BYTES", 1)
    assert conv.chunk_size((5, 4, 7, 7), (6, 4, 3, 3), 4) == 1
    with striate.no_grad():
        x = striate.Tensor(randn(5, 4, 7, 7, seed=1).astype(np.float32))
        w = striate.Tensor(randn(6, 4, 3, 3, seed=2).astype(np.float32))
        out = F.conv2d(x, w, padding=1)
    assert out.shape == (5, 6, 7, 7)
