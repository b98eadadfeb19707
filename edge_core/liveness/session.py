"""A liveness session: prompts, one tracked face, challenges in order, then the passive risk.

Phases, each with its time limit on the session's timeline (``Timing``):

1. look at the camera: a frontal face passing the enrolment quality gates for
   ``hold_frames`` frames in a row gives the baseline pose and the start
   embedding;
2. each challenge in turn, done when its movement is held for
   ``hold_frames`` frames; a *different* movement not yet done (turning
   right when asked to turn left) held as long refuses at once, so a
   recording of an earlier attempt, made for another order, fails;
3. look at the camera again: the end embedding must be the same person as
   the start's (the pack's threshold): the face that answered is the face
   that is matched; then hold still for ``settle_seconds``, where any
   movement not asked for refuses (a recording made for a longer sequence
   moves on to its next challenge here).

Eyes and mouth are judged against the person's resting face, the median
over the frames of phase 1 (``expression.baseline``). A blink is followed
over frames: both eyes closed (``Targets.eyes_closed``), then both open again
(``Targets.eyes_open``) within ``Timing.blink_seconds``.

Then the passive signals over the whole track (``passive.assess``) and their
risk's band (``passive.RiskBands``): low passes; high refuses; middle asks
for one more random challenge (``challenges.draw_extra``), once, followed by
the look-again phase, after which the risk must be low: the risk of the
firm signals only, since the answered challenge settled the doubts
(``Assessment.settled``; the result's ``risk`` is that one). A refusal by a high
risk is reported in preference to a missed challenge: "moves like a flat
picture" says more than "not done in time".
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace

from edge_core.biometrics import Frame, Pipeline, QualityGates
from edge_core.biometrics.infrared import as_bgr
from edge_core.liveness import expression, passive
from edge_core.liveness.challenges import Challenge, Targets, Timeline, Timing, draw_extra
from edge_core.liveness.expression import Expression
from edge_core.liveness.eyes import EyeModel, load_eyes
from edge_core.liveness.mesh import FaceMesh, load_mesh
from edge_core.liveness.bands import Band, RiskBands
from edge_core.liveness.pose import Pose, PoseChange, change
from edge_core.liveness.result import LivenessResult, Progress, Refusal
from edge_core.liveness.tracking import Track, TrackPoint

LOOK = "Look straight at the camera"
LOOK_AGAIN = "Look straight at the camera again"


class _Session:
    """The state of one run; ``run_session`` is its only user."""

    def __init__(self, pipeline: Pipeline, challenges: Sequence[Challenge], timeline: Timeline, timing: Timing,
                 targets: Targets, models: Sequence[passive.AttackModel], mesh: FaceMesh, eyes: EyeModel,
                 bands: RiskBands, seed: int | None) -> None:
        self.pipeline = pipeline
        self.challenges = tuple(challenges)
        self.timeline = timeline
        self.timing = timing
        self.targets = targets
        self.models = models
        self.bands = bands
        self.seed = seed
        self.gates = QualityGates.for_pipeline(pipeline)
        self.track = Track(pipeline, mesh, eyes)
        self.resting: list[Expression] = []
        """Expressions of the frontal frames of phase 0: the person's resting face is their median."""
        self.rest: Expression | None = None
        self.closed_since: float | None = None
        """When both eyes were seen closed during a blink challenge (None: not yet, or open again)."""
        self.stepped_up = False
        self.assessment: passive.Assessment | None = None
        self.phase = 0  # 0 look, 1..k challenges, k + 1 look again
        self.phase_started = 0.0
        self.held = 0
        self.wrong_held = 0
        self.last_seen: float | None = None
        self.baseline: Pose | None = None
        self.last_eye_distance = 0.0
        self.phase_eye_distance = 0.0
        """The eye distance when the current phase began: "come closer" is measured from there."""
        self.start: TrackPoint | None = None
        self.end: TrackPoint | None = None
        self.settled_since: float | None = None
        """When the face came back to frontal at the end (the settle hold counts from there)."""
        self.frames = 0

    @property
    def steps(self) -> int:
        return len(self.challenges) + 2

    @property
    def completed(self) -> int:
        return max(0, min(self.phase - 1, len(self.challenges)))

    def progress(self, label: str) -> Progress:
        challenge = self.challenges[self.phase - 1] if 1 <= self.phase <= len(self.challenges) else None
        prompt = LOOK if self.phase == 0 else challenge.prompt if challenge else LOOK_AGAIN
        fraction = min(1.0, (self.phase + self.held / self.targets.hold_frames) / self.steps)
        return Progress(prompt, min(self.phase + 1, self.steps), self.steps, fraction, challenge, label)

    def _advance(self, now: float) -> None:
        self.phase += 1
        self.phase_started, self.held, self.wrong_held = now, 0, 0
        self.phase_eye_distance = self.last_eye_distance
        self.closed_since = None
        if self.finished:
            self._assess_or_step_up(now)

    def _assess_or_step_up(self, now: float) -> None:
        """At the end: the passive risk; in the middle band, one more challenge (once) and the end again."""
        self.assessment = passive.assess(self.track.points, self.models)
        if self.assessment.band(self.bands) is Band.MIDDLE and not self.stepped_up:
            self.stepped_up = True
            self.challenges = (*self.challenges, draw_extra(self.challenges, self.seed))
            self.phase = len(self.challenges)
            self.settled_since = None

    def step(self, frame: Frame) -> tuple[Refusal, str] | None:
        """Judge one frame: a refusal (with its sentence) ends the session; None goes on."""
        now = self.timeline.now(self.frames)
        if self.frames == 0:
            self.phase_started = now
        self.frames += 1
        image = as_bgr(frame.image)  # a grey (IR) frame: its channel copied, as the models take three
        outcome = self.track.follow(self.frames, now, image)
        if isinstance(outcome, Refusal):
            return outcome, outcome.value
        if outcome is None:
            self.held = 0
            if self.last_seen is not None and now - self.last_seen > self.timing.lost_seconds:
                lost = Refusal.FACE_COVERED if self.track.covered else Refusal.FACE_LOST
                return lost, lost.value
        else:
            self.last_seen = now
            for model in self.models:
                model.observe(image, outcome.face)
            refused = self._judge(outcome, now)
            if refused is not None:
                return refused
        return self._deadline(now)

    def _judge(self, point: TrackPoint, now: float) -> tuple[Refusal, str] | None:
        self.last_eye_distance = point.pose.eye_distance
        if self.phase == 0:
            good = self.gates.check(point.face, point.aligned) is None
            self.held = self.held + 1 if good else 0
            self.resting = [*self.resting, point.expression][-5:] if good else []
            if self.held >= self.targets.hold_frames:
                self.baseline, self.start = point.pose, point
                self.rest = expression.baseline(self.resting)
                self._advance(now)
            return None
        assert self.baseline is not None
        moved = replace(change(point.pose, self.baseline),
                        scale=point.pose.eye_distance / (self.phase_eye_distance or point.pose.eye_distance))
        if self.phase > len(self.challenges):
            return self._settle(point, moved, now)
        asked = self.challenges[self.phase - 1]
        other = self.targets.wrong_moves(asked, set(self.challenges[: self.phase - 1]), moved)
        self.wrong_held = self.wrong_held + 1 if other else 0
        if self.wrong_held >= self.targets.hold_frames:
            return Refusal.WRONG_MOVE, f"{Refusal.WRONG_MOVE.value}: asked to {asked.value}, saw '{other[0].value}'"
        if asked is Challenge.BLINK:
            if self._blinked(point, now):
                self._advance(now)
            return None
        self.held = self.held + 1 if self.targets.reached(asked, moved, point.expression, self.rest) else 0
        if self.held >= self.targets.hold_frames:
            self._advance(now)
        return None

    def _blinked(self, point: TrackPoint, now: float) -> bool:
        """Whether this frame completes a blink: both eyes closed, then both open within ``blink_seconds``.

        Eyes held shut for longer are not a blink: they must open, and blink again.
        """
        assert self.rest is not None
        if point.expression.eyes_closed(self.rest, self.targets.eyes_closed):
            if self.closed_since is None:
                self.closed_since = now
            return False
        if self.closed_since is not None and point.expression.eyes_open(self.rest, self.targets.eyes_open):
            blinked = now - self.closed_since <= self.timing.blink_seconds
            self.closed_since = None
            return blinked
        return False

    def _settle(self, point: TrackPoint, moved: PoseChange, now: float) -> tuple[Refusal, str] | None:
        """The last phase: face the camera (the end embedding), then hold still for ``settle_seconds``.

        Any movement not asked for refuses here too, which is what stops a
        recording of a longer sequence: it goes on to its next challenge.
        """
        other = self.targets.wrong_moves(None, set(self.challenges), moved)
        self.wrong_held = self.wrong_held + 1 if other else 0
        if self.wrong_held >= self.targets.hold_frames:
            return Refusal.WRONG_MOVE, f"{Refusal.WRONG_MOVE.value}: asked to look at the camera, saw '{other[0].value}'"
        if not self.targets.neutral_pose(moved):
            self.held, self.settled_since = 0, None
            return None
        self.held += 1
        if self.held == self.targets.hold_frames:
            self.end, self.settled_since = point, now
        if self.settled_since is not None and now - self.settled_since >= self.timing.settle_seconds:
            self._advance(now)
        return None

    def _deadline(self, now: float) -> tuple[Refusal, str] | None:
        if self.finished:
            return None
        if self.phase == 0:
            refusal = Refusal.FACE_COVERED if self.track.covered else Refusal.NO_FACE
            limit, text = self.timing.acquire_seconds, refusal.value
        elif self.phase <= len(self.challenges):
            asked = self.challenges[self.phase - 1]
            limit, refusal = self.timing.challenge_seconds, Refusal.TIMEOUT
            text = f"{Refusal.TIMEOUT.value}: '{asked.value}' within {self.timing.challenge_seconds:g} s"
        else:
            limit, refusal = self.timing.return_seconds + self.timing.settle_seconds, Refusal.NOT_FRONTAL_AGAIN
            text = Refusal.NOT_FRONTAL_AGAIN.value
        return (refusal, text) if now - self.phase_started > limit else None

    @property
    def finished(self) -> bool:
        return self.phase > len(self.challenges) + 1

    def result(self, refused: tuple[Refusal, str] | None) -> LivenessResult:
        evidence: dict[str, float] = {}
        if refused is None and self.start is not None and self.end is not None:
            similarity = float(self.start.embedding @ self.end.embedding)
            evidence["start_end_similarity"] = similarity
            if similarity < self.pipeline.threshold:
                refused = (Refusal.CHANGED_FACE, Refusal.CHANGED_FACE.value)
        assessment = (self.assessment if refused is None and self.assessment is not None
                      else passive.assess(self.track.points, self.models))
        evidence.update({s.measured: s.value for s in assessment.signals})
        # the step-up challenge, answered, settles the doubts: then only the firm signals decide
        decided = assessment.settled if self.stepped_up and refused is None else assessment
        band = decided.band(self.bands)
        if decided.signals and (band is Band.HIGH or (refused is None and band is Band.MIDDLE)):
            strongest = decided.strongest
            words = strongest.refusal.value if strongest.refusal is not Refusal.ATTACK_MODEL else (
                f"{strongest.refusal.value} ({strongest.name})")
            if band is Band.MIDDLE:
                refused = (Refusal.STEP_UP_FAILED, f"{Refusal.STEP_UP_FAILED.value}: {words}")
            else:
                refused = (strongest.refusal, words)
        passed = refused is None
        reason = "every movement was done by the same face, and nothing looked like a photo or a screen"
        if passed and self.stepped_up:
            reason = "one more challenge was asked because of a doubt, and it was done by the same face"
        return LivenessResult(
            passed=passed,
            refusal=None if passed else refused[0],
            reason=reason if passed else refused[1],
            risk=decided.risk,
            signals={s.name: s.score for s in assessment.signals},
            challenges=self.challenges,
            completed=self.completed,
            frames=self.frames,
            evidence=evidence,
            embedding=self.start.embedding if passed and self.start is not None else None,
            end_embedding=self.end.embedding if passed and self.end is not None else None,
            band=band.value,
            stepped_up=self.stepped_up,
        )


def run_session(
    pipeline: Pipeline,
    frames: Iterable[Frame],
    challenges: Sequence[Challenge],
    timeline: Timeline,
    *,
    timing: Timing = Timing(),
    targets: Targets = Targets(),
    on_progress: Callable[[Progress], None] | None = None,
    models: Sequence[passive.AttackModel] = (),
    bands: RiskBands = RiskBands(),
    seed: int | None = None,
    mesh: FaceMesh | None = None,
    eyes: EyeModel | None = None,
) -> LivenessResult:
    """Run the challenges over ``frames``; ``on_progress`` hears every frame (for prompts and a ring).

    The result's ``embedding`` is the start's frontal face, set only when the
    attempt passed: that is the probe to match. A source that stops early
    (the video ended, the camera closed) is a refusal, never an error.
    ``bands`` splits the risk (the policy's values come from
    ``ops.liveness_bands``); ``seed`` fixes the step-up challenge for tests
    over video files (a camera leaves it None: ``secrets``). ``mesh`` and
    ``eyes`` default to the pipeline pack's own sha256-checked models.
    """
    if not challenges:
        raise ValueError("a liveness session needs at least one challenge")
    session = _Session(pipeline, challenges, timeline, timing, targets, models,
                       mesh or load_mesh(pipeline.pack), eyes or load_eyes(pipeline.pack), bands, seed)
    refused: tuple[Refusal, str] | None = None
    for frame in frames:
        refused = session.step(frame)
        if on_progress is not None:
            on_progress(session.progress(frame.label))
        if refused is not None or session.finished:
            break
    else:  # a face seen and never confirmed is the clearer reason: a recording of a masked face ends too
        ended = Refusal.FACE_COVERED if session.track.covered and not session.track.points else Refusal.SOURCE_ENDED
        refused = (ended, ended.value)
    close = getattr(frames, "close", None)
    if callable(close):  # a camera or video file: release it now, not when it is garbage
        close()
    return session.result(refused)
