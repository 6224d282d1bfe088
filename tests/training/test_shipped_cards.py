"""Every weight file the engine ships comes from a committed training configuration, and its
model card says so truthfully."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.models._weights import sha256, weights_path
from training.config import load_config
from training.export import data_card

REPO = Path(__file__).resolve().parents[2]
CARDS = sorted((REPO / "engine" / "weights").glob("*.json"))


@pytest.mark.parametrize("card_path", CARDS, ids=[p.stem for p in CARDS])
def test_shipped_card__names_the_committed_config_it_was_trained_from(card_path: Path) -> None:
    card = json.loads(card_path.read_text())
    training = card["training"]
    config = load_config(REPO / training["config"])
    assert config.model == card["name"] == card_path.stem
    assert training["trainer"] == config.trainer
    assert training["phases"] == [{"name": p.name, "iterations": p.iterations} for p in config.phases]
    assert training["iterations"] == sum(p.iterations for p in config.phases)
    # The data as the configuration gives them, only what that kind of data uses (no unused defaults).
    assert training["data"] == json.loads(json.dumps(data_card(config.data)))
    assert card["sha256"] == sha256(weights_path(card["name"]))
