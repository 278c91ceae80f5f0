"""``striate.limits``: sizes estimated and refused before anything is
allocated, against a limit a user can set (STRIATE_MAX_BYTES)."""
import pytest

from striate.limits import (ENV_VAR, SizeLimitError, check_bytes, check_elements, check_pixels,
                            format_bytes, max_bytes)


def test_format_bytes():
    assert [format_bytes(n) for n in (0, 1023, 1024, 3 << 20, 5 << 30, 4 << 40)] == \
        ["0 B", "1023 B", "1.0 KiB", "3.0 MiB", "5.0 GiB", "4.0 TiB"]


@pytest.mark.parametrize("text,expected", [("1000", 1000), ("2K", 2048), ("1.5G", 3 << 29),
                                           ("16GiB", 16 << 30), ("1t", 1 << 40)])
def test_the_variable_sets_the_limit(monkeypatch, text, expected):
    monkeypatch.setenv(ENV_VAR, text)
    assert max_bytes() == expected


@pytest.mark.parametrize("text", ["-1", "0", "many", "1X", "1e9"])
def test_a_bad_variable_is_named(monkeypatch, text):
    monkeypatch.setenv(ENV_VAR, text)
    with pytest.raises(SizeLimitError, match=rf"{ENV_VAR}='{text}' is not a size"):
        max_bytes()


def test_the_default_is_half_the_memory(monkeypatch):
    monkeypatch.delenv(ENV_VAR, raising=False)
    import os
    assert max_bytes() == os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2


def test_check_bytes_names_the_allocation_the_estimate_and_the_fix(monkeypatch):
    monkeypatch.setenv(ENV_VAR, "1M")
    assert check_bytes(1 << 20, "a buffer", "op") == 1 << 20
    with pytest.raises(SizeLimitError, match=rf"^op: a buffer would need 1.0 MiB, more than the "
                                             rf"limit of 1.0 MiB; .* {ENV_VAR}"):
        check_bytes((1 << 20) + 1, "a buffer", "op")
    # products in Python integers: no overflow past 2**63
    with pytest.raises(SizeLimitError, match=r"would need 4.4e\+12 TiB"):
        check_elements((2 ** 40, 2 ** 40), 4, "a tensor", "op")


def test_a_huge_png_is_refused_from_its_header(tmp_path, monkeypatch):
    """A 10000x10000 PNG (1-bit, so the file is small): the header gives its
    size, and the decode is refused before the pixels are read."""
    Image = pytest.importorskip("PIL.Image")
    path = tmp_path / "huge.png"
    Image.new("1", (10000, 10000)).save(path)
    monkeypatch.setenv(ENV_VAR, "1G")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)  # Pillow's own warning is not the point
    with Image.open(path) as image:
        with pytest.raises(SizeLimitError, match=r"^predict: .*huge.png \(10000x10000 pixels, 1 "
                                                 r"channel\(s\), decoded in float64\) would need "
                                                 r"2.2 GiB"):
            check_pixels(*image.size, len(image.getbands()), str(path), "predict")
    assert check_pixels(28, 28, 3, "a digit", "predict") == 3 * 8 * 28 * 28 * 3
