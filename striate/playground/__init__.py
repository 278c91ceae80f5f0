"""The playground: striate behind a local web page (``striate playground``).

A learner draws a digit and watches the trained model's prediction, feature
maps, saliency and Grad-CAM; clicks any cell of a feature map to see its
receptive field and the arithmetic that made it; follows the gradient of
the top class back through every layer; edits an image kernel, sees the
filtered photo and watches the window slide, number by number; trains a
model and watches its curves, filters and feature maps change; picks which
run the pages serve; looks inside a trained run; and reads any zoo model's
summary table. Every picture and number is computed by the same striate ops
the learner can read.

Rooms:

* :mod:`.app`: the Starlette application (routes, host and cross-site checks,
  JSON errors) and the server's state (the served run, the run picker);
* :mod:`.api`: the JSON endpoints under ``/api/``;
* :mod:`.served`: the model the pages use (a run directory) and its test set;
* :mod:`.training`: the one background training job and its event stream;
* :mod:`.teaching`: the teaching views' numbers (convolution steps, a cell's
  arithmetic and receptive field, the backward pass, training snapshots);
* :mod:`.pictures`: upload decoding with limits, arrays to PNG data URLs;
* ``static/``: the page (plain HTML, CSS and JavaScript modules, no build step).

The web stack (Starlette, uvicorn) is imported only by :func:`create_app`,
so ``import striate`` never loads it.
"""

__all__ = ["create_app"]


def create_app(run_dir=None, runs_root="runs", host="127.0.0.1", allowed_hosts=(),
               train_default=True):
    """The playground's ASGI application (see :func:`striate.playground.app.create_app`)."""
    from .app import create_app as create

    return create(run_dir=run_dir, runs_root=runs_root, host=host, allowed_hosts=allowed_hosts,
                  train_default=train_default)
