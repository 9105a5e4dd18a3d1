"""Compare a simulated scene with the real one: ``slickwatch simulate --compare-real``.

The real reference is the Sentinel-1A IW GRDH scene off Cape Hatteras in ``../shared/data/real``
(uint16 DN at about 200 m, GCPs; row 0 is the south end, columns run with range). Both scenes go
through the same measurements:

- sea: valid pixels that are not land, land being where VH (5x5 mean) exceeds -21 dB (the sea's
  VH, noise floor included, stays below -22 dB up to 15 m/s; the real land's 10th percentile is
  -19 dB), grown by 3 pixels; the same rule on both scenes, so that neither gets a better mask;
- VV and VH sigma0 percentiles over the sea (dB, ``sigma0 = DN**2 / K**2``, K = 600);
- estimated looks: the median over the sea of the local ENL (``mean**2 / var`` of intensity in 9x9
  windows that are all sea). For VH, whose sea is the noise floor, this is the speckle ENL; for VV
  it is lower, as wind texture adds to it;
- slick-to-sea contrast: median VV dB of the sea in a ring 3-8 pixels around the slick minus the
  median inside it. The real slick's pixels are those inside its outline
  (``catalog/data/real_scene_slick.geojson``, drawn around the pixels darker than their
  surroundings); the simulated slick's are its labelled pixels (those it darkens by 1.5 dB or more),
  the nearest equivalent;
- VH noise floor: the 10th percentile of the per-column median VH over the sea, and the largest
  step between neighbouring columns (the sub-swath seams).
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.features import rasterize
from rasterio.transform import GCPTransformer
from scipy import ndimage

from catalog.scene import S1_GRD_CALIBRATION_CONSTANT
from catalog.simulate.config import SimulationConfig
from catalog.simulate.errors import RealSceneNotFound
from catalog.simulate.simulation import SimulatedScene, simulate

REAL_SCENE_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"
"""The real reference scene."""
REAL_SLICK_PATH = Path(__file__).resolve().parents[1] / "data" / "real_scene_slick.geojson"
"""Outline of the real scene's vessel slick (EPSG:4326)."""
PERCENTILES = (5, 25, 50, 75, 95)
"""Percentiles reported for VV and VH over the sea."""
LAND_VH_THRESHOLD_DB = -21.0
"""VH above which (5x5 mean) a pixel counts as land in the comparison."""


def default_real_dir() -> Path:
    """``../shared/data/real`` relative to the working directory (the repository root)."""
    return Path("..") / "shared" / "data" / "real"


def real_paths(real_dir: Path) -> tuple[Path, Path]:
    """The real scene's VV and VH files.

    Raises:
        RealSceneNotFound: they are not in ``real_dir``.
    """
    vv = Path(real_dir) / f"{REAL_SCENE_ID}.vv.tif"
    vh = Path(real_dir) / f"{REAL_SCENE_ID}.vh.tif"
    if not (vv.is_file() and vh.is_file()):
        raise RealSceneNotFound(
            f"The real scene {REAL_SCENE_ID} is not in {real_dir}: run from the repository root "
            "(it looks in ../shared/data/real) or pass --real-dir."
        )
    return vv, vh


def _read_sigma0(path: Path) -> tuple[np.ndarray, list]:
    with rasterio.open(path) as ds:
        dn = ds.read(1).astype(np.float64)
        gcps = ds.gcps[0]
    sigma0 = np.where(dn > 0, dn * dn / S1_GRD_CALIBRATION_CONSTANT**2, np.nan)
    return sigma0.astype(np.float32), gcps


def outline_real_slick(real_dir: Path) -> shapely.Geometry:
    """Derive the real vessel slick's outline (EPSG:4326) from the VV image.

    Near the reported spot (rows 590-830, columns 570-800) the VV dB image, smoothed 3x3, is
    compared with its 21x21 median (the local sea): pixels 1.5 dB darker seed the slick and pixels
    0.7 dB darker extend it (hysteresis), so the trail stays whole where it passes the calm water to
    its west. Of the seeded pieces only the long, thin ones are kept (at least 25 px, major axis
    at least 30 px, eccentricity above 0.97): the trail, not the calm patches. The kept pixels are
    vectorized, mapped to lon/lat through the file's GCPs and simplified by half a pixel.
    """
    from skimage import filters, measure

    vv_path, _ = real_paths(real_dir)
    sigma0, gcps = _read_sigma0(vv_path)
    r0, r1, c0, c1 = 590, 830, 570, 800
    db = 10 * np.log10(sigma0[r0:r1, c0:c1].astype(np.float64))
    darker = ndimage.uniform_filter(db, 3) - ndimage.median_filter(db, size=21)
    labels = measure.label(darker < -1.2, connectivity=2)
    seeds = np.zeros(labels.shape, dtype=bool)
    for region in measure.regionprops(labels):
        if region.area >= 25 and region.axis_major_length >= 30 and region.eccentricity > 0.97:
            seeds |= labels == region.label
    grown = measure.label(filters.apply_hysteresis_threshold(-darker, 0.7, 1.5), connectivity=2)
    ids = np.unique(grown[seeds])
    keep = np.isin(grown, ids[ids > 0])
    keep = ndimage.binary_closing(keep, iterations=1)
    shapes = [
        shapely.geometry.shape(geom)
        for geom, value in rasterio.features.shapes(keep.astype(np.uint8), mask=keep)
        if value == 1
    ]
    outline = shapely.union_all(shapes)
    transformer = GCPTransformer(gcps)

    def to_lonlat(xy: np.ndarray) -> np.ndarray:
        xs, ys = transformer.xy(xy[:, 1] + r0, xy[:, 0] + c0, offset="ul")
        return np.stack([xs, ys], axis=1)

    return shapely.simplify(shapely.transform(outline, to_lonlat), 0.001)


def write_real_slick(real_dir: Path, path: Path = REAL_SLICK_PATH) -> Path:
    """Write :func:`outline_real_slick` as GeoJSON (how it was derived is in its properties)."""
    geom = outline_real_slick(real_dir)
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {
                    "scene_id": REAL_SCENE_ID,
                    "class": "VESSEL",
                    "derivation": " ".join(outline_real_slick.__doc__.split()),
                },
                "geometry": shapely.geometry.mapping(geom),
            }
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=1))
    tmp.replace(path)
    return path


def real_slick_polygon(path: Path = REAL_SLICK_PATH) -> shapely.Geometry:
    """The committed outline of the real slick (EPSG:4326)."""
    doc = json.loads(Path(path).read_text())
    return shapely.union_all([shapely.geometry.shape(f["geometry"]) for f in doc["features"]])


def sea_mask(vv: np.ndarray, vh: np.ndarray) -> np.ndarray:
    """Valid pixels that are not land (VH 5x5 mean above -21 dB, grown by 3 pixels)."""
    valid = np.isfinite(vv) & np.isfinite(vh)
    mean5 = ndimage.uniform_filter(np.where(valid, vh, 0.0).astype(np.float64), 5)
    land = ndimage.binary_dilation(mean5 > 10 ** (LAND_VH_THRESHOLD_DB / 10), iterations=3)
    return valid & ~land


def _looks(intensity: np.ndarray, sea: np.ndarray) -> float:
    """Median over the sea of the local ENL ``mean**2 / var`` in 9x9 windows (all-sea windows only);
    the median keeps ships and shore pixels from dragging the estimate down."""
    x = np.where(sea, intensity, 0.0).astype(np.float64)
    mean = ndimage.uniform_filter(x, 9)
    var = ndimage.uniform_filter(x * x, 9) - mean * mean
    inside = ndimage.binary_erosion(sea, np.ones((9, 9), bool))
    return float(np.median(mean[inside] ** 2 / np.maximum(var[inside], 1e-30)))


@dataclass(frozen=True)
class SceneStats:
    """What ``--compare-real`` measures on a scene (dB unless said)."""

    vv_db: tuple[float, ...]
    """VV sigma0 percentiles over the sea (:data:`PERCENTILES`)."""
    vh_db: tuple[float, ...]
    """VH sigma0 percentiles over the sea."""
    looks_vv: float
    """Estimated looks of VV over the sea (speckle and wind texture)."""
    looks_vh: float
    """Estimated looks of VH over the sea (speckle of the noise floor)."""
    slick_contrast_db: float
    """Median sea around the slick minus median inside it, VV."""
    vh_floor_db: float
    """10th percentile of the per-column median VH over the sea."""
    vh_seam_db: float
    """Largest VH step between neighbouring columns (sub-swath seams)."""


def scene_stats(vv: np.ndarray, vh: np.ndarray, slick: np.ndarray) -> SceneStats:
    """Measure a scene (linear sigma0 arrays, NaN nodata; ``slick`` a bool mask)."""
    sea = sea_mask(vv, vh)
    vv_db = 10 * np.log10(vv.astype(np.float64))
    vh_db = 10 * np.log10(vh.astype(np.float64))
    ring = ndimage.binary_dilation(slick, iterations=8) & ~ndimage.binary_dilation(
        slick, iterations=3
    )
    contrast = float(np.median(vv_db[ring & sea]) - np.median(vv_db[slick & sea]))
    with warnings.catch_warnings():  # columns of nodata or land have no median
        warnings.simplefilter("ignore", RuntimeWarning)
        column = np.nanmedian(np.where(sea, vh_db, np.nan), axis=0)
    column = column[np.isfinite(column)]
    smooth = ndimage.median_filter(column, 5)
    return SceneStats(
        vv_db=tuple(float(v) for v in np.percentile(vv_db[sea], PERCENTILES)),
        vh_db=tuple(float(v) for v in np.percentile(vh_db[sea], PERCENTILES)),
        looks_vv=_looks(vv, sea),
        looks_vh=_looks(vh, sea),
        slick_contrast_db=contrast,
        vh_floor_db=float(np.percentile(column, 10)),
        vh_seam_db=float(np.abs(np.diff(smooth)).max()),
    )


def _slick_mask(polygon: shapely.Geometry, gcps: list, shape: tuple[int, int]) -> np.ndarray:
    """Pixels of a GCP-georeferenced raster inside a lon/lat polygon."""
    transformer = GCPTransformer(gcps)

    def to_pixels(xy: np.ndarray) -> np.ndarray:
        rows, cols = transformer.rowcol(xy[:, 0], xy[:, 1], op=lambda v: v)
        return np.stack([np.asarray(cols, float), np.asarray(rows, float)], axis=1)

    if polygon.is_empty:
        return np.zeros(shape, dtype=bool)
    pixels = shapely.transform(polygon, to_pixels)
    return rasterize([pixels], out_shape=shape, fill=0, default_value=1).astype(bool)


def real_stats(real_dir: Path) -> SceneStats:
    """Measure the real scene."""
    vv_path, vh_path = real_paths(real_dir)
    vv, gcps = _read_sigma0(vv_path)
    vh, _ = _read_sigma0(vh_path)
    return scene_stats(vv, vh, _slick_mask(real_slick_polygon(), gcps, vv.shape))


REAL_CALM_SHARE = 0.4
"""Share of the real scene's sea that is calm: 26 % reads below -24 dB and 42 % below -23 dB
(VV, 7 x 7 mean), i.e. at or near the noise floor."""


def simulate_like_real(seed: int = 0, *, wind_speed: float = 4.0) -> SimulatedScene:
    """A simulated scene like the real one: same size, 200 m pixels, swath geometry, place, pass and
    time, a coastline, the real scene's calm share (:data:`REAL_CALM_SHARE`) and three vessel slicks
    (a slick in calm water does not show, as on real scenes; with three, one at least shows in
    wind, like the real one); ``wind_speed`` is the scene-mean wind (m/s) of the open sea."""
    config = SimulationConfig(
        seed=seed,
        shape=(969, 1274),
        pixel_size=200.0,
        geometry="grd",
        center=(-74.62, 35.76),
        time=datetime(2020, 11, 21, 22, 57, 59, tzinfo=UTC),
        pass_direction="ASCENDING",
        wind_speed=wind_speed,
        wind_direction=20.0,
        slicks={"VESSEL": 3, "INFRA": 0, "NATURAL": 0},
        land=True,
        extra={"calm": REAL_CALM_SHARE},
    )
    return simulate(config)


def simulated_stats(scene: SimulatedScene) -> SceneStats:
    """Measure a simulated scene as its DN file would read (quantized like the real one)."""
    from catalog.simulate.backscatter import dn_to_sigma0, sigma0_to_dn

    vv = dn_to_sigma0(sigma0_to_dn(scene.vv))
    vh = dn_to_sigma0(sigma0_to_dn(scene.vh))
    return scene_stats(vv, vh, scene.classes == 3)


TOLERANCES = {
    "vv_db": 1.5,
    "vh_db": 1.0,
    "looks_vv": 0.5,
    "looks_vh": 0.3,
    "slick_contrast_db": 1.5,
    "vh_floor_db": 1.0,
    "vh_seam_db": 0.5,
}
"""Agreement asked of each measure: dB for levels, a relative share for looks (see the note in
:func:`comparison_rows`)."""


def comparison_rows(real: SceneStats, sim: SceneStats) -> list[tuple[str, float, float, bool]]:
    """Rows ``(measure, real, simulated, within tolerance)``.

    Tolerances (:data:`TOLERANCES`) follow what a model can notice: 1.5 dB on VV levels (one
    scene's wind against another's moves them more than that), 1 dB on VH (the noise floor is an
    instrument property), looks within 30 % for VH (speckle) and 50 % for VV (wind texture varies
    from scene to scene), slick contrast within 1.5 dB, seams within 0.5 dB.
    """
    rows = []
    for f in fields(SceneStats):
        a, b = getattr(real, f.name), getattr(sim, f.name)
        tol = TOLERANCES[f.name]
        if isinstance(a, tuple):
            for p, x, y in zip(PERCENTILES, a, b, strict=True):
                rows.append((f"{f.name} p{p}", x, y, abs(x - y) <= tol))
        elif f.name.startswith("looks"):
            rows.append((f.name, a, b, abs(b / a - 1) <= tol))
        else:
            rows.append((f.name, a, b, abs(a - b) <= tol))
    return rows
