"""The playground: striate behind a local web page (``striate playground``).

A learner draws a digit and watches the trained model's prediction, feature
maps, saliency and Grad-CAM; edits an image kernel and sees the filtered
photo; trains a model and watches its curves; looks inside a trained run;
and reads any zoo model's summary table. Every picture is computed by the
same striate ops the learner can read.

Rooms:

* :mod:`.app`: the Starlette application (routes, host check, JSON errors);
* :mod:`.api`: the JSON endpoints under ``/api/``;
* :mod:`.served`: the model the pages use (a run directory) and its test set;
* :mod:`.training`: the one background training job and its event stream;
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
