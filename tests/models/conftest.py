from __future__ import annotations

from typing import Any

import pytest

torch = pytest.importorskip("torch")

from engine.models import SPECS, Weights, model_method  # noqa: E402
from engine.models._weights import load_card  # noqa: E402


def perturbed_network(name: str, seed: int = 0) -> Any:
    """A network with random weights in which every path is active (NAFNet's residual scales
    start at zero, which would switch blocks off): the reach measured on it is the reach the
    architecture allows."""
    torch.manual_seed(seed)
    network = SPECS[name].build()
    with torch.no_grad():
        for parameter_name, parameter in network.named_parameters():
            if parameter_name.endswith(("beta", "gamma")):
                parameter.fill_(0.5)
            else:
                parameter.add_(0.02 * torch.randn_like(parameter))
    return network.eval()


def method_for(name: str):
    """The shipped model when its weights are installed, else the architecture with perturbed
    random weights and the declared halo: the properties tested hold for any weights."""
    if load_card(name) is not None:
        from engine.methods import get_method

        return get_method(name)
    network = perturbed_network(name)
    return model_method(SPECS[name], Weights.in_memory(network.state_dict(), f"test-random-{name}"))


@pytest.fixture(params=sorted(SPECS))
def model_name(request: pytest.FixtureRequest) -> str:
    return request.param
