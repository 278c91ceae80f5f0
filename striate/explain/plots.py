"""Pictures of the explanations: each function takes arrays and returns a
matplotlib ``Figure`` (drawn on the Agg canvas: no GUI, no global pyplot
state); :func:`save_figure` writes it atomically.

matplotlib is imported inside the functions, so ``import striate.explain``
stays light. Colour maps: grey for images; a diverging map centred on zero
(red positive, blue negative) for signed values (filter weights, Sobel
responses, occlusion drops); ``inferno`` for the non-negative heat maps
(saliency, Grad-CAM), drawn over the grey image where the map is large.
"""
from ..backend import xp

__all__ = ["save_figure", "kernel_grid", "filter_grid", "feature_map_grid", "heatmap_rows",
           "occlusion_rows", "top_activation_grid"]

DIVERGING = "RdBu_r"
HEAT = "inferno"


def _figure(width, height):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path, dpi=100):
    """Write ``figure`` as a PNG at ``path``, atomically."""
    from ..train.atomic import atomic_path

    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=dpi)


def _grey(image):
    """(C, H, W) or (H, W) or (H, W, C) display array: (H, W) grey or (H, W, 3) RGB in [0, 1]."""
    image = xp.asarray(image, dtype=xp.float64)
    if image.ndim == 3 and image.shape[0] in (1, 3) and image.shape[-1] not in (1, 3):
        image = image.transpose(1, 2, 0)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    low, high = float(image.min()), float(image.max())
    if low < 0 or high > 1:  # normalized input: stretch back for display
        image = (image - low) / (high - low if high > low else 1.0)
    return image


def _show_image(axes, image):
    shown = _grey(image)
    axes.imshow(shown, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    _bare(axes)


def _bare(axes):
    axes.set_xticks([])
    axes.set_yticks([])


def _signed_limit(values):
    limit = float(xp.abs(values).max())
    return limit if limit > 0 else 1.0


def _robust_limit(values):
    """A symmetric colour limit that a few extreme pixels do not wash out:
    the 99.5th percentile of |values|."""
    limit = float(xp.percentile(xp.abs(values), 99.5))
    return limit if limit > 0 else _signed_limit(values)


def _matrix_text(kernel):
    """A small kernel as aligned text rows; 1/9 * ones is written as such."""
    kernel = xp.asarray(kernel, dtype=xp.float64)
    if kernel.size > 49:
        return f"{kernel.shape[0]}x{kernel.shape[1]} kernel"
    scale = next((d for d in range(1, 65)
                  if xp.allclose(kernel * d, xp.round(kernel * d), atol=1e-9)), 1)
    cells = [[f"{v:.3g}" for v in row] for row in kernel * scale]
    width = max(len(c) for row in cells for c in row)
    rows = [" ".join(c.rjust(width) for c in row) for row in cells]
    if scale > 1:
        rows = [(f"1/{scale} x " if i == len(rows) // 2 else " " * len(f"1/{scale} x ")) + row
                for i, row in enumerate(rows)]
    return "\n".join(rows)


def kernel_grid(image, panels, title, columns=4):
    """The original photo and every filtered version, in a grid.

    ``image``: (H, W) or (H, W, 3) in [0, 1]. ``panels``: a list of
    ``(name, kernel, output, caption)``; the kernel's entries and the caption
    (e.g. the output size from the notes' formula) are printed below each
    panel. Zero-sum kernels (edge detectors) give signed responses and are
    drawn with the diverging map; the others as a photo editor would show
    them, clipped to [0, 1].
    """
    count = len(panels) + 1
    columns = min(columns, count)
    rows = -(-count // columns)
    figure = _figure(3.3 * columns, 4.3 * rows + 0.5)
    grid = figure.subplots(rows, columns, squeeze=False)
    _show_image(grid[0][0], image)
    grid[0][0].set_title("original", fontsize=11)
    grid[0][0].set_xlabel(f"{image.shape[0]} x {image.shape[1]} pixels", fontsize=9)
    for index, (name, kernel, output, caption) in enumerate(panels, start=1):
        axes = grid[index // columns][index % columns]
        signed = abs(float(xp.asarray(kernel).sum())) < 1e-9
        shown = output.mean(axis=2) if (signed and output.ndim == 3) else output
        if signed:
            limit = _robust_limit(shown)
            axes.imshow(shown, cmap=DIVERGING, vmin=-limit, vmax=limit, interpolation="nearest")
        elif shown.ndim == 3:
            axes.imshow(xp.clip(shown, 0, 1), interpolation="nearest")
        else:
            axes.imshow(shown, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
        _bare(axes)
        axes.set_title(name + ("  (signed)" if signed else ""), fontsize=11)
        axes.set_xlabel(_matrix_text(kernel) + "\n" + caption, fontsize=8, family="monospace")
    for index in range(count, rows * columns):
        grid[index // columns][index % columns].set_visible(False)
    figure.suptitle(title + "\nsigned responses: red > 0, white = 0, blue < 0", fontsize=12)
    return figure


def filter_grid(weights, title):
    """Conv filters (O, C, KH, KW), already scaled into [-1, 1] (see
    :func:`striate.explain.filters`): one row per filter, one column per input
    channel (a single-channel layer's filters are laid out in a row), red
    excitatory, blue inhibitory, white zero."""
    weights = xp.asarray(weights)
    o, c = weights.shape[:2]
    if c == 1:
        columns = min(o, 8)
        rows = -(-o // columns)
        cells = [(i // columns, i % columns, weights[i, 0], f"filter {i}") for i in range(o)]
    else:
        rows, columns = o, c
        cells = [(i, j, weights[i, j], f"{i}: in {j}" if i == 0 else "")
                 for i in range(o) for j in range(c)]
    size = 1.3 if c > 1 else 1.6
    figure = _figure(size * columns + 1.2, size * rows + 0.9)
    grid = figure.subplots(rows, columns, squeeze=False)
    image = None
    for r, col, kernel, label in cells:
        axes = grid[r][col]
        image = axes.imshow(kernel, cmap=DIVERGING, vmin=-1, vmax=1, interpolation="nearest")
        _bare(axes)
        if label:
            axes.set_title(label, fontsize=8)
        if c > 1 and col == 0:
            axes.set_ylabel(f"filter {r}", fontsize=7)
    for index in range(len(cells), rows * columns):
        grid[index // columns][index % columns].set_visible(False)
    figure.colorbar(image, ax=grid, shrink=0.8, label="weight / max |weight|")
    figure.suptitle(title, fontsize=11)
    return figure


def _fitted_suptitle(figure, title, fontsize):
    """``title`` over ``figure``, in a smaller font where it would be wider than
    the figure (a clipped title loses its first letters)."""
    text = figure.suptitle(title, fontsize=fontsize)
    width = text.get_window_extent(figure.canvas.get_renderer()).width
    room = 0.96 * figure.bbox.width
    if width > room:
        text.set_fontsize(max(5.0, fontsize * room / width))
    return text


def feature_map_grid(image, maps, title, channels=8):
    """One row per layer: the input, then up to ``channels`` maps of that
    layer for one image. ``maps``: ``{name: (C, h, w) array}``; each row shares
    one colour scale, so that weak channels look weak."""
    layers = [(name, xp.asarray(m)) for name, m in maps.items() if xp.asarray(m).ndim == 3]
    shown = min(channels, max(m.shape[0] for _, m in layers))
    figure = _figure(1.45 * (shown + 1) + 0.6, 1.55 * len(layers) + 0.8)
    grid = figure.subplots(len(layers), shown + 1, squeeze=False)
    titled = set()
    for row, (name, array) in enumerate(layers):
        if row == 0:
            _show_image(grid[row][0], image)
            grid[row][0].set_title("input", fontsize=8)
        else:
            grid[row][0].set_visible(False)
        low, high = float(array.min()), float(array.max())
        for col in range(shown):
            axes = grid[row][col + 1]
            if col >= array.shape[0]:
                axes.set_visible(False)
                continue
            axes.imshow(array[col], cmap="viridis", vmin=low, vmax=high, interpolation="nearest")
            _bare(axes)
            if col == 0:
                more = (f"\nfirst {shown} of {array.shape[0]}" if array.shape[0] > shown else "")
                axes.set_ylabel(f"{name}\n{array.shape[1]}x{array.shape[2]}x{array.shape[0]}"
                                f"{more}", fontsize=7)
            if col not in titled:
                titled.add(col)
                axes.set_title(f"ch {col}", fontsize=7)
    if any(m.shape[0] > shown for _, m in layers):
        title += f"\n(layers with more than {shown} channels: the first {shown})"
    _fitted_suptitle(figure, title, 10)
    return figure


def heatmap_rows(images, heatmaps, labels, title, what):
    """Per image a row: the input, the heat map (``what`` on its colour bar)
    and the map laid over the input. ``images`` (N, C, H, W) or (N, H, W) for
    display, ``heatmaps`` (N, H, W) >= 0, ``labels`` one string per image."""
    n = len(heatmaps)
    figure = _figure(8.4, 2.7 * n + 0.6)
    grid = figure.subplots(n, 3, squeeze=False)
    for i in range(n):
        _show_image(grid[i][0], images[i])
        grid[i][0].set_title(labels[i], fontsize=9)
        heat = grid[i][1].imshow(heatmaps[i], cmap=HEAT, vmin=0, interpolation="nearest")
        _bare(grid[i][1])
        grid[i][1].set_title(what, fontsize=9)
        figure.colorbar(heat, ax=grid[i][1], shrink=0.85)
        _show_image(grid[i][2], images[i])
        peak = float(heatmaps[i].max())
        alpha = xp.clip(heatmaps[i] / peak, 0, 1) * 0.75 if peak > 0 else xp.zeros_like(heatmaps[i])
        grid[i][2].imshow(heatmaps[i], cmap=HEAT, alpha=alpha, interpolation="bilinear")
        grid[i][2].set_title("overlay", fontsize=9)
    figure.suptitle(title, fontsize=11)
    return figure


def occlusion_rows(images, drops, labels, title, window, stride):
    """Per image: the input, and the drop of the target probability for each
    patch position, drawn at the patch centres over the input (red: covering
    there hurts the class, blue: it helps)."""
    n = len(drops)
    figure = _figure(6.4, 2.9 * n + 0.7)
    grid = figure.subplots(n, 2, squeeze=False)
    for i in range(n):
        _show_image(grid[i][0], images[i])
        grid[i][0].set_title(labels[i], fontsize=9)
        rows, cols = drops[i].shape
        first = window / 2 - 0.5
        extent = (first - stride / 2, first + (cols - 1) * stride + stride / 2,
                  first + (rows - 1) * stride + stride / 2, first - stride / 2)
        _show_image(grid[i][1], images[i])
        limit = _signed_limit(drops[i])
        shown = grid[i][1].imshow(drops[i], cmap=DIVERGING, vmin=-limit, vmax=limit, alpha=0.8,
                                  extent=extent, interpolation="nearest")
        size = _grey(images[i]).shape
        grid[i][1].set_xlim(-0.5, size[1] - 0.5)
        grid[i][1].set_ylim(size[0] - 0.5, -0.5)
        grid[i][1].set_title(f"{rows}x{cols} patch positions", fontsize=9)
        figure.colorbar(shown, ax=grid[i][1], shrink=0.85, label="probability drop")
    figure.suptitle(title, fontsize=10)
    return figure


def top_activation_grid(rows, title):
    """``rows``: a list of ``(label, images (k, C, H, W), values (k,))``, one per channel."""
    k = max(len(images) for _, images, _ in rows)
    figure = _figure(1.1 * k + 1.0, 1.25 * len(rows) + 0.7)
    grid = figure.subplots(len(rows), k, squeeze=False)
    for r, (label, images, values) in enumerate(rows):
        for c in range(k):
            axes = grid[r][c]
            if c >= len(images):
                axes.set_visible(False)
                continue
            _show_image(axes, images[c])
            axes.set_title(f"{values[c]:.2f}", fontsize=7)
            if c == 0:
                axes.set_ylabel(label, fontsize=7)
    figure.suptitle(title, fontsize=10)
    return figure
