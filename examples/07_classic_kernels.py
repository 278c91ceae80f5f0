# %%
"""The classic image kernels on a photograph.

Identity, blurs, sharpen, emboss, outline and the four Sobel kernels of the
notes (try them live at http://setosa.io/ev/image-kernels/), applied to the
photo shipped with striate through striate.kernels.apply, which runs
striate's own conv2d. Writes one grid (--out, default a temporary file).

Run: python examples/07_classic_kernels.py --out kernels.png
"""
import argparse
import os
import tempfile

import numpy as np

from striate import kernels
from striate.explain.plots import kernel_grid, save_figure

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--fast", action="store_true", help="use a 64x64 crop of the photo")
parser.add_argument("--out", help="PNG to write (default: a temporary file)")
args, _ = parser.parse_known_args()     # a notebook kernel passes arguments of its own
fast = args.fast or bool(os.environ.get("STRIATE_FAST"))

photo = kernels.sample_image()
if fast:
    photo = photo[40:104, 80:144]
print(f"photo: {photo.shape[0]} x {photo.shape[1]}")
panels = []
for name, kernel in kernels.KERNELS.items():
    filtered = kernels.apply(photo, kernel, padding="same")
    size = (photo.shape[1] - 3 + 2 * 1) // 1 + 1
    caption = f"({photo.shape[1]} - 3 + 2*1)/1 + 1 = {size}"
    print(f"{name:13s} sum {kernel.sum():+.0f}  output {filtered.shape[0]} x {filtered.shape[1]}"
          f"  range [{filtered.min():+.2f}, {filtered.max():+.2f}]")
    panels.append((name, kernel, filtered, caption))

# %%
# The identity kernel gives the photo back exactly; a zero-sum kernel (edge
# detector) gives 0 on a flat region; blurs keep the mean brightness.
print("identity returns the photo:", np.array_equal(kernels.apply(photo, "identity"), photo))
flat = np.full((8, 8), 0.5)
print("outline on a flat grey patch, inside:", kernels.apply(flat, "outline", padding="valid").max())
# Sobel kernels answer with a sign: top_sobel is positive where the image gets darker downwards.
step = np.vstack([np.ones((4, 6)), np.zeros((4, 6))])
print("top_sobel on bright-above-dark, at the edge:", kernels.apply(step, "top_sobel",
                                                                     padding="valid")[2, 0])
print("convolve mode flips it into bottom_sobel:",
      kernels.apply(step, "top_sobel", mode="convolve", padding="valid")[2, 0])

out = args.out or os.path.join(tempfile.mkdtemp(), "kernels.png")
save_figure(kernel_grid(photo, panels, "the notes' kernels on the shipped photo"), out)
print(f"wrote {out}")
