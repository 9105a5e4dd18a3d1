"""Subcommands of ``slickwatch`` that belong to ``model``: ``slickwatch model ...``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

model_app = typer.Typer(
    name="model",
    help="Train, evaluate, export, describe and register segmentation models.",
    no_args_is_help=True,
)

CARD_HELP = "A model's card.json or its folder (default: the shipped model)."


def register(app: typer.Typer) -> None:
    """Add this package's commands to the ``slickwatch`` app."""
    app.add_typer(model_app, name="model")


def _data_dir(data_dir: Path | None) -> Path:
    from schema.settings import get_settings

    return Path(data_dir) if data_dir else get_settings().data_dir


def _console():
    from rich.console import Console

    return Console()


def _fail(exc: Exception) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(code=1)


@model_app.command("train")
def train_command(
    out: Path = typer.Option(
        Path("model-out"), help="Model folder to write (weights, TorchScript, card.json)."
    ),
    data_dir: Path | None = typer.Option(
        None, help="Chip cache and checkpoints (default: SLICKWATCH_DATA_DIR)."
    ),
    name: str = typer.Option("slickwatch-unet", help="Model name."),
    version: str = typer.Option("1", help="Model version."),
    seed: int = typer.Option(0, help="Seed of initialization, shuffling and augmentation."),
    steps: int = typer.Option(4000, help="Optimizer steps."),
    max_minutes: float | None = typer.Option(None, help="Stop training after this many minutes."),
    train_chips: int = typer.Option(1000, help="Training chips (256 px at 80 m)."),
    val_chips: int = typer.Option(96, help="Validation chips."),
    test_chips: int = typer.Option(192, help="Test chips per test set."),
    batch_size: int = typer.Option(8, help="Chips per step."),
    crop: int = typer.Option(160, help="Training crop edge in pixels."),
    lr: float = typer.Option(5e-3, help="Peak learning rate (one-cycle)."),
    widths: str = typer.Option("16,32,64", help="Channels per U-Net level, comma-separated."),
    stem: int = typer.Option(2, help="Space-to-depth factor before the U-Net (1: none)."),
    refine: int = typer.Option(0, help="Channels of the full-resolution refinement (0: none)."),
    local_contrast: int = typer.Option(
        0, help="Radius of the local-contrast channel in pixels (0: none)."
    ),
    layers: str = typer.Option("VV_DB", help="Input layers, comma-separated (VV_DB, VH_DB)."),
    workers: int = typer.Option(2, help="Processes simulating chips."),
    threads: int = typer.Option(1, help="Torch threads for training (1 on a shared machine)."),
    resume: bool = typer.Option(False, help="Continue from the run's last checkpoint."),
    real_scene: bool = typer.Option(
        True, help="Also run the model on the real scene and put it on the card."
    ),
) -> None:
    """Train a model on simulated chips, tune its thresholds, score it and export it."""
    from model.errors import ModelError
    from model.train import TrainConfig, train

    config = TrainConfig(
        data_dir=_data_dir(data_dir),
        out_dir=out,
        name=name,
        version=version,
        seed=seed,
        layers=tuple(x.strip() for x in layers.split(",")),
        widths=tuple(int(x) for x in widths.split(",")),
        stem=stem,
        refine=refine,
        local_contrast_px=local_contrast,
        train_chips=train_chips,
        val_chips=val_chips,
        test_chips=test_chips,
        batch_size=batch_size,
        crop=crop,
        max_steps=steps,
        max_minutes=max_minutes,
        lr=lr,
        workers=workers,
        threads=threads,
        resume=resume,
    )
    try:
        card = train(config)
        if real_scene:
            _real_scene_on_card(card)
    except ModelError as exc:
        _fail(exc)
    _show_metrics(card)


def _real_scene_on_card(card) -> None:
    from model.card_markdown import write_markdown
    from model.export import load_network
    from model.predictor import Predictor
    from model.real_scene import evaluate_real_scene

    assert card.location is not None
    predictor = Predictor(card, load_network(card))
    card.real_scene = evaluate_real_scene(predictor, png=card.location / "real_scene.png")
    card.save(card.location)
    write_markdown(card)


@model_app.command("evaluate")
def evaluate_command(
    card_path: Path | None = typer.Argument(None, help=CARD_HELP),
    data_dir: Path | None = typer.Option(None, help="Chip cache (default: SLICKWATCH_DATA_DIR)."),
    test_chips: int = typer.Option(192, help="Chips per test set."),
    real: bool = typer.Option(
        True, help="Also measure the real scene (writes real_scene.png beside the card)."
    ),
    write: bool = typer.Option(
        False, help="Write the figures onto the card (test metrics, real_scene) and MODEL_CARD.md."
    ),
    workers: int = typer.Option(2, help="Processes simulating chips."),
) -> None:
    """Score a model on the held-out simulated test sets (and the real scene), card thresholds."""
    from model.card import ModelCard
    from model.card_markdown import write_markdown
    from model.errors import ModelError
    from model.evaluate import score_test_sets
    from model.predictor import SHIPPED_DIR, get_predictor
    from model.real_scene import evaluate_real_scene

    try:
        card = ModelCard.load(card_path or SHIPPED_DIR)
        predictor = get_predictor(card)
        scores = score_test_sets(
            predictor, _data_dir(data_dir), count=test_chips, workers=workers, progress=True
        )
        real_result = None
        if real:
            assert card.location is not None
            real_result = evaluate_real_scene(predictor, png=card.location / "real_scene.png")
    except ModelError as exc:
        _fail(exc)
    if write:
        card.metrics = {**card.metrics, **scores}
        if real_result is not None:
            card.real_scene = real_result
        card.save(card.location)
        write_markdown(card)
    _show_metrics(card if write else card.model_copy(update={"metrics": scores}))
    if real_result is not None:
        _console().print_json(json.dumps(real_result))


@model_app.command("export")
def export_command(
    checkpoint: Path = typer.Argument(
        ..., help="A Lightning checkpoint (.ckpt) of a training run."
    ),
    out: Path = typer.Option(..., help="Model folder to write."),
    name: str = typer.Option("slickwatch-unet", help="Model name."),
    version: str = typer.Option("1", help="Model version."),
    data_dir: Path | None = typer.Option(None, help="Chip cache (default: SLICKWATCH_DATA_DIR)."),
    val_chips: int = typer.Option(96, help="Validation chips to tune thresholds on."),
    test_chips: int = typer.Option(192, help="Test chips per test set."),
    workers: int = typer.Option(2, help="Processes simulating chips."),
) -> None:
    """Export a checkpoint as a model folder: weights, TorchScript, card (tuned, scored)."""
    import torch

    from model.card import Thresholds
    from model.data import SlickDataModule
    from model.export import export_model
    from model.lightning import SlickSegmenter
    from model.train import finish_card

    if not checkpoint.is_file():
        _fail(
            FileNotFoundError(
                f"no checkpoint at {checkpoint}: give a .ckpt written by 'slickwatch model train'."
            )
        )
    module = SlickSegmenter.load_from_checkpoint(str(checkpoint), map_location="cpu")
    dm = SlickDataModule(
        _data_dir(data_dir), val_chips=val_chips, test_chips=test_chips, workers=workers
    )
    dm.setup()
    card = export_model(
        module.net,
        out,
        name=name,
        version=version,
        layers=list(dm.layers),
        normalization=dm.normalization or {},
        thresholds=Thresholds(seed=0.7, grow=0.4, min_area_px=8),
        training={
            "checkpoint": checkpoint.name,
            "step": torch.load(checkpoint, map_location="cpu", weights_only=False).get(
                "global_step"
            ),
        },
    )
    card = finish_card(card, dm)
    _show_metrics(card)


@model_app.command("card")
def card_command(
    card_path: Path | None = typer.Argument(None, help=CARD_HELP),
    markdown: bool = typer.Option(
        False, help="Write MODEL_CARD.md beside the card from card.json."
    ),
    rehash: bool = typer.Option(
        False, help="Record the current SHA-256 of the weights files on the card."
    ),
) -> None:
    """Show a model card (checking its files' hashes); optionally rehash or write MODEL_CARD.md."""
    from model.card import ModelCard, sha256_file
    from model.card_markdown import write_markdown
    from model.errors import ModelError
    from model.predictor import SHIPPED_DIR

    try:
        card = ModelCard.load(card_path or SHIPPED_DIR)
        if rehash:
            for attr in ("weights", "torchscript"):
                path = card.path_of(getattr(card, f"{attr}_file"))
                if path is not None:
                    setattr(card, f"{attr}_sha256", sha256_file(path))
            card.save(card.location)
        card.verify()
        if markdown:
            path = write_markdown(card)
            _console().print(f"wrote {path}")
    except ModelError as exc:
        _fail(exc)
    _console().print_json(card.model_dump_json())


@model_app.command("register")
def register_command(
    card_path: Path | None = typer.Argument(None, help=CARD_HELP),
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL (default: SLICKWATCH_DATABASE_URL or the private cluster)."
    ),
) -> None:
    """Record a model card in the database's model table; prints the model id."""
    from model.errors import ModelError
    from model.registry import register as register_model

    try:
        model_id = register_model(card_path, database_url)
    except ModelError as exc:
        _fail(exc)
    typer.echo(model_id)


@model_app.command("list")
def list_command(
    database_url: str | None = typer.Option(
        None, help="SQLAlchemy URL (default: SLICKWATCH_DATABASE_URL or the private cluster)."
    ),
) -> None:
    """List the registered models, newest first."""
    from rich.table import Table

    from model.registry import list_models

    table = Table("id", "name", "version", "layers", "created", "card")
    for row in list_models(database_url):
        table.add_row(
            str(row["id"]),
            str(row["name"]),
            str(row["version"]),
            ",".join(row["layers"]),  # type: ignore[arg-type]
            str(row["created"]),
            str(row["file_path"]),
        )
    _console().print(table)


def _show_metrics(card) -> None:
    from rich.table import Table

    table = Table(
        "set", "oil IoU", "oil F1", "slick P", "slick R", "slick F1", "class acc", "look-alike FP"
    )
    for key, m in card.metrics.items():
        if not isinstance(m, dict) or "oil_iou" not in m:
            continue
        table.add_row(
            key,
            *(
                f"{m[k]:.3f}"
                for k in (
                    "oil_iou",
                    "oil_f1",
                    "slick_precision",
                    "slick_recall",
                    "slick_f1",
                    "matched_class_accuracy",
                    "lookalike_fp_share",
                )
            ),
        )
    console = _console()
    console.print(table)
    if card.real_scene:
        console.print_json(json.dumps(card.real_scene))
    console.print(f"model folder: {card.location}")
