"""Write torchvision's state_dict key/shape lists (run in a venv with torchvision).

    python3 -m venv /tmp/tvenv && /tmp/tvenv/bin/pip install torch==2.14.1 torchvision==0.29.1
    /tmp/tvenv/bin/python tests/data/gen_reference.py
"""
import gzip
import json
import os

import torch
import torchvision

NAMES = ["alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "vgg11_bn", "vgg13_bn", "vgg16_bn",
         "vgg19_bn", "googlenet", "googlenet_aux", "resnet18", "resnet34", "resnet50",
         "resnet101", "resnet152", "densenet121", "densenet169", "densenet201"]


def build(name):
    with torch.device("meta"):
        if name == "googlenet":
            return torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
        if name == "googlenet_aux":
            return torchvision.models.googlenet(weights=None, aux_logits=True, init_weights=False)
        return getattr(torchvision.models, name)(weights=None)


def main():
    reference = {}
    for name in NAMES:
        model = build(name)
        state = model.state_dict()
        params = sum(p.numel() for p in model.parameters())
        reference[name] = {"num_params": params,
                           "state_dict": [[k, list(v.shape)] for k, v in state.items()]}
        print(f"{name:15s} {params:>12,d} params, {len(state)} state_dict entries")
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torchvision_state_dicts.json.gz")
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump({"torch": torch.__version__, "torchvision": torchvision.__version__,
                   "models": reference}, f, separators=(",", ":"))
    print("wrote", out, os.path.getsize(out), "bytes")


if __name__ == "__main__":
    main()
