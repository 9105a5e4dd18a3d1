"""The network's forward pass in row strips: the same output, a fraction of the memory.

A plain forward over a 2144² block (the pipeline's 2048² block with its halo) keeps several
full-resolution feature maps alive at once: the concatenation of a skip with the upsampled
features, the two convolutions after it, the logits and their softmax, each 35-75 MB for the
shipped network, about 550 MB at the peak. Here every level's double convolution runs over
strips of rows and writes into one preallocated map per level, so a level holds its output (and
the skip it keeps for the decoder) and never more than one strip of the wider maps in between;
the softmax goes strip by strip into the caller's array: about 280 MB at the peak. The maps are
channels-last, where a strip of rows is one piece of memory and oneDNN's convolutions run faster:
~0.9 s instead of ~2.3 s for that block on one thread, with the workers' malloc settings
(:data:`pipeline.cluster.WORKER_ENVIRON`).

Exact, not approximate: each strip reads :data:`CONTEXT` more rows on either side than it
writes (two 3 x 3 convolutions in a row each widen the dependence by one row), and those rows
are discarded; strips start on even rows so a transposed convolution's output rows map onto
whole rows of its input. The result equals :meth:`model.network.SlickNet.forward` up to the
rounding of a differently blocked convolution (tests/model/test_network.py checks it).

Only :class:`model.network.SlickNet` runs this way (its structure is known); a TorchScript model
from elsewhere runs its own forward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import torch
from torch.nn import functional as F

from model.network import SlickNet

CONTEXT = 2
"""Rows of context on each side of a strip: two 3 x 3 convolutions, one row each."""

CHANNELS_LAST = torch.channels_last
"""Memory format of the maps: each row's pixels hold their channels together, so a strip of rows
is one contiguous piece of memory, and oneDNN's CPU convolutions run about 1.5x faster on it."""

STRIP_BYTES = 8 * 1024**2
"""Rough size of the widest map of one strip; strips are cut to about this many bytes (smaller
strips hold less memory; each costs ``2 * CONTEXT`` rows of repeated work)."""


def _strips(height: int, rows: int) -> Iterator[tuple[int, int, int, int]]:
    """``(start, stop, read_start, read_stop)`` of strips of ``rows`` (even) rows covering
    ``height``, each read with :data:`CONTEXT` rows more on either side (clipped at the edges)."""
    for start in range(0, height, rows):
        stop = min(start + rows, height)
        yield start, stop, max(start - CONTEXT, 0), min(stop + CONTEXT, height)


def _rows_per_strip(channels: int, width: int, batch: int) -> int:
    rows = STRIP_BYTES // max(1, 4 * channels * width * batch)
    return max(8, rows - rows % 2)


def _level_in_strips(
    out: torch.Tensor, compute: Callable[[int, int], torch.Tensor], widest: int
) -> torch.Tensor:
    """Fill ``out`` ``[n, c, h, w]`` strip by strip; ``compute(read_start, read_stop)`` returns
    the level's output over those rows, ``widest`` channels at most in between."""
    n, _, height, width = out.shape
    for start, stop, r0, r1 in _strips(height, _rows_per_strip(widest, width, n)):
        out[:, :, start:stop] = compute(r0, r1)[:, :, start - r0 : stop - r0]
    return out


def _empty_like_level(level: torch.Tensor, channels: int) -> torch.Tensor:
    n, _, height, width = level.shape
    return torch.empty(
        (n, channels, height, width),
        dtype=level.dtype,
        device=level.device,
        memory_format=CHANNELS_LAST,
    )


def _run(block: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """A double convolution's layers one by one, so no layer's input outlives the next layer."""
    for layer in block:
        x = layer(x)
    return x


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
    stem = net.config.stem
    level = net.unfold(net.contrast(x)).contiguous(memory_format=CHANNELS_LAST)
    skips: list[torch.Tensor] = []
    n_levels = len(net.down)
    for i, block in enumerate(net.down):
        width_out = net.config.widths[i]
        result = _empty_like_level(level, width_out)
        _level_in_strips(
            result, lambda r0, r1, b=block, s=level: _run(b, s[:, :, r0:r1]), width_out
        )
        if i < n_levels - 1:
            skips.append(result)
            level = F.max_pool2d(result, 2)
        else:
            level = result
    for j, (up, merge) in enumerate(zip(net.up, net.merge, strict=True)):
        skip = skips.pop()
        n, width_out, height, width = skip.shape

        def merged(r0: int, r1: int, up=up, merge=merge, skip=skip, lower=level) -> torch.Tensor:
            upsampled = up(lower[:, :, r0 // 2 : r1 // 2])
            return _run(merge, torch.cat([skip[:, :, r0:r1], upsampled], dim=1))

        if j == len(net.up) - 1:  # the finest level: head, unfold, softmax, into ``out``
            for start, stop, r0, r1 in _strips(height, _rows_per_strip(2 * width_out, width, n)):
                features = merged(r0, r1)[:, :, start - r0 : stop - r0]
                logits = net.fold(net.head(features))
                probs = torch.softmax(logits, dim=1)
                if codes:
                    probs = probs.mul_(255.0).round_()  # exact integers: the cast keeps them
                out[:, :, start * stem : stop * stem] = probs
        else:
            level = _level_in_strips(_empty_like_level(skip, width_out), merged, 2 * width_out)
    return out
