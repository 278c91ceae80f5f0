"""A folder of 20,000 PNG files: how fast striate reads it once, and trains from it.

    python benchmarks/folder.py [--images 20000] [--side 40] [--classes 10]
                                [--epochs 1] [--keep DIR]

Writes ``--images`` PNG files (RGB, ``--side`` pixels square, noisy coloured
shapes, one folder per class) into a temporary folder, then measures with
striate's run layer (what ``striate train --data`` does):

* the first pass: listing, reading every header, decoding, framing (short side
  to the model's 28 pixels, centre crop) and writing the memory-mapped cache,
  in images per second;
* a second preparation of the same folder: listing only, from the cache;
* training: LeNet-5 (the model chosen for images this small) for ``--epochs``
  epochs from the cache, in training images per second (evaluation on the
  held-out tenth included, as ``striate train`` reports it).

The decode cache goes to a temporary ``STRIATE_CACHE``; nothing is left behind
unless ``--keep DIR`` names where to put the images and the cache.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402


def write_folder(root, images, side, classes, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:side, :side]
    for c in range(classes):
        os.makedirs(os.path.join(root, f"class{c:02d}"), exist_ok=True)
    for i in range(images):
        c = i % classes
        angle = 2 * np.pi * c / classes
        cy, cx = side / 2 + side / 4 * np.sin(angle), side / 2 + side / 4 * np.cos(angle)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2 < (side / 6) ** 2)[..., None]
        pixels = rng.integers(0, 90, (side, side, 3)) + blob * np.array([150, 90 + 10 * c, 60])
        Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(
            os.path.join(root, f"class{c:02d}", f"{i:06d}.png"), compress_level=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20000)
    parser.add_argument("--side", type=int, default=40)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--keep", metavar="DIR", help="write the images and cache here")
    args = parser.parse_args(argv)

    base = args.keep or tempfile.mkdtemp(prefix="striate-folder-bench-")
    os.makedirs(base, exist_ok=True)
    os.environ["STRIATE_CACHE"] = os.path.join(base, "cache")
    data = os.path.join(base, "images")
    try:
        start = time.perf_counter()
        write_folder(data, args.images, args.side, args.classes)
        written = time.perf_counter() - start
        print(f"wrote {args.images:,} PNG files ({args.side}x{args.side} RGB, "
              f"{args.classes} classes) in {written:.1f} s")

        import striate.runs
        config = striate.runs.resolve_config(data=data, epochs=args.epochs)
        start = time.perf_counter()
        run = striate.runs.prepare_run(dict(config), log=print, progress=False)
        first = time.perf_counter() - start
        count = run.folder["images"]
        print(f"first pass (list, headers, decode, frame, cache): {first:.1f} s, "
              f"{count / first:,.0f} images/s (decoding alone "
              f"{count / run.folder['decode_seconds']:,.0f} images/s)")

        start = time.perf_counter()
        striate.runs.prepare_run(dict(config), log=print, progress=False)
        again = time.perf_counter() - start
        print(f"second preparation (list, then the cache): {again:.2f} s, "
              f"{count / again:,.0f} images/s")

        trainer = run.make_trainer(os.path.join(base, "run"), plot=False, progress=False)
        start = time.perf_counter()
        trainer.fit(args.epochs)
        seconds = time.perf_counter() - start
        rate = len(run.train_set) * args.epochs / seconds
        print(f"training {config['model'] if config['model'] != 'auto' else run.config['model']}"
              f" at {run.input_shape}: {seconds:.1f} s for {args.epochs} epoch(s) of "
              f"{len(run.train_set):,} images, {rate:,.0f} images/s (evaluation included); "
              f"test accuracy {trainer.history[-1]['test_acc']:.3f}")
    finally:
        if not args.keep:
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
