import pytest

from studio.generations.models import ALLOWED_MOVES, Generation, Status
from tests.fixtures.factories import make_user


@pytest.fixture
def generation(db):
    user = make_user()
    return Generation.objects.create(team=user.teams.get(), created_by=user, prompt="p")


def test_allowed_move_happens_and_is_recorded_as_a_change(generation):
    seq_before = generation.team.change_seq

    assert generation.move(Status.SUBMITTING)

    generation.refresh_from_db()
    generation.team.refresh_from_db()
    assert generation.status == Status.SUBMITTING
    assert generation.team.change_seq == seq_before + 1
    assert generation.seq == generation.team.change_seq


@pytest.mark.parametrize(
    "start, to",
    [
        (Status.QUEUED, Status.RUNNING),
        (Status.QUEUED, Status.SUCCEEDED),
        (Status.SUCCEEDED, Status.RUNNING),
        (Status.FAILED, Status.QUEUED),
        (Status.CANCELLED, Status.PENDING),
        (Status.UNKNOWN, Status.PENDING),
    ],
)
def test_refused_move_changes_nothing(generation, start, to):
    Generation.objects.filter(pk=generation.pk).update(status=start)
    generation.refresh_from_db()
    seq_before = generation.seq

    assert not generation.move(to)

    generation.refresh_from_db()
    assert generation.status == start
    assert generation.seq == seq_before


def test_two_workers_cannot_both_make_the_same_move(generation):
    first = Generation.objects.get(pk=generation.pk)
    second = Generation.objects.get(pk=generation.pk)

    assert first.move(Status.SUBMITTING)
    assert not second.move(Status.SUBMITTING)


def test_terminal_move_stamps_finish_and_clears_next_check(generation):
    generation.move(Status.SUBMITTING)
    generation.move(Status.PENDING, remote_execution_id="vg_exec_1")

    assert generation.move(Status.FAILED, error_message="nope")

    assert generation.finished_at is not None
    assert generation.next_check_at is None


def test_every_status_has_a_row_in_the_table():
    assert set(ALLOWED_MOVES) == set(Status.values)
    for targets in ALLOWED_MOVES.values():
        assert targets <= set(Status.values)
