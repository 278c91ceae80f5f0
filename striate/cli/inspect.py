"""``striate inspect``: look inside a trained model (filters, feature maps,
saliency, Grad-CAM, occlusion, top activations), one PNG per view."""
import os

from .common import UsageError, add_folder_options, add_overwrite_option, positive_int

VIEWS = ("filters", "maps", "saliency", "gradcam", "occlusion", "top")
#: The views that do not explain one class score, so they apply to a segmentation model too.
DENSE_VIEWS = ("filters", "maps")


def _views(text):
    import argparse

    chosen = [v.strip() for v in text.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in VIEWS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"unknown view {', '.join(unknown) or text!r}; choose "
                                         f"from {','.join(VIEWS)}")
    return list(dict.fromkeys(chosen))


def register(subparsers):
    parser = subparsers.add_parser(
        "inspect", help="look inside a trained model: filters, feature maps, saliency, "
                        "Grad-CAM, occlusion, top activations",
        description="Write one PNG per view into --out: the first conv layer's filters, the "
                    "feature maps of an image, saliency maps (Simonyan et al. 2014), Grad-CAM "
                    "(Selvaraju et al. 2017), occlusion sensitivity (Zeiler and Fergus 2014), "
                    "and the test images that activate each of the first 8 channels most.")
    parser.add_argument("run", metavar="RUN", help="a run directory (runs/lenet5-digits) or its "
                                                   "checkpoint/ directory")
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="image files to explain (default: 3 test images of the run's "
                             "dataset, spread evenly over its test split)")
    parser.add_argument("--what", type=_views, metavar="VIEWS",
                        help=f"comma-separated views from {','.join(VIEWS)} "
                             f"(default {','.join(VIEWS[:5])}; for a segmentation model, whose "
                             f"output is a label map, {','.join(DENSE_VIEWS)})")
    parser.add_argument("--layer", metavar="NAME",
                        help="the layer to look at (a name such as features.3): filters and maps "
                             "of this layer, Grad-CAM and top activations at it (defaults: the "
                             "first conv layer for filters, every spatial layer for maps, the last "
                             "conv layer for gradcam and top)")
    parser.add_argument("--target", type=int, metavar="CLASS",
                        help="the class to explain (default: each image's predicted class)")
    parser.add_argument("--window", type=positive_int, metavar="F",
                        help="occlusion patch side in pixels (default a quarter of the image)")
    parser.add_argument("--stride", type=positive_int, metavar="S",
                        help="occlusion patch step (default half the patch)")
    parser.add_argument("--out", metavar="DIR",
                        help="output directory (default RUN/inspect)")
    add_folder_options(parser, training=False)
    add_overwrite_option(parser, "the views' PNG files in --out (those in RUN/inspect are "
                                 "always replaced)")
    parser.set_defaults(handler=run)


def _dataset_images(meta, count, folder=None):
    """(display images in [0, 1], model inputs, labels) of the run's test split
    (or of ``folder``), ``count`` images spread over it (all of them for None)."""
    from ..runs.evaluation import split_images

    return split_images(meta, count, folder=folder)


def _file_images(meta, paths):
    from ..backend import xp
    from ..data.images import load_image, prepare_image

    invert = "auto" if meta.get("background") == "dark" else False
    display = xp.stack([prepare_image(load_image(path), meta["input_shape"], invert=invert,
                                      framing=meta.get("framing", "resize")) for path in paths])
    norm = meta.get("normalization") or {}
    if norm.get("mean") is None:
        return display, display, [os.path.basename(p) for p in paths]
    mean = xp.asarray(norm["mean"], dtype=xp.float32).reshape(-1, 1, 1)
    std = xp.asarray(norm["std"], dtype=xp.float32).reshape(-1, 1, 1)
    return display, (display - mean) / std, [os.path.basename(p) for p in paths]


def _stem(label):
    return "".join(ch if ch.isalnum() else "_" for ch in os.path.splitext(label)[0]).strip("_")


def _output_dir(args, checkpoint, views, labels):
    """The folder the views go to (made), once every file they will write has
    been checked against the inputs and the run."""
    from ..runs.outputs import OutputPlan
    from ..train.layout import run_dir_of

    out = args.out or os.path.join(run_dir_of(checkpoint.path), "inspect")
    names = [name for view in views for name in
             ([f"maps-{_stem(label)}.png" for label in labels] if view == "maps" else [f"{view}.png"])]
    plan = OutputPlan(args.overwrite).reads_run(args.run)
    for path in args.images:
        plan.reads(path, "IMAGE")
    plan.writes_dir(out, "--out", names, report=args.out is None).check()
    os.makedirs(out, exist_ok=True)
    return out


def run(args):
    from .. import explain
    from ..autograd import Tensor, no_grad
    from ..backend import xp
    from ..explain import plots
    from ..functional import softmax
    from ..train.checkpoint import load_checkpoint

    checkpoint = load_checkpoint(args.run)
    meta = checkpoint.meta
    if "input_shape" not in meta:
        raise UsageError(f"{checkpoint.path} does not record the model's input shape")
    model = checkpoint.build_model()
    model_name = (meta.get("model") or {}).get("name", type(model).__name__)
    convs = [name for name, _ in explain.conv_layers(model)]
    if not convs:
        raise UsageError(f"{model_name} has no Conv2d layer to inspect")
    if args.layer is not None:
        explain.find_layer(model, args.layer, "inspect --layer")
    # Everything is read and checked before the first file is written.
    if args.images:
        display, inputs, labels = _file_images(meta, args.images)
    else:
        display, inputs, labels = _dataset_images(meta, 3, args.data)
    classes = meta.get("classes") or []
    with no_grad():
        logits = model(Tensor(inputs)).data.astype(xp.float64)
    if logits.ndim != 2:  # a segmentation model: no class score for the views to explain
        views = args.what or list(DENSE_VIEWS)
        other = [v for v in views if v not in DENSE_VIEWS]
        if other:
            raise UsageError(f"--what {','.join(other)}: these views explain one class score of "
                             f"a classifier; {model_name} is a segmentation model (it outputs a "
                             f"label map), so only {','.join(DENSE_VIEWS)} apply")
        captions = list(labels)
    else:
        views = args.what or list(VIEWS[:5])
        probabilities = softmax(Tensor(logits), dim=1).data
        num_classes = probabilities.shape[1]
        if args.target is not None and not 0 <= args.target < num_classes:
            raise UsageError(f"--target {args.target} is out of range: the model has "
                             f"{num_classes} classes (0..{num_classes - 1})")
        chosen = xp.full(len(inputs), args.target) if args.target is not None else \
            probabilities.argmax(axis=1)

        def name_of(k):
            return str(classes[k]) if k < len(classes) else str(k)

        captions = [f"{label}: {name_of(int(k))} {100 * probabilities[i, k]:.1f}%"
                    for i, (label, k) in enumerate(zip(labels, chosen))]
    side = min(inputs.shape[2:])
    if "occlusion" in views and args.window and args.window > side:
        raise UsageError(f"--window {args.window}: the window {args.window}x{args.window} is "
                         f"larger than the image {inputs.shape[2]}x{inputs.shape[3]}")
    out = _output_dir(args, checkpoint, views, labels)
    written = []

    def save(figure, filename):
        path = os.path.join(out, filename)
        plots.save_figure(figure, path)
        written.append(path)

    late = args.layer or explain.grad_cam_layer(model)
    for view in views:
        if view == "filters":
            layer = args.layer or convs[0]
            weights = explain.filters(model, layer=layer)
            o, c, kh, kw = weights.shape
            save(plots.filter_grid(weights, f"{model_name} {layer}: {o} filters of {c}x{kh}x{kw}"
                                            f", each scaled to max |w| = 1"), "filters.png")
        elif view == "maps":
            layers = [args.layer] if args.layer else None
            for i, label in enumerate(labels):
                maps = explain.feature_maps(model, inputs[i:i + 1], layers=layers)
                maps = {k: v[0] for k, v in maps.items() if v.ndim == 4}
                if not maps:
                    raise UsageError(f"layer {args.layer!r} has no spatial feature maps")
                save(plots.feature_map_grid(display[i], maps, f"{model_name} feature maps of "
                                                              f"{captions[i]}"),
                     f"maps-{_stem(label)}.png")
        elif view == "saliency":
            heat = explain.saliency(model, inputs, target=chosen)
            save(plots.heatmap_rows(display, heat, captions, f"{model_name}: saliency "
                                    "|d logit / d pixel| (Simonyan et al. 2014)", "saliency"),
                 "saliency.png")
        elif view == "gradcam":
            heat = explain.grad_cam(model, inputs, late, target=chosen)
            size = explain.feature_maps(model, inputs[:1], layers=[late])[late].shape[2:]
            save(plots.heatmap_rows(display, heat, captions, f"{model_name}: Grad-CAM at {late} "
                                    f"({size[0]}x{size[1]} maps, resized to the input)",
                                    "Grad-CAM"), "gradcam.png")
        elif view == "occlusion":
            height = inputs.shape[2]
            window = args.window or max(1, min(inputs.shape[2:]) // 4)
            stride = args.stride or max(1, window // 2)
            drops = explain.occlusion(model, inputs, target=chosen, window=window, stride=stride)
            positions = (height - window) // stride + 1
            save(plots.occlusion_rows(display, drops, captions, f"{model_name}: occlusion "
                                      f"(Zeiler & Fergus 2014)\n{window}x{window} zero patch, "
                                      f"stride {stride}: ({height} - {window})/{stride} + 1 = "
                                      f"{positions} positions per side", window, stride),
                 "occlusion.png")
        elif view == "top":
            shown, dataset_inputs, _ = _dataset_images(meta, None, args.data)
            indices, values = explain.top_activations(model, dataset_inputs, late, None)
            rows = [(f"ch {channel}", shown[indices[channel]], values[channel])
                    for channel in range(min(len(indices), 8))]
            save(plots.top_activation_grid(rows, f"{model_name} {late}: the 9 test images with the "
                                                 "strongest response (max over the map) per "
                                                 "channel"), "top.png")
    for path in written:
        print(path)
    return 0
