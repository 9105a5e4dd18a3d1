"""The map page, rendered by headless Chromium (Debian's package) against the running service."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")


def _dom(url: str, profile: Path) -> str:
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--window-size=1280,800",
            "--virtual-time-budget=20000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _body(dom: str) -> dict[str, str]:
    tag = re.search(r"<body([^>]*)>", dom).group(1)
    return dict(re.findall(r'data-(\w+)="([^"]*)"', tag))


def test_map_shows_a_period_and_a_slick_with_its_history(served, tmp_path) -> None:
    slick = served.rows.slicks["B"][2]
    dom = _dom(f"{served.url}/map?from=2021-03-01&to=2021-03-31&slick={slick}", tmp_path)
    body = _body(dom)
    assert body == {"slicks": "10", "scenes": "1", "ready": "true"}, body
    # one SVG path per slick, classed by its class
    classes = re.findall(r'class="slick slick-(\w+)', dom)
    assert len(classes) == 10
    assert set(classes) == {"VESSEL", "INFRA", "NATURAL"}
    assert "10 slicks over 1 scenes, 2021-03-01 to 2021-03-31" in dom
    # the slick asked for: its attributes and its history
    assert f"Slick {slick}</h2>" in dom
    assert f'<tr data-id="{slick}">' in dom
    assert "S1A_IW_GRDH_1SDV_20210305" in dom
    # the legend lists the classes from the classes collection
    assert 'data-class="VESSEL"' in dom and 'data-class="NOT_OIL"' in dom


def test_map_defaults_to_the_month_before_the_latest_slick(served, tmp_path) -> None:
    dom = _dom(f"{served.url}/map", tmp_path)
    assert _body(dom) == {"slicks": "2", "scenes": "1", "ready": "true"}
    assert "2021-05-02 to 2021-06-01" in dom


def test_map_assets_are_served_locally(served) -> None:
    with served.client() as client:
        page = client.get("/map").text
        for src in re.findall(r'(?:src|href)="([^"]+)"', page):
            assert not src.startswith(("http:", "https:", "//")), src
            response = client.get(f"/{src}")
            assert response.status_code == 200, src
        leaflet = client.get("/map/static/leaflet/leaflet.js")
    assert "Leaflet" in leaflet.text[:500]
