"""The serving benchmark's 3x verdict: paired runs, a 95 % (or --confidence) interval, tie if it straddles."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bench():
    # benchmarks/serve.py is a script named like the `serve` package: load it by path, under its own name.
    spec = importlib.util.spec_from_file_location("serve_benchmark", ROOT / "benchmarks" / "serve.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["serve_benchmark"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    yield module
    del sys.modules["serve_benchmark"]


def levels(bench, tokens_per_s: dict[tuple[str, int], list[float]]) -> list:
    return [
        bench.Level(backend, run, concurrency, 16, 0.1, 0.2, value, 64.0, 1.0)
        for (backend, concurrency), values in tokens_per_s.items()
        for run, value in enumerate(values, start=1)
    ]


def test_ratios_pair_runs_of_the_same_round(bench) -> None:
    found = bench.ratios_of(
        levels(bench, {("vllm", 16): [300.0, 200.0], ("transformers-generate", 16): [100.0, 50.0]}), [16]
    )
    (ratio,) = found
    assert ratio.key == "vllm/transformers-generate@16"
    assert ratio.runs == [3.0, 4.0]  # 300/100 and 200/50, never 300/50
    assert ratio.geometric_mean == pytest.approx(12**0.5, abs=0.01)


def test_a_backend_missing_from_a_run_gives_no_ratio(bench) -> None:
    partial = levels(bench, {("vllm", 16): [300.0, 310.0], ("transformers-generate", 16): [100.0]})
    assert bench.ratios_of(partial, [16]) == []


@pytest.mark.parametrize(
    ("runs", "verdict", "interval"),
    [
        ([2.97, 2.72, 2.80], "tie", (2.53, 3.16)),  # stop 36's runs: mean below 3x, interval not
        ([3.2, 3.3, 3.25], "met", (3.13, 3.38)),
        ([2.0, 2.1], "NOT met", (1.5, 2.79)),
        ([3.2], "met", None),  # one run: no interval, the run itself decides (as before --repeat)
        ([2.9], "NOT met", None),
    ],
)
def test_the_interval_decides_the_target(bench, runs, verdict, interval) -> None:
    ratio = bench.ratio("transformers-generate", 16, runs)
    assert ratio.interval == interval
    assert ratio.verdict(3.0) == verdict


STOP_37_BASE = [3.04, 3.06, 3.15, 3.05, 3.15, 3.06, 3.09, 3.48, 3.08, 3.35]  # ten runs, base model, bf16


@pytest.mark.parametrize(
    ("confidence", "interval", "level"),
    [(0.95, (3.05, 3.25), "95 %"), (0.9833, (3.02, 3.28), "98.33 %"), (0.99, (3.0, 3.3), "99 %")],
)
def test_a_higher_confidence_widens_the_interval(bench, confidence, interval, level) -> None:
    ratio = bench.ratio("transformers-generate", 16, STOP_37_BASE, confidence)
    assert ratio.interval == interval
    assert f"{level} interval {list(interval)}" in ratio.describe()


def test_ratios_of_passes_the_confidence_on(bench) -> None:
    tokens_per_s = {("vllm", 16): [300.0, 330.0, 290.0], ("transformers-generate", 16): [100.0] * 3}
    measured = levels(bench, tokens_per_s)
    (at_95,) = bench.ratios_of(measured, [16])
    (at_99,) = bench.ratios_of(measured, [16], confidence=0.99)
    assert at_99.confidence == 0.99
    assert at_99.interval[0] < at_95.interval[0] and at_99.interval[1] > at_95.interval[1]
