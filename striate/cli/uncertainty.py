"""``striate predict --mc-dropout N``: mean and spread of the class
probabilities with dropout left on (Gal and Ghahramani 2016)."""
from .common import UsageError, probability


def print_mc_dropout(model, batch, paths, classes, samples, top):
    """One line per image: the ``top`` classes by mean probability, each as
    ``class mean ± std`` over ``samples`` stochastic passes."""
    from ..backend import xp
    from ..explain import mc_dropout

    try:
        mean, std = mc_dropout(model, batch, samples=samples)
    except ValueError as error:
        raise UsageError(f"--mc-dropout: {error}") from None
    classes = classes or [str(i) for i in range(mean.shape[1])]
    k = min(top, mean.shape[1])
    for path, row, spread in zip(paths, mean, std):
        best = xp.argsort(-row, kind="stable")[:k]
        print(f"{path}: " + ", ".join(f"{classes[i]} {probability(row[i])} ± "
                                      f"{100.0 * spread[i]:.2f}%" for i in best)
              + f"  (MC dropout, {samples} passes)")
    return 0
