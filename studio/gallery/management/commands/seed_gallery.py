"""Fill a team's gallery with realistic rows, quickly, for benchmarks and demos.

    python manage.py seed_gallery --team "Acme" --results 100000

Rows are written with bulk_create in batches; the images are a handful of
small real PNGs (and WebP thumbnails), one per aspect ratio and tint, shared
by every row that uses them, so 100,000 results take seconds and a few
kilobytes of media.
"""

from __future__ import annotations

import hashlib
import io
import random
import time
from contextlib import contextmanager
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from studio.gallery.models import Collection, CollectionItem, Favourite
from studio.generations.builders import StoredImage, build_result, store_image
from studio.generations.models import Generation, Result, Status, Tool
from studio.teams.models import Membership, Role, Team

SUBJECTS = [
    "a lighthouse", "a red fox", "an old tram", "a glass teapot", "a mountain cabin",
    "a koi pond", "a desert highway", "a paper crane", "a night market", "a lone astronaut",
    "a vintage camera", "a sailing boat", "a city rooftop", "a bowl of ramen", "a snowy forest",
    "a neon diner", "a stone bridge", "a hummingbird", "a greenhouse", "a jazz trio",
]
SETTINGS = [
    "at dawn", "in heavy fog", "under the northern lights", "after the rain", "at golden hour",
    "in a snowstorm", "on a summer afternoon", "by candlelight", "at midnight", "in spring bloom",
]
STYLES = [
    "film grain", "watercolour", "isometric illustration", "35mm photograph", "oil painting",
    "studio lighting", "pastel palette", "cinematic wide shot", "linocut print", "soft focus",
]
RATIOS = [("16:9", (480, 270)), ("1:1", (360, 360)), ("9:16", (270, 480)), ("4:3", (400, 300)),
          ("3:2", (450, 300))]
TINTS = [(210, 90, 60), (60, 130, 200), (70, 160, 110), (200, 170, 60)]
DERIVED_TOOLS = [Tool.UPSCALE_IMAGE, Tool.REMOVE_IMAGE_BACKGROUND]


class Command(BaseCommand):
    help = "Fill a team's gallery with realistic generations and results (for benchmarks)."

    def add_arguments(self, parser):
        parser.add_argument("--team", required=True, help="Team id or exact name.")
        parser.add_argument("--results", type=int, required=True, help="How many results to add.")
        parser.add_argument("--members", type=int, default=6, help="People making them.")
        parser.add_argument("--days", type=int, default=365, help="Spread over this many days.")
        parser.add_argument("--batch", type=int, default=5000, help="Rows per bulk insert.")
        parser.add_argument("--seed", type=int, default=1, help="Same seed, same rows.")
        parser.add_argument("--create", action="store_true", help="Create a missing team.")

    def handle(self, *args, team, results, members, days, batch, seed, create, **options):
        if results < 1:
            raise CommandError("--results must be at least 1.")
        started = time.monotonic()
        rng = random.Random(seed)
        team = self._team(team, create)
        people = self._members(team, members)
        images = self._images()
        made = self._fill(team, people, images, results, days, batch, rng)
        self._organise(team, people, made, rng)
        self._analyze()
        self.stdout.write(
            f"Team {team.pk} ({team.name}): added {results} results in "
            f"{time.monotonic() - started:.1f} s."
        )

    def _analyze(self) -> None:
        """Fresh planner statistics, as autovacuum (or SQLite's optimize) would leave them:
        without them PostgreSQL plans 100,000 new rows as if they were a hundred."""
        tables = [Generation._meta.db_table, Result._meta.db_table, CollectionItem._meta.db_table,
                  Favourite._meta.db_table]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"ANALYZE {', '.join(tables)}")
            else:
                for table in tables:
                    cursor.execute(f"ANALYZE {table}")

    # --- who -----------------------------------------------------------------------------

    def _team(self, ref: str, create: bool) -> Team:
        found = Team.objects.filter(pk=int(ref)).first() if ref.isdigit() else None
        found = found or Team.objects.filter(name=ref).order_by("pk").first()
        if found is not None:
            return found
        if not create:
            raise CommandError(f"No team {ref!r} (give an id or exact name, or add --create).")
        return Team.objects.create(name=ref)

    def _members(self, team: Team, wanted: int) -> list:
        users = list(get_user_model().objects.filter(memberships__team=team).order_by("pk"))
        User = get_user_model()
        for i in range(len(users), max(wanted, 1)):
            user, created = User.objects.get_or_create(username=f"seed-{team.pk}-{i + 1}")
            if created:  # seeded people cannot sign in
                user.set_unusable_password()
                user.save(update_fields=["password"])
            role = Role.OWNER if not users else Role.MEMBER
            Membership.objects.get_or_create(team=team, user=user, defaults={"role": role})
            users.append(user)
        return users

    # --- what ----------------------------------------------------------------------------

    def _images(self) -> dict[str, list[StoredImage]]:
        """Per aspect ratio, a few stored images (and thumbnails) that every row shares."""
        out: dict[str, list[StoredImage]] = {}
        for ratio, (width, height) in RATIOS:
            for tint in TINTS:
                image = Image.new("RGB", (width, height), tint)
                draw = ImageDraw.Draw(image)
                for y in range(0, height, 4):  # a gradient, so the tiles are not flat
                    shade = tuple(min(255, c + y // 4) for c in tint)
                    draw.rectangle([0, y, width, y + 3], fill=shade)
                draw.ellipse([width // 4, height // 4, width * 3 // 4, height * 3 // 4],
                             fill=(250, 250, 245))
                data = io.BytesIO()
                image.save(data, format="PNG")
                png = data.getvalue()
                name = f"seed/{hashlib.sha256(png).hexdigest()[:16]}"
                out.setdefault(ratio, []).append(store_image(png, name))
        return out

    def _fill(self, team, people, images, total, days, batch, rng) -> list[int]:
        """Generations of 1–4 results until `total` results exist; oldest first."""
        now = timezone.now()
        span = timedelta(days=days).total_seconds()
        step = span / total
        made: list[int] = []
        written = 0
        while written < total:
            generations, sizes, planned = [], [], 0
            while written + planned < total and planned < batch:
                at = now - timedelta(seconds=span - step * (written + planned))
                tool = rng.choice(DERIVED_TOOLS) if rng.random() < 0.08 else Tool.GENERATE_IMAGE
                size = rng.choice([1, 1, 2, 4, 4]) if tool == Tool.GENERATE_IMAGE else 1
                size = min(size, total - written - planned)
                ratio = rng.choice(RATIOS)[0]
                status = Status.FAILED if rng.random() < 0.02 else Status.SUCCEEDED
                generations.append(Generation(
                    team=team,
                    created_by=rng.choice(people),
                    tool=tool,
                    prompt=f"{rng.choice(SUBJECTS).capitalize()} {rng.choice(SETTINGS)}, "
                           f"{rng.choice(STYLES)}",
                    aspect_ratio=ratio,
                    num_results=size,
                    status=status,
                    progress=100,
                    created_at=at,
                    submitted_at=at,
                    finished_at=at + timedelta(seconds=8),
                    ingested_at=at + timedelta(seconds=9),
                    error_message="Some images could not be fetched." if status == "failed" else "",
                ))
                sizes.append(size)
                planned += size
            with transaction.atomic(), _given_timestamps(Generation, Result):
                Generation.objects.bulk_create(generations, batch_size=1000)
                rows = []
                for generation, size in zip(generations, sizes, strict=True):
                    for position in range(size):
                        rows.append(build_result(
                            generation,
                            position,
                            rng.choice(images[generation.aspect_ratio]),
                            remote_file_id=f"seed_{generation.pk}_{position}",
                            review_state=Result.ReviewState.APPROVED,
                            created_at=generation.created_at + timedelta(seconds=9),
                        ))
                Result.objects.bulk_create(rows, batch_size=1000)
            made += [r.pk for r in rows[-50:]]
            written += len(rows)
            self.stdout.write(f"  {written}/{total} results")
        return made

    def _organise(self, team, people, recent: list[int], rng) -> None:
        """A few boards and favourites, as a team that uses its gallery would have."""
        if not recent:
            return
        with transaction.atomic():
            for n, name in enumerate(["Shortlist", "Client review", "Moodboard"]):
                collection, _ = Collection.objects.get_or_create(
                    team=team, name=name, defaults={"created_by": people[n % len(people)]}
                )
                CollectionItem.objects.bulk_create(
                    [CollectionItem(collection=collection, result_id=pk, added_by=people[0])
                     for pk in rng.sample(recent, min(12, len(recent)))],
                    ignore_conflicts=True,
                )
            Favourite.objects.bulk_create(
                [Favourite(team=team, user=rng.choice(people), result_id=pk)
                 for pk in rng.sample(recent, min(20, len(recent)))],
                ignore_conflicts=True,
            )


@contextmanager
def _given_timestamps(*models):
    """bulk_create would stamp every row "now": keep the spread-out times given here."""
    fields = [model._meta.get_field("created_at") for model in models]
    saved = [field.auto_now_add for field in fields]
    for field in fields:
        field.auto_now_add = False
    try:
        yield
    finally:
        for field, value in zip(fields, saved, strict=True):
            field.auto_now_add = value
