"""``striate train``: train a model, evaluating after every epoch; ``--resume``
continues a stopped run exactly where it stopped."""
import os
import sys
import time

from ..accel import describe as convolution_route
from ..runs.checks import existing_run
from ..runs.tasks import trainer_options
from ..train.layout import RunLayout, run_dir_of
from . import distributed
from .common import (UsageError, add_data_options, add_folder_options, add_model_options,
                     model_kwargs,
                     non_negative_float, non_negative_int, output_path, percent, positive_float,
                     positive_int, measured_on, plural, wrap_parts)
from .augment import add_augment_options
from .segmentation import add_task_options, print_segmentation_result
from .transfer import add_transfer_options, transfer_config


def register(subparsers):
    from ..runs.config import DEFAULT_LR, DEFAULTS, OPTIMIZERS, SCHEDULES

    d = DEFAULTS
    lrs = ", ".join(f"{k} {v:g}" for k, v in DEFAULT_LR.items())
    p = subparsers.add_parser(
        "train", help="train a model (default: LeNet-5 on the embedded digits)",
        description="Train a model on a dataset, evaluating on its test split after every "
                    "epoch. Writes OUT/checkpoint/ (weights and training state), "
                    "OUT/metrics.jsonl (one line per epoch) and OUT/learning_curve.png. "
                    "With no options: LeNet-5 on the embedded MNIST digits (4,000 to train, "
                    "1,000 to test), no download.")
    p.add_argument("--model", help=f"model name, see `striate models` (default {d['model']})")
    p.add_argument("--dataset", help=f"dataset name, see `striate datasets` (default "
                                     f"{d['dataset']}: embedded, no download)")
    p.add_argument("--epochs", type=positive_int, metavar="N",
                   help=f"total number of epochs, counting those before a --resume "
                        f"(default {d['epochs']})")
    p.add_argument("--batch-size", type=positive_int, metavar="N",
                   help=f"images per training batch (default {d['batch_size']})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d['optimizer']}")
    p.add_argument("--lr", type=positive_float, metavar="LR",
                   help=f"learning rate (the peak rate for onecycle); default per optimizer: {lrs}")
    p.add_argument("--momentum", type=non_negative_float, metavar="M",
                   help="momentum for sgd (Nesterov) and rmsprop (default 0.9 for sgd, "
                        "0 for rmsprop)")
    p.add_argument("--weight-decay", type=non_negative_float, metavar="WD",
                   help=f"L2 penalty (decoupled for adamw) (default {d['weight_decay']})")
    p.add_argument("--schedule", choices=SCHEDULES,
                   help=f"learning-rate schedule: none, step (/10 at 1/2 and 3/4 of the epochs), "
                        f"cosine (to 0), onecycle (warm up then anneal, per batch) "
                        f"(default {d['schedule']})")
    p.add_argument("--warmup", type=non_negative_int, metavar="EPOCHS",
                   help="epochs of linear learning-rate warm-up before step/cosine/none "
                        f"(default {d['warmup']})")
    p.add_argument("--seed", type=int, metavar="N",
                   help=f"random seed: initialization, shuffling, augmentation (default {d['seed']})")
    add_augment_options(p, "random shifts of up to 2 pixels for digits, horizontal flips "
                           "for Fashion-MNIST")
    p.add_argument("--image-size", type=positive_int, metavar="S",
                   help="resize images to SxS (default: the dataset's size)")
    p.add_argument("--limit", type=positive_int, metavar="N",
                   help="use only N training and N/4 test images, spread evenly over each "
                        "split (quick trials)")
    add_model_options(p)
    p.add_argument("--out", type=output_path, metavar="DIR",
                   help="output directory (default runs/MODEL-DATASET)")
    p.add_argument("--resume", nargs="?", const="", metavar="DIR",
                   help="continue the run in DIR (default: --out) exactly where it stopped, "
                        "with its stored settings; --epochs may raise the total")
    p.add_argument("--overwrite", action="store_true",
                   help="replace an existing run in the output directory; the old run is "
                        "kept until the new one has written its first checkpoint")
    p.add_argument("--stop-after", type=positive_int, metavar="N",
                   help="stop after N epochs of this session (the schedule still spans "
                        "--epochs); continue later with --resume")
    add_data_options(p)
    add_folder_options(p)
    add_transfer_options(p)
    add_task_options(p)
    distributed.add_options(p)
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bars (they are also off when stderr is not a terminal)")
    # Defaults are None so that --resume can tell what was given; the help
    # strings state the real defaults (from striate.runs.config.DEFAULTS).
    p.set_defaults(handler=distributed.guarded(run))



#: Settings that may differ from the stored ones on --resume.
_RESUME_MAY_CHANGE = ("epochs",)


def _explicit_config(args):
    """The configuration keys the user set on the command line."""
    keys = ("model", "dataset", "epochs", "batch_size", "optimizer", "lr", "momentum",
            "weight_decay", "schedule", "warmup", "seed", "augment", "image_size", "limit",
            "dice_weight", "val_split", "normalize")
    explicit = {k: getattr(args, k) for k in keys if getattr(args, k) is not None}
    kwargs = model_kwargs(args)
    if kwargs:
        explicit["model_args"] = kwargs
    transfer = transfer_config(args)
    if transfer:
        explicit["transfer"] = transfer
    if args.data is not None:
        from ..runs.api import folder_settings

        if args.data_dir is not None:
            raise UsageError(f"--data-dir {args.data_dir} tells where a named --dataset's files "
                             f"are; --data {args.data} is a folder of images itself: leave out "
                             "--data-dir")
        explicit.update(folder_settings(args.data, explicit))
    return explicit


def _check_saved_run(checkpoint, config):
    """The saved configuration passes a fresh run's checks and agrees with the
    checkpoint's model, and the run's files agree with each other
    (:func:`striate.train.runcheck.check_run`); else one line naming the file."""
    from ..runs.validate import validate_config
    from ..train.runcheck import check_run

    state = os.path.join(checkpoint.path, "training_state.json")
    validate_config(config, f"{state} (its saved configuration)")
    built = (checkpoint.meta.get("model") or {}).get("name")
    if built is not None and config.get("model") != built:
        raise UsageError(f"{state}: the saved configuration names model {config.get('model')!r} "
                         f"but the checkpoint's weights are those of {built!r}; the file was "
                         "edited. Restore it, or start the run afresh")
    check_run(run_dir_of(checkpoint.path))


def _resume_config(args, explicit):
    from ..train.checkpoint import load_checkpoint
    from ..runs.config import DEFAULTS, default_out_dir

    path = args.resume or args.out or default_out_dir({**DEFAULTS, **explicit})
    checkpoint = load_checkpoint(path)
    config = dict(checkpoint.meta.get("config") or {})
    if not config:
        raise UsageError(f"{checkpoint.path} stores no training configuration; it cannot be resumed")
    _check_saved_run(checkpoint, config)
    conflicts = [f"--{k.replace('_', '-')} {explicit[k]!r} (the run has {config.get(k)!r})"
                 for k in explicit if k not in _RESUME_MAY_CHANGE and explicit[k] != config.get(k)]
    if conflicts:
        raise UsageError(f"cannot resume {checkpoint.path} with different settings: "
                         f"{'; '.join(conflicts)}. Resume without them, or start a new run "
                         "with --out")
    config.update({k: explicit[k] for k in _RESUME_MAY_CHANGE if k in explicit})
    return checkpoint, config, args.out or run_dir_of(checkpoint.path)


def _header(verb, config, run, lr):
    """What is trained on what (first line), and how (second line)."""
    from ..runs.config import augmentation

    data = [f"{verb}: {config['model']} on {config['dataset']}",
            f"{len(run.train_set):,} train / {len(run.test_set):,} test images",
            f"{len(run.classes)} classes", f"input {'x'.join(map(str, run.input_shape))}"]
    how = [plural(config['epochs'], "epoch"), f"{config['optimizer']} lr {lr:g}",
           f"schedule {config['schedule']}", f"batch {config['batch_size']}",
           f"augment {augmentation(config) or 'none'}", f"seed {config['seed']}"]
    return wrap_parts(data, first=", ") + "\n" + wrap_parts(how, indent="  ")


def _resume(trainer, checkpoint, config):
    """Continue ``checkpoint``'s run to ``config['epochs']`` epochs, its schedule
    re-planned or given a new cycle where the epochs changed (the rules of
    :mod:`striate.train.schedules`), saying so."""
    from ..train.schedules import first_plan

    plan = checkpoint.meta.get("schedule_plan") or first_plan(checkpoint.meta["config"]["epochs"])
    _, note = trainer.resume_schedule(config["schedule"], config["epochs"],
                                      warmup=config["warmup"], plan=plan, path=checkpoint.path)
    for line in getattr(trainer, "resume_notes", []) + ([note] if note else []):
        print(f"note: {line}", file=sys.stderr)


def _train(make_trainer, checkpoint, config, args, out):
    """Train; with ``--overwrite`` over an existing run, the first epoch goes
    into a staging directory that replaces the old run only once it holds a
    checkpoint (see :mod:`.overwrite`). Returns the trainer."""
    from ..train.trainer import NonFiniteLossError
    from .overwrite import discard, make_staging_dir, swap_in

    if checkpoint is not None or not (args.overwrite and existing_run(out)):
        trainer = make_trainer(out)
        if checkpoint is not None:
            _resume(trainer, checkpoint, config)
        trainer.fit(config["epochs"], stop_after=args.stop_after)
        return trainer
    staging = make_staging_dir(out)
    try:
        trainer = make_trainer(staging)
        trainer.fit(config["epochs"], stop_after=1)
    except NonFiniteLossError as error:
        discard(staging)
        raise UsageError(f"{error}; the run in {out} is untouched") from None
    except KeyboardInterrupt:
        discard(staging)
        raise KeyboardInterrupt(f"the run in {out} is untouched") from None
    except BaseException:
        discard(staging)
        raise
    swap_in(staging, out)  # not in the try: from here on, staging may hold the old run's files
    if trainer.epoch < config["epochs"] and args.stop_after != 1:
        trainer = make_trainer(out)
        trainer.resume()
        trainer.fit(config["epochs"],
                    stop_after=None if args.stop_after is None else args.stop_after - 1)
    return trainer


def run(args):
    from ..runs.checks import check_data_dir, check_outside, note_missing, require
    from ..runs.config import DEFAULT_LR, DEFAULTS, default_out_dir, prepare_run
    from ..runs.api import with_recipe
    from ..runs.outputs import OutputPlan
    from ..train.trainer import NonFiniteLossError

    require("train", "safetensors")
    explicit = _explicit_config(args)
    checkpoint = None
    if args.resume is not None and args.overwrite:
        raise UsageError("--resume continues a run and --overwrite replaces it; give one of them")
    if args.resume is not None:
        checkpoint, config, out = _resume_config(args, explicit)
    else:
        config = {**DEFAULTS, **explicit}
        if config.get("data") and "model" not in explicit:
            config["model"] = "auto"  # chosen for the folder's images by prepare_run
        config, taken = with_recipe(config, explicit)
        if taken:
            print(f"recommended settings for {config['model']} on {config['dataset']} (set any "
                  "of them to change it): " + ", ".join(f"{k.replace('_', ' ')} {v}"
                                                       for k, v in taken.items()))
        out = args.out or default_out_dir(config)
        if existing_run(out) and not args.overwrite:
            raise UsageError(f"{out} already holds a training run; continue it with --resume, "
                             "replace it with --overwrite, or choose another --out")
    plan = OutputPlan(args.overwrite)
    if config.get("transfer"):
        plan.reads(config["transfer"]["init_from"], "--init-from")
    plan.writes_dir(out, "--out", replaces=True).check()
    data_dir = None if config.get("data") else check_data_dir(config["dataset"], args.data_dir,
                                                              args.download)
    if config.get("data"):
        check_outside(out, config["data"])
    plot = note_missing("matplotlib", "no learning curve is drawn")
    progress = False if args.no_progress else None
    if progress is None and sys.stderr.isatty():
        progress = note_missing("tqdm", "training shows no progress bar")
    run = prepare_run(config, data_dir, args.download,
                      normalization=checkpoint.meta.get("normalization") if checkpoint else None,
                      init_weights=checkpoint is None, log=print,
                      progress=False if args.no_progress else None,
                      expect_folder=checkpoint.meta.get("folder") if checkpoint else None)
    parallel = distributed.setup(args, run)  # None unless launched by mpiexec
    if parallel is not None and args.overwrite and existing_run(out):
        # Replacing a run stages its first epoch beside the old one and swaps on
        # the main rank alone, which the ranks' lock-step training cannot follow.
        raise UsageError(f"--overwrite is not available under mpiexec; remove {out} or choose "
                         "another --out")
    if checkpoint is not None and checkpoint.epoch >= config["epochs"]:
        print(f"{out} has already trained {checkpoint.epoch} of {config['epochs']} epochs; "
              "nothing to do (raise --epochs to train longer)")
        return 0
    task_options = trainer_options(config, run.train_set, None if checkpoint else run.model)

    def make_trainer(out_dir):
        return run.make_trainer(out_dir, progress=progress, plot=plot, distributed=parallel,
                                **task_options)

    lr = config["lr"] if config["lr"] is not None else DEFAULT_LR[config["optimizer"]]
    verb = f"resuming at epoch {checkpoint.epoch + 1}" if checkpoint else "training"
    print(_header(verb, config, run, lr))
    print(f"  convolutions: {convolution_route()}")
    start = time.perf_counter()
    layout = RunLayout(out)
    checkpoint_path = layout.checkpoint_dir
    try:
        trainer = _train(make_trainer, checkpoint, config, args, out)
    except (NonFiniteLossError, KeyboardInterrupt) as error:
        kept = (f"the last checkpoint in {checkpoint_path} is intact"
                if os.path.isdir(checkpoint_path) else "no checkpoint was written")
        if isinstance(error, KeyboardInterrupt):
            more = (f"; continue with striate train --resume {out}"
                    if os.path.isdir(checkpoint_path) else "")
            print(f"\nstriate train: interrupted; {str(error) or kept + more}", file=sys.stderr)
            return 130
        raise UsageError(f"{error}; {kept}") from None
    seconds = time.perf_counter() - start
    last = trainer.history[-1] if trainer.history else {}
    on = measured_on(run.test_set, "test", bool(config.get("limit")))
    if "test_acc" in last and "test_miou" not in last:
        print(f"test accuracy {percent(last['test_acc'])} on {on} after "
              f"{plural(trainer.epoch, 'epoch')} ({seconds:.1f} s)")
    print_segmentation_result(last, on)
    timed = [r["seconds"] for r in trainer.history if r.get("seconds")] if run.folder else []
    if timed:
        print(f"training: {len(run.train_set) * len(timed) / sum(timed):,.0f} images/s over "
              f"{len(timed)} epoch(s) ({sum(timed) / len(timed):.1f} s per epoch, evaluation "
              "included)")
    print(f"checkpoint:     {layout.checkpoint_dir}")
    print(f"metrics log:    {layout.metrics_file}")
    if plot:
        print(f"learning curve: {layout.curve_file}")
    if trainer.epoch < config["epochs"]:
        print(f"stopped after epoch {trainer.epoch} of {config['epochs']}; continue with "
              f"striate train --resume {out}")
    return 0
