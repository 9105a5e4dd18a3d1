"""The network's forward pass as a wavefront of row strips: the same output, a few strips of memory.

A plain forward over a 2144² block (the pipeline's 2048² block with its halo) keeps several
full-resolution feature maps alive at once: the concatenation of a skip with the upsampled
features, the two convolutions after it, the logits and their softmax, each 35-75 MB for the
shipped network, about 550 MB at the peak. Here no level is ever held whole. Every feature map
of the U-Net (each encoder level, its pooled copy, each decoder level) is a window of rows
(:class:`_Rows`) computed on demand, top to bottom: the output is asked for strip by strip, each
strip asks the decoder for the rows it needs, the decoder asks the encoder, and so on down. A
map lets its rows go once every map that reads it has moved past them, so each holds a strip plus
the few rows of context its readers look back at: about 100 MB at the peak on that block, and
as little as that on any block size (the rows are as wide as the block, the windows as tall as a
strip). The maps are channels-last, where a strip of rows is one piece of memory and oneDNN's
convolutions run faster: ~1 s for that block on one thread, with the workers' malloc settings
(:data:`pipeline.cluster.WORKER_ENVIRON`).

Exact, not approximate: a double convolution's rows are computed from :data:`CONTEXT` more input
rows on either side than it writes (two 3 x 3 convolutions in a row each widen the dependence by
one row), and those rows are discarded; decoder rows are computed in even-aligned runs, so a
transposed convolution's output rows map onto whole rows of its input. The result equals
:meth:`model.network.SlickNet.forward` up to the rounding of a differently blocked convolution
(tests/model/test_network.py checks it).

Only :class:`model.network.SlickNet` runs this way (its structure is known); a TorchScript model
from elsewhere runs its own forward.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn import functional as F

from model.network import SlickNet

CONTEXT = 2
"""Rows of context on each side of a strip: two 3 x 3 convolutions, one row each."""

CHANNELS_LAST = torch.channels_last
"""Memory format of the maps: each row's pixels hold their channels together, so a strip of rows
is one contiguous piece of memory, and oneDNN's CPU convolutions run about 1.5x faster on it."""

STRIP_BYTES = 4 * 1024**2
"""Rough size of the widest map of one output strip (the finest level's concatenation); deeper
levels advance by proportionally fewer rows. Smaller strips hold less memory; each costs
``2 * CONTEXT`` rows of repeated work per level. On a 2144² block with the shipped network, one
thread: 2 MB strips hold ~70 MB at the peak but run ~25 % slower; 4 MB ~95 MB, 8 MB ~130 MB,
16 MB ~210 MB, all within a few % of each other in time."""

Compute = Callable[[int, int], torch.Tensor]
"""``compute(start, stop)``: a map's rows ``[start, stop)``."""


def _rows_per_strip(channels: int, width: int, batch: int) -> int:
    rows = STRIP_BYTES // max(1, 4 * channels * width * batch)
    return max(8, rows - rows % 2)


def _run(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A double convolution's layers one by one, so no layer's input outlives the next layer."""
    for layer in block:
        x = layer(x)
    return x


class _Rows:
    """A feature map ``[n, c, height, w]`` held as a window of rows: computed on demand from top
    to bottom, at least ``step`` rows at a time, and let go once none of its ``readers`` needs
    them any more (each reader asks for rows that never start above its previous request)."""

    def __init__(self, height: int, compute: Compute, *, step: int, readers: int = 1) -> None:
        self.height = height
        self.compute = compute
        self.step = step
        self.window: torch.Tensor | None = None
        self.low = 0
        """First row held."""
        self.high = 0
        """One past the last row computed."""
        self.starts = [0] * readers

    def rows(self, start: int, stop: int, reader: int = 0) -> torch.Tensor:
        """Rows ``[start, stop)`` (clipped to the map); rows above ``start`` are no longer
        needed by ``reader``."""
        start, stop = max(start, 0), min(stop, self.height)
        if stop > self.high:
            end = min(max(stop, self.high + self.step), self.height)
            end = min(end + end % 2, self.height)  # even: decoders pair their rows
            new = self.compute(self.high, end)
            self.window = new if self.window is None else torch.cat([self.window, new], dim=2)
            self.high = end
        self.starts[reader] = start
        keep = min(self.starts)
        if keep > self.low:  # a view now; the rows' memory goes at the next concatenation
            self.window = self.window[:, :, keep - self.low :]
            self.low = keep
        return self.window[:, :, start - self.low : stop - self.low]


def _convolved(source: _Rows, block: torch.nn.Module) -> Compute:
    """Rows of a double convolution of ``source``'s rows."""

    def compute(start: int, stop: int) -> torch.Tensor:
        r0 = max(start - CONTEXT, 0)
        return _run(block, source.rows(r0, stop + CONTEXT))[:, :, start - r0 : stop - r0]

    return compute


def _merged(skip: _Rows, lower: _Rows, up: torch.nn.Module, merge: torch.nn.Module) -> Compute:
    """Rows of a decoder level: ``merge`` of the skip beside ``up`` of the level below (``start``
    even, so upsampled rows ``[r0, r1)`` are ``up`` of rows ``[r0 / 2, r1 / 2)`` below).

    The merge's first convolution reads the skip and the upsampled rows side by side; it runs as
    two convolutions, one on each with its half of the weights, summed, instead of on their
    concatenation: the same sum up to float rounding, without copying both into a new map (on
    the finest level of a 2144² block, 16.4 instead of 27.5 ms per strip of 132 rows)."""
    first, rest = merge[0], merge[1:]
    half = first.in_channels // 2  # the skip's channels, then the upsampled ones
    weights = (
        first.weight[:, :half].contiguous(memory_format=CHANNELS_LAST),
        first.weight[:, half:].contiguous(memory_format=CHANNELS_LAST),
    )

    def compute(start: int, stop: int) -> torch.Tensor:
        r0, r1 = max(start - CONTEXT, 0), min(stop + CONTEXT, skip.height)
        upsampled = up(lower.rows(r0 // 2, r1 // 2))
        merged = F.conv2d(skip.rows(r0, r1, reader=1), weights[0], first.bias, padding=1)
        merged = merged.add_(F.conv2d(upsampled, weights[1], None, padding=1))
        return _run(rest, merged)[:, :, start - r0 : stop - r0]

    return compute


def predict_in_strips(net: SlickNet, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Softmax of ``net(x)`` written into ``out`` (``[n, classes, h, w]`` float32), by strips.

    Args:
        net: a :class:`SlickNet` in eval mode (batch norms folded or not).
        x: ``[n, layers, h, w]``; ``h`` and ``w`` multiples of ``net.size_multiple``.
        out: where the probabilities go (may be a view of a NumPy array); a uint8 ``out``
            receives the codes ``round(255 * p)`` instead.

    Returns:
        ``out``.
    """
    codes = out.dtype == torch.uint8
    if net.use_refine or len(net.up) == 0:  # refinement reads every row; one level: no gain
        probs = torch.softmax(net(x), dim=1)
        out[:] = probs.mul_(255.0).round_() if codes else probs
        return out
    stem, widths = net.config.stem, net.config.widths
    n, _, height, width = x.shape
    height, width = height // stem, width // stem
    rows = _rows_per_strip(2 * widths[0], width, n)  # output strip, finest level's rows
    if net.config.local_contrast_px > 0:  # its box filter reads far: computed whole, once
        whole = net.unfold(net.contrast(x)).contiguous(memory_format=CHANNELS_LAST)
        level = _Rows(height, lambda a, b: whole[:, :, a:b], step=height)
    else:
        level = _Rows(
            height,
            lambda a, b: net.unfold(x[:, :, a * stem : b * stem]).contiguous(
                memory_format=CHANNELS_LAST
            ),
            step=0,
        )
    skips: list[_Rows] = []
    for i, block in enumerate(net.down):
        bottom = i == len(net.down) - 1
        encoded = _Rows(
            level.height,
            _convolved(level, block),
            step=max(2, rows >> i),
            readers=1 if bottom else 2,  # a skip is read by the next pooling and the decoder
        )
        if bottom:
            level = encoded
            break
        skips.append(encoded)
        level = _Rows(
            encoded.height // 2,
            lambda a, b, e=encoded: F.max_pool2d(e.rows(2 * a, 2 * b), 2),
            step=0,
        )
    finest: Compute | None = None
    for j, (up, merge) in enumerate(zip(net.up, net.merge, strict=True)):
        skip = skips.pop()
        if j == len(net.up) - 1:
            finest = _merged(skip, level, up, merge)
        else:
            depth = len(skips)  # the level's depth below the finest
            level = _Rows(skip.height, _merged(skip, level, up, merge), step=max(2, rows >> depth))
    assert finest is not None
    for start in range(0, height, rows):  # the finest level: head, unfold, softmax, into ``out``
        stop = min(start + rows, height)
        probs = torch.softmax(net.fold(net.head(finest(start, stop))), dim=1)
        if codes:
            probs = probs.mul_(255.0).round_()  # exact integers: the cast keeps them
        out[:, :, start * stem : stop * stem] = probs
    return out
