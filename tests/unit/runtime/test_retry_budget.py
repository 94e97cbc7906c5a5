"""RetryBudget (libs.runtime.retry): a token bucket that keeps retries under
max_tokens + ratio x calls + min_per_second x elapsed, whatever the failure pattern."""

from __future__ import annotations

import random
import threading

import pytest

from libs.runtime.retry import RetryBudget


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_fresh_budget_allows_a_burst_then_refuses() -> None:
    budget = RetryBudget(0.1, min_per_second=0.0, max_tokens=10, clock=FakeClock())
    assert [budget.try_withdraw() for _ in range(12)] == [True] * 10 + [False] * 2
    assert budget.retries == 10 and budget.refused == 2


def test_calls_earn_a_tenth_of_a_retry_each() -> None:
    budget = RetryBudget(0.1, min_per_second=0.0, max_tokens=10, clock=FakeClock())
    while budget.try_withdraw():
        pass
    for _ in range(100):
        budget.deposit()
    allowed = sum(budget.try_withdraw() for _ in range(50))
    assert allowed in (9, 10)  # 100 calls x 0.1 (a float sum may end at 9.999…)


def test_time_refills_the_minimum_up_to_the_cap() -> None:
    clock = FakeClock()
    budget = RetryBudget(0.1, min_per_second=1.0, max_tokens=10, clock=clock)
    while budget.try_withdraw():
        pass
    clock.now += 3.0
    assert sum(budget.try_withdraw() for _ in range(10)) == 3
    clock.now += 3600
    assert budget.tokens == pytest.approx(10.0)  # never more than the cap


@pytest.mark.parametrize("seed", range(5))
def test_retries_never_exceed_the_bound_under_any_pattern(seed: int) -> None:
    rng = random.Random(seed)
    clock = FakeClock()
    budget = RetryBudget(0.1, min_per_second=1.0, max_tokens=10, clock=clock)
    for _ in range(20_000):
        clock.now += rng.random() * 0.01
        if rng.random() < 0.5:
            budget.deposit()
        else:
            budget.try_withdraw()  # an outage: everything wants a retry
        bound = 10 + 0.1 * budget.calls + 1.0 * clock.now
        assert budget.retries <= bound + 1e-9


def test_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        RetryBudget(-0.1)
    with pytest.raises(ValueError):
        RetryBudget(0.1, max_tokens=0.5)


def test_thread_safe_accounting() -> None:
    budget = RetryBudget(0.1, min_per_second=0.0, max_tokens=10, clock=FakeClock())

    def work() -> None:
        for _ in range(1000):
            budget.deposit()
            budget.try_withdraw()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.calls == 4000
    assert budget.retries + budget.refused == 4000
    assert budget.retries <= 10 + 0.1 * 4000 + 1e-9
