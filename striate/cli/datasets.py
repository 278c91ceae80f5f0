"""``striate datasets``: the datasets ``--dataset`` accepts and where their files are."""


def register(subparsers):
    parser = subparsers.add_parser("datasets", help="list the datasets and where they were found",
                                   description="List the datasets `--dataset` accepts and "
                                               "where their files are.")
    parser.add_argument("--data-dir", metavar="DIR", help="also look in DIR")
    parser.set_defaults(handler=run)


def run(args):
    from ..data.datasets import DEFAULT_DATASET, GENERATED, find_dataset_dir, list_datasets

    for name in list_datasets():
        if name == DEFAULT_DATASET:
            where = "embedded in striate (5,000 MNIST digits), no download"
        elif name in GENERATED:
            where = GENERATED[name][2]
        else:
            directory, _ = find_dataset_dir(name, args.data_dir)
            where = directory or (f"not found; `striate train --dataset {name} --download` "
                                  "fetches it")
        print(f"{name:<15} {where}")
    return 0
