from __future__ import annotations

import pytest

from studio.videogen import (
    ApiErrorInfo,
    Execution,
    ExecutionPage,
    FileObject,
    FileSource,
    Upload,
    aspect_ratio_payload,
)
from studio.videogen.client import ASPECT_RATIOS, parse_retry_after


def source(status: str, url: str | None = None) -> dict:
    return {"status": status, "url": url, "expiresAt": 1_900_000_000}


def test_aspect_ratio_payload():
    assert aspect_ratio_payload("16:9") == {"width": 16, "height": 9}
    assert aspect_ratio_payload("21:9") == {"width": 21, "height": 9}
    for ratio in ASPECT_RATIOS:
        width, height = ratio.split(":")
        assert aspect_ratio_payload(ratio) == {"width": int(width), "height": int(height)}


@pytest.mark.parametrize("ratio", ["", "16", "16x9", "16:", ":9", "0:1", "-1:2", "a:b", "1.5:1"])
def test_aspect_ratio_payload_refuses_malformed_ratios(ratio):
    with pytest.raises(ValueError):
        aspect_ratio_payload(ratio)


def test_execution_from_wire():
    execution = Execution.from_wire(
        {
            "toolExecutionId": "vg_exec_1",
            "toolType": "GENERATE_IMAGE",
            "status": "succeeded",
            "progressPercentage": 100,
            "attemptIndex": 0,
            "results": [
                {
                    "fileId": "vg_file_1",
                    "type": "IMAGE",
                    "file": {
                        "fileId": "vg_file_1",
                        "type": "IMAGE",
                        "scope": "WORKSPACE",
                        "displayName": "A cat",
                        "downloadSource": source("ready", "https://storage.test/1.png"),
                        "previewSource": source("pending"),
                        "somethingNew": {"nested": True},
                    },
                },
                {"fileId": "vg_file_2", "type": "IMAGE", "file": None},
            ],
            "error": None,
            "brandNewField": 1,
        }
    )

    assert execution.id == "vg_exec_1"
    assert execution.tool_type == "GENERATE_IMAGE"
    assert execution.is_terminal and execution.is_succeeded
    assert execution.progress == 100
    assert execution.attempt_index == 0
    assert execution.error is None
    assert [result.file_id for result in execution.results] == ["vg_file_1", "vg_file_2"]
    file = execution.results[0].file
    assert file is not None
    assert file.display_name == "A cat"
    assert file.download == FileSource("ready", "https://storage.test/1.png", 1_900_000_000.0)
    assert file.download_url == "https://storage.test/1.png"
    assert file.raw["scope"] == "WORKSPACE"
    assert execution.results[1].file is None
    assert execution.raw["brandNewField"] == 1


def test_failed_execution_carries_its_error():
    execution = Execution.from_wire(
        {
            "toolExecutionId": "vg_exec_1",
            "status": "failed",
            "error": {"message": "Content policy.", "code": "content_rejected"},
        }
    )

    assert execution.is_terminal and not execution.is_succeeded
    assert execution.error == ApiErrorInfo("Content policy.", "content_rejected")
    assert execution.results == ()


@pytest.mark.parametrize(
    ("status", "terminal"),
    [
        ("pending", False),
        ("running", False),
        ("awaiting_approval", False),
        ("succeeded", True),
        ("failed", True),
        ("cancelled", True),
    ],
)
def test_terminal_statuses(status, terminal):
    assert Execution.from_wire({"status": status}).is_terminal is terminal


def test_execution_is_hashable_and_ignores_raw_in_equality():
    one = Execution.from_wire({"toolExecutionId": "vg_exec_1", "status": "running", "x": 1})
    two = Execution.from_wire({"toolExecutionId": "vg_exec_1", "status": "running", "x": 2})
    assert one == two
    assert hash(one) == hash(two)


def test_file_ready_when_any_source_is_ready():
    file = FileObject.from_wire(
        {
            "fileId": "vg_file_1",
            "downloadSource": source("ready", "https://s/1"),
            "hlsSource": source("failed"),
        }
    )
    assert file.is_ready
    assert not file.has_failed


def test_file_failed_when_a_source_failed_and_none_is_ready():
    file = FileObject.from_wire(
        {
            "fileId": "vg_file_1",
            "downloadSource": source("failed"),
            "previewSource": source("pending"),
        }
    )
    assert not file.is_ready
    assert file.has_failed
    assert file.download_url is None


def test_file_pending_is_neither_ready_nor_failed():
    file = FileObject.from_wire({"fileId": "vg_file_1", "downloadSource": source("pending")})
    assert not file.is_ready
    assert not file.has_failed


def test_unhydrated_file_has_no_url():
    file = FileObject.from_wire(
        {"fileId": "vg_file_1", "type": "IMAGE", "downloadSource": source("ready")}
    )
    assert file.is_ready
    assert file.download_url is None


def test_download_url_falls_back_to_preview():
    file = FileObject.from_wire(
        {
            "fileId": "vg_file_1",
            "downloadSource": source("pending"),
            "previewSource": source("ready", "https://s/preview.png"),
            "thumbnailSource": source("ready", "https://s/thumb.png"),
        }
    )
    assert file.download_url == "https://s/preview.png"


def test_expires_at_accepts_iso_strings():
    parsed = FileSource.from_wire(
        {"status": "ready", "url": "u", "expiresAt": "2030-01-01T00:00:00Z"}
    )
    assert parsed is not None
    assert parsed.expires_at == 1_893_456_000.0


@pytest.mark.parametrize(
    "wire",
    [
        {"items": [{"toolExecutionId": "vg_exec_1"}], "nextCursor": "c2"},
        {"data": [{"toolExecutionId": "vg_exec_1"}], "cursor": "c2"},
        {"executions": [{"toolExecutionId": "vg_exec_1"}], "nextCursor": "c2", "hasMore": True},
    ],
)
def test_execution_page_variants(wire):
    page = ExecutionPage.from_wire(wire)
    assert [execution.id for execution in page.items] == ["vg_exec_1"]
    assert page.next_cursor == "c2"


def test_execution_page_last_page():
    assert ExecutionPage.from_wire({"items": [], "nextCursor": None}).next_cursor is None
    assert (
        ExecutionPage.from_wire({"items": [], "nextCursor": "c", "hasMore": False}).next_cursor
        is None
    )
    assert ExecutionPage.from_wire([{"toolExecutionId": "vg_exec_1"}]).items[0].id == "vg_exec_1"


def test_upload_from_wire():
    upload = Upload.from_wire(
        {"fileId": "vg_file_1", "uploadUrl": "https://s/u?sig=1", "expiresAt": 1}
    )
    assert upload == Upload("vg_file_1", "https://s/u?sig=1")


def test_parse_retry_after():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("0.5") == 0.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
