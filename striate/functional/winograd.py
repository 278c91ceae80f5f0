"""Winograd's minimal filtering F(2x2, 3x3) for 3x3 stride-1 convolutions
(Lavin and Gray 2016, "Fast algorithms for convolutional neural networks").

The idea, in one dimension first. Two outputs of a 3-tap correlation,

    y0 = d0 g0 + d1 g1 + d2 g2
    y1 = d1 g0 + d2 g1 + d3 g2,

take 6 multiplications done directly, but only 4 done as

    m0 = (d0 - d2) g0          m1 = (d1 + d2) (g0 + g1 + g2) / 2
    m3 = (d1 - d3) g2          m2 = (d2 - d1) (g0 - g1 + g2) / 2
    y0 = m0 + m1 + m2          y1 = m1 - m2 - m3.

In matrix form ``y = A^T [(G g) * (B^T d)]``, with ``*`` element-wise and the
three matrices below. Nesting the 1-d algorithm in itself gives F(2x2, 3x3):
a 2x2 block of outputs from a 4x4 tile of input in 16 multiplications
instead of 36,

    Y = A^T [ (G g G^T) * (B^T d B) ] A.

A convolution layer has C input and O output channels and many tiles, and
the element-wise product, summed over the input channels, becomes 16
independent matrix products, one per position (xi, nu) of the 4x4 tile::

    U[xi, nu] (O, C)  = (G g G^T)[xi, nu]      the filters, transformed once
    V[xi, nu] (C, P)  = (B^T d B)[xi, nu]      the P = N*TH*TW input tiles
    M[xi, nu] (O, P)  = U[xi, nu] @ V[xi, nu]  16 GEMMs
    Y                 = A^T M A                 2x2 outputs per tile

2.25 times fewer multiplications than im2col's GEMM, and V holds 4 values
per input pixel where im2col's columns hold 9. The input tiles overlap by
two pixels (tile (i, j) starts at row 2i, column 2j of the padded input).
The transforms hold only 0, +-1 and 1/2, so they are written as additions
of strided slices, separably: first along the rows, then along the columns.

The result is the same convolution (an algebraic identity, not an
approximation); in floating point it differs from the direct sum by a few
units in the last place (``tests/test_winograd.py`` bounds it). The weight
gradient follows by the chain rule through the same identity:

    dM = A dY A^T,   dU[xi, nu] = dM[xi, nu] @ V[xi, nu]^T,   dg = G^T dU G,

and the input gradient is a stride-1 3x3 correlation itself (with the
flipped filters, see ``conv.py``), so it takes this route too.

Symbols: N batch, C input channels, O output channels, (Hp, Wp) the padded
input, OH = Hp - 2 and OW = Wp - 2 the output, TH = OH/2 and TW = OW/2 tiles
(callers pad so that OH and OW are even), P = N*TH*TW.
"""
from ..backend import xp
from .windows import pad_scratch, release, workspace

__all__ = []  # a building block of conv.py

#: True sends 3x3 stride-1 convolutions this way (off by default: on NumPy
#: the transforms cost more than the multiplications they save, see
#: ``benchmarks/ops.py --winograd``)
enabled = False

# y = A^T [(G g) * (B^T d)]: the 1-d F(2, 3) matrices, as in Lavin and Gray.
B_T = xp.array([[1, 0, -1, 0],
                [0, 1, 1, 0],
                [0, -1, 1, 0],
                [0, 1, 0, -1]], dtype=xp.float64)
G = xp.array([[1, 0, 0],
              [0.5, 0.5, 0.5],
              [0.5, -0.5, 0.5],
              [0, 0, 1]], dtype=xp.float64)
A_T = xp.array([[1, 1, 1, 0],
                [0, 1, -1, -1]], dtype=xp.float64)


def applies(kernel, stride, dilation, groups):
    """Whether a convolution can take this route: 2-d, 3x3, stride 1,
    dilation 1, one group."""
    return (tuple(kernel) == (3, 3) and tuple(stride) == (1, 1) and tuple(dilation) == (1, 1)
            and groups == 1)


def even_padding(out_spatial):
    """Extra rows/columns of padding after the input that make the output
    size even, so that it splits into whole 2x2 blocks."""
    return tuple(size % 2 for size in out_spatial)


# --------------------------------------------------------------------------- transforms


def transform_filters(w):
    """U = G g G^T for every filter: (O, C, 3, 3) -> (16, O, C)."""
    g = G.astype(w.dtype)
    u = xp.einsum("xr,ocrs,ys->xyoc", g, w, g)
    return u.reshape(16, w.shape[0], w.shape[1])


def transform_input(padded):
    """V = B^T d B for every 4x4 tile: (N, C, Hp, Wp) -> (16, C, P), in a
    :func:`workspace` buffer (release it when done).

    Rows first: tile row i takes padded rows 2i..2i+3, so the k-th of them is
    the strided slice ``[k::2]``; ``B^T`` combines them as d0-d2, d1+d2,
    d2-d1, d1-d3 (its four rows). Then the same along the columns."""
    n, c, hp, wp = padded.shape
    th, tw = (hp - 2) // 2, (wp - 2) // 2
    # (C, N, Hp, Wp): a free view of channel-major input, and the order of V
    source = padded.swapaxes(0, 1)
    rows = workspace((4, c, n, th, wp), padded.dtype)
    _combine_b(lambda k: source[:, :, k:k + 2 * th:2], rows)
    tiles = workspace((4, 4, c, n, th, tw), padded.dtype)
    for xi in range(4):
        _combine_b(lambda k, xi=xi: rows[xi][..., k:k + 2 * tw:2], tiles[xi])
    release(rows)
    return tiles.reshape(16, c, n * th * tw)


def _combine_b(part, out):
    """out[0..3] = B^T applied across the four parts d_k = part(k)."""
    xp.subtract(part(0), part(2), out=out[0])
    xp.add(part(1), part(2), out=out[1])
    xp.subtract(part(2), part(1), out=out[2])
    xp.subtract(part(1), part(3), out=out[3])


def transform_output(m, n, th, tw):
    """Y = A^T M A: (16, O, P) -> (N, O, 2TH, 2TW), channel-major.

    A^T's rows are m0+m1+m2 and m1-m2-m3: first across xi (rows of the tile),
    then across nu, each 2x2 block written into its place of the output."""
    o = m.shape[1]
    m = m.reshape(4, 4, o, n, th, tw)
    out = xp.empty((o, n, th, 2, tw, 2), dtype=m.dtype)
    half = workspace((2, 4, o, n, th, tw), m.dtype)
    _combine_a(lambda k: m[k], half)
    for a in range(2):
        _combine_a(lambda k, a=a: half[a][k], (out[:, :, :, a, :, 0], out[:, :, :, a, :, 1]))
    release(half)
    return out.reshape(o, n, 2 * th, 2 * tw).swapaxes(0, 1)


def _combine_a(part, out):
    """out[0] = m0 + m1 + m2, out[1] = m1 - m2 - m3 (A^T) for m_k = part(k)."""
    first, second = out
    xp.add(part(0), part(1), out=first)
    first += part(2)
    xp.subtract(part(1), part(2), out=second)
    second -= part(3)


def transform_gradient(grad):
    """dM = A dY A^T for every 2x2 block of the output gradient:
    (N, O, 2TH, 2TW) -> (16, O, P). A's rows give, from the block's two rows
    (or columns) y0, y1: y0, y0+y1, y0-y1, -y1."""
    n, o, oh, ow = grad.shape
    th, tw = oh // 2, ow // 2
    source = grad.swapaxes(0, 1)  # (O, N, OH, OW), free for channel-major gradients
    rows = workspace((4, o, n, th, ow), grad.dtype)
    _combine_a_t(lambda k: source[:, :, k::2], rows)
    out = workspace((4, 4, o, n, th, tw), grad.dtype)
    for xi in range(4):
        _combine_a_t(lambda k, xi=xi: rows[xi][..., k::2], out[xi])
    release(rows)
    return out.reshape(16, o, n * th * tw)


def _combine_a_t(part, out):
    xp.copyto(out[0], part(0))
    xp.add(part(0), part(1), out=out[1])
    xp.subtract(part(0), part(1), out=out[2])
    xp.negative(part(1), out=out[3])


# --------------------------------------------------------------------------- the convolution


def correlate(padded, w):
    """Cross-correlate ``padded`` (N, C, Hp, Wp) with 3x3 filters ``w`` (O, C, 3, 3),
    Hp and Wp even. Returns the (N, O, Hp-2, Wp-2) output, channel-major, and
    the transformed input tiles (16, C, P) that :func:`weight_gradient` needs
    (a workspace buffer: release it when done)."""
    n, _, hp, wp = padded.shape
    tiles = transform_input(padded)
    m = xp.matmul(transform_filters(w), tiles)  # 16 GEMMs: (O, C) @ (C, P)
    return transform_output(m, n, (hp - 2) // 2, (wp - 2) // 2), tiles


def weight_gradient(grad, tiles, weight_shape):
    """dL/dg for :func:`correlate`: ``grad`` (N, O, OH, OW), ``tiles`` its
    forward's V (16, C, P) -> (O, C, 3, 3). Where OH or OW is odd, the outputs
    that the even-sized Winograd output computed beyond them get zero gradient."""
    extra = even_padding(grad.shape[2:])
    padded = pad_scratch(grad, ((0, extra[0]), (0, extra[1]))) if any(extra) else grad
    dm = transform_gradient(padded)
    if padded is not grad:
        release(padded)
    du = xp.matmul(dm, tiles.transpose(0, 2, 1))  # 16 GEMMs: (O, P) @ (P, C)
    release(dm)
    g = G.astype(grad.dtype)
    o, c = weight_shape[:2]
    return xp.einsum("xr,xyoc,ys->ocrs", g, du.reshape(4, 4, o, c), g)

