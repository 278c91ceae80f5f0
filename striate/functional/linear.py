"""The fully connected layer as an op: y = x W^T + b.

Symbols: ``*`` any leading dims (batch, sequence, ...), IN input features,
OUT output features; weight is ``(OUT, IN)`` as in PyTorch, so checkpoints
interoperate. Leading dims are folded into one GEMM row axis, so one BLAS call
does the work whatever the rank.
"""
from ..autograd import Function
from .arguments import as_tensor, check_features

__all__ = ["linear"]


class Linear(Function):
    """forward(x (*, IN), weight (OUT, IN)[, bias (OUT,)]) -> (*, OUT).

    Backward: dx = g W, dW = g^T x and db = sum of g over the rows, all on the
    2-D views (M, IN) and (M, OUT) with M the product of the leading dims.
    """

    def forward(self, x, weight, bias=None):
        self.x, self.weight = x, weight
        x2 = x.reshape(-1, weight.shape[1])
        out = x2 @ weight.T
        if bias is not None:
            out += bias
        return out.reshape(x.shape[:-1] + (weight.shape[0],))

    def backward(self, g):
        need_x, need_w = self.needs_input_grad[:2]
        need_b = len(self.needs_input_grad) > 2 and self.needs_input_grad[2]
        g2 = g.reshape(-1, self.weight.shape[0])
        gx = (g2 @ self.weight).reshape(self.x.shape) if need_x else None
        gw = g2.T @ self.x.reshape(-1, self.weight.shape[1]) if need_w else None
        gb = g2.sum(axis=0) if need_b else None
        return (gx, gw, gb) if len(self.needs_input_grad) > 2 else (gx, gw)


def linear(input, weight, bias=None):
    """``input @ weight.T + bias`` for input ``(*, IN)``, weight ``(OUT, IN)``, bias ``(OUT,)``."""
    x, w = as_tensor(input, op="linear"), as_tensor(weight, op="linear")
    if w.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), "
                         f"got shape {tuple(w.shape)}")
    check_features(x, w.shape[1], "linear", weight=w)
    if bias is None:
        return Linear()(x, w)
    b = as_tensor(bias, op="linear")
    if tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"linear: bias of shape {tuple(b.shape)} does not match the "
                         f"{w.shape[0]} output features of weight {tuple(w.shape)}")
    return Linear()(x, w, b)
