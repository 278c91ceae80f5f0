"""Every script of ``examples/`` runs (fast mode) and prints the lecture
notes' numbers. The expected values are the notes' own (seeds/000 to 004),
typed in here, not taken from the scripts' output."""
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")

# script -> lines or fragments its output must contain (the notes' numbers)
EXPECTED = {
    "01_images_as_arrays.py": ["36 x 24: 864 values", "10,000,000 weights",
                               "[[170 238  85 255 221   0]"],
    "02_convolution_by_hand.py": ["= 19", "[[ 7  8  9]\n [11 12 13]\n [15 16 17]]",
                                  "[[4 3 4]\n [2 4 3]\n [2 3 4]]",
                                  "[[2 2 3 1 1]\n [1 4 3 4 1]\n [1 2 4 3 3]\n [1 2 3 4 1]\n"
                                  " [0 2 2 1 1]]",
                                  "[[4 4]\n [2 4]]"],
    "03_output_size.py": ["(7 - 3 + 2*0)/1 + 1 = 5", "(7 - 3 + 2*0)/2 + 1 = 3",
                          "(7 - 3 + 2*1)/1 + 1 = 7", "(5 - 3 + 2*1)/1 + 1 = 5",
                          "(5 - 3 + 2*1)/2 + 1 = 3", "(227 - 11 + 2*0)/4 + 1 = 55",
                          "(28 - 5 + 2*2)/1 + 1 = 28", "(14 - 5 + 2*0)/1 + 1 = 10",
                          "(55 - 3)/2 + 1 = 27", "(27 - 3)/2 + 1 = 13", "(13 - 3)/2 + 1 = 6",
                          "(224 - 2)/2 + 1 = 112"],
    "04_pooling.py": ["[[8 7]\n [9 5]]", "values [7, 8, 9, 5]", "112x112x64"],
    "05_parameter_counts.py": ["3072 values", "4704 values", "14,450,688 weights",
                               "(5 x 5 + 1) x 6 x 3 = 468", "= 456", "difference: 12",
                               "27 weights + 1 bias", "= 34944"],
    "06_receptive_fields.py": ["one 7x7: receptive field 7 pixels, 200,704 weights",
                               "three 3x3: receptive field 7 pixels, 110,592 weights",
                               "49 C^2 = 200,704, 27 C^2 = 110,592"],
    "07_classic_kernels.py": ["identity returns the photo: True",
                              "outline on a flat grey patch, inside: 0.0",
                              "top_sobel on bright-above-dark, at the edge: 4.0",
                              "flips it into bottom_sobel: -4.0", "output 64 x 64"],
    "08_conv_backprop.py": [],
    "09_architecture_tables.py": ["28x28x6, 14x14x6, 10x10x16, 5x5x16, 120, 84, 10",
                                  "34,944, 614,656, 885,120, 1,327,488, 884,992",
                                  "37,748,736, 16,777,216, 4,096,000",
                                  "55x55x96, 27x27x256, 13x13x384, 13x13x384, 13x13x256",
                                  "counted as the notes do: 62,369,152",
                                  "AlexNet conv layers: 3.7 million",
                                  "pooled: 7x7x512; flattened: 25,088; hidden: 4,096, 4,096, 1,000"],
    "10_dilated_and_1x1.py": ["receptive field 5x5 with 9 weights",
                              "6x6x3 with 3 filters 1x1x3 -> 6x6x3"],
    "11_depthwise_separable.py": ["3*3*128*256 = 294,912", "together 33,920",
                                  "SeparableConv2d(128, 256): 33,920"],
    "12_skip_connections.py": [],
    "13_lenet_filters_and_maps.py": ["C1 filters: 6 of 5x5", "features.0: 28x28x6",
                                     "features.2: 14x14x6", "features.3: 10x10x16",
                                     "features.5: 5x5x16"],
}


# Scripts with a test module of their own (they train for longer).
TESTED_ELSEWHERE = {"14_transfer_learning.py": "tests/test_transfer.py"}


def test_every_example_is_listed_here_and_in_the_readme():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert scripts == sorted([*EXPECTED, *TESTED_ELSEWHERE])
    with open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    for script in scripts:
        assert script in text


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Run every script at once (they are independent), in fast mode."""
    out = tmp_path_factory.mktemp("examples")
    env = dict(os.environ, PYTHONPATH=ROOT, STRIATE_FAST="1", MPLBACKEND="Agg")
    running = {}
    for script in sorted(EXPECTED):
        target = out / script.replace(".py", "")
        target_arg = str(target) if script.startswith("13_") else str(target) + ".png"
        running[script] = subprocess.Popen(
            [sys.executable, os.path.join(EXAMPLES, script), "--fast", "--out", target_arg],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=out)
    results = {}
    for script, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        results[script] = (process.returncode, stdout, stderr)
    return out, results


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_and_prints_the_notes_numbers(outputs, script):
    _, results = outputs
    code, stdout, stderr = results[script]
    assert code == 0, stderr
    for fragment in EXPECTED[script]:
        assert fragment in stdout, f"{fragment!r} not in the output of {script}:\n{stdout}"


def test_backprop_by_hand_matches_autograd(outputs):
    stdout = outputs[1]["08_conv_backprop.py"][1]
    differences = [float(v) for v in re.findall(r"max \|difference\| = ([0-9.e+-]+)", stdout)]
    assert len(differences) == 3
    assert differences[0] < 1e-12 and differences[1] < 1e-12   # dL/dw and dL/dx (flipped)
    assert differences[2] > 0.1                                 # the unflipped filter is wrong


def test_skip_connection_identity_and_gradient_flow(outputs):
    out, results = outputs
    stdout = results["12_skip_connections.py"][1]
    identity = float(re.search(r"dL/dG: max \|difference\| = ([0-9.e+-]+)", stdout).group(1))
    assert identity < 1e-12
    plain, residual = (float(v) for v in re.search(
        r"first-layer gradient norm: plain ([0-9.e+-]+), residual ([0-9.e+-]+)", stdout).groups())
    assert plain < 1e-3 * residual
    assert (out / "12_skip_connections.png").stat().st_size > 10_000


def test_pictures_are_written(outputs):
    out, _ = outputs
    assert (out / "07_classic_kernels.png").stat().st_size > 10_000
    for name in ("lenet_filters.png", "lenet_feature_maps.png"):
        assert (out / "13_lenet_filters_and_maps" / name).stat().st_size > 5_000
