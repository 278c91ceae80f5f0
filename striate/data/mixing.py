"""Batch-level label mixing: Mixup and CutMix, and a loader that applies them.

Both pair every image of a batch with another image of the same batch (a
random permutation) and mix the pair's pixels and their labels in the same
proportion, so the targets become class probabilities (N, K); striate's
``cross_entropy`` takes those directly.

* **Mixup** (Zhang et al. 2018): lambda ~ Beta(alpha, alpha), one per batch;
  x = lambda x_i + (1 - lambda) x_j, y = lambda y_i + (1 - lambda) y_j.
* **CutMix** (Yun et al. 2019): a box covering about 1 - lambda of the image
  is pasted from x_j into x_i; lambda is then set to the exact fraction of
  pixels kept, and y mixes with it.

One lambda and one permutation per batch, drawn from
:func:`striate.random.generator`, as both papers do. Symbols: N batch,
C channels, H x W size, K classes.
"""
from .. import random as _random
from ..autograd import Tensor
from ..backend import xp
from .augment import _number

__all__ = ["one_hot", "Mixup", "CutMix", "MixChoice", "MixingLoader", "class_indices"]


def one_hot(labels, num_classes, dtype=xp.float32):
    """(N, K) one-hot rows of integer ``labels`` (N,)."""
    labels = xp.asarray(labels)
    if labels.ndim != 1 or not xp.issubdtype(labels.dtype, xp.integer):
        raise ValueError(f"one_hot: expected integer labels (N,), got {labels.dtype} {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"one_hot: labels must lie in [0, {num_classes}), got "
                         f"{labels.min()} to {labels.max()}")
    return xp.eye(num_classes, dtype=dtype)[labels]


def class_indices(targets):
    """Class indices (N,) for metrics: ``targets`` itself, or the most probable
    class of soft targets (N, K)."""
    data = targets.data if isinstance(targets, Tensor) else xp.asarray(targets)
    if data.ndim == 2:
        data = data.argmax(axis=1)
    return Tensor(data) if isinstance(targets, Tensor) else data


class _Mix:
    def __init__(self, alpha, num_classes):
        self.alpha = _number(alpha, f"{type(self).__name__} alpha")
        if self.alpha <= 0:
            raise ValueError(f"{type(self).__name__}: alpha must be positive, got {alpha}")
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"{type(self).__name__}: num_classes must be an int >= 2, "
                             f"got {num_classes!r}")
        self.num_classes = num_classes

    def __call__(self, images, labels):
        """(images (N, C, H, W) float, labels (N,) int) -> (mixed images, targets (N, K))."""
        images = xp.asarray(images)
        if images.ndim != 4 or not xp.issubdtype(images.dtype, xp.floating):
            raise ValueError(f"{type(self).__name__}: expected float images (N, C, H, W), "
                             f"got {images.dtype} {images.shape}")
        targets = one_hot(labels, self.num_classes, images.dtype)
        if len(images) != len(targets):
            raise ValueError(f"{type(self).__name__}: {len(images)} images but {len(targets)} labels")
        gen = _random.generator()
        lam = float(gen.beta(self.alpha, self.alpha))
        perm = gen.permutation(len(images))
        images, lam = self.mix_images(images, images[perm], lam, gen)
        return images, (lam * targets + (1 - lam) * targets[perm]).astype(images.dtype)

    def __repr__(self):
        return f"{type(self).__name__}(alpha={self.alpha}, num_classes={self.num_classes})"


class Mixup(_Mix):
    """See the module docstring; ``alpha`` 0.2 is the paper's ImageNet choice."""

    def mix_images(self, images, partners, lam, gen):
        return (lam * images + (1 - lam) * partners).astype(images.dtype), lam


class CutMix(_Mix):
    """See the module docstring; ``alpha`` 1 (lambda uniform) is the paper's choice."""

    def box(self, lam, height, width, gen):
        """(top, bottom, left, right) of a box of about (1 - lam) H W pixels,
        centred uniformly at random and cut to the image."""
        cut = (1 - lam) ** 0.5
        h, w = int(round(height * cut)), int(round(width * cut))
        cy, cx = int(gen.integers(height)), int(gen.integers(width))
        top, bottom = max(cy - h // 2, 0), min(cy + h - h // 2, height)
        left, right = max(cx - w // 2, 0), min(cx + w - w // 2, width)
        return top, bottom, left, right

    def mix_images(self, images, partners, lam, gen):
        height, width = images.shape[-2:]
        top, bottom, left, right = self.box(lam, height, width, gen)
        out = images.copy()
        out[..., top:bottom, left:right] = partners[..., top:bottom, left:right]
        return out, 1 - (bottom - top) * (right - left) / (height * width)


class MixChoice:
    """Apply one of ``mixes`` per batch, chosen uniformly at random."""

    def __init__(self, mixes):
        self.mixes = list(mixes)
        if not self.mixes:
            raise ValueError("MixChoice: no mixes given")

    def __call__(self, images, labels):
        if len(self.mixes) == 1:
            return self.mixes[0](images, labels)
        pick = int(_random.generator().integers(len(self.mixes)))
        return self.mixes[pick](images, labels)

    def __repr__(self):
        return f"MixChoice({self.mixes!r})"


class MixingLoader:
    """Wrap a :class:`~striate.data.DataLoader` so that each batch
    (images, labels) comes out mixed by ``mix``: (images, targets (N, K)).

    The wrapped loader draws its order and augmentation first, then ``mix``
    draws from the same generator, so a resumed run replays the same batches.
    """

    def __init__(self, loader, mix):
        self.loader, self.mix = loader, mix

    def __len__(self):
        return len(self.loader)

    def __getattr__(self, name):  # dataset, batch_size, transform, ... of the wrapped loader
        if name in ("loader", "mix"):
            raise AttributeError(name)
        return getattr(self.loader, name)

    def make_batch(self, indices, rows=None):
        # A data-parallel rank builds its share of a batch through this; the
        # pairs of a mix would then cross ranks, which is not implemented.
        raise NotImplementedError("mixup and cutmix are not available with data-parallel "
                                  "training (mpiexec) yet; train without them")

    def __iter__(self):
        for images, labels, *rest in self.loader:
            mixed, targets = self.mix(images.data, labels.data)
            yield (Tensor(xp.ascontiguousarray(mixed)), Tensor(targets), *rest)

    def __repr__(self):
        return f"MixingLoader({self.loader!r}, mix={self.mix!r})"
