// slickwatch map: the slicks of a period over the scene footprints, coloured by class.
// Reads the service's own OGC API (collections slicks, scenes, classes) and /slicks/{id}/history.
// URL parameters: from, to (YYYY-MM-DD; default: the 30 days up to the latest slick), slick (an id
// whose details open at load).
"use strict";

(function () {
  const base = new URL(".", window.location.href);
  const params = new URLSearchParams(window.location.search);
  const statusEl = document.getElementById("status");
  const MAX_FEATURES = 5000;
  const PAGE = 1000;

  const map = L.map("map", { worldCopyJump: true, preferCanvas: false }).setView([20, 0], 2);
  L.control.scale({ imperial: false }).addTo(map);
  const scenesLayer = L.featureGroup().addTo(map);
  const slicksLayer = L.featureGroup().addTo(map);
  const slickLayers = new Map();
  let selected = null;

  function setStatus(text) {
    statusEl.textContent = text;
  }

  function api(path) {
    return new URL(path, base).toString();
  }

  async function getJSON(url) {
    const response = await fetch(url, { headers: { Accept: "application/geo+json, application/json" } });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      throw new Error(body.description || `${response.status} ${response.statusText}`);
    }
    return body;
  }

  // every feature of a query, following next links (at most MAX_FEATURES)
  async function allFeatures(url) {
    const features = [];
    let next = url;
    while (next && features.length < MAX_FEATURES) {
      const page = await getJSON(next);
      features.push(...(page.features || []));
      const link = (page.links || []).find((l) => l.rel === "next");
      next = link && page.features && page.features.length ? link.href : null;
    }
    return features;
  }

  function isoDate(date) {
    return date.toISOString().slice(0, 10);
  }

  async function defaultPeriod() {
    const latest = await getJSON(
      api("collections/slicks/items?f=json&limit=1&sortby=-slick_timestamp&skipGeometry=true")
    );
    const end = latest.features && latest.features.length
      ? new Date(latest.features[0].properties.slick_timestamp)
      : new Date();
    const start = new Date(end.getTime() - 30 * 86400 * 1000);
    return [isoDate(start), isoDate(end)];
  }

  function escapeHtml(value) {
    return String(value).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
  }

  function fmt(value, digits) {
    if (value === null || value === undefined) return "";
    if (typeof value === "number") return value.toFixed(digits === undefined ? 2 : digits);
    return String(value);
  }

  async function loadLegend() {
    const classes = await getJSON(api("collections/classes/items?f=json&limit=1000&skipGeometry=true"));
    const list = document.getElementById("legend-list");
    list.innerHTML = "";
    for (const feature of classes.features || []) {
      const p = feature.properties;
      const item = document.createElement("li");
      item.dataset.class = p.short_name;
      item.innerHTML = `<span class="swatch" style="background:${escapeHtml(p.color)}"></span>` +
        `${escapeHtml(p.long_name)} <small>(${escapeHtml(p.short_name)})</small>`;
      list.appendChild(item);
    }
  }

  function showAttributes(feature) {
    const p = feature.properties;
    const rows = [
      ["id", feature.id],
      ["class", `${p.class_long_name} (${p.class_short_name})`],
      ["seen", p.slick_timestamp],
      ["machine confidence", fmt(p.machine_confidence)],
      ["human confidence", fmt(p.human_confidence)],
      ["validated", p.validated ? "yes" : "no"],
      ["area, km²", fmt(p.area / 1e6, 3)],
      ["length, km", fmt(p.length / 1e3, 2)],
      ["Polsby-Popper", fmt(p.polsby_popper, 3)],
      ["scene", p.scene_id || ""],
      ["model", p.model_name || ""],
      ["notes", p.notes || ""],
    ];
    document.getElementById("attributes").innerHTML = rows
      .map(([k, v]) => `<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`)
      .join("");
    document.getElementById("details-title").textContent = `Slick ${feature.id}`;
    document.getElementById("details").hidden = false;
  }

  async function showHistory(id) {
    const body = document.querySelector("#history tbody");
    body.innerHTML = "<tr><td colspan=8>loading…</td></tr>";
    try {
      const answer = await getJSON(api(`slicks/${encodeURIComponent(id)}/history`));
      body.innerHTML = answer.history
        .map((e) => `<tr data-id="${e.id}"><td>${e.id}</td><td>${e.depth}</td>` +
          `<td>${escapeHtml(e.create_time.slice(0, 19))}</td><td>${escapeHtml(e.slick_class)}</td>` +
          `<td>${fmt(e.human_confidence)}</td><td>${e.active ? "yes" : "no"}</td>` +
          `<td>${escapeHtml(e.reviewer || "")}</td><td>${escapeHtml(e.notes || "")}</td></tr>`)
        .join("");
    } catch (error) {
      body.innerHTML = `<tr><td colspan=8>${escapeHtml(error.message)}</td></tr>`;
    }
  }

  async function select(feature) {
    if (selected) selected.setStyle({ weight: 1 });
    selected = slickLayers.get(String(feature.id)) || null;
    if (selected) selected.setStyle({ weight: 3 });
    showAttributes(feature);
    await showHistory(feature.id);
  }

  function drawScenes(features) {
    scenesLayer.clearLayers();
    L.geoJSON(features, {
      style: { color: "#555", weight: 1, fillOpacity: 0.05, dashArray: "4 3" },
      onEachFeature: (feature, layer) => layer.bindTooltip(feature.properties.scene_id || ""),
    }).eachLayer((layer) => scenesLayer.addLayer(layer));
  }

  function drawSlicks(features) {
    slicksLayer.clearLayers();
    slickLayers.clear();
    L.geoJSON(features, {
      style: (feature) => ({
        color: feature.properties.class_color || "#d00",
        fillColor: feature.properties.class_color || "#d00",
        weight: 1,
        fillOpacity: 0.6,
        className: `slick slick-${feature.properties.class_short_name}`,
      }),
      onEachFeature: (feature, layer) => {
        slickLayers.set(String(feature.id), layer);
        layer.on("click", () => select(feature));
      },
    }).eachLayer((layer) => slicksLayer.addLayer(layer));
  }

  async function load(from, to) {
    setStatus(`Loading ${from} to ${to}…`);
    const period = encodeURIComponent(`${from}/${to}`);
    const [scenes, slicks] = await Promise.all([
      allFeatures(api(`collections/scenes/items?f=json&limit=${PAGE}&datetime=${period}`)),
      allFeatures(api(`collections/slicks/items?f=json&limit=${PAGE}&datetime=${period}`)),
    ]);
    drawScenes(scenes);
    drawSlicks(slicks);
    const bounds = slicksLayer.getLayers().length ? slicksLayer.getBounds() : scenesLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [20, 20], maxZoom: 11 });
    const capped = slicks.length >= MAX_FEATURES ? ` (first ${MAX_FEATURES})` : "";
    setStatus(`${slicks.length} slicks${capped} over ${scenes.length} scenes, ${from} to ${to}`);
    document.body.dataset.slicks = String(slicks.length);
    document.body.dataset.scenes = String(scenes.length);
    return slicks;
  }

  async function main() {
    try {
      await loadLegend();
      let from = params.get("from");
      let to = params.get("to");
      if (!from || !to) {
        const [start, end] = await defaultPeriod();
        from = from || start;
        to = to || end;
      }
      document.getElementById("from").value = from;
      document.getElementById("to").value = to;
      const slicks = await load(from, to);
      const wanted = params.get("slick");
      if (wanted) {
        let feature = slicks.find((f) => String(f.id) === wanted);
        if (!feature) feature = await getJSON(api(`collections/slicks/items/${encodeURIComponent(wanted)}?f=json`));
        await select(feature);
      }
      document.body.dataset.ready = "true";
    } catch (error) {
      setStatus(`Error: ${error.message}`);
      document.body.dataset.ready = "error";
    }
  }

  document.getElementById("period").addEventListener("submit", (event) => {
    event.preventDefault();
    const from = document.getElementById("from").value;
    const to = document.getElementById("to").value;
    const url = new URL(window.location.href);
    url.searchParams.set("from", from);
    url.searchParams.set("to", to);
    window.history.replaceState(null, "", url);
    load(from, to).catch((error) => setStatus(`Error: ${error.message}`));
  });

  main();
})();
