"""The model the playground's pages use: a trained run directory, loaded once.

:class:`ServedModel` answers the Draw and Inspect pages: top-k predictions
for a picture framed exactly as ``striate predict`` frames it
(:func:`striate.data.images.prepare_image`), each layer's feature maps,
saliency and Grad-CAM, the learned filters, and on (a spread subset of) the
run's test split the confusion matrix and the most confidently wrong images.

A model and its forward hooks are not safe to share between threads, so
every use of one holds its lock.

Symbols: N images, C channels, H x W the model's input size, K classes.
"""
import os
import threading
import time

from ..backend import xp
from ..train.layout import run_dir_of
from . import pictures

__all__ = ["ServedModel", "Unavailable", "latest_run", "list_runs", "TEST_IMAGES",
           "MAX_CHANNELS", "MAX_RUNS"]

#: Inspect looks at this many test images at most, spread over the split.
TEST_IMAGES = 2000
#: Feature-map grids show at most this many channels of a layer.
MAX_CHANNELS = 16
#: The run picker lists at most this many runs (the newest).
MAX_RUNS = 50


class Unavailable(RuntimeError):
    """What a page asks for cannot be had here (no trained model yet, no test split)."""


def latest_run(runs_root):
    """The run directory under ``runs_root`` whose checkpoint was written
    last, or None when there is none."""
    from ..train.checkpoint import JSON_FILE
    from ..train.layout import RunLayout

    if not os.path.isdir(runs_root):
        return None
    found = []
    for entry in os.scandir(runs_root):
        state = os.path.join(RunLayout(entry.path).checkpoint_dir, JSON_FILE)
        if entry.is_dir() and os.path.isfile(state):
            found.append((os.path.getmtime(state), entry.path))
    return max(found)[1] if found else None


def _last_metrics(path):
    """The last record of a ``metrics.jsonl`` (an empty dict if there is none)."""
    import json

    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            file.seek(max(0, file.tell() - 65536))
            lines = file.read().decode("utf-8", "replace").strip().splitlines()
        return json.loads(lines[-1]) if lines else {}
    except (OSError, ValueError):
        return {}


def _describe_run(run_dir):
    """``{"run", "path", "model", "dataset", "title", "epochs", "accuracy", "date"}``
    of a run directory, or None if it holds no readable checkpoint."""
    import json

    from ..train.checkpoint import JSON_FILE
    from ..train.layout import RunLayout

    layout = RunLayout(run_dir)
    state_file = os.path.join(layout.checkpoint_dir, JSON_FILE)
    try:
        with open(state_file, encoding="utf-8") as file:
            state = json.load(file)
        stamp = os.path.getmtime(state_file)
    except (OSError, ValueError):
        return None
    meta = state.get("meta") or {}
    last = _last_metrics(layout.metrics_file)
    accuracy = last.get("test_acc")
    return {"run": os.path.basename(os.path.normpath(run_dir)), "path": run_dir,
            "model": (meta.get("model") or {}).get("name"), "dataset": meta.get("dataset"),
            "title": meta.get("title"), "epochs": state.get("epoch"),
            "accuracy": float(accuracy) if isinstance(accuracy, (int, float)) else None,
            "date": time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp)), "stamp": stamp}


def list_runs(runs_root, extra=()):
    """The runs under ``runs_root`` (and the run directories ``extra``),
    newest first, at most :data:`MAX_RUNS`; each as :func:`_describe_run`
    gives it, without ``stamp``. Names are unique: a later duplicate is dropped."""
    candidates = []
    if os.path.isdir(runs_root):
        candidates = [entry.path for entry in os.scandir(runs_root) if entry.is_dir()]
    found = [d for d in (_describe_run(path) for path in [*extra, *candidates]) if d]
    found.sort(key=lambda entry: -entry["stamp"])
    runs, seen = [], set()
    for entry in found:
        if entry["run"] not in seen:
            seen.add(entry["run"])
            entry.pop("stamp")
            runs.append(entry)
    return runs[:MAX_RUNS]


def _softmax(logits):
    """Class probabilities (N, K) from logits (N, K), through the library's own op."""
    from ..autograd import Tensor
    from ..functional import softmax

    return softmax(Tensor(xp.asarray(logits, dtype=xp.float64)), dim=1).data


class ServedModel:
    """The trained model of the run in ``run_dir`` (or its checkpoint directory)."""

    def __init__(self, run_dir):
        from ..explain import conv_layers
        from ..train.checkpoint import load_checkpoint

        checkpoint = load_checkpoint(run_dir)
        meta = checkpoint.meta
        if "input_shape" not in meta:
            raise ValueError(f"{checkpoint.path} does not record the model's input shape")
        self.run_dir = run_dir_of(checkpoint.path)
        self.name = os.path.basename(os.path.normpath(self.run_dir))
        self.model = checkpoint.build_model()
        self.meta, self.epoch = meta, checkpoint.epoch
        self.input_shape = tuple(int(v) for v in meta["input_shape"])
        norm = meta.get("normalization") or {}
        channels = self.input_shape[0]
        self.mean = xp.asarray(norm.get("mean", [0.0] * channels), xp.float32).reshape(-1, 1, 1)
        self.std = xp.asarray(norm.get("std", [1.0] * channels), xp.float32).reshape(-1, 1, 1)
        self.invert = "auto" if meta.get("background") == "dark" else False
        self.framing = meta.get("framing", "resize")
        convs = conv_layers(self.model)
        self.conv_names = [name for name, _ in convs]
        self.lock = threading.Lock()
        self._test = None
        with self.lock:
            probe = self._logits(xp.zeros((1,) + self.input_shape, xp.float32))
        count = probe.shape[1]
        self.classes = list(meta.get("classes") or [str(i) for i in range(count)])[:count]

    def info(self):
        """What the pages show about the model."""
        described = _describe_run(self.run_dir) or {}
        return {"accuracy": described.get("accuracy"), "date": described.get("date"),
                "run": self.name, "title": self.meta.get("title", self.name),
                "model": (self.meta.get("model") or {}).get("name"),
                "dataset": self.meta.get("dataset"), "epochs": self.epoch,
                "classes": self.classes, "input_shape": list(self.input_shape),
                "conv_layers": self.conv_names}

    # ------------------------------------------------------------------ one picture

    def frame(self, image):
        """A decoded Pillow image as the model's input before normalization:
        (C, H, W) in [0, 1], framed like the training images."""
        from ..data.images import prepare_image

        return prepare_image(image, self.input_shape, None, None, invert=self.invert,
                             framing=self.framing)

    def _normalize(self, frames):
        return ((frames - self.mean) / self.std).astype(xp.float32)

    def _logits(self, batch):
        from ..autograd import Tensor, no_grad

        with no_grad(), xp.errstate(all="ignore"):
            return self.model(Tensor(batch)).data.astype(xp.float64)

    def predict(self, image, top=3):
        """``[{"label", "probability"}, ...]``: the ``top`` most probable classes."""
        batch = self._normalize(self.frame(image))[None]
        with self.lock:
            logits = self._logits(batch)
        if not xp.isfinite(logits).all():
            raise ValueError(f"the model of {self.name} gives a non-finite output (NaN or "
                             "infinity); its weights are damaged")
        row = _softmax(logits)[0]
        best = xp.argsort(-row, kind="stable")[:max(1, min(int(top), len(row)))]
        return [{"label": self.classes[i], "index": int(i), "probability": float(row[i])}
                for i in best]

    def explain(self, frame, target=None):
        """Feature maps of every layer with a spatial output, saliency and
        Grad-CAM (after the last conv layer) for one framed input (C, H, W)."""
        from ..explain import feature_maps, grad_cam, grad_cam_layer, saliency

        cam_layer = grad_cam_layer(self.model)

        batch = self._normalize(frame)[None]
        with self.lock:
            maps = feature_maps(self.model, batch)
            logits = self._logits(batch)
            target = int(logits[0].argmax()) if target is None else int(target)
            salient = saliency(self.model, batch, target=target)[0]
            cam = (grad_cam(self.model, batch, cam_layer, target=target)[0]
                   if cam_layer else None)
        shown = frame.mean(axis=0)
        layers = []
        for name, activation in maps.items():
            if activation.ndim != 4:
                continue
            channels = activation.shape[1]
            layers.append({"name": name, "shape": list(activation.shape[1:]),
                           "channels_shown": min(channels, MAX_CHANNELS),
                           "columns": min(channels, MAX_CHANNELS, 8),
                           "image": pictures.png_data_url(
                               pictures.tile(activation[0, :MAX_CHANNELS],
                                             columns=min(channels, MAX_CHANNELS, 8)))})
        probabilities = _softmax(logits)[0]
        return {"target": self.classes[target], "target_probability": float(probabilities[target]),
                "input": pictures.png_data_url(pictures.grey(shown, 0.0, 1.0)),
                "feature_maps": layers,
                "saliency": pictures.png_data_url(pictures.heat_overlay(shown, salient)),
                "grad_cam": (pictures.png_data_url(pictures.heat_overlay(shown, cam))
                             if cam is not None else None),
                "grad_cam_layer": cam_layer}

    def filters(self):
        """Each conv layer's filters (input channels averaged), one grid per layer."""
        from ..explain import filters, find_layer

        layers = []
        for name in self.conv_names:
            weights = filters(find_layer(self.model, name))              # (O, C, KH, KW)
            shown = weights.mean(axis=1)[:64]
            layers.append({"name": name, "shape": list(weights.shape),
                           "image": pictures.png_data_url(
                               pictures.tile(shown, columns=min(len(shown), 8)))})
        return layers

    # ------------------------------------------------------------------ the test split

    def test_results(self):
        """Cached ``{"frames", "inputs", "labels", "probabilities"}`` on up to
        :data:`TEST_IMAGES` test images spread over the run's test split."""
        if self._test is None:
            self._test = self._evaluate_test_split()
        return self._test

    def _evaluate_test_split(self):
        from ..runs.errors import RunConfigError
        from ..runs.evaluation import evaluation_loader

        dataset = self.meta.get("dataset")
        try:  # a built-in dataset or the run's folder of images, framed as in training
            _, subset, loader = evaluation_loader(self.meta, self.name, limit=TEST_IMAGES)
        except (OSError, ValueError, RunConfigError) as error:
            raise Unavailable(f"the test split of {dataset!r} is not available here: "
                              f"{error}") from None
        inputs, labels, logits = [], [], []
        with self.lock:
            for images, targets in loader:
                inputs.append(images.data)
                labels.append(targets.data)
                logits.append(self._logits(images.data))
        inputs = xp.concatenate(inputs)
        split = len(getattr(subset, "dataset", subset))  # the whole split the subset is from
        return {"inputs": inputs, "frames": inputs * self.std + self.mean, "split_images": split,
                "labels": xp.concatenate(labels).astype(xp.int64),
                "probabilities": _softmax(xp.concatenate(logits))}

    def confusion(self):
        """``{"classes", "matrix", "accuracy", "images", "split_images"}``: rows true,
        columns predicted; ``images`` of the ``split_images`` of the test split."""
        test = self.test_results()
        predicted = test["probabilities"].argmax(axis=1)
        k = len(self.classes)
        matrix = xp.zeros((k, k), dtype=xp.int64)
        xp.add.at(matrix, (test["labels"], predicted), 1)
        return {"classes": self.classes, "matrix": matrix.tolist(),
                "accuracy": float((predicted == test["labels"]).mean()),
                "images": int(len(predicted)), "split_images": int(test["split_images"])}

    def wrong(self, count=12):
        """The ``count`` misclassified test images with the highest confidence."""
        test = self.test_results()
        probabilities = test["probabilities"]
        predicted = probabilities.argmax(axis=1)
        confidence = probabilities.max(axis=1)
        wrong = xp.flatnonzero(predicted != test["labels"])
        order = wrong[xp.argsort(-confidence[wrong], kind="stable")][:count]
        return [{"index": int(i), "label": self.classes[test["labels"][i]],
                 "predicted": self.classes[predicted[i]], "probability": float(confidence[i]),
                 "image": pictures.png_data_url(pictures.grey(test["frames"][i].mean(axis=0),
                                                              0.0, 1.0))}
                for i in order]

    def test_image(self, index):
        """Label, top-3 and :meth:`explain` for the test image at ``index``."""
        test = self.test_results()
        count = len(test["labels"])
        if not 0 <= index < count:
            raise ValueError(f"test image index must be in 0..{count - 1}, got {index}")
        row = test["probabilities"][index]
        best = xp.argsort(-row, kind="stable")[:3]
        result = self.explain(test["frames"][index].astype(xp.float32))
        result.update(index=index, count=count, label=self.classes[test["labels"][index]],
                      top=[{"label": self.classes[i], "probability": float(row[i])}
                           for i in best])
        return result
