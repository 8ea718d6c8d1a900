"""What Studio assumes about VideoGen where the published reference is silent.

Every guess is one named constant here, and nowhere else; the README lists them
under "Assumptions about VideoGen", and `manage.py videogen_check` asks the API
whether each still holds. Facts the reference states are not in this module.
"""

from __future__ import annotations

# generate-image's `aspectRatio` is an "object" whose fields are not published; a
# workflow page describes a width:height pair of small integers. "16:9" is sent
# as {"width": 16, "height": 9}.
ASPECT_RATIO_FIELDS = ("width", "height")

# `watermarkMode: NONE` without the Production add-on "returns an error"; its
# status is not published.
WATERMARK_REFUSED_STATUS = 403

# The source-file field of the sibling image tools whose reference pages could
# not be read. They are taken to have vectorize-image's fields (on its page):
# this source field, `watermarkMode`, `numResults` and `isOutputTemporary`.
UPSCALE_SOURCE_FIELD = "imageStorageFileId"
REMOVE_BACKGROUND_SOURCE_FIELD = "imageStorageFileId"

# The statuses of a tool call that names a file VideoGen no longer has (a
# temporary reference archived after its 24 hours). The errors page says 404
# means "the resource doesn't exist" and 400 "invalid parameters"; which one a
# tool POST answers for an input file is not published.
FILE_GONE_STATUSES = (400, 404)

# Checked by videogen_check, in this order: (name, what is assumed).
ASSUMPTIONS = (
    ("ASPECT_RATIO_FIELDS", "aspectRatio is sent as {width, height} of small integers"),
    ("WATERMARK_REFUSED_STATUS", "watermarkMode NONE without the add-on is refused with 403"),
    ("UPSCALE_SOURCE_FIELD", "upscale-image takes imageStorageFileId and numResults"),
    (
        "REMOVE_BACKGROUND_SOURCE_FIELD",
        "remove-image-background takes imageStorageFileId and numResults",
    ),
    ("FILE_GONE_STATUSES", "a tool call naming a file that is gone is refused with 400 or 404"),
)
