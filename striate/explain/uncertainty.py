"""Monte Carlo dropout (Gal and Ghahramani 2016, "Dropout as a Bayesian
approximation"): keep dropout on at inference and run the same input many
times; the spread of the predicted probabilities measures how unsure the
model is. Batch normalization stays in evaluation mode (its running
statistics), only the ``Dropout`` layers sample.
"""
from ..autograd import Tensor, no_grad
from ..backend import xp
from .inputs import as_batch, check_logits, inspecting

__all__ = ["mc_dropout"]


def mc_dropout(model, x, samples=30, seed=None):
    """``(mean, std)`` of the class probabilities over ``samples`` stochastic
    forward passes, each (N, K), float64.

    ``x``: (N, C, H, W) or (C, H, W). ``seed``: seeds striate's generator
    first, for repeatable masks (the generator's state is restored afterwards).
    Raises ValueError for a model without ``Dropout`` layers, where every pass
    would give the same answer.
    """
    from .. import random
    from ..functional import softmax
    from ..nn import Dropout

    if isinstance(samples, bool) or not isinstance(samples, (int, xp.integer)) or samples < 2:
        raise ValueError(f"mc_dropout: samples must be an int >= 2, got {samples!r}")
    if not any(isinstance(m, Dropout) and m.p > 0 for m in model.modules()):
        raise ValueError(f"mc_dropout: {type(model).__name__} has no Dropout layer with p > 0, so "
                         "every pass would give the same probabilities; use a model with dropout")
    batch = as_batch(model, x, "mc_dropout")
    state = random.get_rng_state() if seed is not None else None
    try:
        if seed is not None:
            random.manual_seed(seed)
        runs = []
        with inspecting(model, dropout=True), no_grad():
            for _ in range(samples):
                logits = check_logits(model(Tensor(batch)), "mc_dropout")
                runs.append(softmax(logits.astype(xp.float64), dim=1).data)
    finally:
        if state is not None:
            random.set_rng_state(state)
    runs = xp.stack(runs)                               # (samples, N, K)
    return runs.mean(axis=0), runs.std(axis=0)
