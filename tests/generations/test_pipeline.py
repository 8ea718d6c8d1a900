"""The whole pipeline with real parts: service -> Redis -> Celery worker ->
sandbox over HTTP -> storage. Nothing of Studio's is mocked."""

import hashlib

from PIL import Image

from studio.generations.images import inspect_image
from studio.generations.models import Generation, Result, Status
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.factories import image_upload, make_user


def _finished(generation):
    generation.refresh_from_db()
    return generation.status in (Status.FAILED, Status.CANCELLED, Status.UNKNOWN) or (
        generation.status == Status.SUCCEEDED and generation.ingested_at
    )


def test_generation_lands_with_every_result_stored(celery_worker):
    user = make_user()
    team = user.teams.get()
    generation = generation_create(
        team=team, user=user, prompt="a red fox in snow", aspect_ratio="4:3", num_results=3
    )

    wait_for(lambda: _finished(generation), message="generation did not finish")

    assert generation.status == Status.SUCCEEDED, generation.error_message
    assert generation.progress == 100
    assert generation.remote_execution_id.startswith("vg_exec_")
    results = list(generation.results.order_by("position"))
    assert [r.position for r in results] == [0, 1, 2]
    for result in results:
        assert (result.width, result.height) == (1024, 768)
        with result.image.open("rb") as f:
            data = f.read()
        assert hashlib.sha256(data).hexdigest() == result.sha256
        assert len(data) == result.bytes
        with result.thumbnail.open("rb") as f:
            thumb = Image.open(f)
            assert thumb.format == "WEBP"
            assert max(thumb.size) == 512
    assert len({r.sha256 for r in results}) == 3, "each result is a different image"


def test_reference_is_uploaded_once_and_used(celery_worker):
    user = make_user()
    team = user.teams.get()
    upload = image_upload(size=(300, 300), color=(0, 90, 255))
    info = inspect_image(upload, max_bytes=10_000_000, max_pixels=40_000_000)
    first = generation_create(team=team, user=user, prompt="p", references=[(upload, info)])
    wait_for(lambda: _finished(first))
    second = generation_create(
        team=team,
        user=user,
        prompt="q",
        references=[(image_upload(size=(300, 300), color=(0, 90, 255)), info)],
    )
    wait_for(lambda: _finished(second))

    assert first.status == second.status == Status.SUCCEEDED
    assert team.references.count() == 1
    reference = team.references.get()
    assert reference.remote_file_id.startswith("vg_file_") and reference.uploaded_at


def test_api_refusal_ends_failed_with_the_reason(celery_worker):
    user = make_user()
    generation = generation_create(
        team=user.teams.get(), user=user, prompt="no watermark please", watermark_mode="NONE"
    )
    wait_for(lambda: _finished(generation))

    assert generation.status == Status.FAILED
    assert generation.error_code == "production_addon_required"
    assert "Production add-on" in generation.error_message
    assert not generation.results.exists()


def test_ingest_twice_yields_the_same_rows(celery_worker):
    from studio.generations import pipeline

    user = make_user()
    generation = generation_create(team=user.teams.get(), user=user, prompt="twice", num_results=2)
    wait_for(lambda: _finished(generation))
    before = list(
        Result.objects.filter(generation=generation).values_list(
            "pk", "image", "thumbnail", "sha256"
        )
    )

    Generation.objects.filter(pk=generation.pk).update(ingested_at=None)
    pipeline.ingest(generation.pk)

    after = list(
        Result.objects.filter(generation=generation).values_list(
            "pk", "image", "thumbnail", "sha256"
        )
    )
    assert after == before and len(after) == 2
