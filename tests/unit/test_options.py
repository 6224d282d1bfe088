from __future__ import annotations

import pytest

import engine
from engine.exceptions import ParameterError


def test_set_options__as_context_manager_restores() -> None:
    with engine.set_options(chunk_size_px=256, default_method="frost"):
        assert engine.get_option("chunk_size_px") == 256
        assert engine.get_option("default_method") == "frost"
    assert engine.get_option("chunk_size_px") == 1024


@pytest.mark.parametrize("kwargs, match", [
    ({"chunk_size": 5}, "unknown option 'chunk_size'; valid options: chunk_size_px"),
    ({"chunk_size_px": 0}, "chunk_size_px must be a positive integer"),
    ({"geotiff_tile_px": 100}, "multiple of 16"),
    ({"compress": "jpeg"}, "one of deflate"),
    ({"num_workers": -1}, "None"),
])
def test_set_options__rejects_bad_names_and_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        engine.set_options(**kwargs)
    assert engine.get_option("chunk_size_px") == 1024
