"""The sibling image tools: upscale, remove background, vectorize; real image work behind each."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import httpx
import pytest

from tests.sandbox.conftest import client_for
from tests.sandbox.helpers import (
    decode,
    download,
    generate,
    hydrate,
    png_bytes,
    start_tool,
    subject_png,
    upload,
    wait,
)

SVG = "{http://www.w3.org/2000/svg}"
TOOLS = {
    "upscale-image": "UPSCALE_IMAGE",
    "remove-image-background": "REMOVE_IMAGE_BACKGROUND",
    "vectorize-image": "VECTORIZE_IMAGE",
}


def run_tool(api: httpx.Client, tool: str, **fields: object) -> dict:
    execution = wait(api, start_tool(api, tool, **fields))
    assert execution["status"] == "succeeded", execution
    return execution


@pytest.fixture(scope="module")
def unhurried_api(sandbox_factory):
    """Pending 2 s, so the first look sees it pending even on a loaded machine
    (the shared sandbox's 0.2 s was over before the GET, once, in a full run)."""
    with client_for(sandbox_factory("--pending-seconds", "2", "--running-seconds", "0.3")) as api:
        yield api


@pytest.mark.parametrize(("tool", "tool_type"), TOOLS.items())
def test_each_tool_runs_the_usual_lifecycle_to_one_result(unhurried_api, tool, tool_type):
    api = unhurried_api
    source = upload(api, subject_png(), display_name="poster.png")
    execution_id = start_tool(api, tool, imageStorageFileId=source)

    first = api.get(f"/v1/tools/executions/{execution_id}").json()
    done = wait(api, execution_id)

    assert first["status"] == "pending"
    assert first["toolType"] == tool_type
    assert done["status"] == "succeeded"
    assert done["progressPercentage"] == 100
    assert done["error"] is None
    [result] = done["results"]
    assert result["type"] == "IMAGE"
    assert result["fileId"].startswith("vg_file_")
    assert result["file"]["displayName"].startswith("poster (")
    listed = api.get("/v1/tools/executions", params={"limit": 5}).json()["items"]
    assert execution_id in [item["toolExecutionId"] for item in listed]


def test_upscale_doubles_width_and_height(instant_api):
    source = upload(instant_api, subject_png((320, 200)))

    execution = run_tool(instant_api, "upscale-image", imageStorageFileId=source)

    image = decode(download(instant_api, execution["results"][0]["fileId"]))
    assert (image.format, image.size) == ("PNG", (640, 400))
    # LANCZOS keeps the picture: the centre is still the red disc.
    assert image.convert("RGB").getpixel((320, 120))[0] > 150


def test_a_generated_image_can_be_upscaled(instant_api):
    generated = generate(instant_api, prompt="a harbour at dawn")["results"][0]["fileId"]

    execution = run_tool(
        instant_api, "upscale-image", imageStorageFileId=generated, watermarkMode="AUTO"
    )

    assert decode(download(instant_api, execution["results"][0]["fileId"])).size == (2048, 1152)


def test_remove_background_gives_a_real_alpha_channel(instant_api):
    source = upload(instant_api, subject_png((320, 200)))

    execution = run_tool(
        instant_api, "remove-image-background", imageStorageFileId=source, isOutputTemporary=True
    )

    file_id = execution["results"][0]["fileId"]
    image = decode(download(instant_api, file_id))
    assert (image.format, image.mode, image.size) == ("PNG", "RGBA", (320, 200))
    alpha = image.getchannel("A")
    assert alpha.getpixel((2, 2)) == 0  # the backdrop is gone
    assert alpha.getpixel((110, 100)) == 255  # the disc stays
    assert alpha.getpixel((160, 100)) == 255  # and so does its hole: not reached from the border
    histogram = alpha.histogram()
    assert histogram[0] > 1000 and histogram[255] > 1000
    assert sum(histogram[1:255]) > 0  # a soft edge in between
    assert hydrate(instant_api, file_id)["downloadSource"]["status"] == "ready"


def test_vectorize_gives_an_svg(instant_api):
    source = upload(instant_api, subject_png((320, 200)), display_name="logo.png")

    execution = run_tool(instant_api, "vectorize-image", imageStorageFileId=source)

    result = execution["results"][0]
    assert result["type"] == "IMAGE"
    assert result["file"]["displayName"] == "logo (vectorized).svg"
    hydrated = hydrate(instant_api, result["fileId"])
    response = httpx.get(hydrated["downloadSource"]["url"])
    assert response.headers["content-type"] == "image/svg+xml"
    root = ElementTree.fromstring(response.content)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height")) == ("320", "200")
    assert len(root.get("viewBox").split()) == 4
    shapes = root.findall(f"{SVG}path")
    assert len(shapes) > 1
    assert {shape.get("fill") for shape in shapes} >= {"#f6f4f0"}  # the backdrop's colour
    # Pillow cannot read SVG, but the file still has a PNG thumbnail.
    thumbnail = decode(httpx.get(hydrated["thumbnailSource"]["url"]).content)
    assert thumbnail.format == "PNG"
    assert max(thumbnail.size) == 256


def test_results_are_the_same_file_on_every_download(instant_api):
    source = upload(instant_api, subject_png())
    file_id = run_tool(instant_api, "vectorize-image", imageStorageFileId=source)["results"][0][
        "fileId"
    ]

    assert download(instant_api, file_id) == download(instant_api, file_id)


def test_watermark_marks_the_upscale_unless_none(make_api):
    production = make_api("--production-addon", "--pending-seconds", "0", "--running-seconds", "0")
    source = upload(production, png_bytes((40, 90, 160), (400, 300)))

    def upscaled(mode: str) -> bytes:
        execution = run_tool(
            production, "upscale-image", imageStorageFileId=source, watermarkMode=mode
        )
        return download(production, execution["results"][0]["fileId"])

    assert upscaled("VIDEO_GEN") != upscaled("NONE")
    assert upscaled("AUTO") == upscaled("NONE")  # with the add-on, AUTO leaves it off


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "imageStorageFileId"),
        ([], "JSON object"),
        ({"imageStorageFileId": None}, "imageStorageFileId"),
        ({"imageStorageFileId": "file_1"}, "imageStorageFileId"),
        ({"imageStorageFileId": "vg_file_nope"}, "vg_file_nope does not exist"),
        ({"imageStorageFileId": "vg_file_1", "prompt": "x"}, "prompt"),
        ({"imageStorageFileId": "vg_file_1", "imageFileIds": ["vg_file_1"]}, "imageFileIds"),
        ({"imageStorageFileId": "vg_file_1", "watermarkMode": "none"}, "watermarkMode"),
        ({"imageStorageFileId": "vg_file_1", "isOutputTemporary": "yes"}, "isOutputTemporary"),
    ],
)
def test_tools_reject_invalid_fields(api, tool, body, named):
    response = api.post(f"/v1/tools/{tool}", json=body)

    assert response.status_code == 400, response.text
    wrong_prefix = isinstance(body, dict) and body.get("imageStorageFileId") == "file_1"
    assert response.json()["code"] == ("invalid_id" if wrong_prefix else "invalid_parameters")
    assert named in response.json()["message"]


def test_source_must_be_uploaded_and_an_image_record(api):
    pending = api.post("/v1/files/upload", json={"displayName": "later.png"}).json()["fileId"]
    video = api.post("/v1/files/upload", json={"displayName": "v.mp4", "type": "VIDEO"}).json()
    httpx.put(video["uploadUrl"], content=b"\x00\x00\x00\x18ftypmp42")

    not_uploaded = api.post("/v1/tools/upscale-image", json={"imageStorageFileId": pending})
    not_an_image = api.post(
        "/v1/tools/vectorize-image", json={"imageStorageFileId": video["fileId"]}
    )

    assert not_uploaded.status_code == 400
    assert f"{pending} has not been uploaded" in not_uploaded.json()["message"]
    assert not_an_image.status_code == 400
    assert "not IMAGE" in not_an_image.json()["message"]


def test_watermark_none_needs_the_addon(api):
    source = upload(api, png_bytes())

    response = api.post(
        "/v1/tools/remove-image-background",
        json={"imageStorageFileId": source, "watermarkMode": "NONE"},
    )

    assert response.status_code == 403
    assert response.json()["code"] == "production_addon_required"


def test_an_undecodable_source_makes_the_execution_fail(instant_api):
    # The record is fine (an IMAGE, uploaded), so the POST is accepted; the bytes are
    # only looked at when the work runs, as a remote worker would.
    broken = upload(
        instant_api, b"GIF89a but not really", display_name="broken.gif", file_type="IMAGE"
    )

    execution = wait(
        instant_api, start_tool(instant_api, "upscale-image", imageStorageFileId=broken)
    )

    assert execution["status"] == "failed"
    assert "results" not in execution
    assert execution["error"]["code"] == "invalid_source_image"
    assert broken in execution["error"]["message"]


def test_upscaling_a_source_over_4096_px_fails(instant_api):
    wide = upload(instant_api, png_bytes((9, 9, 9), (4097, 8)))

    execution = wait(instant_api, start_tool(instant_api, "upscale-image", imageStorageFileId=wide))

    assert execution["status"] == "failed"
    assert execution["error"]["code"] == "image_too_large"
    assert "4097x8" in execution["error"]["message"]
    # The other tools take it.
    assert (
        run_tool(instant_api, "vectorize-image", imageStorageFileId=wide)["status"] == "succeeded"
    )


def test_a_cut_out_keeps_its_transparency_in_the_thumbnail(instant_api):
    source = upload(instant_api, subject_png())
    cut_out = run_tool(instant_api, "remove-image-background", imageStorageFileId=source)

    url = hydrate(instant_api, cut_out["results"][0]["fileId"])["thumbnailSource"]["url"]

    thumbnail = decode(httpx.get(url).content)
    assert thumbnail.mode == "RGBA"
    assert thumbnail.getchannel("A").getextrema() == (0, 255)


def test_explicit_nulls_are_the_defaults(api):
    source = upload(api, png_bytes())

    response = api.post(
        "/v1/tools/vectorize-image",
        json={"imageStorageFileId": source, "watermarkMode": None, "isOutputTemporary": None},
    )

    assert response.status_code == 202


def test_a_tool_the_sandbox_lacks_is_a_404(api):
    response = api.post("/v1/tools/sharpen-image", json={"imageStorageFileId": "vg_file_1"})

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
