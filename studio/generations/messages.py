"""The one place where VideoGen's errors become sentences a person understands.

Each code maps to one sentence; where the API's own message adds the detail
a person needs (which setting, which file), it follows the sentence.
"""

from studio.videogen import errors
from studio.videogen.assumptions import WATERMARK_REFUSED_STATUS
from studio.videogen.errors import VideoGenError

# code -> (sentence, whether the API's message is worth appending)
BY_CODE: dict[str, tuple[str, bool]] = {
    "missing_api_key": ("Studio is not connected to VideoGen: no API key is configured.", False),
    "invalid_api_key": (
        "Studio's VideoGen API key was refused. An administrator needs to fix it.",
        False,
    ),
    "production_addon_required": (
        "“No watermark” needs VideoGen's Production add-on, which this account does not "
        "have. Choose another watermark option.",
        False,
    ),
    "invalid_parameters": ("VideoGen refused the request's settings.", True),
    "invalid_id": ("VideoGen did not recognise an id Studio sent; try again.", False),
    "invalid_source_image": ("VideoGen could not read the source image.", False),
    "image_too_large": ("The image is too large for this tool.", True),
    "generation_failed": ("VideoGen could not make these images.", True),
    "rate_limited": ("VideoGen is busy (rate limited) and Studio gave up retrying.", False),
    "upload_failed": ("VideoGen could not process a reference image upload.", False),
    "invalid_result": ("VideoGen sent a result file that is not an image.", True),
    "truncated": ("The images could not be downloaded completely from VideoGen.", False),
    "too_large": ("A result file from VideoGen was larger than Studio accepts.", False),
}

BY_CLASS: list[tuple[type[VideoGenError], str]] = [
    (errors.AuthenticationError, BY_CODE["invalid_api_key"][0]),
    (errors.ForbiddenError, "VideoGen refused this request."),
    (errors.InvalidParametersError, BY_CODE["invalid_parameters"][0]),
    (errors.NotFoundError, "VideoGen no longer knows this job or file."),
    (errors.RateLimitedError, BY_CODE["rate_limited"][0]),
    (errors.ServerError, "VideoGen had a server error and Studio gave up retrying."),
    (errors.ApiConnectionError, "Studio could not reach VideoGen."),
    (errors.DownloadError, BY_CODE["truncated"][0]),
]


def user_message(error: VideoGenError) -> str:
    """The sentence for an error the client raised."""
    if error.code in BY_CODE:
        return _sentence(error.code, error.message)
    for cls, sentence in BY_CLASS:
        if isinstance(error, cls):
            return _with_detail(sentence, error.message)
    return _with_detail("VideoGen could not do this.", error.message)


def submit_refusal_message(error: VideoGenError, *, watermark_mode: str) -> str:
    """The sentence for a refused tool call. A refused "no watermark" is told apart by
    its status, as VideoGen publishes no code for it (WATERMARK_REFUSED_STATUS)."""
    if watermark_mode == "NONE" and error.status == WATERMARK_REFUSED_STATUS:
        return _sentence("production_addon_required", error.message)
    return user_message(error)


def execution_failure_message(code: str | None, message: str | None) -> str:
    """The sentence for an execution that VideoGen reports as failed."""
    if code in BY_CODE:
        return _sentence(code, message)
    return (message or "").strip() or "VideoGen could not make these images (no reason given)."


def _sentence(code: str, message: str | None) -> str:
    sentence, add_detail = BY_CODE[code]
    return _with_detail(sentence, message) if add_detail else sentence


def _with_detail(sentence: str, detail: str | None) -> str:
    detail = (detail or "").strip()
    if not detail or detail.rstrip(".") in sentence:
        return sentence
    return f"{sentence} {detail if detail.endswith('.') else detail + '.'}"
