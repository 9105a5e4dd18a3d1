"""Seeded random numbers and smooth noise that do not depend on how a scene is cut into windows.

Every random number that lands on a pixel comes from a generator keyed by ``(seed, stream, block)``
where ``block`` is a fixed tile of the *scene's* pixel grid (or of a noise lattice laid on it),
never of the window being rendered. Rendering a scene in one piece or in windows of any size
therefore gives the same pixels.
"""

from __future__ import annotations

import numpy as np

_LATTICE_BLOCK = 64
"""Lattice points per side of one generator block of 2-D lattice noise."""
_LINE_BLOCK = 4096
"""Lattice points per generator block of 1-D lattice noise."""
_OFFSET = 1 << 24
"""Added to block indices so that negative ones make valid seed words."""


def generator(seed: int, *keys: int) -> np.random.Generator:
    """A PCG64 generator for ``seed`` and a path of integer keys (stream, block row, block
    col...)."""
    return np.random.default_rng([int(seed) & 0xFFFFFFFF, *(int(k) + _OFFSET for k in keys)])


def lattice_values(seed: int, stream: int, i0: int, i1: int, j0: int, j1: int) -> np.ndarray:
    """Standard-normal values on lattice points ``[i0, i1) x [j0, j1)``, float32.

    The value at a lattice point depends only on ``(seed, stream, i, j)``.
    """
    out = np.empty((i1 - i0, j1 - j0), dtype=np.float32)
    b = _LATTICE_BLOCK
    for bi in range(i0 // b, (i1 - 1) // b + 1):
        for bj in range(j0 // b, (j1 - 1) // b + 1):
            block = generator(seed, stream, bi, bj).standard_normal((b, b), dtype=np.float32)
            r0, r1 = max(i0, bi * b), min(i1, (bi + 1) * b)
            c0, c1 = max(j0, bj * b), min(j1, (bj + 1) * b)
            out[r0 - i0 : r1 - i0, c0 - j0 : c1 - j0] = block[
                r0 - bi * b : r1 - bi * b, c0 - bj * b : c1 - bj * b
            ]
    return out


def _axis_weights(coords: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """Lattice index below each pixel centre and the smoothstep weight of the one above."""
    u = (coords.astype(np.float64) + 0.5) / spacing
    i = np.floor(u).astype(np.int64)
    f = (u - i).astype(np.float32)
    return i, f * f * (3.0 - 2.0 * f)


def lattice_noise(
    seed: int, stream: int, rows: np.ndarray, cols: np.ndarray, spacing: float
) -> np.ndarray:
    """Smooth value noise (unit variance at the lattice points) on a window of the scene grid.

    Args:
        seed, stream: what the lattice values are drawn from.
        rows, cols: scene-grid pixel indices of the window (1-D, increasing by one).
        spacing: lattice spacing in pixels (may be fractional).

    Returns:
        ``(len(rows), len(cols))`` float32, interpolated with smoothstep weights, separably.
    """
    ir, wr = _axis_weights(rows, spacing)
    ic, wc = _axis_weights(cols, spacing)
    i0, j0 = int(ir[0]), int(ic[0])
    values = lattice_values(seed, stream, i0, int(ir[-1]) + 2, j0, int(ic[-1]) + 2)
    ir = ir - i0
    ic = ic - j0
    along_rows = values[ir] * (1.0 - wr)[:, None] + values[ir + 1] * wr[:, None]
    left = along_rows.take(ic, axis=1)
    right = along_rows.take(ic + 1, axis=1)
    right -= left
    right *= wc
    right += left
    return right


def fractal_noise(
    seed: int,
    stream: int,
    rows: np.ndarray,
    cols: np.ndarray,
    spacings: tuple[float, ...],
    amplitudes: tuple[float, ...],
) -> np.ndarray:
    """Sum of :func:`lattice_noise` octaves; octaves finer than one pixel are left out.

    A lattice finer than about a pixel would alias; the pixel averages it away in a real sensor,
    so leaving it out is the faithful choice, not only the cheap one.
    """
    out = np.zeros((len(rows), len(cols)), dtype=np.float32)
    for k, (spacing, amplitude) in enumerate(zip(spacings, amplitudes, strict=True)):
        if spacing < 1.0 or amplitude == 0.0:
            continue
        out += np.float32(amplitude) * lattice_noise(seed, stream * 16 + k, rows, cols, spacing)
    return out


def line_noise(seed: int, stream: int, coords: np.ndarray, spacing: float) -> np.ndarray:
    """1-D smooth value noise evaluated at arbitrary coordinates (any array shape), float32.

    Args:
        coords: positions along the noise axis, in the same unit as ``spacing``.
        spacing: lattice spacing.
    """
    u = coords / spacing
    i = np.floor(u).astype(np.int64)
    f = (u - i).astype(np.float32)
    f = f * f * (3.0 - 2.0 * f)
    lo, hi = int(i.min()), int(i.max()) + 2
    b = _LINE_BLOCK
    values = np.concatenate(
        [
            generator(seed, stream, blk).standard_normal(b, dtype=np.float32)
            for blk in range(lo // b, (hi - 1) // b + 1)
        ]
    )
    k = i - (lo // b) * b
    return values[k] * (1.0 - f) + values[k + 1] * f


def spectral_field(
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    spacing: float,
    scale: float,
    axis: tuple[float, float] | None = None,
    stretch: float = 1.0,
) -> np.ndarray:
    """A smooth Gaussian random field on a small grid, unit standard deviation, float64.

    Used for the scene plan's coarse grids (a few hundred nodes a side), where FFT filtering is
    cheap.

    Args:
        rng: generator of the plan.
        shape: grid shape.
        spacing: node spacing in metres.
        scale: correlation length in metres (Gaussian spectrum with a power-law tail for detail).
        axis: unit vector ``(row, col)`` along which the field is stretched, or ``None``.
        stretch: correlation length along ``axis`` over the length across it (>= 1: features
            elongated along ``axis``, like calm areas along the wind).
    """
    padded = (shape[0] * 2 + 8, shape[1] * 2 + 8)
    white = rng.standard_normal(padded)
    ky = np.fft.fftfreq(padded[0], d=spacing)[:, None]
    kx = np.fft.rfftfreq(padded[1], d=spacing)[None, :]
    if axis is not None and stretch != 1.0:
        along = ky * axis[0] + kx * axis[1]
        across = -ky * axis[1] + kx * axis[0]
        k = np.hypot(along * stretch, across) * scale / np.sqrt(stretch)
    else:
        k = np.hypot(ky, kx) * scale
    spectrum = 1.0 / (1.0 + k * k) ** 1.6
    field = np.fft.irfft2(np.fft.rfft2(white) * spectrum, s=padded)[: shape[0], : shape[1]]
    std = field.std()
    return field / std if std > 0 else field
