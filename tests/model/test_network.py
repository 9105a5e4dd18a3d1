"""The network: shapes, the measured receptive field, parameter and FLOP counts."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from model.network import (
    NetworkConfig,
    SlickNet,
    count_parameters,
    flops_per_pixel,
    fold_batch_norms,
    measure_receptive_field,
)


@pytest.mark.parametrize("stem", [1, 2])
def test_output_shape_and_size_multiple(stem: int, make_net) -> None:
    net = make_net(stem=stem)
    assert net.size_multiple == stem * 4
    out = net(torch.zeros(2, 1, 48, 64))
    assert out.shape == (2, 4, 48, 64)


def test_receptive_field_is_exact(make_net) -> None:
    """Inputs farther than the measured radius never change an output pixel; at the radius they
    can (for some pooling-grid offset)."""
    net = make_net(stem=1).double()
    r = measure_receptive_field(net, in_layers=1, multiple=net.size_multiple, size=96)
    assert 5 < r < 30
    rng = np.random.default_rng(3)
    size = 96
    yy, xx = np.mgrid[0:size, 0:size]
    changed_at_r = False
    with torch.no_grad():
        for c in range(44, 44 + net.size_multiple):
            base = torch.from_numpy(rng.standard_normal((1, 1, size, size)))
            ref = net(base)[0, :, c, c]
            dist = np.maximum(abs(yy - c), abs(xx - c))
            noise = torch.from_numpy(rng.standard_normal((1, 1, size, size)) * 3)
            beyond = net(torch.where(torch.from_numpy(dist > r), noise, base))[0, :, c, c]
            assert torch.equal(beyond, ref)
            ring = net(torch.where(torch.from_numpy(dist == r), noise, base))[0, :, c, c]
            changed_at_r |= not torch.allclose(ring, ref, rtol=0, atol=1e-9)
    assert changed_at_r


def test_counts() -> None:
    net = SlickNet(NetworkConfig(widths=(8, 16), local_contrast_px=0))
    # convs: 1->8, 8->8, 8->16, 16->16, up 16->8 (2x2), 16->8, 8->8, head 8->4 (+ BN)
    weights = 9 * (8 + 64 + 128 + 256 + 128 + 64) + 4 * 16 * 8 + 8 * 4
    biases_and_bn = 8 + 4 + 2 * (8 + 8 + 16 + 16 + 8 + 8)
    assert count_parameters(net) == weights + biases_and_bn
    flops = flops_per_pixel(net, in_layers=1, size=32)
    full = 9 * (8 + 64 + 64 * 2 + 64) + 8 * 4  # full-resolution convs and head, per pixel
    quarter = (9 * (128 + 256) + 4 * 16 * 8) / 4  # half-resolution convs; the up-conv per input px
    assert flops == pytest.approx(2 * (full + quarter))


def test_folded_batch_norms_give_the_same_outputs(make_net) -> None:
    """The predictor's inference network: batch norms folded into the convolutions."""
    net = make_net(stem=2)
    generator = torch.Generator().manual_seed(5)
    with torch.no_grad():  # statistics and affine parameters as training leaves them
        for bn in (m for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.copy_(torch.randn(bn.num_features, generator=generator))
            bn.running_var.copy_(torch.rand(bn.num_features, generator=generator) + 0.5)
            bn.weight.copy_(torch.randn(bn.num_features, generator=generator))
            bn.bias.copy_(torch.randn(bn.num_features, generator=generator))
    with pytest.raises(ValueError, match="eval mode"):
        fold_batch_norms(net.train())
    net.eval()
    x = torch.randn(2, 1, 64, 80, generator=generator)
    with torch.no_grad():
        expected = net(x)
        folded = fold_batch_norms(net)
        got = folded(x)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert torch.allclose(got, expected, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("local_contrast_px", [0, 2])
@pytest.mark.parametrize(
    ("stem", "widths", "shape"),
    [
        (1, (4, 8, 8), (2, 1, 96, 72)),
        (2, (4, 8, 8), (1, 1, 136, 64)),
        (2, (4, 6, 8, 8), (1, 1, 64, 48)),
    ],
)
def test_strips_give_the_plain_forward(
    stem, widths, shape, local_contrast_px, make_net, monkeypatch
) -> None:
    """The predictor's forward by row strips (small strips here, so every level has several,
    the last one short) equals the plain forward's softmax, batch norms folded or not, with the
    input read strip by strip (no local contrast, as shipped) or whole (local contrast)."""
    from model import strips

    monkeypatch.setattr(strips, "STRIP_BYTES", 4 * 4 * 24 * 10)
    net = make_net(stem=stem, widths=widths, local_contrast_px=local_contrast_px)
    n, _, height, width = shape
    assert strips._rows_per_strip(widths[0], width // stem, n) < height // stem  # several strips
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(7))
    with torch.no_grad():
        expected = torch.softmax(net(x), dim=1)
        out = torch.full((shape[0], 4, *shape[2:]), torch.nan)
        got = strips.predict_in_strips(net, x, out)
        folded = strips.predict_in_strips(fold_batch_norms(net), x, torch.empty_like(out))
    assert got is out
    assert torch.allclose(got, expected, atol=1e-5)
    assert torch.allclose(folded, expected, atol=1e-4)


def test_strips_hold_a_few_rows_of_each_level(make_net, monkeypatch) -> None:
    """However tall the image, no feature map is ever held whole: each map's window of rows
    stays within a strip and its readers' context, the same on an image four times as tall."""
    from model import strips

    monkeypatch.setattr(strips, "STRIP_BYTES", 4 * 2 * 4 * 32 * 4)  # strips of 8 rows
    held: dict[int, int] = {}
    rows = strips._Rows.rows

    def recording(self, start, stop, reader=0):
        got = rows(self, start, stop, reader)
        held[id(self)] = max(held.get(id(self), 0), self.window.shape[2])
        return got

    monkeypatch.setattr(strips._Rows, "rows", recording)
    net = make_net(stem=1, widths=(4, 8, 8), local_contrast_px=0)
    peaks = []
    for height in (128, 512):
        held.clear()
        x = torch.randn(1, 1, height, 32, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            got = strips.predict_in_strips(net, x, torch.empty(1, 4, height, 32))
            assert torch.allclose(got, torch.softmax(net(x), dim=1), atol=1e-5)
        # input, three encoder levels, two pooled, one decoder level below the finest
        assert len(held) == 7
        assert max(held.values()) <= 40
        peaks.append(sorted(held.values()))
    assert peaks[0] == peaks[1]
