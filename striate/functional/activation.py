"""Activations: elementwise nonlinearities, and softmax / log-softmax along one dim.

Each backward is written from the function's own derivative, usually in terms
of the saved output (ReLU's mask, sigmoid's ``s (1 - s)``, tanh's ``1 - t^2``)
so that nothing is recomputed. Softmax and log-softmax are single fused ops
(not built from exp/sum/div), which keeps them numerically stable and cheap.
"""
import math

from .. import accel, backend
from ..autograd import Function
from ..backend import xp
from .arguments import as_tensor, check_choice

__all__ = ["relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "sigmoid", "tanh",
           "softplus", "hardtanh", "softmax", "log_softmax", "erf"]


# --------------------------------------------------------------------------- erf

# W. J. Cody, "Rational Chebyshev approximations for the error function",
# Math. Comp. 23 (1969) 631-637; coefficients as in his CALERF routine (netlib
# SPECFUN). Three ranges of |x|: erf directly near 0, erfc on (0.46875, 4] and
# an asymptotic form in 1/x^2 beyond 4. Maximal error about 1e-16 relative (a
# test compares with Python's math.erf on a dense grid), so GELU agrees with
# PyTorch to float64 precision without SciPy.
_ERF_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
          3.20937758913846947e03, 1.85777706184603153e-1)
_ERF_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
          2.84423683343917062e03)
_ERFC_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
           2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
           2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)
_ERFC_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
           1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
           3.43936767414372164e03, 1.23033935480374942e03)
_ERFC_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
           1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)
_ERFC_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
           6.05183413124413191e-2, 2.33520497626869185e-3)
_ONE_OVER_SQRT_PI = 5.6418958354775628695e-1


def _erfc_times_exp(y, numerator, denominator):
    """erfc(y) for y > 0.46875 from Cody's rational factor R(y): erfc = exp(-y^2) R.
    exp(-y^2) is split as exp(-ys^2) exp(-(y - ys)(y + ys)), ys = y rounded down to
    1/16, which keeps the rounding error of y^2 out of the exponent (as CALERF does)."""
    y_rounded = xp.trunc(y * 16.0) / 16.0
    rest = (y - y_rounded) * (y + y_rounded)
    return xp.exp(-y_rounded * y_rounded) * xp.exp(-rest) * (numerator / denominator)


def erf_array(x):
    """The error function of a float array (float64 arithmetic, result in x's dtype)."""
    x64 = xp.asarray(x, dtype=xp.float64)
    y = xp.abs(x64)
    out = xp.empty_like(y)

    near = y <= 0.46875
    z = y[near] ** 2
    num, den = _ERF_A[4] * z, z
    for a, b in zip(_ERF_A[:3], _ERF_B[:3]):
        num, den = (num + a) * z, (den + b) * z
    out[near] = x64[near] * (num + _ERF_A[3]) / (den + _ERF_B[3])

    middle = (y > 0.46875) & (y <= 4.0)
    v = y[middle]
    num, den = _ERFC_C[8] * v, v
    for c, d in zip(_ERFC_C[:7], _ERFC_D[:7]):
        num, den = (num + c) * v, (den + d) * v
    out[middle] = 1.0 - _erfc_times_exp(v, num + _ERFC_C[7], den + _ERFC_D[7])

    far = y > 4.0
    v = y[far]
    z = 1.0 / (v * v)
    num, den = _ERFC_P[5] * z, z
    for p, q in zip(_ERFC_P[:4], _ERFC_Q[:4]):
        num, den = (num + p) * z, (den + q) * z
    tail = (_ONE_OVER_SQRT_PI - z * (num + _ERFC_P[4]) / (den + _ERFC_Q[4])) / v
    out[far] = 1.0 - _erfc_times_exp(v, tail, 1.0)

    negative = ~near & (x64 < 0)  # the two erfc ranges computed erf(|x|)
    out[negative] = -out[negative]
    return out.astype(x.dtype, copy=False) if backend.is_floating(x.dtype) else out


class Erf(Function):
    def forward(self, x):
        self.x = x
        return erf_array(x)

    def backward(self, g):
        return g * (2.0 / math.sqrt(math.pi)) * xp.exp(-self.x * self.x)


# --------------------------------------------------------------------------- piecewise linear


#: elements per pass of :func:`maximum_with_zero`, and the size of its zeros
ZERO_BLOCK = 1 << 16
_zero_blocks = {}


def _memory_run(x):
    """``x``'s memory as a 1-d view, or None where ``x`` is not one gapless
    block (a crop, a negative stride)."""
    order = sorted(range(x.ndim), key=lambda axis: -abs(x.strides[axis]))
    in_memory_order = x.transpose(order)
    return in_memory_order.reshape(-1) if in_memory_order.flags.c_contiguous else None


def maximum_with_zero(x):
    """max(x, 0) into a new array of ``x``'s memory order (NaN stays NaN).

    NumPy (2.4) runs ``maximum`` against a scalar element by element, but
    against an array in SIMD, about 2.5 times faster on this project's
    machine; so the maximum is taken against a block of zeros, one block of
    ``x``'s memory at a time."""
    out = xp.empty_like(x)
    source, target = _memory_run(x), _memory_run(out)
    if source is None or target is None:
        return xp.maximum(x, 0, dtype=x.dtype)
    zeros = _zero_blocks.get(x.dtype)
    if zeros is None:
        zeros = _zero_blocks[x.dtype] = xp.zeros(ZERO_BLOCK, x.dtype)
    for start in range(0, source.size, ZERO_BLOCK):
        stop = min(start + ZERO_BLOCK, source.size)
        xp.maximum(source[start:stop], zeros[:stop - start], out=target[start:stop])
    return out


class ReLU(Function):
    """max(x, 0); the gradient at 0 is 0, as in PyTorch.

    Large float32 arrays take the fast route where it is on (oneDNN, both
    threads, one pass: ``striate/accel/eltwise.py``), which keeps the output
    for backward instead of a mask.
    """

    def forward(self, x):
        self.plan = accel.relu(x)
        if self.plan is not None:
            out = self.plan.forward(x)
            if self.needs_input_grad[0]:
                self.out = out
            return out
        # The mask is taken here, while x is still in cache: comparing the
        # output again in backward reads it back from memory (measured slower).
        if self.needs_input_grad[0]:
            self.positive = x > 0
        return maximum_with_zero(x)

    def backward(self, g):
        if self.plan is not None:
            return self.plan.backward(g, self.out)
        return g * self.positive


class LeakyReLU(Function):
    def __init__(self, negative_slope=0.01):
        self.negative_slope = negative_slope

    def forward(self, x):
        self.positive = x > 0
        return xp.where(self.positive, x, x * x.dtype.type(self.negative_slope))

    def backward(self, g):
        return xp.where(self.positive, g, g * g.dtype.type(self.negative_slope))


class Hardtanh(Function):
    """clip(x, min_val, max_val); the gradient passes strictly inside the interval
    (PyTorch's rule: 0 at the bounds themselves)."""

    def __init__(self, min_val=-1.0, max_val=1.0):
        if min_val > max_val:
            raise ValueError(f"hardtanh: min_val ({min_val}) must not exceed max_val ({max_val})")
        self.min_val, self.max_val = min_val, max_val

    def forward(self, x):
        self.inside = (x > self.min_val) & (x < self.max_val)
        return xp.clip(x, x.dtype.type(self.min_val), x.dtype.type(self.max_val))

    def backward(self, g):
        return g * self.inside


# --------------------------------------------------------------------------- smooth


class ELU(Function):
    """x for x > 0, alpha (e^x - 1) otherwise (Clevert et al. 2015).
    For x <= 0 the derivative alpha e^x equals output + alpha."""

    def __init__(self, alpha=1.0):
        self.alpha = alpha

    def forward(self, x):
        self.positive = x > 0
        self.out = xp.where(self.positive, x, self.alpha * xp.expm1(xp.minimum(x, 0)))
        return self.out.astype(x.dtype, copy=False)

    def backward(self, g):
        return xp.where(self.positive, g, g * (self.out + self.alpha)).astype(g.dtype, copy=False)


def sigmoid_array(x):
    """1 / (1 + e^-x) without overflow: e^-|x| never exceeds 1, and for x < 0 the
    equivalent form e^x / (1 + e^x) is used."""
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


class Sigmoid(Function):
    def forward(self, x):
        self.out = sigmoid_array(x)
        return self.out

    def backward(self, g):
        s = self.out
        return g * s * (1 - s)


class Tanh(Function):
    def forward(self, x):
        self.out = xp.tanh(x)
        return self.out

    def backward(self, g):
        return g * (1 - self.out * self.out)


class SiLU(Function):
    """x sigmoid(x) (also called swish); derivative s (1 + x (1 - s))."""

    def forward(self, x):
        self.x, self.s = x, sigmoid_array(x)
        return x * self.s

    def backward(self, g):
        s = self.s
        return g * (s * (1 + self.x * (1 - s)))


class Softplus(Function):
    """log(1 + e^(beta x)) / beta, and x itself where beta x > threshold (as PyTorch)."""

    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        bx = x * x.dtype.type(self.beta)
        self.linear = bx > self.threshold
        self.bx = bx
        soft = xp.logaddexp(0, bx) / x.dtype.type(self.beta)  # stable log(1 + e^bx)
        return xp.where(self.linear, x, soft).astype(x.dtype, copy=False)

    def backward(self, g):
        return xp.where(self.linear, g, g * sigmoid_array(self.bx))


_SQRT_HALF = 1.0 / math.sqrt(2.0)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


class GELU(Function):
    """Gaussian error linear unit (Hendrycks & Gimpel 2016): x Phi(x), Phi the
    standard normal CDF, exactly via erf or with their tanh approximation."""

    def __init__(self, approximate="none"):
        self.approximate = check_choice(approximate, ("none", "tanh"), "approximate", "gelu")

    def forward(self, x):
        self.x = x
        if self.approximate == "tanh":
            self.t = xp.tanh(_SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x))
            return (0.5 * x * (1 + self.t)).astype(x.dtype, copy=False)
        self.cdf = 0.5 * (1 + erf_array(x * x.dtype.type(_SQRT_HALF)))
        return x * self.cdf

    def backward(self, g):
        x = self.x
        if self.approximate == "tanh":
            t = self.t
            inner_derivative = _SQRT_2_OVER_PI * (1 + 3 * _GELU_CUBIC * x * x)
            d = 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * inner_derivative
        else:
            pdf = xp.exp(-0.5 * x * x) * (1.0 / math.sqrt(2.0 * math.pi))
            d = self.cdf + x * pdf
        return (g * d).astype(g.dtype, copy=False)


# --------------------------------------------------------------------------- softmax family


def _softmax_dim(dim, ndim, op):
    """PyTorch's legacy implicit dim when ``dim`` is None: 0 for 0-, 1- and 3-D, else 1."""
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimensions")
    return dim % max(ndim, 1)


def log_softmax_array(x, axis):
    """x - logsumexp(x) along ``axis``, shifted by the max so exp never overflows."""
    shifted = x - x.max(axis=axis, keepdims=True)
    shifted -= xp.log(xp.exp(shifted).sum(axis=axis, keepdims=True))
    return shifted


class Softmax(Function):
    """y = e^(x - max) / sum(e^(x - max)); backward y * (g - sum(g * y))."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        self.axis = _softmax_dim(self.dim, x.ndim, "softmax")
        if x.ndim == 0:
            self.out = xp.ones_like(x)
            return self.out
        e = xp.exp(x - x.max(axis=self.axis, keepdims=True))
        e /= e.sum(axis=self.axis, keepdims=True)
        self.out = e
        return e

    def backward(self, g):
        y = self.out
        return y * (g - (g * y).sum(axis=self.axis, keepdims=True)) if y.ndim else g * 0


class LogSoftmax(Function):
    """y = x - logsumexp(x); backward g - softmax(x) * sum(g), softmax = e^y."""

    def __init__(self, dim):
        self.dim = dim

    def forward(self, x):
        self.axis = _softmax_dim(self.dim, x.ndim, "log_softmax")
        if x.ndim == 0:
            self.out = xp.zeros_like(x)
            return self.out
        self.out = log_softmax_array(x, self.axis)
        return self.out

    def backward(self, g):
        if not self.out.ndim:
            return g * 0
        return g - xp.exp(self.out) * g.sum(axis=self.axis, keepdims=True)


# --------------------------------------------------------------------------- functional forms


def relu(input, inplace=False):
    """max(input, 0). ``inplace`` is accepted for PyTorch compatibility and ignored:
    striate never overwrites a tensor that backward may need."""
    return ReLU()(input)


def relu6(input, inplace=False):
    return Hardtanh(0.0, 6.0)(input)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return Hardtanh(min_val, max_val)(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return LeakyReLU(negative_slope)(input)


def elu(input, alpha=1.0, inplace=False):
    return ELU(alpha)(input)


def gelu(input, approximate="none"):
    return GELU(approximate)(input)


def silu(input, inplace=False):
    return SiLU()(input)


def sigmoid(input):
    return Sigmoid()(input)


def tanh(input):
    return Tanh()(input)


def softplus(input, beta=1.0, threshold=20.0):
    return Softplus(beta, threshold)(input)


def erf(input):
    return Erf()(input)


def _cast(input, dtype, op):
    return input if dtype is None else as_tensor(input, op=op).astype(dtype)


def softmax(input, dim=None, dtype=None):
    """Softmax along ``dim`` (PyTorch's implicit choice when None, which PyTorch
    deprecates: pass ``dim``); ``dtype`` casts the input first."""
    return Softmax(dim)(_cast(input, dtype, "softmax"))


def log_softmax(input, dim=None, dtype=None):
    return LogSoftmax(dim)(_cast(input, dtype, "log_softmax"))
