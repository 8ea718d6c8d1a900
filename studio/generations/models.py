from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify

from studio.teams.models import Team
from studio.videogen import ASPECT_RATIOS

from .signals import generation_finished


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SUBMITTING = "submitting", "Submitting"
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"
    # A POST whose outcome could not be established: never re-posted by itself.
    UNKNOWN = "unknown", "Outcome unknown"


# The state machine, in one place: from each status, where it may go.
# SUBMITTING -> QUEUED is only for a POST that certainly never reached VideoGen.
ALLOWED_MOVES: dict[str, frozenset[str]] = {
    Status.QUEUED: frozenset({Status.SUBMITTING, Status.FAILED, Status.CANCELLED}),
    Status.SUBMITTING: frozenset(
        {Status.PENDING, Status.QUEUED, Status.FAILED, Status.CANCELLED, Status.UNKNOWN}
    ),
    Status.PENDING: frozenset(
        {Status.PENDING, Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
    ),
    Status.RUNNING: frozenset(
        {Status.RUNNING, Status.SUCCEEDED, Status.FAILED, Status.CANCELLED}
    ),
    # A succeeded execution whose files cannot be fetched ends failed.
    Status.SUCCEEDED: frozenset({Status.FAILED}),
    Status.FAILED: frozenset(),
    Status.CANCELLED: frozenset(),
    Status.UNKNOWN: frozenset(),
}
ACTIVE_STATUSES = (Status.QUEUED, Status.SUBMITTING, Status.PENDING, Status.RUNNING)
CANCELLABLE_STATUSES = ACTIVE_STATUSES
TERMINAL_STATUSES = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED, Status.UNKNOWN)


class Tool(models.TextChoices):
    """VideoGen's image tools. Every tool but generate-image works on one source result."""

    GENERATE_IMAGE = "generate_image", "Generate"
    UPSCALE_IMAGE = "upscale_image", "Upscale"
    REMOVE_IMAGE_BACKGROUND = "remove_image_background", "Remove background"
    VECTORIZE_IMAGE = "vectorize_image", "Vectorize"


def ratio_number(aspect_ratio: str) -> str:
    """ "16:9" -> "1.7778"."""
    w, _, h = aspect_ratio.partition(":")
    try:
        return f"{int(w) / int(h):.4f}"
    except (ValueError, ZeroDivisionError):
        return "1"


class GenerationQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)

    def visible(self):
        """Not in the Trash."""
        return self.filter(deleted_at__isnull=True)

    def in_trash(self):
        return self.filter(deleted_at__isnull=False)

    def in_flight(self):
        """Work the gallery still waits for: active, or succeeded but not yet stored."""
        return self.filter(
            Q(status__in=ACTIVE_STATUSES) | Q(status=Status.SUCCEEDED, ingested_at__isnull=True)
        )

    def has_in_flight(self) -> bool:
        """in_flight().exists() as two index probes on (team, status, ingested_at):
        an OR in one query makes the database walk the team's finished rows."""
        return (
            self.filter(status__in=ACTIVE_STATUSES).exists()
            or self.filter(status=Status.SUCCEEDED, ingested_at__isnull=True).exists()
        )


class Reference(models.Model):
    """A reference image, stored once per team and content."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="references")
    image = models.ImageField(upload_to="references/%Y/%m/")
    sha256 = models.CharField(max_length=64)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bytes = models.PositiveBigIntegerField()
    remote_file_id = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["team", "sha256"], name="one_reference_per_content")
        ]

    def __str__(self):
        return f"reference {self.sha256[:12]}"


class Generation(models.Model):
    Status = Status
    AspectRatio = models.TextChoices("AspectRatio", [(r, r) for r in ASPECT_RATIOS])
    class WatermarkMode(models.TextChoices):
        AUTO = "AUTO", "Automatic watermark"
        VIDEO_GEN = "VIDEO_GEN", "VideoGen watermark"
        NONE = "NONE", "No watermark"

    Tool = Tool

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="generations")
    tool = models.CharField(max_length=30, choices=Tool.choices, default=Tool.GENERATE_IMAGE)
    # Lineage: the result an upscale, background removal or vectorization works on.
    source_result = models.ForeignKey(
        "Result",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="derived_generations",
    )
    # The generation whose card an edit (upscale, cut-out, vector, variations)
    # stacks under: the first one of its lineage. Null for a generation of its own.
    # No index of its own: nearly every row is NULL, and SQLite then plans the studio's
    # "cards of their own" (IS NULL) through it and sorts the whole team. The partial
    # indexes gen_team_cards and gen_stack_edits (Meta) serve both directions.
    stack_root = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="stacked_edits",
        db_index=False,
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="generations"
    )
    # What was asked: every field of generate-image.
    prompt = models.TextField()
    references = models.ManyToManyField(Reference, blank=True, related_name="generations")
    aspect_ratio = models.CharField(max_length=5, choices=AspectRatio.choices, default="16:9")
    num_results = models.PositiveSmallIntegerField(default=1)
    watermark_mode = models.CharField(
        max_length=10, choices=WatermarkMode.choices, default="AUTO"
    )
    is_output_temporary = models.BooleanField(default=False)
    # The key the form carried (one per rendered form): a second post of the same
    # form, however close in time, finds this row instead of making another.
    idempotency_key = models.CharField(max_length=64, blank=True, default="", editable=False)

    # Where it is.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    remote_execution_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    # Why the last step is being tried again, for the card: "VideoGen answered 502".
    retry_note = models.CharField(max_length=200, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    check_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # When the dispatcher gave it a tool call of the key's budget (dispatch.py);
    # also how fair share knows whom it served last.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    # Team.change_seq at this row's creation and its latest change (see Team).
    created_seq = models.BigIntegerField(default=0)
    seq = models.BigIntegerField(default=0)
    # In the Trash since then (restorable for STUDIO_TRASH_DAYS, then purged).
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="gen_team_newest"),
            models.Index(fields=["team", "seq"], name="gen_team_seq"),
            models.Index(fields=["team", "status", "ingested_at"], name="gen_team_status_ingested"),
            models.Index(fields=["status", "next_check_at"], name="gen_status_due"),
            # The studio's cards, newest first: generations of their own, not in the Trash.
            models.Index(
                fields=["team", "-created_at", "-id"],
                condition=Q(stack_root__isnull=True, deleted_at__isnull=True),
                name="gen_team_cards",
            ),
            # The edits stacked under a page of cards.
            models.Index(
                fields=["stack_root", "created_at"],
                condition=Q(stack_root__isnull=False),
                name="gen_stack_edits",
            ),
            # The Trash, newest deletion first.
            models.Index(
                fields=["team", "-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="gen_team_trash",
            ),
            models.Index(fields=["team", "created_by", "dispatched_at"], name="gen_served"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(num_results__gte=1) & Q(num_results__lte=100),
                name="num_results_1_to_100",
            ),
            models.UniqueConstraint(
                fields=["team", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="one_generation_per_form_post",
            ),
        ]

    def __str__(self):
        return f"generation {self.pk} ({self.status})"

    @property
    def audit_label(self) -> str:
        """How a person recognises it in the audit log."""
        return f"Generation {self.pk}: {self.prompt[:80]}"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return self.status in CANCELLABLE_STATUSES

    @property
    def is_in_flight(self) -> bool:
        return self.is_active or (self.status == Status.SUCCEEDED and self.ingested_at is None)

    @property
    def is_derived(self) -> bool:
        return self.tool != Tool.GENERATE_IMAGE

    @property
    def failed_for_want_of_addon(self) -> bool:
        """Refused because the account lacks the Production add-on: trying the
        same settings again cannot work."""
        return self.status == Status.FAILED and self.watermark_mode == "NONE" and (
            self.error_code in ("production_addon_required", "forbidden")
        )

    @property
    def stored_count(self) -> int:
        """How many images are stored so far (from the prefetched results)."""
        return sum(1 for r in self.results.all() if r.thumbnail)

    @property
    def edit_label(self) -> str:
        """What this edit is, for the badge under its source: "Upscale", "Variations"."""
        return "Variations" if self.tool == Tool.GENERATE_IMAGE else self.get_tool_display()

    @property
    def settings_generation_id(self) -> int | None:
        """Whose settings "Use these settings" puts into the form: an edit's are
        its lineage's first generation's (an upscale has no prompt of its own)."""
        return self.stack_root_id if self.is_derived else self.pk

    @property
    def is_saving(self) -> bool:
        """VideoGen has finished; the images are still being stored."""
        return self.status == Status.SUCCEEDED and self.ingested_at is None

    @property
    def aspect(self) -> str:
        return ratio_number(self.aspect_ratio)

    @property
    def placeholder_slots(self) -> range:
        """Skeleton tiles shown while waiting: one per result, at most four."""
        return range(min(self.num_results, 4))

    def may_be_managed_by(self, membership) -> bool:
        """A member owns what they made: only they, or an admin or owner, cancel,
        resubmit or delete it."""
        if membership is None or membership.team_id != self.team_id:
            return False
        return self.created_by_id == membership.user_id or membership.can_manage_members

    def move(self, to: str, *, only_from=None, **fields) -> bool:
        """Move to status `to` if the current status allows it.

        One conditional UPDATE (`WHERE status IN <statuses that may move to
        it>`), so two workers cannot both make the same move. Returns whether
        this call made it; on success the instance is refreshed. `only_from`
        narrows the allowed sources further (news of an execution may end an
        active generation, never change a finished one).
        """
        sources = [s for s, targets in ALLOWED_MOVES.items() if to in targets]
        if only_from is not None:
            sources = [s for s in sources if s in only_from]
        now = timezone.now()
        if to in TERMINAL_STATUSES:
            fields.setdefault("finished_at", now)
            fields.setdefault("next_check_at", None)
        with transaction.atomic():
            moved = Generation.objects.filter(pk=self.pk, status__in=sources).update(
                status=to, updated_at=now, **fields
            )
            if moved:
                self._record_change()
        if moved:
            self.refresh_from_db()
            if to in (Status.FAILED, Status.UNKNOWN):
                generation_finished.send(sender=Generation, generation=self)
        return bool(moved)

    def touch(self, **fields) -> None:
        """Save fields that do not change the status, as a visible change."""
        with transaction.atomic():
            Generation.objects.filter(pk=self.pk).update(updated_at=timezone.now(), **fields)
            self._record_change()
        self.refresh_from_db()

    def _record_change(self) -> None:
        seq = Team(pk=self.team_id).next_change_seq()
        Generation.objects.filter(pk=self.pk).update(seq=seq)


class VisibleResultManager(models.Manager):
    """Results outside the Trash: neither the image nor its generation deleted.

    The default manager, so a deleted image drops out of every read at once
    (cards, gallery, search, share links, zips, media); the Trash, the purge
    and the pipeline use `Result.all_objects`."""

    def get_queryset(self):
        return super().get_queryset().filter(
            deleted_at__isnull=True, generation__deleted_at__isnull=True
        )


class Result(models.Model):
    class ReviewState(models.TextChoices):
        PENDING = "pending", "Awaiting review"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="results")
    generation = models.ForeignKey(Generation, on_delete=models.CASCADE, related_name="results")
    position = models.PositiveSmallIntegerField()
    remote_file_id = models.CharField(max_length=100)
    image = models.FileField(upload_to="results/%Y/%m/", blank=True)
    thumbnail = models.FileField(upload_to="thumbnails/%Y/%m/", blank=True)
    content_type = models.CharField(max_length=50, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True)
    review_state = models.CharField(
        max_length=10, choices=ReviewState.choices, default=ReviewState.PENDING
    )
    review_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The team's star ratings (discussion app), summed up here so the gallery
    # sorts by them from one index: the average x 100, rounded; 0 while unrated.
    rating_score = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    # VideoGen's analysis of the file (never for temporary outputs): what it shows, in
    # words. From the file.analysis_completed webhook, or fetched later (tasks.py).
    description = models.TextField(blank=True)
    described_at = models.DateTimeField(null=True, blank=True)
    # When Studio last asked VideoGen for a description that was not there yet: the
    # backfill asks again only after a while, so it never spends the budget in a loop.
    description_checked_at = models.DateTimeField(null=True, blank=True)

    objects = VisibleResultManager()
    all_objects = models.Manager()  # noqa: DJ012 (a second manager, not a field)

    class Meta:
        ordering = ["generation", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["generation", "position"], name="one_result_per_position"
            )
        ]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="result_team_newest"),
            models.Index(fields=["team", "review_state"], name="result_team_review"),
            models.Index(
                fields=["team", "-rating_score", "-created_at", "-id"], name="result_team_rating"
            ),
            # The review queue, oldest first.
            models.Index(
                fields=["team", "review_state", "created_at", "id"],
                name="result_team_review_oldest",
            ),
            # The stored images awaiting review alone: the queue reads them oldest first,
            # and the backlog's count (review.selectors.pending_count) reads no row at all
            # (they lie scattered across a large team's table). deleted_at and sha256 are
            # columns too: the query's values are bound parameters, so SQLite checks them
            # again and would read every row for them.
            models.Index(
                fields=["team", "review_state", "created_at", "id", "generation", "deleted_at",
                        "sha256"],
                condition=Q(review_state="pending", deleted_at__isnull=True) & ~Q(sha256=""),
                name="result_team_awaiting",
            ),
            # Images in the Trash on their own, newest deletion first.
            models.Index(
                fields=["team", "-deleted_at"],
                condition=Q(deleted_at__isnull=False),
                name="result_team_trash",
            ),
            # VideoGen's search and webhooks name files: finding the result (and its
            # team) behind a file id must be an index probe at any gallery size.
            models.Index(fields=["remote_file_id"], name="result_remote_file"),
        ]

    def __str__(self):
        return f"result {self.position} of generation {self.generation_id}"

    @property
    def audit_label(self) -> str:
        """The prompt, not "image 4 of generation 17": what a person recognises."""
        return f"“{self.generation.prompt[:80]}” (image {self.position + 1})"

    @property
    def alt_text(self) -> str:
        """What the image shows, for screen readers: VideoGen's description, else the prompt."""
        return self.description or self.generation.prompt

    @property
    def is_searchable(self) -> bool:
        """VideoGen analyses and searches kept files only, never temporary outputs."""
        return not self.generation.is_output_temporary

    @property
    def rating_average(self) -> float | None:
        return self.rating_score / 100 if self.rating_count else None

    @property
    def is_stored(self) -> bool:
        return bool(self.image) and bool(self.sha256)

    @property
    def download_name(self) -> str:
        """A file name from the prompt: lighthouse-on-a-cliff-2.png."""
        stem = slugify(self.generation.prompt)[:60].rstrip("-") or "studio-image"
        extension = self.image.name.rsplit(".", 1)[-1] if "." in self.image.name else "png"
        return f"{stem}-{self.position + 1}.{extension}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None or self.generation.deleted_at is not None

    @property
    def aspect(self) -> str:
        """width/height as a CSS number for the tile's box (set from JS: no inline styles)."""
        if self.width and self.height:
            return f"{self.width / self.height:.4f}"
        return ratio_number(self.generation.aspect_ratio)

    @property
    def is_vector(self) -> bool:
        return self.content_type == "image/svg+xml"

    @property
    def thumbnail_content_type(self) -> str:
        # Vector results are their own thumbnail: browsers draw SVG at any size.
        return "image/svg+xml" if self.thumbnail.name.endswith(".svg") else "image/webp"


class Reuse(models.Model):
    """A member took an image the team already had ("Use this" in Already made)
    instead of generating it again: one image not paid for twice."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="reuses")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    result = models.ForeignKey(Result, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["team", "created_at"], name="reuse_team_month")]

    def __str__(self):
        return f"reuse of result {self.result_id}"


class VideoGenAccount(models.Model):
    """What Studio has learned about the account behind one API key.

    Keyed by a fingerprint of the key (never the key itself). VideoGen does
    not say up front whether an account has the Production add-on: Studio
    learns it from its answers (a 403 on watermarkMode NONE, or a NONE that
    succeeds), and staff can set it in the admin."""

    key_fingerprint = models.CharField(max_length=64, unique=True)
    # None: not known yet.
    has_production_addon = models.BooleanField(null=True, blank=True)
    learned_at = models.DateTimeField(null=True, blank=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = "VideoGen account"

    def __str__(self):
        return f"VideoGen key {self.key_fingerprint[:12]}…"

    @classmethod
    def fingerprint(cls, api_key: str) -> str:
        return hashlib.sha256(api_key.encode()).hexdigest()

    @classmethod
    def current(cls) -> VideoGenAccount:
        """The account of the configured key (an unsaved one until something is learned)."""
        fingerprint = cls.fingerprint(settings.VIDEOGEN_API_KEY or "")
        return cls.objects.filter(key_fingerprint=fingerprint).first() or cls(
            key_fingerprint=fingerprint
        )

    @classmethod
    def learn_production_addon(cls, has_it: bool, note: str = "") -> None:
        cls.objects.update_or_create(
            key_fingerprint=cls.fingerprint(settings.VIDEOGEN_API_KEY or ""),
            defaults={"has_production_addon": has_it, "learned_at": timezone.now(), "note": note},
        )


class ApiUsage(models.Model):
    """VideoGen calls per hour, endpoint group, team and member: the API budget
    page's "who used it" and its last 24 hours. Team and member are plain ids (0:
    not made for one, such as webhook registration), kept after either is gone."""

    hour = models.DateTimeField()
    group = models.CharField(max_length=30)
    team_ref = models.PositiveIntegerField(default=0)
    user_ref = models.PositiveIntegerField(default=0)
    calls = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)  # answered 429

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["hour", "group", "team_ref", "user_ref"], name="one_usage_row_per_hour"
            )
        ]
        indexes = [models.Index(fields=["hour", "group"], name="usage_hour_group")]

    def __str__(self):
        return f"{self.group} {self.hour:%Y-%m-%d %H}:00 team {self.team_ref}: {self.calls}"
