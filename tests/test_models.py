"""The architectures, the ensemble fusion and the shared preprocessing."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from fer_fixtures import one_torch_thread  # noqa: F401

from fer_desktop.emotions import NUM_CLASSES
from fer_desktop.models import ARCHITECTURES, MODEL_NAMES, SPECS, count_parameters, create_model
from fer_desktop.models.ensemble import Ensemble
from fer_desktop.models.layers import Dropout
from fer_desktop.preprocess import as_tensor, center_crop, model_input, normalize, ten_crop

# Parameter counts of the theses' networks for one grey channel and seven classes.
PARAMETERS = {"squeezenet": (1.30e6, 1.40e6), "resnet18": (11.1e6, 11.3e6), "vgg19": (19.9e6, 20.1e6)}


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_forward_and_backward_at_the_spec_input_size(name: str) -> None:
    torch.manual_seed(0)
    model = create_model(name).train()
    size = SPECS[name].input_size
    x = torch.randn(3, 1, size, size, requires_grad=True)
    out = model(x)
    assert out.shape == (3, NUM_CLASSES)
    assert torch.isfinite(out).all()
    nn.functional.cross_entropy(out, torch.tensor([0, 3, 6])).backward()
    grads = {n: p.grad for n, p in model.named_parameters()}
    assert all(g is not None and torch.isfinite(g).all() for g in grads.values()), name
    assert x.grad is not None and x.grad.abs().sum() > 0
    # Every layer learns from the first step: a branch initialised to zero (ResNet's last BatchNorm
    # of each block) starved its first convolutions, and ResNet18 sat at the class prior for epochs.
    assert not [n for n, g in grads.items() if g.abs().sum() == 0], name


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_eval_mode_is_deterministic_and_batch_independent(name: str) -> None:
    torch.manual_seed(1)
    model = create_model(name).eval()
    x = torch.randn(2, 1, SPECS[name].input_size, SPECS[name].input_size)
    with torch.no_grad():
        together = model(x)
        alone = torch.cat([model(x[:1]), model(x[1:])])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-4)


def test_parameter_counts() -> None:
    assert set(PARAMETERS) == set(ARCHITECTURES)
    for name, (low, high) in PARAMETERS.items():
        model = create_model(name)
        n = count_parameters(model)
        assert low <= n <= high, f"{name}: {n} parameters"
        assert n == sum(p.numel() for p in model.state_dict().values() if p.is_floating_point()) - sum(
            b.numel() for b in model.buffers() if b.is_floating_point()
        )


@pytest.mark.parametrize("layout", ["contiguous", "channels_last", "transposed"])
def test_dropout_drops_p_of_the_elements_and_keeps_the_mean(layout: str) -> None:
    x = torch.ones(64, 32, 12, 12)
    if layout == "channels_last":
        x = x.contiguous(memory_format=torch.channels_last)
    elif layout == "transposed":
        x = x.transpose(2, 3)
    x.requires_grad_(True)
    torch.manual_seed(0)
    out = Dropout(0.2).train()(x)
    dropped = (out == 0).float()
    assert abs(dropped.mean().item() - 0.2) < 0.005  # 294,912 draws: 0.005 is over six standard deviations
    assert torch.allclose(out[out != 0], torch.tensor(1.25))
    # Every element has its own draw: no channel, row or lane of the packed draw is dropped together.
    assert 0.15 < dropped.mean((0, 2, 3)).min() and dropped.mean((0, 2, 3)).max() < 0.25
    lanes = dropped.flatten()[: dropped.numel() // 4 * 4].view(-1, 4)
    assert abs(lanes.prod(1).mean().item() - 0.2**4) < 0.001
    out.sum().backward()
    assert torch.equal(x.grad, out.detach())  # the gradient passes where the value did, scaled alike
    if layout == "channels_last":
        assert out.is_contiguous(memory_format=torch.channels_last)


def test_dropout_is_reproducible_and_the_identity_in_eval() -> None:
    x = torch.randn(8, 16, 6, 6)
    drop = Dropout(0.5).train()
    torch.manual_seed(3)
    a = drop(x)
    torch.manual_seed(3)
    assert torch.equal(drop(x), a)
    assert not torch.equal(drop(x), a)
    assert drop.eval()(x) is x


def test_unknown_architecture_is_named() -> None:
    with pytest.raises(ValueError, match="'alexnet'") as err:
        create_model("alexnet")
    assert all(name in str(err.value) for name in ARCHITECTURES)
    with pytest.raises(ValueError):
        create_model("ensemble")  # a combination of trained files, not a network to initialise
    assert MODEL_NAMES[-1] == "ensemble"


class Fixed(nn.Module):
    """A member that returns the given logits whatever the input."""

    def __init__(self, logits: torch.Tensor) -> None:
        super().__init__()
        self.logits = logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(len(x), -1)


def test_ensemble_is_the_log_of_the_weighted_mean_probability() -> None:
    a = torch.tensor([[2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    b = torch.tensor([[0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0]])
    fused = Ensemble([Fixed(a), Fixed(b)], [3.0, 1.0])(torch.zeros(2, 1, 44, 44))
    # Weights 3 and 1 are normalised to 0.75 and 0.25.
    pa, pb = np.exp([2.0, 0, 0, 0, 0, 0, 0]), np.exp([0, 0, 0, 3.0, 0, 0, 0])
    expected = np.log(0.75 * pa / pa.sum() + 0.25 * pb / pb.sum())
    assert fused.shape == (2, 7)
    np.testing.assert_allclose(fused.numpy(), np.stack([expected, expected]), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(fused.exp().sum(1).numpy(), [1.0, 1.0], rtol=1e-6)


def test_ensemble_of_real_members_matches_manual_fusion() -> None:
    torch.manual_seed(2)
    members = [create_model("squeezenet").eval(), create_model("squeezenet").eval()]
    x = torch.randn(2, 1, 44, 44)
    with torch.no_grad():
        fused = Ensemble(members, [0.2, 0.6]).eval()(x)
        manual = (0.25 * members[0](x).softmax(1) + 0.75 * members[1](x).softmax(1)).log()
    torch.testing.assert_close(fused, manual)


def test_ensemble_needs_one_weight_per_member() -> None:
    with pytest.raises(ValueError, match="one weight per member"):
        Ensemble([nn.Identity(), nn.Identity()], [1.0])


def grid(n: int = 2, size: int = 48) -> torch.Tensor:
    """(n, 1, size, size) with every pixel holding its own index: positions can be read back from values."""
    return torch.arange(n * size * size).view(n, 1, size, size)


def test_center_crop_takes_the_middle() -> None:
    x = grid()
    crop = center_crop(x, 44)
    assert crop.shape == (2, 1, 44, 44)
    # (48 - 44) / 2 = 2 rows and columns off each side: the top-left value is pixel (2, 2) = 2 * 48 + 2.
    assert crop[0, 0, 0, 0] == 2 * 48 + 2
    assert crop[1, 0, -1, -1] == 48 * 48 + 45 * 48 + 45
    assert torch.equal(center_crop(x, 48), x)


def test_ten_crop_corners_centre_and_mirrors() -> None:
    x = grid()
    crops = ten_crop(x, 44)
    assert crops.shape == (10, 2, 1, 44, 44)
    assert torch.equal(crops[5:], crops[:5].flip(-1))
    top_left, top_right, bottom_left, bottom_right, centre = crops[:5, 0, 0]
    assert top_left[0, 0] == 0
    assert top_right[0, -1] == 47
    assert bottom_left[-1, 0] == 47 * 48
    assert bottom_right[-1, -1] == 48 * 48 - 1
    assert torch.equal(centre, center_crop(x, 44)[0, 0])
    assert torch.equal(top_right, x[0, 0, :44, 4:])
    assert torch.equal(bottom_left, x[0, 0, 4:, :44])


def test_normalize_scales_to_the_spec() -> None:
    spec = SPECS["squeezenet"]
    x = torch.tensor([0, 255], dtype=torch.uint8)
    out = normalize(x, spec)
    torch.testing.assert_close(out, torch.tensor([-spec.mean / spec.std, (1 - spec.mean) / spec.std]))
    # uint8 and 0-255 floats are the same input.
    torch.testing.assert_close(normalize(x.float(), spec), out)


def test_model_input_is_the_normalised_centre_crop() -> None:
    spec = SPECS["resnet18"]
    faces = np.random.default_rng(0).integers(0, 256, (3, 48, 48), dtype=np.uint8)
    x = model_input(faces, spec)
    assert x.shape == (3, 1, 44, 44) and x.dtype == torch.float32
    expected = (faces[:, None, 2:46, 2:46] / 255.0 - spec.mean) / spec.std
    np.testing.assert_allclose(x.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("bad", [np.zeros((48, 48), np.uint8), np.zeros((2, 48, 48), np.float32)], ids=["2d", "float"])
def test_as_tensor_rejects_other_layouts(bad: np.ndarray) -> None:
    with pytest.raises(ValueError, match="uint8"):
        as_tensor(bad)
