"""``striate datasets``: the datasets ``--dataset`` accepts and where their files are."""


def register(subparsers):
    parser = subparsers.add_parser("datasets", help="list the datasets and where they were found",
                                   description="List the datasets `--dataset` accepts and "
                                               "where their files are.")
    parser.add_argument("--data-dir", metavar="DIR",
                        help="show which datasets DIR (or DIR/NAME) holds; an error if none")
    parser.set_defaults(handler=run)


def _in_data_dir(names, data_dir):
    """{name: directory or None} for the file datasets in ``data_dir``; an
    error if it holds none of them."""
    from ..data.datasets import FILE_NAMES, find_dataset_dir
    from ..runs.checks import check_data_dir, check_directory
    from .common import UsageError

    check_directory(data_dir, "--data-dir")
    places = {}
    for name in names:
        try:
            check_data_dir(name, data_dir)
            places[name] = find_dataset_dir(name, data_dir)[0]
        except UsageError:
            places[name] = None
    if not any(places.values()):
        raise UsageError(f"--data-dir {data_dir} holds none of the datasets: looked for "
                         f"{', '.join(FILE_NAMES)} (gzipped or not) in it and in its "
                         f"subfolders {', '.join(names)}")
    return places


def run(args):
    from ..data.datasets import DEFAULT_DATASET, GENERATED, find_dataset_dir, list_datasets

    files = [name for name in list_datasets() if name != DEFAULT_DATASET and name not in GENERATED]
    places = _in_data_dir(files, args.data_dir) if args.data_dir is not None else {}
    for name in list_datasets():
        if name == DEFAULT_DATASET:
            where = "embedded in striate (4,000 train + 1,000 test MNIST digits), no download"
        elif name in GENERATED:
            where = GENERATED[name][2]
        elif name in places:
            where = places[name] or f"not in {args.data_dir}"
        else:
            directory, _ = find_dataset_dir(name)
            where = directory or (f"not found; `striate train --dataset {name} --download` "
                                  "fetches it")
        print(f"{name:<15} {where}")
    return 0
