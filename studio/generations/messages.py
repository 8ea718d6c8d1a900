"""The one place where VideoGen's errors become sentences a person understands."""

from studio.videogen.errors import (
    ApiConnectionError,
    AuthenticationError,
    DownloadError,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    VideoGenError,
)

BY_CODE = {
    "missing_api_key": "Studio is not connected to VideoGen: no API key is configured.",
    "invalid_api_key": "Studio's VideoGen API key was refused. An administrator needs to fix it.",
    "production_addon_required": (
        "“No watermark” needs VideoGen's Production add-on, which this account does not "
        "have. Choose another watermark option."
    ),
    "invalid_id": "VideoGen did not recognise an id Studio sent; try generating again.",
}

BY_CLASS = [
    (ForbiddenError, "VideoGen refused this request: {message}"),
    (AuthenticationError, BY_CODE["invalid_api_key"]),
    (NotFoundError, "VideoGen no longer knows this job: {message}"),
    (RateLimitedError, "VideoGen is busy (rate limited); Studio kept retrying but gave up."),
    (ServerError, "VideoGen had a server error and Studio gave up retrying: {message}"),
    (ApiConnectionError, "Studio could not reach VideoGen: {message}"),
    (DownloadError, "The images could not be downloaded from VideoGen: {message}"),
]


def user_message(error: VideoGenError) -> str:
    """A sentence for the card; the API's own message is kept where it helps."""
    message = (error.message or "").strip().rstrip(".") + "." if error.message else ""
    if error.code in BY_CODE:
        return BY_CODE[error.code]
    for cls, template in BY_CLASS:
        if isinstance(error, cls):
            return template.format(message=message or "no details given.")
    return message or "VideoGen could not do this."


def execution_failure_message(code: str | None, message: str | None) -> str:
    """An execution that VideoGen itself reports as failed."""
    if code in BY_CODE:
        return BY_CODE[code]
    return (message or "VideoGen could not generate these images (no reason given).").strip()
