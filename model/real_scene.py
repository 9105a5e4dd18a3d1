"""What a model does on the one real scene: the Cape Hatteras Sentinel-1 scene of 2020-11-21.

The scene (``../shared/data/real``, uint16 DN, ~200 m pixels, GCPs in EPSG:4326) is calibrated with
``catalog.scene.S1_GRD_CALIBRATION_CONSTANT``, warped to UTM 18N at 80 m through its GCPs
(``rasterio.warp.reproject``), land-masked with ``catalog.land.land_mask`` (buffered 1 km), run
through the predictor and segmented with the card's thresholds. Reported:

- the real slick: recall (share of its outline's pixels flagged), IoU, and the share of its
  centreline's length covered (within 2 pixels of a flagged pixel); the outline is
  ``catalog/data/real_scene_slick.geojson``;
- everything else: area flagged as oil on the sea away from the slick (km² and % of the sea),
  and the part of it not touching the swath's nodata edge or the land mask (which the pipeline
  reclassifies as ARTEFACT or LAND rather than reporting as oil).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from model.card import ModelCard
from model.errors import ModelFileMissing

logger = logging.getLogger(__name__)

SCENE_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"
"""The real scene's product id."""
EPSG = 32618
"""UTM zone 18N, the scene's local zone."""
SLICK_BUFFER_PX = 12
"""Pixels around the real slick's outline that count as 'near the slick', not 'elsewhere'."""
EDGE_PX = 3
"""Flagged parts within this many pixels of nodata or land count as edge artefacts."""


def default_real_dir() -> Path:
    """``../shared/data/real`` relative to the repository root."""
    return Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "real"


def slick_outline_path() -> Path:
    """The real slick's outline (GeoJSON, EPSG:4326) shipped by ``catalog``."""
    import catalog

    return Path(catalog.__file__).resolve().parent / "data" / "real_scene_slick.geojson"


@dataclass(frozen=True)
class RealScene:
    """The real scene at the working resolution."""

    vv: np.ndarray
    """sigma0 VV (linear), NaN on nodata and land."""
    vh: np.ndarray
    """sigma0 VH (linear), NaN on nodata and land."""
    transform: Any
    """Affine transform of the UTM grid."""
    crs: str
    """``EPSG:32618``."""
    land: np.ndarray
    """bool, land (buffered)."""
    resolution_m: float
    """Pixel size (metres)."""


def load_real_scene(
    real_dir: str | Path | None = None, *, resolution_m: float = 80.0, land_buffer_m: float = 1000.0
) -> RealScene:
    """Calibrate, warp (GCPs) and land-mask the real scene at ``resolution_m``."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.warp import calculate_default_transform, reproject

    from catalog.land import land_mask
    from catalog.scene import S1_GRD_CALIBRATION_CONSTANT

    folder = Path(real_dir) if real_dir is not None else default_real_dir()
    bands = {}
    transform = shape = None
    for pol in ("vv", "vh"):
        path = folder / f"{SCENE_ID}.{pol}.tif"
        if not path.is_file():
            raise ModelFileMissing(
                f"real scene file {path} is missing: it ships in ../shared/data/real."
            )
        with rasterio.open(path) as src:
            gcps, gcp_crs = src.gcps
            dn = src.read(1).astype(np.float32)
            dn[dn == 0] = np.nan
            sigma0 = dn**2 / np.float32(S1_GRD_CALIBRATION_CONSTANT) ** 2
            if transform is None:
                transform, width, height = calculate_default_transform(
                    gcp_crs,
                    f"EPSG:{EPSG}",
                    src.width,
                    src.height,
                    gcps=gcps,
                    resolution=resolution_m,
                )
                shape = (height, width)
            dst = np.full(shape, np.nan, dtype=np.float32)
            reproject(
                sigma0,
                dst,
                gcps=gcps,
                src_crs=gcp_crs,
                dst_crs=f"EPSG:{EPSG}",
                dst_transform=transform,
                resampling=Resampling.bilinear,
                src_nodata=np.nan,
                dst_nodata=np.nan,
            )
            bands[pol] = dst
    land = land_mask(f"EPSG:{EPSG}", transform, shape, buffer_m=land_buffer_m)
    vv = np.where(land, np.nan, bands["vv"])
    vh = np.where(land, np.nan, bands["vh"])
    return RealScene(vv, vh, transform, f"EPSG:{EPSG}", land, resolution_m)


def slick_mask(scene: RealScene, outline: Path | None = None) -> np.ndarray | None:
    """The real slick's outline rasterized on the scene grid (all touched pixels), if shipped."""
    import geopandas as gpd
    from rasterio.features import rasterize

    path = outline or slick_outline_path()
    if not path.is_file():
        logger.warning("no outline of the real slick at %s: recall cannot be measured", path)
        return None
    shapes = gpd.read_file(path).to_crs(scene.crs).geometry
    return rasterize(
        [(g, 1) for g in shapes],
        out_shape=scene.vv.shape,
        transform=scene.transform,
        all_touched=True,
    ).astype(bool)


def _centreline(mask: np.ndarray) -> np.ndarray:
    from skimage.morphology import skeletonize

    return skeletonize(mask)


def evaluate_real_scene(
    predictor: Any,
    *,
    real_dir: str | Path | None = None,
    png: str | Path | None = None,
    outline: Path | None = None,
) -> dict[str, Any]:
    """Run a predictor on the real scene and measure what it finds (see the module docstring)."""
    from scipy import ndimage

    from model.layers import prepare_layers
    from model.metrics import segment

    card: ModelCard = predictor.card
    scene = load_real_scene(real_dir, resolution_m=card.resolution_m)
    x = prepare_layers(scene.vv, scene.vh, card)
    probs = predictor.predict_image(x)
    t = card.thresholds
    classes = segment(probs, seed=t.seed, grow=t.grow, min_area_px=t.min_area_px)
    flagged = classes > 0
    sea = np.isfinite(scene.vv)
    px_km2 = (scene.resolution_m / 1000.0) ** 2
    truth = slick_mask(scene, outline)
    result: dict[str, Any] = {
        "scene": SCENE_ID,
        "grid": f"EPSG:{EPSG}, {scene.resolution_m:g} m, "
        f"{scene.vv.shape[1]} x {scene.vv.shape[0]} px",
        "sea_km2": round(float(sea.sum()) * px_km2, 1),
    }
    if truth is not None:
        truth &= sea
        near = ndimage.binary_dilation(truth, iterations=SLICK_BUFFER_PX)
        inter = int((flagged & truth).sum())
        union = int((flagged & near | truth).sum())
        line = _centreline(truth)
        covered = ndimage.binary_dilation(flagged, iterations=2) & line
        slick_classes = classes[flagged & truth]
        result.update(
            {
                "slick_px": int(truth.sum()),
                "slick_recall": round(inter / max(int(truth.sum()), 1), 3),
                "slick_iou": round(inter / max(union, 1), 3),
                "slick_length_covered": round(float(covered.sum()) / max(int(line.sum()), 1), 3),
                "slick_class": (
                    card.classes[
                        int(np.bincount(slick_classes, minlength=len(card.classes))[1:].argmax())
                        + 1
                    ]
                    if len(slick_classes)
                    else None
                ),
            }
        )
    else:
        near = np.zeros_like(flagged)
    elsewhere = flagged & sea & ~near
    open_sea = sea & ~near
    result["flagged_elsewhere_km2"] = round(float(elsewhere.sum()) * px_km2, 1)
    result["flagged_elsewhere_pct_of_sea"] = round(
        100.0 * elsewhere.sum() / max(open_sea.sum(), 1), 3
    )
    labels, n_elsewhere = ndimage.label(elsewhere, structure=np.ones((3, 3), bool))
    result["flagged_elsewhere_polygons"] = int(n_elsewhere)
    # parts touching the swath's nodata edge or the land mask: the pipeline reclassifies those
    # (ARTEFACT, LAND) instead of reporting them as oil
    edge = ndimage.binary_dilation(~np.isfinite(scene.vv), iterations=EDGE_PX) & sea
    touching = np.unique(labels[edge & elsewhere])
    at_edge = np.isin(labels, touching[touching > 0])
    result["flagged_elsewhere_at_edge_km2"] = round(float(at_edge.sum()) * px_km2, 1)
    result["flagged_open_sea_km2"] = round(float((elsewhere & ~at_edge).sum()) * px_km2, 1)
    result["flagged_open_sea_pct"] = round(
        100.0 * (elsewhere & ~at_edge).sum() / max(open_sea.sum(), 1), 3
    )
    if png is not None:
        _plot(scene, probs, classes, truth, Path(png))
        result["png"] = Path(png).name
    return result


def _plot(
    scene: RealScene, probs: np.ndarray, classes: np.ndarray, truth: np.ndarray | None, png: Path
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with np.errstate(invalid="ignore", divide="ignore"):
        db = 10 * np.log10(scene.vv)
    fig, axes = plt.subplots(1, 2, figsize=(16, 7))
    lo, hi = np.nanpercentile(db, [1, 99])
    for ax in axes:
        ax.imshow(db, cmap="gray", vmin=lo, vmax=hi)
        ax.set_axis_off()
    axes[0].set_title("VV sigma0 (dB), land masked")
    overlay = np.ma.masked_where(classes == 0, classes)
    axes[1].imshow(overlay, cmap="autumn", vmin=1, vmax=3, interpolation="nearest")
    if truth is not None:
        axes[1].contour(truth, levels=[0.5], colors="cyan", linewidths=0.6)
    axes[1].set_title("flagged oil (colour), real slick outline (cyan)")
    fig.tight_layout()
    png.parent.mkdir(parents=True, exist_ok=True)
    tmp = png.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    tmp.replace(png)
