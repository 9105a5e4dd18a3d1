"""Fixtures of the catalog tests: the real scene, small real COGs, sample items, a real STAC API.

- ``real_vv`` / ``real_info``: the real Sentinel-1 scene of ``../shared/data/real``.
- ``write_cog(path, array, epsg, transform, nodata)``: a small tiled GeoTIFF written with rasterio.
- ``sample_items`` (session): a static catalog of seven scenes chosen to exercise search and
  relevancy (the real scene; a UTM sigma0 scene with label assets; EW, HH-only, medium-resolution
  and land-only scenes; one off Fiji across the anti-meridian), written to a temp folder.
- ``stac_api`` (module): stac-fastapi-pgstac served by uvicorn on loopback over a pgstac database
  (made with pypgstac in the session PostGIS) holding the same items; yields its root URL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import affine
import httpx
import numpy as np
import pystac
import pytest
import rasterio
from shapely.geometry import Polygon, box

from catalog.stac import make_s1_item, read_catalog, write_catalog
from tests.databases import create_database, unique_database_name

REAL_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "real"
REAL_ID = "S1A_IW_GRDH_1SDV_20201121T225759_20201121T225828_035353_04216C_62EA"


@pytest.fixture(scope="session")
def real_vv() -> Path:
    """The real scene's VV measurement file (uint16 DN, GCPs)."""
    path = (REAL_DIR / f"{REAL_ID}.vv.tif").resolve()
    assert path.is_file(), f"the real scene is missing: {path}"
    return path


@pytest.fixture(scope="session")
def real_info(real_vv: Path) -> dict:
    """The real scene's productInfo.json, parsed."""
    return json.loads((real_vv.parent / f"{REAL_ID}.productInfo.json").read_text())


@pytest.fixture(scope="session")
def cog_writer():  # noqa: ANN201 - the write_cog function
    """The :func:`write_cog` helper, for test modules (which cannot import this conftest)."""
    return write_cog


def write_cog(
    path: Path,
    array: np.ndarray,
    *,
    epsg: int | None,
    transform: affine.Affine | None,
    nodata: float | None,
) -> Path:
    """Write a single-band tiled GeoTIFF (a COG when georeferenced)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = dict(
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype.name,
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
        nodata=nodata,
    )
    if epsg is not None:
        profile.update(crs=f"EPSG:{epsg}", transform=transform)
    with rasterio.open(path, "w", **profile) as ds:
        ds.write(array, 1)
    return path


def make_id(
    start: datetime,
    *,
    mission: str = "S1A",
    mode: str = "IW",
    product: str = "GRDH",
    pol: str = "DV",
    orbit: int = 40000,
    datatake: int = 0x04A1B2,
    uid: str = "ABCD",
) -> str:
    """A well-formed Sentinel-1 product id for synthetic items."""
    stop = start + timedelta(seconds=25)
    f = "%Y%m%dT%H%M%S"
    times = f"{start:{f}}_{stop:{f}}"
    return f"{mission}_{mode}_{product}_1S{pol}_{times}_{orbit:06d}_{datatake:06X}_{uid}"


@dataclass(frozen=True)
class SampleCatalog:
    """The sample scenes, as written."""

    path: Path
    """Folder of the static catalog (``catalog.json`` inside)."""
    items: dict[str, pystac.Item]
    """Short name -> item (as read back from the catalog, absolute asset hrefs)."""
    utm_array: np.ndarray
    """The sigma0 array of the ``gulf`` scene's VV COG."""


def _square(lon: float, lat: float, half: float = 1.0) -> Polygon:
    return box(lon - half, lat - half, lon + half, lat + half)


@pytest.fixture(scope="session")
def sample_items(
    tmp_path_factory: pytest.TempPathFactory, real_vv: Path, real_info: dict
) -> SampleCatalog:
    """Seven scenes in a static catalog (see the module docstring)."""
    root = tmp_path_factory.mktemp("sample-catalog")
    items: dict[str, pystac.Item] = {}

    items["hatteras"] = make_s1_item(
        REAL_ID,
        footprint=real_info["footprint"],
        assets={"vv": str(real_vv), "vh": str(real_vv.with_name(f"{REAL_ID}.vh.tif"))},
        kind="dn",
        epsg=None,
        shape=(969, 1274),
        transform=None,
    )

    # A small analysis-ready scene in UTM 15N (Gulf of Mexico) with label assets.
    rng = np.random.default_rng(7)
    sigma0 = rng.gamma(4.4, 0.02 / 4.4, size=(96, 128)).astype(np.float32)
    sigma0[:, :10] = np.nan
    transform = affine.Affine(80.0, 0.0, 700_000.0, 0.0, -80.0, 3_200_000.0)
    gulf_id = make_id(datetime(2021, 6, 1, 0, 5, 10), pol="SV", orbit=38000, uid="1A2B")
    folder = root / "sentinel-1-grd" / gulf_id
    vv = write_cog(folder / "vv.tif", sigma0, epsg=32615, transform=transform, nodata=np.nan)
    classes = write_cog(
        folder / "classes.tif",
        (sigma0 < 0.01).astype(np.uint8),
        epsg=32615,
        transform=transform,
        nodata=None,
    )
    polygons = folder / "polygons.geojson"
    polygons.write_text(json.dumps({"type": "FeatureCollection", "features": []}))
    gulf_fp = Polygon([(-91.0, 28.9), (-90.9, 28.9), (-90.9, 28.97), (-91.0, 28.97)])
    items["gulf"] = make_s1_item(
        gulf_id,
        footprint=gulf_fp,
        assets={"vv": str(vv)},
        kind="sigma0",
        epsg=32615,
        shape=sigma0.shape,
        transform=transform,
        label_assets={"classes": str(classes), "polygons": str(polygons)},
        simulated=True,
    )

    def synthetic(name: str, when: datetime, footprint: Polygon, **id_parts: object) -> None:
        scene_id = make_id(when, **id_parts)
        pol = str(id_parts.get("pol", "DV"))
        channels = {"DV": ["vv", "vh"], "SV": ["vv"], "DH": ["hh", "hv"], "SH": ["hh"]}[pol]
        items[name] = make_s1_item(
            scene_id,
            footprint=footprint,
            assets={c: f"https://example.invalid/{scene_id}/{c}.tif" for c in channels},
            kind="dn",
            epsg=None,
            shape=(16700, 25000),
            transform=None,
        )

    synthetic("arctic_ew", datetime(2021, 6, 2, 12, 0, 0), _square(20.0, 75.0), mode="EW", pol="DH")
    synthetic("north_sea_hh", datetime(2021, 6, 3, 17, 30, 0), _square(3.0, 56.0), pol="SH")
    synthetic("med_medium", datetime(2022, 2, 1, 5, 0, 0), _square(18.0, 35.0), product="GRDM")
    synthetic(
        "fiji",
        datetime(2022, 1, 10, 6, 0, 0),
        Polygon([(179.0, -17.5), (-179.2, -17.5), (-179.2, -16.0), (179.0, -16.0)]),
        mission="S1C",
        orbit=1000,
    )
    synthetic(
        "chukotka_land",
        datetime(2022, 3, 1, 3, 0, 0),
        Polygon([(179.5, 66.8), (-179.5, 66.8), (-179.5, 67.2), (179.5, 67.2)]),
        orbit=42000,
    )

    write_catalog(items.values(), root, title="Sample scenes")
    by_id = {item.id: item for item in read_catalog(root)}
    read_back = {name: by_id[item.id] for name, item in items.items()}
    return SampleCatalog(path=root, items=read_back, utm_array=sigma0)


# ------------------------------------------------------------------------------------------------
# A real STAC API: stac-fastapi-pgstac over pgstac in the session PostGIS


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def stac_api(pg_cluster, sample_items: SampleCatalog, tmp_path_factory) -> Iterator[str]:  # noqa: ANN001
    """Root URL of a STAC API serving the sample items (stac-fastapi-pgstac over pgstac)."""
    from pypgstac.db import PgstacDB
    from pypgstac.load import Loader, Methods
    from pypgstac.migrate import Migrate

    from catalog.stac import make_collection

    name = unique_database_name("pgstac")
    url = create_database(pg_cluster, name)
    port = pg_cluster.status().port
    dsn = f"postgresql://postgres@127.0.0.1:{port}/{name}"
    with PgstacDB(dsn=dsn) as db:
        Migrate(db).run_migration()
        loader = Loader(db)
        items = list(sample_items.items.values())
        collection = make_collection(items)
        loader.load_collections([collection.to_dict()], insert_mode=Methods.insert)
        loader.load_items(
            iter([dict(i.to_dict(), collection=collection.id) for i in items]),
            insert_mode=Methods.insert,
        )
    assert url

    api_port = _free_port()
    workdir = tmp_path_factory.mktemp("stac-api")
    env = {
        **os.environ,
        "PGUSER": "postgres",
        "PGPASSWORD": "unused-trust-auth",
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGDATABASE": name,
        "ENABLE_TRANSACTIONS_EXTENSIONS": "false",
    }
    log = (workdir / "uvicorn.log").open("w")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "stac_fastapi.pgstac.app:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(api_port),
            "--log-level",
            "warning",
        ],
        cwd=workdir,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the STAC API exited with {proc.returncode}:\n"
                    + (workdir / "uvicorn.log").read_text()[-3000:]
                )
            try:
                if httpx.get(f"{base}/_mgmt/ping", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the STAC API did not answer within 60 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        pg_cluster.drop_database(name)
