"""Every script of ``examples/`` runs (fast mode) and prints the lecture
notes' numbers, both as a script and as a notebook (jupytext turns the
percent-format script into a notebook, nbclient runs it in a real Jupyter
kernel). The expected values are the notes' own (seeds/000 to 004), typed in
here, not taken from the scripts' output."""
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

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
                                  "pooled: 7x7x512; flattened: 25,088; hidden: 4,096, 4,096, 1,000",
                                  # seeds/003's LeNet (sigmoid, average pooling); seeds/002's 120M
                                  "notes' LeNet shapes: 28x28x6, 14x14x6, 10x10x16, 5x5x16, "
                                  "120, 84, 10", "(the notes: 120M; the paper: 138M)"],
    "10_dilated_and_1x1.py": ["receptive field 5x5 with 9 weights",
                              "6x6x3 with 3 filters 1x1x3 -> 6x6x3"],
    "11_depthwise_separable.py": ["3*3*128*256 = 294,912", "together 33,920",
                                  "SeparableConv2d(128, 256): 33,920",
                                  # seeds/003's table: Xception's order, 1x1 first
                                  "128*256 + 3*3*256 = 35,072"],
    "12_skip_connections.py": [],
    "13_lenet_filters_and_maps.py": ["C1 filters: 6 of 5x5", "C1: 28x28x6", "S2: 14x14x6",
                                     "C3: 10x10x16", "S4: 5x5x16"],
    "14_transfer_learning.py": ["5 seeds", "fine-tuned:   mean", "from scratch: mean"],
    "15_translation_equivariance.py": ["inside the border: max |difference| = 0.0e+00"],
    # the 1-D picture: 5 x 5 fully connected against a width-3 kernel
    "16_sparse_connectivity.py": ["fully connected: 5 x 5 = 25 connections, 25 weights",
                                  "13 connections, 3 shared weights",
                                  "s3 depends on inputs ['x2', 'x3', 'x4']"],
    # seeds/003: the 5x5 grey values, the X filter and the two edge detectors
    "17_edge_maps_by_hand.py": ["= 672", "[[672 510 705]\n [267 314 376]\n [446 307 439]]",
                                "[[ 171   65 -163]\n [ 153   57 -342]\n [ 141  273 -341]]",
                                "[[ 120  257  236]\n [-158   39   70]\n [ 322  141  -22]]"],
    # the vertical-edge map above with its negatives replaced by zero
    "18_relu_after_conv.py": ["[[171  65   0]\n [153  57   0]\n [141 273   0]]",
                              "negative responses set to zero: 3 of 9"],
    "19_conv1d_and_commutativity.py": ["commutative: True", "correlation commutes: False",
                                       "swapped = reversed: True"],
    "20_dot_product_alignment.py": ["template hidden at (row, col) = (22, 9); feature map "
                                    "peaks at (22, 9)"],
    # seeds/002's 8x8 source layer: output = input - (kernel - 1); seeds/003's formula
    "21_stride_valid_same.py": ["8 - (3 - 1) = 6; F.conv2d gives 6x6",
                                "(8 - 3 + 2*1)/1 + 1 = 8; F.conv2d gives 8x8",
                                "every second pixel: True", "(8 - 3)/2 + 1 = 3 -> 3x3"],
    # seeds/003's two AlexNet tables (227 and 224)
    "22_alexnet_224_or_227.py": [
        "striate: 55x55x96, 27x27x96, 27x27x256, 13x13x256, 13x13x384, 13x13x384, 13x13x256, "
        "6x6x256",
        "striate: 54x54x96, 26x26x96, 26x26x256, 12x12x256, 12x12x384, 12x12x384, 12x12x256, "
        "5x5x256",
        "(224 - 11)/4 + 1 = 54.25"],
    "23_alexnet_first_filters.py": ["96 filters of 7x7x1", "(11*11*3 + 1)*96 = 34,944"],
    # seeds/001: the OCR net's classification layer, 1,121,749 samples, 27 h, 14 months
    "24_training_cost.py": ["classification layer: 1,881,255 weights",
                            "1.88 M connections", "= 86.7 ms per sample",
                            "341 h per epoch = 12.6 x the forward epoch"],
    "25_textbook_convolution.py": ["against F.conv2d"],
    # GoogLeNet's module 3a (the paper's table, the notes' "reduction of computational expense")
    "26_inception_bottleneck.py": ["with 1x1 bottlenecks: output 28x28x256",
                                   "28*28*32*5*5*192 = 120,422,400"],
    # DenseNet's linear growth; U-Net's 572 -> 388 (seeds/003's U-Net, the paper's sizes)
    "27_densenet_and_unet.py": ["64 + 6 * 32 = 256; striate: 256",
                                "input 572x572 -> segmentation 388x388x2"],
    "28_augmentation.py": ["returns the digit: max |difference| 0.0e+00"],
}


def test_every_example_is_listed_here_and_in_the_readme():
    scripts = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert scripts == sorted(EXPECTED)
    with open(os.path.join(EXAMPLES, "README.md"), encoding="utf-8") as readme:
        text = readme.read()
    for script in scripts:
        assert script in text


ENV = dict(os.environ, PYTHONPATH=ROOT, STRIATE_FAST="1", MPLBACKEND="Agg")


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """Run every script (they are independent), in fast mode, two at a time."""
    out = tmp_path_factory.mktemp("examples")

    def run(script):
        target = out / script.replace(".py", "")
        target_arg = str(target) if script.startswith("13_") else str(target) + ".png"
        process = subprocess.run(
            [sys.executable, os.path.join(EXAMPLES, script), "--fast", "--out", target_arg],
            capture_output=True, text=True, env=ENV, cwd=out, timeout=600)
        return process.returncode, process.stdout, process.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = dict(zip(sorted(EXPECTED), pool.map(run, sorted(EXPECTED))))
    return out, results


@pytest.fixture(scope="module")
def notebook_outputs(tmp_path_factory):
    """Every lesson as a notebook: jupytext reads the percent cells, nbclient runs
    them in a real ipykernel (fast mode through the environment). What the cells
    printed, joined: {script: (error or None, text)}."""
    jupytext = pytest.importorskip("jupytext")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    out = tmp_path_factory.mktemp("notebooks")

    def run(script):
        notebook = jupytext.read(os.path.join(EXAMPLES, script), fmt="py:percent")
        notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                           "language": "python"}
        client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(out)}})
        try:
            client.execute(env=ENV)
        except Exception as error:      # the failing cell's traceback, for the assertion
            return str(error), ""
        text = "".join(output.get("text", "") for cell in notebook.cells
                       if cell.cell_type == "code" for output in cell.get("outputs", [])
                       if output.get("output_type") == "stream" and output.get("name") == "stdout")
        return None, text

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(sorted(EXPECTED), pool.map(run, sorted(EXPECTED))))


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_and_prints_the_notes_numbers(outputs, script):
    _, results = outputs
    code, stdout, stderr = results[script]
    assert code == 0, stderr
    for fragment in EXPECTED[script]:
        assert fragment in stdout, f"{fragment!r} not in the output of {script}:\n{stdout}"


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_example_runs_as_a_notebook_and_prints_the_notes_numbers(notebook_outputs, script):
    error, text = notebook_outputs[script]
    assert error is None, error
    for fragment in EXPECTED[script]:
        assert fragment in text, f"{fragment!r} not in the notebook output of {script}:\n{text}"


def test_transfer_learning_helps_with_one_label_per_class_on_average(outputs):
    """The mean margin over the seeds, recomputed here from the per-seed rows."""
    stdout = outputs[1]["14_transfer_learning.py"][1]
    tuned = [float(v) for v in re.search(r"fine-tuned  ([ 0-9.]+)\n", stdout).group(1).split()]
    scratch = [float(v) for v in re.search(r"scratch     ([ 0-9.]+)\n", stdout).group(1).split()]
    assert len(tuned) == len(scratch) == 5
    margin = sum(tuned) / 5 - sum(scratch) / 5
    printed = float(re.search(r"margin: mean ([+-][0-9.]+) points", stdout).group(1))
    assert abs(margin - printed) < 0.1
    assert margin > 4, stdout             # a clear margin, not one lucky seed
    assert sum(t > s for t, s in zip(tuned, scratch)) >= 4


def test_pooling_makes_the_map_more_robust_to_a_shift(outputs):
    stdout = outputs[1]["15_translation_equivariance.py"][1]
    before = float(re.search(r"under a 1-pixel shift: ([0-9.]+)", stdout).group(1))
    after = float(re.search(r"after 2x2 max pooling: ([0-9.]+)", stdout).group(1))
    assert after < before


def test_learned_first_layer_filters_are_smooth_and_random_ones_are_not(outputs):
    stdout = outputs[1]["23_alexnet_first_filters.py"][1]
    init, learned = (float(v) for v in re.search(
        r"random init ([0-9.-]+), learned ([0-9.-]+)", stdout).groups())
    assert abs(init) < 0.1 and learned > init + 0.3


def test_textbook_convolution_matches_the_library_and_pytorch(outputs):
    stdout = outputs[1]["25_textbook_convolution.py"][1]
    differences = [float(v) for v in re.findall(r"max \|difference\| = ([0-9.e+-]+)", stdout)]
    assert len(differences) == 5 and max(differences) < 1e-10


def test_backprop_by_hand_matches_autograd(outputs):
    stdout = outputs[1]["08_conv_backprop.py"][1]
    differences = [float(v) for v in re.findall(r"max \|difference\| = ([0-9.e+-]+)", stdout)]
    assert len(differences) == 3
    assert differences[0] < 1e-12 and differences[1] < 1e-12   # dL/dw and dL/dx (flipped)
    assert differences[2] > 0.1                                 # the unflipped filter is wrong
    gaps = re.search(r"dL/dw, dL/dx, dL/db: ([0-9.e+-]+), ([0-9.e+-]+), ([0-9.e+-]+)", stdout)
    assert max(float(g) for g in gaps.groups()) < 1e-12        # channels and bias too
    assert "dL/dw (by hand):" in stdout and "the flipped filter" in stdout


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
    for script in ("08_conv_backprop", "15_translation_equivariance", "17_edge_maps_by_hand", "18_relu_after_conv",
                   "20_dot_product_alignment", "23_alexnet_first_filters", "28_augmentation"):
        assert (out / f"{script}.png").stat().st_size > 10_000, script
    for name in ("lenet_filters.png", "lenet_feature_maps.png"):
        assert (out / "13_lenet_filters_and_maps" / name).stat().st_size > 5_000
