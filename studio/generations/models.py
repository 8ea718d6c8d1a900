from __future__ import annotations

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

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


class GenerationQuerySet(models.QuerySet):
    def for_team(self, team):
        return self.filter(team=team)

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

    # Where it is.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    remote_execution_id = models.CharField(max_length=100, null=True, blank=True, unique=True)
    error_code = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    next_check_at = models.DateTimeField(null=True, blank=True)
    check_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    ingested_at = models.DateTimeField(null=True, blank=True)
    # Team.change_seq at this row's creation and its latest change (see Team).
    created_seq = models.BigIntegerField(default=0)
    seq = models.BigIntegerField(default=0)

    objects = GenerationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["team", "-created_at"], name="gen_team_newest"),
            models.Index(fields=["team", "seq"], name="gen_team_seq"),
            models.Index(fields=["team", "status", "ingested_at"], name="gen_team_status_ingested"),
            models.Index(fields=["status", "next_check_at"], name="gen_status_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(num_results__gte=1) & Q(num_results__lte=100),
                name="num_results_1_to_100",
            )
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
    def placeholder_slots(self) -> range:
        """Skeleton tiles shown while waiting: one per result, at most four."""
        return range(min(self.num_results, 4))

    def move(self, to: str, **fields) -> bool:
        """Move to status `to` if the current status allows it.

        One conditional UPDATE (`WHERE status IN <statuses that may move to
        it>`), so two workers cannot both make the same move. Returns whether
        this call made it; on success the instance is refreshed.
        """
        sources = [s for s, targets in ALLOWED_MOVES.items() if to in targets]
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
    # The team's star ratings (discussion app), summed up here so the gallery
    # sorts by them from one index: the average x 100, rounded; 0 while unrated.
    rating_score = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)

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
        ]

    def __str__(self):
        return f"result {self.position} of generation {self.generation_id}"

    @property
    def audit_label(self) -> str:
        return f"Image {self.position + 1} of generation {self.generation_id}"

    @property
    def rating_average(self) -> float | None:
        return self.rating_score / 100 if self.rating_count else None

    @property
    def is_stored(self) -> bool:
        return bool(self.image) and bool(self.sha256)

    @property
    def is_vector(self) -> bool:
        return self.content_type == "image/svg+xml"

    @property
    def thumbnail_content_type(self) -> str:
        # Vector results are their own thumbnail: browsers draw SVG at any size.
        return "image/svg+xml" if self.thumbnail.name.endswith(".svg") else "image/webp"
