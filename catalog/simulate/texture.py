"""The sea's wind texture: gusts, convective cells, wind streaks and atmospheric gravity waves.

Real C-band scenes of the sea are never flat: the marine boundary layer leaves kilometre-scale
patterns in the surface wind, which the radar sees through the steep GMF (a few tenths of a dB at
strong wind, several dB near the 2-4 m/s threshold). This module draws them as Gaussian random
fields with the spectra those patterns have, on the plan's sea grid (a few hundred metres between
nodes), by filtering one complex white spectrum with ``scipy.fft``:

- gusts: a shallow power-law spectrum from 250 m to 3 km;
- convective cells (the "mottled" look of unstable air): an isotropic ring at a 1-4 km
  wavelength, skewed so that cells are bright blobs in darker gaps;
- wind streaks (boundary-layer rolls): a narrow band of wavevectors across the wind at a 0.8-3 km
  spacing, 10-25 km long along the wind (e.g. Alpers & Brümmer 1994, JGR 99(C6));
- atmospheric gravity waves (lee waves, waves on fronts): a narrow band at a 2-10 km wavelength in
  one direction, only inside a patchy envelope.

Everything is in units of ln(wind speed): the caller multiplies the wind by ``exp(texture)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.fft

_PAD = 24
"""Nodes added on each side before the (periodic) FFT, so opposite edges do not match."""


@dataclass(frozen=True)
class TextureParams:
    """One scene's texture: amplitudes (ln wind, standard deviation) and scales (metres)."""

    gust: float
    """Broad gustiness."""
    cells: float
    """Convective cells."""
    cell_size: float
    """Cell wavelength (metres)."""
    streaks: float
    """Wind streaks."""
    streak_spacing: float
    """Streak spacing across the wind (metres)."""
    streak_length: float
    """Streak length along the wind (metres)."""
    waves: float
    """Atmospheric gravity waves (0: none)."""
    wave_length: float
    """Gravity-wave wavelength (metres)."""
    wave_direction: float
    """Gravity-wave propagation, as an angle from the wind (degrees)."""
    wave_cover: float
    """Share of the scene the gravity-wave envelope covers (0..1)."""


def draw_texture(
    rng: np.random.Generator, mean_speed: float, *, scale: float = 1.0
) -> TextureParams:
    """A scene's texture parameters, drawn to look like real scenes' variety.

    Streaks need wind (above about 4 m/s); cells are strongest in unstable air, which the draw
    makes common; gravity waves appear in about a third of scenes. ``scale`` multiplies every
    amplitude (the ``texture`` expert knob).
    """
    windy = float(np.clip((mean_speed - 3.0) / 3.0, 0.15, 1.0))
    cells = rng.uniform(0.015, 0.05) if rng.random() < 0.7 else rng.uniform(0.0, 0.015)
    waves = rng.uniform(0.02, 0.07) if rng.random() < 0.35 else 0.0
    return TextureParams(
        gust=float(rng.uniform(0.07, 0.14) * scale),
        cells=float(cells * scale),
        cell_size=float(np.exp(rng.uniform(np.log(1000.0), np.log(4000.0)))),
        streaks=float(rng.uniform(0.015, 0.05) * windy * scale),
        streak_spacing=float(np.exp(rng.uniform(np.log(800.0), np.log(3000.0)))),
        streak_length=float(rng.uniform(10e3, 25e3)),
        waves=float(waves * scale),
        wave_length=float(rng.uniform(2e3, 10e3)),
        wave_direction=float(rng.choice([0.0, 90.0]) + rng.normal(0.0, 20.0)),
        wave_cover=float(rng.uniform(0.15, 0.6)),
    )


def _wavenumbers(shape: tuple[int, int], spacing_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Wavenumbers (cycles per metre) along grid rows and columns of an ``rfft2`` layout."""
    ky = scipy.fft.fftfreq(shape[0], d=spacing_m).astype(np.float32)[:, None]
    kx = scipy.fft.rfftfreq(shape[1], d=spacing_m).astype(np.float32)[None, :]
    return ky, kx


def _normalized(field: np.ndarray) -> np.ndarray:
    std = float(field.std())
    return field / np.float32(std) if std > 0 else field


def texture_fields(
    rng: np.random.Generator,
    shape: tuple[int, int],
    *,
    spacing_m: float,
    wind_axis: tuple[float, float],
    params: TextureParams,
) -> tuple[np.ndarray, np.ndarray]:
    """The texture on a grid, and a mid-scale field for ragged edges.

    Args:
        rng: the plan's generator.
        shape: grid nodes (rows, columns).
        spacing_m: distance between nodes (metres).
        wind_axis: unit vector of the wind in grid ``(row, column)`` axes.
        params: the scene's texture.

    Returns:
        ``(texture, ragged)``: float32 grids; ``texture`` in ln(wind) units, ``ragged`` a unit
        variance fractal field (25 km to 500 m) (used to fray the edges of calm areas).
    """
    padded = (
        scipy.fft.next_fast_len(shape[0] + 2 * _PAD, real=True),
        scipy.fft.next_fast_len(shape[1] + 2 * _PAD, real=True),
    )
    ky, kx = _wavenumbers(padded, spacing_m)
    k = np.sqrt(ky * ky + kx * kx)
    wr, wc = np.float32(wind_axis[0]), np.float32(wind_axis[1])
    k_along = ky * wr + kx * wc
    k_across = -ky * wc + kx * wr
    spectrum_shape = (padded[0], padded[1] // 2 + 1)

    def white() -> np.ndarray:
        # unit amplitude, random phase: a Gaussian field by the central limit theorem over the
        # many modes, with exactly the asked-for spectrum, and cheaper than complex normals
        phase = rng.random(spectrum_shape, dtype=np.float32) * np.float32(2 * np.pi)
        z = np.empty(spectrum_shape, dtype=np.complex64)
        z.real = np.cos(phase)
        z.imag = np.sin(phase)
        return z

    def synth(amplitude: np.ndarray) -> np.ndarray:
        field = scipy.fft.irfft2(white() * amplitude, s=padded, workers=1)
        return _normalized(field[_PAD : _PAD + shape[0], _PAD : _PAD + shape[1]])

    # gusts: a shallow power law from 3 km down to 250 m (the small-scale wind variance that makes
    # real VV measure far fewer looks than its speckle alone would give)
    k_lo, k_hi = np.float32(1 / 3e3), np.float32(1 / 250.0)
    gust = (k * k + k_lo * k_lo) ** np.float32(-1.0 / 3.0) * np.exp(-((k / k_hi) ** 2))
    linear = [(params.gust, gust)]

    out = np.zeros(shape, dtype=np.float32)
    if params.cells > 0:
        k0 = np.float32(1.0 / params.cell_size)
        ring = np.exp(-0.5 * ((k - k0) / (0.45 * k0)) ** 2)
        c = synth(ring)
        # convective cells: bright blobs (downdraughts) in darker gaps, a skewed field
        cells = np.exp(np.float32(0.4) * c)
        out += np.float32(params.cells) * _normalized(cells - cells.mean())

    if params.streaks > 0:
        k0 = np.float32(1.0 / params.streak_spacing)
        band = np.exp(-0.5 * ((np.abs(k_across) - k0) / (0.5 * k0)) ** 2) * np.exp(
            -0.5 * (k_along * np.float32(params.streak_length / 3.0)) ** 2
        )
        linear.append((params.streaks, band))
    # the linear parts share one inverse FFT: each spectrum scaled to unit power, summed
    total = sum(
        np.float32(c / np.sqrt(float(np.sum(a.astype(np.float64) ** 2)) + 1e-30)) * a
        for c, a in linear
    )
    out += np.float32(np.sqrt(sum(c * c for c, _ in linear))) * synth(total)

    if params.waves > 0:
        b = math.radians(params.wave_direction)
        dr = wr * math.cos(b) - wc * math.sin(b)
        dc = wr * math.sin(b) + wc * math.cos(b)
        k_wave = ky * np.float32(dr) + kx * np.float32(dc)
        k_crest = -ky * np.float32(dc) + kx * np.float32(dr)
        k0 = np.float32(1.0 / params.wave_length)
        band = np.exp(-0.5 * ((np.abs(k_wave) - k0) / (0.12 * k0)) ** 2) * np.exp(
            -0.5 * (k_crest * np.float32(6.0 * params.wave_length)) ** 2
        )
        envelope_spec = np.exp(-0.5 * (k * np.float32(25e3)) ** 2)
        env = synth(envelope_spec)
        level = np.float32(np.quantile(env, 1.0 - params.wave_cover))
        env = np.clip((env - level) / np.float32(0.8), 0.0, 1.0)
        out += np.float32(params.waves * 1.6) * synth(band) * env

    # a fractal (power-law) field, so that thresholded edges are frayed at every scale
    r_lo, r_hi = np.float32(1 / 25e3), np.float32(1 / 500.0)
    ragged_spec = (k * k + r_lo * r_lo) ** np.float32(-0.9) * np.exp(-((k / r_hi) ** 2))
    ragged = synth(ragged_spec)
    return out.astype(np.float32), ragged.astype(np.float32)
