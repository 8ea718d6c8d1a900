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

from studio.audit.models import AuditEntry
from studio.discussion.models import Comment, Notification, Rating
from studio.gallery.models import (
    ClientLink,
    ClientPick,
    Collection,
    CollectionItem,
    Favourite,
    ShareLink,
)
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
# At least this many images awaiting review, notifications and audit entries at any
# size: more than one page of the review queue (60), the notifications (100) and the
# audit log (50), so a small team's pages show as many rows as a large one's.
FULL_PAGE = 120
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
        parser.add_argument(
            "--extras",
            action="store_true",
            help="Also what a team that works in Studio has, in proportion: edits stacked "
            "under their sources, comments, ratings, images awaiting review, Trash, "
            "notifications, audit entries, share and client links (bench/pages.py).",
        )

    def handle(
        self, *args, team, results, members, days, batch, seed, create, extras=False, **options
    ):
        if results < 1:
            raise CommandError("--results must be at least 1.")
        started = time.monotonic()
        rng = random.Random(seed)
        team = self._team(team, create)
        people = self._members(team, members)
        images = self._images()
        made = self._fill(team, people, images, results, days, batch, rng)
        self._organise(team, people, made, rng)
        if extras:
            self._extras(team, people, images, rng)
        self._analyze()
        self.stdout.write(
            f"Team {team.pk} ({team.name}): added {results} results in "
            f"{time.monotonic() - started:.1f} s."
        )

    def _analyze(self) -> None:
        """Fresh planner statistics (and on PostgreSQL a vacuum), as autovacuum (or
        SQLite's optimize) would leave them: without them PostgreSQL plans 100,000 new
        rows as if they were a hundred."""
        tables = [Generation._meta.db_table, Result._meta.db_table, CollectionItem._meta.db_table,
                  Favourite._meta.db_table, Comment._meta.db_table, Rating._meta.db_table,
                  Notification._meta.db_table, AuditEntry._meta.db_table]
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # VACUUM too, as autovacuum soon would: it merges the prompt index's GIN
                # pending list, which every prompt search otherwise reads end to end.
                # VACUUM cannot run in a transaction (a test's, a caller's atomic()):
                # there the statistics alone.
                verb = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
                cursor.execute(f"{verb} {', '.join(tables)}")
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

    # --- what a working team also has (--extras) -------------------------------------------

    def _extras(self, team, people, images, rng) -> None:
        """Rows in proportion to the gallery (a share of its results each), and always
        some on the newest results, so the first pages show every kind of thing."""
        rows = list(
            Result.objects.filter(team=team, generation__tool=Tool.GENERATE_IMAGE)
            .order_by("-created_at", "-pk")
            .values_list("pk", "generation_id", "created_at")
        )
        if not rows:
            return

        def share(fraction: float, newest: int = 6, at_least: int = 0) -> list[tuple]:
            picked = rows[:newest] + [row for row in rows[newest:] if rng.random() < fraction]
            if len(picked) < at_least:
                chosen = set(picked)
                rest = [row for row in rows if row not in chosen]
                # A random of its own: the other rows stay those the seed always made.
                top_up = random.Random(len(rows) + at_least)
                picked += top_up.sample(rest, min(at_least - len(picked), len(rest)))
            return picked

        now = timezone.now()
        owner = people[0]
        with transaction.atomic():
            self._edits(team, people, images, share(0.04), rng)
            commented = share(0.02)
            comments, notes = [], []
            for pk, _, _ in commented:
                for k in range(rng.randint(1, 3)):
                    # The first one by a member (not the owner), who may then edit it.
                    author = rng.choice(people) if comments else people[1 % len(people)]
                    comments.append(Comment(team=team, result_id=pk, author=author,
                                            author_name=author.get_username(),
                                            body=f"Comment {k + 1}: the light works here."))
                    notes.append(Notification(
                        team=team, user=owner, kind=Notification.Kind.COMMENT,
                        text=f"{author.get_username()} commented on an image",
                        url=f"/results/{pk}/",
                    ))
            for pk, _, _ in rows[: max(0, FULL_PAGE - len(notes))]:
                notes.append(Notification(
                    team=team, user=owner, kind=Notification.Kind.BATCH,
                    text="Your generation finished", url=f"/results/{pk}/",
                ))
            Comment.objects.bulk_create(comments, batch_size=1000)
            Notification.objects.bulk_create(notes, batch_size=1000)
            rated = share(0.05)
            ratings, scores = [], {}
            for pk, _, _ in rated:
                raters = rng.sample(people, min(2, len(people)))
                stars = [rng.randint(1, 5) for _ in raters]
                ratings += [Rating(team=team, result_id=pk, user=user, stars=s)
                            for user, s in zip(raters, stars, strict=True)]
                scores[pk] = (round(sum(stars) * 100 / len(stars)), len(stars))
            Rating.objects.bulk_create(ratings, batch_size=1000, ignore_conflicts=True)
            updated = [Result(pk=pk, rating_score=s, rating_count=c)
                       for pk, (s, c) in scores.items()]
            Result.all_objects.bulk_update(updated, ["rating_score", "rating_count"],
                                           batch_size=500)
            waiting = [pk for pk, _, _ in share(0.01, newest=2, at_least=FULL_PAGE)]
            Result.all_objects.filter(pk__in=waiting).update(
                review_state=Result.ReviewState.PENDING
            )
            # The Trash: a fixed few, whatever the gallery's size, as the purge keeps it
            # (STUDIO_TRASH_DAYS); older work only, so the first pages keep their cards.
            old = rows[len(rows) // 10:] or rows
            few = max(1, min(12, len(old) // 4))
            trashed_generations = {g for _, g, _ in rng.sample(old, few)}
            kept = [row for row in old if row[1] not in trashed_generations]
            trashed_results = [pk for pk, _, _ in rng.sample(kept, min(few, len(kept)))]
            Generation.objects.filter(pk__in=trashed_generations).update(
                deleted_at=now, deleted_by=owner
            )
            Result.all_objects.filter(pk__in=trashed_results).update(
                deleted_at=now, deleted_by=owner
            )
            audit = [
                AuditEntry(team=team, actor=owner, actor_label=owner.get_username(),
                           action=action, target_type=kind, target_id=str(pk),
                           target_label=f"{kind} {pk}", created_at=now)
                for action, kind, ids in (
                    (AuditEntry.Action.DELETE, "generation", trashed_generations),
                    (AuditEntry.Action.RESULT_DELETE, "result", trashed_results),
                    (AuditEntry.Action.APPROVE, "result",
                     [pk for pk, _, _ in share(0.01, at_least=FULL_PAGE)]),
                )
                for pk in ids
            ]
            AuditEntry.objects.bulk_create(audit, batch_size=1000)
            # Everyone has starred something, so "Favourites" is a page of tiles for each.
            Favourite.objects.bulk_create(
                [Favourite(team=team, user=person, result_id=pk)
                 for person in people for pk, _, _ in rows[1:4]],
                ignore_conflicts=True,
            )
            self._links(team, owner, rng)

    def _edits(self, team, people, images, sources, rng) -> None:
        """Upscales and cut-outs of `sources`, stacked under their generations' cards."""
        edits = [
            Generation(
                team=team, created_by=rng.choice(people), tool=rng.choice(DERIVED_TOOLS),
                source_result_id=pk, stack_root_id=generation_id,
                prompt="An edit", aspect_ratio="1:1", num_results=1,
                status=Status.SUCCEEDED, progress=100,
                created_at=at + timedelta(minutes=1), submitted_at=at + timedelta(minutes=1),
                finished_at=at + timedelta(minutes=1, seconds=5),
                ingested_at=at + timedelta(minutes=1, seconds=6),
            )
            for pk, generation_id, at in sources
        ]
        prompts = dict(Generation.objects.filter(pk__in=[g for _, g, _ in sources])
                       .values_list("pk", "prompt"))
        for edit in edits:
            edit.prompt = prompts[edit.stack_root_id]
        with _given_timestamps(Generation, Result):
            Generation.objects.bulk_create(edits, batch_size=1000)
            Result.objects.bulk_create(
                [build_result(edit, 0, rng.choice(images["1:1"]),
                              remote_file_id=f"seed_{edit.pk}_0",
                              review_state=Result.ReviewState.APPROVED,
                              created_at=edit.created_at + timedelta(seconds=6))
                 for edit in edits],
                batch_size=1000,
            )

    def _links(self, team, owner, rng) -> None:
        """A share link and a client link (with a client's picks) on a board."""
        collection = Collection.objects.filter(team=team).order_by("pk").first()
        if collection is None:
            return
        ShareLink.objects.create(team=team, collection=collection, created_by=owner)
        link = ClientLink.objects.create(team=team, collection=collection, created_by=owner,
                                         expires_at=timezone.now() + timedelta(days=30))
        ClientPick.objects.bulk_create([
            ClientPick(team=team, link=link, client_key="seed-client", client_name="A client",
                       result_id=item.result_id, favourite=rng.random() < 0.5,
                       verdict=rng.choice(list(ClientPick.Verdict.values)),
                       comment="Lovely." if rng.random() < 0.3 else "")
            for item in collection.items.all()
        ])


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
