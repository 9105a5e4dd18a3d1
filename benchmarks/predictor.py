"""Predictor throughput on CPU: megapixels per second by tile size, batch size and threads, eager
against ``torch.compile``, float32 against bfloat16 autocast, and batch norms folded into the
convolutions (as the predictor loads the network) against kept, side by side in one run.

    .venv/bin/python benchmarks/predictor.py                 # the shipped model
    .venv/bin/python benchmarks/predictor.py --card DIR --quick

Every figure is the median of ``--repeats`` timed calls after one warm-up call (the warm-up of a
compiled model, which includes compiling, is reported separately). Inputs are random normalized
layers; the network's cost does not depend on the values. The machine may be shared: the load
average is printed with the figures, and ratios measured in the same run are what to compare.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import typer
from rich.console import Console
from rich.table import Table

from model.card import ModelCard
from model.predictor import SHIPPED_DIR, Predictor, _load_module

console = Console()


def _timed(fn, repeats: int) -> tuple[float, float]:
    """(first call seconds, median seconds of the next ``repeats`` calls)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times)


def main(
    card: Path = typer.Option(SHIPPED_DIR, help="Model card (card.json or its folder)."),
    repeats: int = typer.Option(3, help="Timed calls per figure."),
    quick: bool = typer.Option(False, help="Fewer configurations (for a smoke run)."),
    compile: bool = typer.Option(True, help="Also measure torch.compile (slow first call)."),
) -> None:
    """Print the predictor's CPU throughput table."""
    model_card = ModelCard.load(card)
    module = _load_module(model_card, model_card.artifact()[0], "cpu")
    layers = len(model_card.layers)
    rng = np.random.default_rng(0)
    console.print(
        f"model {model_card.name}:{model_card.version}, {model_card.params:,} parameters, "
        f"{model_card.flops_per_pixel:,.0f} FLOPs/px; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f} at start"
    )

    table = Table(
        "call", "tile px", "batch", "threads", "variant", "MP/s", "first call s", "max |Δp|"
    )
    cases = [(256, 8), (512, 2), (1024, 1)] if not quick else [(512, 1)]
    threads = [1, 2] if not quick else [1]
    eager = Predictor(model_card, module)
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for tile, batch in cases:
            x = rng.standard_normal((batch, layers, tile, tile)).astype(np.float32)
            first, median = _timed(lambda x=x: eager.predict(x), repeats)
            mp = batch * tile * tile / 1e6
            table.add_row(
                "predict",
                str(tile),
                str(batch),
                str(n_threads),
                "eager float32",
                f"{mp / median:.2f}",
                f"{first:.2f}",
                "-",
            )

    # the pipeline's call: one haloed 2048 px block (2048 + 2 x 64) in one tile
    torch.set_num_threads(1)
    block = 2176 if not quick else 1088
    xb = rng.standard_normal((layers, block, block)).astype(np.float32)
    reference = eager.predict_image(xb, tile_size=block)
    first, block_time = _timed(
        lambda: eager.predict_image(xb, tile_size=block), max(1, repeats - 1)
    )
    table.add_row(
        "predict_image",
        str(block),
        "1",
        "1",
        "eager float32",
        f"{block * block / 1e6 / block_time:.2f}",
        f"{first:.2f}",
        "0",
    )
    tiled_first, tiled = _timed(lambda: eager.predict_image(xb, tile_size=512, batch_size=2), 1)
    tiled_diff = float(
        np.abs(eager.predict_image(xb, tile_size=512, batch_size=2) - reference).max()
    )
    table.add_row(
        "predict_image",
        "512 tiles",
        "2",
        "1",
        "eager float32",
        f"{block * block / 1e6 / tiled:.2f}",
        f"{tiled_first:.2f}",
        f"{tiled_diff:.1e}",
    )

    variants = [("eager bfloat16", Predictor(model_card, module, precision="bfloat16"))]
    # what the predictor ran before it folded the batch norms into the convolutions
    unfolded = _load_module(model_card, model_card.artifact()[0], "cpu", fold=False)
    if any(isinstance(m, torch.nn.BatchNorm2d) for m in unfolded.modules()):
        variants.insert(0, ("eager float32, BN unfolded", Predictor(model_card, unfolded)))
    if compile:
        variants.append(("compiled float32", Predictor(model_card, module, compiled=True)))
        variants.append(
            (
                "compiled bfloat16",
                Predictor(model_card, module, compiled=True, precision="bfloat16"),
            )
        )
    tile = 512
    x = rng.standard_normal((1, layers, tile, tile)).astype(np.float32)
    base = eager.predict(x)
    _, base_time = _timed(lambda: eager.predict(x), repeats)
    table.add_row(
        "predict",
        str(tile),
        "1",
        "1",
        "eager float32",
        f"{tile * tile / 1e6 / base_time:.2f}",
        "-",
        "0",
    )
    for name, predictor in variants:
        try:
            first, median = _timed(lambda p=predictor: p.predict(x), repeats)
            diff = float(np.abs(predictor.predict(x) - base).max())
            table.add_row(
                "predict",
                str(tile),
                "1",
                "1",
                name,
                f"{tile * tile / 1e6 / median:.2f}",
                f"{first:.1f}",
                f"{diff:.1e}",
            )
        except Exception as exc:  # compile needs a C++ toolchain: report, do not hide
            table.add_row("predict", str(tile), "1", "1", name, "failed", "-", type(exc).__name__)
    console.print(table)
    scene_px = 3000 * 2500
    console.print(
        f"a 3000 x 2500 px scene (80 m) at the predict_image figure: "
        f"{scene_px * block_time / (block * block):.1f} s on one thread; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )


if __name__ == "__main__":
    typer.run(main)
