"""What kind of learning a run is: classification (one label per sample) or
segmentation (one label per pixel), and whether the model fits the data.

A run asks :func:`trainer_options` for the loss and the per-epoch
metrics of the task its dataset implies, and :func:`check_model_fits` before
anything is trained, so that a 2-D network given 1-D signals, or a
classifier given label maps, stops with a sentence rather than a shape error
deep inside a layer.
"""
from .errors import RunConfigError

__all__ = ["task_of", "check_model_fits", "check_task_augmentation", "trainer_options",
           "task_model_kwargs", "evaluation_task", "SEGMENTATION_MODELS"]

#: Models whose output is a map of class scores (N, K, H, W), not (N, K).
SEGMENTATION_MODELS = ("unet",)

_LAYOUTS = {1: "1-D signals (C, L)", 2: "2-D images (C, H, W)", 3: "3-D volumes (C, D, H, W)"}


def task_of(dataset):
    """``"segmentation"`` for datasets with per-pixel labels, else ``"classification"``."""
    while not hasattr(dataset, "task") and hasattr(dataset, "indices"):  # a Subset
        dataset = dataset.dataset
    return getattr(dataset, "task", "classification")


def _shape_text(shape):
    return "x".join(str(n) for n in shape)


def check_model_fits(model_name, model, data_shape, task, dataset_name):
    """A :class:`RunConfigError` when ``model`` cannot take samples of ``data_shape``
    (C, spatial...) or produce ``task``'s outputs."""
    model_shape = tuple(getattr(model, "input_shape", ()) or ())
    if model_shape and len(model_shape) != len(data_shape):
        want = _LAYOUTS.get(len(model_shape) - 1, f"{len(model_shape)}-dimensional inputs")
        have = _LAYOUTS.get(len(data_shape) - 1, f"{len(data_shape)}-dimensional samples")
        hint = ("a 1-D model such as cnn1d" if len(data_shape) == 2
                else "a model for that layout")
        raise RunConfigError(f"model {model_name!r} takes {want} such as "
                             f"{_shape_text(model_shape)}, "
                             f"but dataset {dataset_name!r} holds {have} of "
                             f"{_shape_text(data_shape)}; choose {hint}")
    segmenter = model_name in SEGMENTATION_MODELS
    if task == "segmentation" and not segmenter:
        raise RunConfigError(f"dataset {dataset_name!r} has a label per pixel (segmentation) but "
                             f"model {model_name!r} predicts one label per image; use "
                             f"{' or '.join(SEGMENTATION_MODELS)} with padded=true")
    if task == "classification" and segmenter:
        raise RunConfigError(f"model {model_name!r} predicts a label per pixel but dataset "
                             f"{dataset_name!r} has one label per image; train it on a "
                             "segmentation dataset such as digit-scenes")
    if segmenter and hasattr(model, "padded") and not model.padded:
        raise RunConfigError(f"model {model_name!r} must be padded to give a label map of the "
                             "input's size: pass --model-arg padded=true")
    multiple = 2 ** getattr(model, "depth", 4)
    if segmenter and len(data_shape) == 3 and any(n % multiple for n in data_shape[1:]):
        raise RunConfigError(f"the padded U-Net of depth {multiple.bit_length() - 1} needs image "
                             f"sides divisible by {multiple}, but dataset {dataset_name!r} has "
                             f"{_shape_text(data_shape[1:])} images")


def check_task_augmentation(spec, task):
    """A :class:`RunConfigError` for augmentations that a ``task`` cannot take:
    for segmentation, the batch mixes, which blend class labels (the spatial
    transforms move the label maps with the images)."""
    if task != "segmentation" or not spec:
        return
    from ..data.augment_spec import check_dense_spec

    try:
        check_dense_spec(spec)
    except ValueError as error:
        raise RunConfigError(f"--augment: {error}") from None


def trainer_options(config, train_set, model=None):
    """``Trainer`` keywords (loss and metrics) for the task of ``train_set``; {}
    for classification, so classification runs exactly as before.

    For segmentation, a new ``model`` (not one resumed from a checkpoint)
    also gets its output biases set to the log of each class's share of the
    training pixels (the "prior" initialization of Lin et al. 2017, "Focal
    loss for dense object detection"): the untrained network then predicts
    the class frequencies, background at about 93%, instead of starting from
    a uniform guess that adaptive optimizers take hundreds of steps to leave.
    """
    if task_of(train_set) != "segmentation":
        if config.get("dice_weight"):
            raise RunConfigError("--dice-weight applies to segmentation datasets only")
        return {}
    if config.get("image_size"):
        raise RunConfigError("--image-size cannot be used with a segmentation dataset: the label "
                             "maps would no longer match the resized images")
    from ..train.segmentation import SegmentationMetrics, segmentation_loss

    weight = config.get("dice_weight") or 0.0
    if weight < 0:
        raise RunConfigError(f"--dice-weight must be >= 0, got {weight}")
    if model is not None:
        _prior_bias(model, train_set)
    return {"loss_fn": segmentation_loss(dice_weight=weight), "metrics": SegmentationMetrics}


def _prior_bias(model, train_set):
    from ..backend import xp

    head = getattr(model, "head", None)
    if head is None or getattr(head, "bias", None) is None:
        return
    masks = train_set.gather(xp.arange(len(train_set)))[1]
    counts = xp.bincount(masks.ravel(), minlength=head.bias.data.shape[0]).astype(xp.float64)
    share = (counts + 1) / (counts.sum() + len(counts))  # +1: no log(0) for an unseen class
    head.bias.data[...] = xp.log(share).astype(head.bias.data.dtype)


def task_model_kwargs(model_name, task, given):
    """Factory keywords a task implies unless ``given`` sets them: segmentation
    models padded, so that the label map keeps the input's size."""
    if task == "segmentation" and model_name in SEGMENTATION_MODELS and "padded" not in given:
        return {"padded": True}
    return {}


def evaluation_task(checkpoint, dataset, dataset_name):
    """The task of ``dataset``, checked against the one the checkpoint was trained for."""
    trained = checkpoint.meta.get("task", "classification")
    task = task_of(dataset)
    if task != trained:
        raise RunConfigError(f"{checkpoint.path} holds a {trained} model, but dataset "
                             f"{dataset_name!r} is a {task} dataset")
    return task
