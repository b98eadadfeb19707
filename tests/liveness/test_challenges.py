"""The challenge sequence: random per attempt, reproducible only with a seed, always with a turn."""

from __future__ import annotations

from edge_core.liveness import draw_sequence
from edge_core.liveness.challenges import TURNS


def test_a_sequence_is_two_or_three_different_movements_with_a_turn() -> None:
    for seed in range(100):
        sequence = draw_sequence(seed)
        assert len(sequence) in (2, 3)
        assert len(set(sequence)) == len(sequence)
        assert set(sequence) & set(TURNS)


def test_the_order_is_random_per_attempt_and_fixed_only_by_a_seed() -> None:
    unseeded = {draw_sequence() for _ in range(40)}
    assert len(unseeded) > 5  # 40 draws from `secrets` over dozens of sequences never repeat one
    assert draw_sequence(7) == draw_sequence(7)
    assert len({draw_sequence(seed) for seed in range(40)}) > 5
