from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.exceptions import MethodUnavailableError, ParameterError
from engine.methods import Method, Parameter
from engine.methods._registry import normalise_name


@pytest.mark.parametrize("name", ["Gamma Map", "gamma_map", "GAMMA-MAP", " gamma  map "])
def test_get_method__accepts_snap_style_names(name: str) -> None:
    assert engine.get_method(name).name == "gamma-map"


def test_get_method__unknown_name_lists_valid_ones() -> None:
    with pytest.raises(ParameterError, match=r"unknown method 'refined'\. Did you mean refined-lee\?.*Available methods: boxcar"):
        engine.get_method("refined")


@pytest.mark.parametrize("name", ["fast-cnn", "Fast CNN", "fast_cnn"])
def test_get_method__a_retired_method_says_so_and_what_replaces_it(name: str) -> None:
    with pytest.raises(ParameterError, match=r"method 'fast-cnn' was retired: looks-unet is faster .* use looks-unet"):
        engine.get_method(name)
    assert "fast-cnn" not in engine.list_methods()
    with pytest.raises(ParameterError, match=r"method 'fast-cnn' was retired"):
        engine.methods.get_stack_method(name)


def test_single_image_choices__sar_methods_only_and_a_retired_one_is_told_why() -> None:
    from engine.stack._catalog import single_image_choices

    choices = single_image_choices("none")
    assert choices[:2] == ("auto", "none") and list(choices[2:]) == engine.list_methods(imagery="sar")
    assert "fast-cnn" not in choices and "ultrasound-unet" not in choices and "looks-unet" in choices
    ratio = engine.methods.get_stack_method("ratio")
    with pytest.raises(ParameterError, match=r"method 'fast-cnn' was retired: .* use looks-unet"):
        ratio.resolve({"ratio_method": "fast-cnn"})
    with pytest.raises(ParameterError, match="one of auto, "):
        ratio.resolve({"ratio_method": "ultrasound-unet"})


def test_list_methods__pattern_and_kind() -> None:
    assert engine.list_methods("lee*") == ["lee", "lee-sigma"]
    assert engine.list_methods(kind="model") == [] or all(engine.get_method(n).kind == "model" for n in engine.list_methods(kind="model"))
    with pytest.raises(ParameterError, match="kind must be"):
        engine.list_methods(kind="network")


def test_list_methods__imagery_keeps_filters_and_the_models_trained_for_it() -> None:
    sar, ultrasound = engine.list_methods(imagery="sar"), engine.list_methods(imagery="ultrasound")
    filters = engine.list_methods(kind="filter")
    assert set(filters) <= set(sar) and set(filters) <= set(ultrasound)
    assert "looks-unet" in sar and "looks-unet" not in ultrasound
    assert "speckle2void-ultrasound" in ultrasound and "speckle2void-ultrasound" not in sar
    with pytest.raises(ParameterError, match="imagery must be"):
        engine.list_methods(imagery="optical")
    with pytest.raises(ValueError, match="imagery must be"):
        Method(name="x", title="X", kind="filter", domain="intensity", kernel=lambda b: b, halo=lambda p: 0, imagery=("lidar",))


@pytest.mark.parametrize("parameter, value, expected", [
    (Parameter("n", int, 3, "h"), "5", 5),
    (Parameter("n", int, 3, "h"), 7.0, 7),
    (Parameter("x", float, 1.0, "h"), "0.5", 0.5),
    (Parameter("x", float, 1.0, "h"), 2, 2.0),
    (Parameter("b", bool, False, "h"), "yes", True),
    (Parameter("s", str, "a", "h", choices=("a", "b")), "b", "b"),
])
def test_parameter__coerces_text_and_numbers(parameter: Parameter, value: object, expected: object) -> None:
    assert parameter.validate(value) == expected


@pytest.mark.parametrize("parameter, value, match", [
    (Parameter("n", int, 3, "h"), "2.5", "must be an integer"),
    (Parameter("n", int, 3, "h"), True, "must be an integer"),
    (Parameter("n", int, 3, "h", odd=True), 4, "odd integer"),
    (Parameter("n", int, 3, "h", minimum=3), 1, ">= 3"),
    (Parameter("x", float, 1.0, "h", maximum=2), 3, "<= 2"),
    (Parameter("x", float, 1.0, "h"), "nan", "finite"),
    (Parameter("x", float, 1.0, "h"), "abc", "a number"),
    (Parameter("b", bool, False, "h"), "maybe", "true or false"),
    (Parameter("s", str, "a", "h", choices=("a", "b")), "c", "one of a, b"),
])
def test_parameter__errors_say_what_was_expected(parameter: Parameter, value: object, match: str) -> None:
    with pytest.raises(ParameterError, match=f"parameter {parameter.name} must be .*{match}|{match}"):
        parameter.validate(value)


def test_method__resolve_takes_defaults_from_the_scene() -> None:
    lee = engine.get_method("lee")
    assert lee.resolve({}, {"looks": 3}) == {"window_size_px": 7, "looks": 3.0}
    assert lee.resolve({"looks": 2}, {"looks": 3}) == {"window_size_px": 7, "looks": 2.0}
    with pytest.raises(ParameterError, match="has no parameter radius; its parameters: window_size_px, looks"):
        lee.resolve({"radius": 3})


def test_method__declaration_is_checked() -> None:
    with pytest.raises(ValueError, match="kind"):
        Method("x", "X", "net", "intensity", lambda b: b, lambda p: 0)
    with pytest.raises(ValueError, match="domain"):
        Method("x", "X", "filter", "complex", lambda b: b, lambda p: 0)
    with pytest.raises(ValueError, match="already registered"):
        engine.register_method(engine.get_method("lee"))
    with pytest.raises(ValueError, match="lowercase with hyphens"):
        engine.register_method(Method("My Filter", "X", "filter", "intensity", lambda b: b, lambda p: 0))


def test_method__unavailable_methods_refuse_to_run() -> None:
    method = Method("x", "X", "model", "intensity", lambda b: b, lambda p: 0, availability=lambda: "no trained weights")
    assert method.describe()["available"] is False
    with pytest.raises(MethodUnavailableError, match="'x' is not available: no trained weights"):
        method.require_available()


def test_normalise_name() -> None:
    assert normalise_name("Refined_Lee") == "refined-lee"


def test_every_method_describes_itself_as_json() -> None:
    import json

    for name in engine.list_methods():
        described = json.loads(json.dumps(engine.get_method(name).describe()))
        assert described["name"] == name and described["parameters"]
        assert np.isfinite(described["halo_px_at_defaults"])
