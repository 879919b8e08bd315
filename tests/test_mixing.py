"""Mixup and CutMix in training: what they do to a batch and to its targets."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from trainer.mixing import Mix, beta_sample, mix_batch, mixed_log_probs
from trainer.train import parse_args


def faces(n: int = 8, side: int = 44) -> torch.Tensor:
    """Each face one flat grey level, so every pixel says which face it came from."""
    return torch.arange(n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, side, side).clone() * 10


def test_with_both_alphas_zero_the_batch_is_untouched() -> None:
    x = faces()
    mixed, mix = mix_batch(x, 0.0, 0.0, torch.Generator().manual_seed(0))
    assert mix is None and mixed is x


def test_mixup_blends_each_face_with_its_partner_by_the_share() -> None:
    x = faces()
    mixed, mix = mix_batch(x, 0.4, 0.0, torch.Generator().manual_seed(3))
    assert mix is not None and 0 <= mix.lam <= 1
    assert torch.allclose(mixed, mix.lam * x + (1 - mix.lam) * x[mix.partner])
    assert sorted(mix.partner.tolist()) == list(range(len(x)))


def test_cutmix_pastes_one_rectangle_and_its_share_is_the_area_kept() -> None:
    x = faces()
    for seed in range(20):
        mixed, mix = mix_batch(x, 0.0, 1.0, torch.Generator().manual_seed(seed))
        assert mix is not None
        own = (mixed == x).all(1)  # (N, H, W): pixels still the face's own
        for i in range(len(x)):
            if mix.partner[i] == i:
                continue
            pasted = ~own[i]
            assert (mixed[i][:, pasted] == x[mix.partner[i]][:, pasted]).all()
            rows, cols = pasted.any(1).nonzero(), pasted.any(0).nonzero()
            if len(rows):  # a rectangle: its bounding box is wholly pasted
                assert pasted[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1].all()
            assert math.isclose(own[i].float().mean().item(), mix.lam, abs_tol=1e-6)


def test_one_generator_seed_gives_one_mix() -> None:
    x = faces()
    a, mix_a = mix_batch(x, 0.4, 1.0, torch.Generator().manual_seed(7))
    b, mix_b = mix_batch(x, 0.4, 1.0, torch.Generator().manual_seed(7))
    assert torch.equal(a, b) and mix_a.lam == mix_b.lam and torch.equal(mix_a.partner, mix_b.partner)


def test_beta_draws_have_the_mean_and_spread_of_the_distribution() -> None:
    gen = torch.Generator().manual_seed(0)
    draws = torch.tensor([beta_sample(0.4, gen) for _ in range(4000)])
    assert abs(draws.mean().item() - 0.5) < 0.03
    # Beta(a, a) has variance 1 / (4 (2a + 1)); at a = 0.4 most mass lies near 0 and 1.
    assert abs(draws.var().item() - 1 / (4 * 1.8)) < 0.02


def test_mixed_targets_are_the_blend_of_the_two_distributions() -> None:
    probs = F.softmax(torch.randn(6, 7, generator=torch.Generator().manual_seed(1)), 1)
    partner = torch.tensor([3, 4, 5, 0, 1, 2])
    mixed = mixed_log_probs(probs.log(), Mix(partner, 0.3)).exp()
    assert torch.allclose(mixed, 0.3 * probs + 0.7 * probs[partner], atol=1e-6)
    assert torch.allclose(mixed.sum(1), torch.ones(6), atol=1e-6)
    assert torch.equal(mixed_log_probs(probs.log(), None), probs.log())


@pytest.mark.parametrize("flag", ["--mixup", "--cutmix"])
def test_a_negative_alpha_is_refused(flag: str, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(SystemExit):
        parse_args(["--data", "x.zip", flag, "-1"])
    assert f"{flag} must be a finite number of 0 or more" in capsys.readouterr().err


@pytest.mark.parametrize("distil", [False, True], ids=["labels", "teacher"])
def test_a_training_step_mixes_the_targets_as_it_mixed_the_faces(distil: bool) -> None:
    from fer_desktop.models import SPECS, create_model
    from trainer.augment import augment
    from trainer.train import TrainConfig, make_optimizer, train_step

    torch.manual_seed(0)
    model = create_model("squeezenet")
    cfg = TrainConfig(model="squeezenet", mixup=0.4, cutmix=1.0, amp=False, kd_alpha=1.0 if distil else 0.0,
                      label_smoothing=0.0)
    data = torch.Generator().manual_seed(2)
    batch = torch.randint(0, 256, (8, 1, 48, 48), generator=data, dtype=torch.uint8)
    y = torch.randint(0, 7, (8,), generator=data)
    teacher = F.log_softmax(torch.randn(8, 7, generator=data) * 3, 1) if distil else None
    loss, logits = train_step(model, make_optimizer(model, cfg), batch, y, cfg, torch.Generator().manual_seed(5), teacher)

    gen = torch.Generator().manual_seed(5)  # the step's draws, again
    _, mix = mix_batch(augment(batch.float(), SPECS["squeezenet"].input_size, cfg.augment, gen), cfg.mixup, cfg.cutmix, gen)
    assert mix is not None and 0.05 < mix.lam < 0.95 and not torch.equal(mix.partner, torch.arange(8))
    if distil:
        t = cfg.kd_temperature
        target = mixed_log_probs(F.log_softmax(teacher / t, 1), mix)
        expected = t * t * F.kl_div(F.log_softmax(logits / t, 1), target, reduction="batchmean", log_target=True)
    else:
        expected = mix.lam * F.cross_entropy(logits, y) + (1 - mix.lam) * F.cross_entropy(logits, y[mix.partner])
    assert loss.item() == pytest.approx(expected.item(), rel=1e-5)
