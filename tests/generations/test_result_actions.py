"""Everyday actions on results: upscale, remove background, vectorize,
variations, use as reference, remix, zip download."""

import io
import json
import zipfile
from xml.etree import ElementTree

import pytest
from django.urls import reverse
from PIL import Image

from studio.generations.models import Generation, Reference, Status, Tool
from studio.generations.services import generation_create
from tests.conftest import wait_for
from tests.fixtures.factories import make_user

HTMX = {"HTTP_HX_REQUEST": "true"}


def _landed(generation):
    generation.refresh_from_db()
    return generation.status in (Status.FAILED, Status.CANCELLED) or (
        generation.status == Status.SUCCEEDED and generation.ingested_at
    )


@pytest.fixture
def landed(celery_worker, client):
    """A signed-in client and a generation of two stored results."""
    user = make_user()
    client.force_login(user)
    generation = generation_create(
        team=user.teams.get(),
        user=user,
        prompt="a teapot on a table",
        num_results=2,
        aspect_ratio="1:1",
    )
    wait_for(lambda: _landed(generation))
    assert generation.status == Status.SUCCEEDED, generation.error_message
    return client, user, generation


def _derived(source_result):
    generation = wait_for(lambda: Generation.objects.filter(source_result=source_result).first())
    wait_for(lambda: _landed(generation), message="derived generation did not land")
    return generation


def test_upscale_doubles_the_pixels_and_links_both_ways(landed):
    client, user, generation = landed
    source = generation.results.get(position=0)

    response = client.post(reverse("result_derive", args=[source.pk, Tool.UPSCALE_IMAGE]), **HTMX)

    assert response.status_code == 200
    assert "studio:done" in response["HX-Trigger"]
    upscaled = _derived(source)
    assert upscaled.tool == Tool.UPSCALE_IMAGE and upscaled.status == Status.SUCCEEDED
    result = upscaled.results.get()
    assert (result.width, result.height) == (source.width * 2, source.height * 2)
    page = client.get(reverse("result_detail", args=[source.pk])).content.decode()
    assert "Upscale" in page and reverse("result_detail", args=[result.pk]) in page
    page = client.get(reverse("result_detail", args=[result.pk])).content.decode()
    assert reverse("result_detail", args=[source.pk]) in page


def test_remove_background_gives_a_transparent_png(landed):
    client, user, generation = landed
    source = generation.results.get(position=1)

    client.post(reverse("result_derive", args=[source.pk, Tool.REMOVE_IMAGE_BACKGROUND]), **HTMX)

    result = _derived(source).results.get()
    with result.image.open("rb") as f:
        image = Image.open(io.BytesIO(f.read()))
    assert image.mode == "RGBA"
    alphas = image.getchannel("A").getextrema()
    assert alphas[0] == 0 and alphas[1] == 255


def test_vectorize_stores_an_svg_that_is_its_own_thumbnail(landed):
    client, user, generation = landed
    source = generation.results.get(position=0)

    client.post(reverse("result_derive", args=[source.pk, Tool.VECTORIZE_IMAGE]), **HTMX)

    result = _derived(source).results.get()
    assert result.content_type == "image/svg+xml" and result.is_vector
    response = client.get(reverse("result_media", args=[result.pk, "thumbnail"]))
    assert response["Content-Type"] == "image/svg+xml"
    root = ElementTree.fromstring(b"".join(response.streaming_content))
    assert root.tag.endswith("svg")


def test_variations_use_the_result_as_reference_without_uploading(landed):
    client, user, generation = landed
    source = generation.results.get(position=0)

    client.post(reverse("result_variations", args=[source.pk]), **HTMX)

    variation = wait_for(
        lambda: (
            Generation.objects.exclude(pk=generation.pk).filter(references__isnull=False).first()
        )
    )
    wait_for(lambda: _landed(variation))
    assert variation.status == Status.SUCCEEDED, variation.error_message
    assert variation.prompt == generation.prompt
    reference = variation.references.get()
    assert reference.remote_file_id == source.remote_file_id  # VideoGen already had it
    assert reference.sha256 == source.sha256


def test_use_as_reference_adds_a_chip_to_the_form(landed):
    client, user, generation = landed
    source = generation.results.get(position=0)

    response = client.post(reverse("result_use_as_reference", args=[source.pk]), **HTMX)

    reference = Reference.objects.get(sha256=source.sha256)
    html = response.content.decode()
    assert 'hx-swap-oob="beforeend:#reference-chips"' in html
    assert f'name="reference_ids" value="{reference.pk}"' in html


def test_remix_fills_the_form_with_the_generation_settings(landed):
    client, user, generation = landed

    html = client.get(reverse("generation_remix", args=[generation.pk]), **HTMX).content.decode()

    assert "a teapot on a table</textarea>" in html
    assert '<option value="1:1" selected>' in html
    assert 'name="num_results" value="2"' in html


def test_zip_of_three_results_streams_images_and_metadata(landed):
    client, user, generation = landed
    second = generation_create(team=user.teams.get(), user=user, prompt="a second one")
    wait_for(lambda: _landed(second))
    results = [*generation.results.order_by("position"), second.results.get()]

    response = client.get(reverse("results_zip"), {"ids": [r.pk for r in results]})

    assert response.status_code == 200
    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    names = archive.namelist()
    assert len(names) == 4 and names[-1] == "metadata.json"
    meta = json.loads(archive.read("metadata.json"))
    assert [m["prompt"] for m in meta["images"]] == ["a teapot on a table"] * 2 + ["a second one"]
    for entry, result in zip(meta["images"], results, strict=True):
        data = archive.read(entry["file"])
        assert len(data) == result.bytes == entry["bytes"]
        assert Image.open(io.BytesIO(data)).size == (result.width, result.height)


def test_actions_on_another_teams_result_are_404_and_change_nothing(landed, client):
    _, owner, generation = landed
    source = generation.results.get(position=0)
    client.force_login(make_user())
    before = Generation.objects.count()

    for url in (
        reverse("result_derive", args=[source.pk, Tool.UPSCALE_IMAGE]),
        reverse("result_variations", args=[source.pk]),
        reverse("result_use_as_reference", args=[source.pk]),
    ):
        assert client.post(url, **HTMX).status_code == 404, url
    assert client.get(reverse("result_detail", args=[source.pk])).status_code == 404
    assert client.get(reverse("results_zip"), {"ids": [source.pk]}).status_code == 404
    assert client.get(reverse("generation_remix", args=[generation.pk])).status_code == 404
    assert Generation.objects.count() == before
    assert not Reference.objects.exists()


def test_unknown_tool_is_refused(landed):
    client, user, generation = landed
    source = generation.results.get(position=0)

    response = client.post(reverse("result_derive", args=[source.pk, "generate_image"]), **HTMX)

    assert response.status_code == 400
    assert Generation.objects.count() == 1
