"""Each VideoGen error becomes one sentence a person understands."""

import pytest

from studio.generations.messages import BY_CODE, execution_failure_message, user_message
from studio.videogen.errors import (
    ApiConnectionError,
    ForbiddenError,
    InvalidParametersError,
    ServerError,
)


def test_watermark_without_the_addon_says_what_to_do():
    error = ForbiddenError(
        "watermarkMode NONE needs the Production add-on.",
        status=403,
        code="production_addon_required",
    )

    assert user_message(error) == (
        "“No watermark” needs VideoGen's Production add-on, which this account does not "
        "have. Choose another watermark option."
    )


def test_invalid_reference_keeps_the_detail_of_which_file():
    error = InvalidParametersError(
        "imageFileIds: file vg_file_1 is not a decodable image.",
        status=400,
        code="invalid_parameters",
    )

    message = user_message(error)

    assert message.startswith("VideoGen refused the request's settings.")
    assert "vg_file_1 is not a decodable image." in message


@pytest.mark.parametrize(
    "error, expected",
    [
        (ServerError("boom", status=503), "VideoGen had a server error"),
        (ApiConnectionError("refused", request_sent=False), "Studio could not reach VideoGen."),
    ],
)
def test_errors_without_a_known_code_fall_back_by_class(error, expected):
    assert user_message(error).startswith(expected)


def test_every_code_has_a_full_sentence():
    for code, (sentence, _) in BY_CODE.items():
        assert sentence.lstrip("“")[0].isupper() and sentence.endswith("."), code


def test_failed_execution_with_no_reason_still_says_something():
    assert execution_failure_message(None, None) == (
        "VideoGen could not make these images (no reason given)."
    )
    assert execution_failure_message("weird_code", "Out of capacity") == "Out of capacity"
