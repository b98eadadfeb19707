"""The challenge sequence: random per attempt, reproducible only with a seed, always with a head rotation and
a blink or an open mouth; the step-up's extra challenge is a new one."""

from __future__ import annotations

from edge_core.liveness import Challenge, draw_sequence
from edge_core.liveness.challenges import HEAD_MOVES, NON_RIGID, draw_extra


def test_a_sequence_has_a_head_rotation_and_a_movement_no_rigid_photo_can_make() -> None:
    for seed in range(200):
        sequence = draw_sequence(seed)
        assert len(sequence) in (2, 3)
        assert len(set(sequence)) == len(sequence)
        assert set(sequence) & set(HEAD_MOVES), sequence
        assert set(sequence) & set(NON_RIGID), sequence
    drawn = {c for seed in range(200) for c in draw_sequence(seed)}
    assert drawn == set(Challenge)  # every challenge is asked for sometimes


def test_the_order_is_random_per_attempt_and_fixed_only_by_a_seed() -> None:
    unseeded = {draw_sequence() for _ in range(40)}
    assert len(unseeded) > 5  # 40 draws from `secrets` over dozens of sequences never repeat one
    assert draw_sequence(7) == draw_sequence(7)
    assert len({draw_sequence(seed) for seed in range(40)}) > 5


def test_the_step_up_challenge_is_one_not_asked_yet() -> None:
    for seed in range(50):
        asked = draw_sequence(seed)
        extra = draw_extra(asked, seed)
        assert extra not in asked and extra is not Challenge.COME_CLOSER
        assert extra == draw_extra(asked, seed)
    assert len({draw_extra((Challenge.BLINK, Challenge.TURN_LEFT)) for _ in range(40)}) > 2
