"""The review queue: which drawing a reviewer gets next, who holds it, and saving labels.

Order: second opinions owed by this reviewer; then unreviewed drawings, disputed first (the drawer
reported another label than the model's answer), then doubtful (small margin between the two likeliest
digits, or "not a digit"), then the rest, newest first within each tier. A lease row per shown drawing
keeps two reviewers off the same one; it runs out unless the page renews it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from mlcore.labels import LABELS, NOT_A_DIGIT

from ..models import Prediction, PredictionQuerySet, ReviewLease, SecondOpinion

# How many candidates are read at once, and how many times, when others are leasing at the same moment.
LEASE_ATTEMPTS = 10
LEASE_ROUNDS = 10
# What is said of a revision that is no count of the drawing's changes, in its type or its value.
REVISION_UNSHOWN = "revision must be the integer the drawing was shown with"


class LeasedByAnother(Exception):
    """Another reviewer holds this drawing."""


class LabelledByAnother(Exception):
    """Another reviewer labelled this drawing while this one's lease had run out."""


class OpenInAnotherPage(LeasedByAnother):
    """Another of this reviewer's pages (a tab) holds this drawing."""


class LabelledInAnotherPage(LabelledByAnother):
    """This reviewer labelled this drawing meanwhile, in another of their pages or in the admin."""


@dataclass(frozen=True)
class Filters:
    model_version: int | None = None
    digit: int | None = None      # NOT_A_DIGIT for drawings the model said are no digit
    source: str | None = None

    @classmethod
    def from_query(cls, query) -> "Filters":
        """From GET or JSON parameters; anything unparsable is no filter."""
        def number(key, allowed):
            value = str(query.get(key) or "")
            # isdigit() alone admits "²", which int() refuses, and int() refuses more than 4,300 digits.
            readable = value.isascii() and value.isdigit() and len(value) <= 10
            return int(value) if readable and int(value) in allowed else None
        source = query.get("source") or None
        return cls(model_version=number("model_version", range(1, 2**31)), digit=number("digit", LABELS),
                   source=source if source in Prediction.Source.values else None)

    def apply(self, predictions: PredictionQuerySet) -> PredictionQuerySet:
        if self.model_version is not None:
            predictions = predictions.filter(model_version_id=self.model_version)
        if self.digit == NOT_A_DIGIT:
            predictions = predictions.filter(digit__isnull=True)
        elif self.digit is not None:
            predictions = predictions.filter(digit=self.digit)
        if self.source is not None:
            predictions = predictions.filter(source=self.source)
        return predictions


def unreviewed_in_order(filters: Filters = Filters(), changed_before=None) -> PredictionQuerySet:
    """The unlabelled drawings in the queue's order; with `changed_before`, only those left unchanged since."""
    # The order of the index review_queue_order, so that the first drawings are read off it rather than the
    # backlog sorted at every keypress. true_label is empty here, yet it leads: PostgreSQL does not take
    # "IS NULL" for an equality that fixes the index's first column, and would sort.
    predictions = filters.apply(Prediction.objects.unreviewed())
    if changed_before is not None:
        # Newest first, the queue's head is drawings still being drawn: a label given to one is lost at its next
        # stroke. Few rows are that fresh, so the index scan steps over them.
        predictions = predictions.filter(updated_at__lt=changed_before)
    return predictions.order_by("true_label", "tier", "-created_at", "pk")


def why_here(prediction: Prediction) -> str:
    """The tier the queue orders a drawing by, in words. A "not a digit" answer is ordered with the doubtful,
    but "doubtful" beside "(99.9% sure)" said the opposite of the answer."""
    if prediction.tier == Prediction.Tier.DOUBTFUL and prediction.digit is None:
        return 'answered "not a digit"'
    return Prediction.Tier(prediction.tier).label


def owed_second_opinions(reviewer, filters: Filters = Filters()) -> PredictionQuerySet:
    """Labelled drawings picked for a second opinion that this reviewer did not label first."""
    pending = SecondOpinion.objects.filter(label__isnull=True).exclude(first_reviewer=reviewer)
    return filters.apply(Prediction.objects.reviewed().filter(second_opinion__in=pending)).order_by("-created_at", "pk")


def release_expired(now) -> None:
    ReviewLease.objects.filter(expires_at__lte=now).delete()


def lease_until(now):
    """When a lease given or renewed `now` runs out."""
    return now + timedelta(seconds=settings.REVIEW_LEASE_SECONDS)


def take(reviewer, filters: Filters = Filters(), exclude=(), resume=None, page: str = "",
         shown_by: str = "") -> Prediction | None:
    """Lease the next drawing for reviewer's `page`, or None when nothing is left; `exclude`: ids skipped this
    session; `resume`: the drawing the reviewer's page `shown_by` showed before it was reloaded (or this page
    before it was left and come back to), given back first (`resumed`)."""
    now = timezone.now()
    release_expired(now)
    if resume is not None:
        again = resumed(resume, reviewer, filters, now, page, shown_by)
        if again is not None:
            return again
    settled = unreviewed_in_order(filters, changed_before=now - timedelta(seconds=settings.REVIEW_SETTLE_SECONDS))
    for queue in (owed_second_opinions(reviewer, filters), settled):
        taken = set(exclude)
        # Each collision is a drawing another reviewer leased that instant: the next few past them are read,
        # a bounded number of times (ten at once were all taken, and the queue said nothing was left).
        for _ in range(LEASE_ROUNDS):
            batch = list(queue.filter(lease__isnull=True).exclude(pk__in=list(taken))
                         .select_related("model_version")[:LEASE_ATTEMPTS])
            if not batch:
                break
            for prediction in batch:
                if leased(prediction, reviewer, now, page):
                    return prediction
                taken.add(prediction.pk)
    return None


def resumed(prediction_id, reviewer, filters: Filters, now, page: str = "", shown_by: str = "") -> Prediction | None:
    """The drawing, leased to reviewer again, where it is still theirs to label: unlabelled (or their second
    opinion still owed), under the filters, and in no one else's hands, nor in another of their pages than
    the one that showed it (`shown_by`). A reloaded page's own lease, let go as the page left, may come in
    after the page asks again: it was given another drawing. A tab opened from a page that left, and that
    page come back (the browser's Back), both asked for it: both showed it, and both labelled it."""
    for queue in (owed_second_opinions(reviewer, filters), filters.apply(Prediction.objects.unreviewed())):
        prediction = queue.filter(pk=prediction_id).select_related("model_version").first()
        if prediction is None:
            continue
        with transaction.atomic():
            lease = ReviewLease.objects.select_for_update().filter(prediction=prediction).first()
            if held_by_another(lease, reviewer, now) or open_elsewhere(lease, now, page, shown_by):
                return None
            if lease is not None:
                lease.reviewer, lease.expires_at, lease.page = reviewer, lease_until(now), page
                lease.save(update_fields=["reviewer", "expires_at", "page"])
                return prediction
        return prediction if leased(prediction, reviewer, now, page) else None
    return None


def leased(prediction: Prediction, reviewer, now, page: str) -> bool:
    """Whether the drawing, leased to no one, is now leased to reviewer's `page`: False where another reviewer
    leased it that instant."""
    try:
        with transaction.atomic():
            ReviewLease.objects.create(prediction=prediction, reviewer=reviewer, expires_at=lease_until(now), page=page)
    except IntegrityError:
        return False
    return True


def hold(prediction: Prediction, reviewer, now, page: str) -> None:
    """Lease the drawing to reviewer's `page` from `now`, whoever held it, as locked_for locked it."""
    ReviewLease.objects.update_or_create(
        prediction=prediction, defaults={"reviewer": reviewer, "expires_at": lease_until(now), "page": page})


def labelled_by_another(prediction: Prediction, reviewer, second_opinion: bool) -> bool:
    """Whether another reviewer gave the drawing's label, where reviewer would give or keep its first (not the
    `second_opinion` owed on it)."""
    return not second_opinion and prediction.true_label is not None and prediction.reviewed_by_id != reviewer.pk


def held_by_another(lease: ReviewLease | None, reviewer, now) -> bool:
    """Whether the lease (None: there is none) keeps the drawing from `reviewer`: another's, still running."""
    return lease is not None and lease.reviewer_id != reviewer.pk and lease.expires_at > now


def open_elsewhere(lease: ReviewLease | None, now, page: str, *also: str) -> bool:
    """Whether the lease, still running, is held by another page of its reviewer than `page` (or `also`, the
    page that showed the drawing before a reload). A request naming no page (the admin's) is any page's."""
    return (lease is not None and bool(page) and lease.expires_at > now
            and lease.page not in ("", page, *also))


def locked_for(prediction_id, reviewer, now, page: str = "") -> Prediction:
    """The drawing, locked with its lease until the transaction ends, so that it can be neither
    deleted nor taken meanwhile; LeasedByAnother when another reviewer holds it, OpenInAnotherPage when
    another of this reviewer's pages does (a tab whose lease ran out while it was hidden, given back to
    it by a renewal, showed and labelled the drawing another tab had been given)."""
    # The drawing first, then its lease, as Prediction.discard() locks them: taken the other way
    # round, a label and the page's lease renewal deadlocked on PostgreSQL.
    prediction = Prediction.objects.select_for_update().get(pk=prediction_id)
    lease = ReviewLease.objects.select_for_update().filter(prediction_id=prediction_id).first()
    if held_by_another(lease, reviewer, now):
        raise LeasedByAnother(str(prediction_id))
    if open_elsewhere(lease, now, page):
        raise OpenInAnotherPage(str(prediction_id))
    return prediction


def renew(prediction_id, reviewer, second_opinion: bool = False, page: str = "") -> Prediction:
    """Keep the drawing while it is shown, as a second opinion or not, as `second_opinion` says, and
    return it as it is now; LeasedByAnother when someone else took it after it ran out, LabelledByAnother
    when someone else labelled it meanwhile (or gave the second opinion it was shown for),
    Prediction.DoesNotExist when its drawer deleted it."""
    now = timezone.now()
    with transaction.atomic():
        prediction = locked_for(prediction_id, reviewer, now, page)
        if second_opinion != is_second_opinion(prediction, reviewer) or \
                labelled_by_another(prediction, reviewer, second_opinion):
            raise LabelledByAnother(str(prediction_id))
        if not second_opinion and labelled_elsewhere(prediction, page):
            raise LabelledInAnotherPage(str(prediction_id))
        hold(prediction, reviewer, now, page)
    return prediction


def labelled_elsewhere(prediction: Prediction, page: str) -> bool:
    """Whether the drawing's first label was given since `page` showed it, elsewhere: a label lets the lease
    go, so a page holding none may not take back, or label over, a drawing it finds labelled (a tab whose
    lease ran out while hidden took back the drawing another tab had just labelled, and labelled it again;
    the first tab's undo was then refused). Its own undo gives a page the lease again. The admin (no page)
    is any page."""
    return (bool(page) and prediction.true_label is not None
            and not ReviewLease.objects.filter(prediction=prediction, page=page).exists())


def release(prediction_id, reviewer, page: str = "") -> None:
    """Let the drawing go, where reviewer's `page` holds it (another of their pages may have taken it since)."""
    ReviewLease.objects.filter(prediction_id=prediction_id, reviewer=reviewer, page=page).delete()


def is_second_opinion(prediction: Prediction, reviewer) -> bool:
    """Whether reviewer labels this drawing as its second reviewer (or undoes that label)."""
    opinion = getattr(prediction, "second_opinion", None)
    if opinion is None or prediction.true_label is None:
        return False
    return opinion.reviewer_id == reviewer.pk if opinion.label is not None else opinion.first_reviewer_id != reviewer.pk


def label_changed(prediction: Prediction, reviewer, label: int | None, first_time: bool) -> None:
    """Second opinions follow a drawing's label, however it was given (the queue, the admin): one
    not yet given is dropped, one given is kept against the new label, unless it is the new
    labeller's own (nobody checks her own label); a first label may draw a second opinion."""
    SecondOpinion.objects.filter(prediction=prediction, label__isnull=True).delete()
    if label is None:
        return
    SecondOpinion.objects.filter(prediction=prediction, reviewer=reviewer).delete()
    kept = SecondOpinion.objects.filter(prediction=prediction).update(first_reviewer=reviewer, first_label=label)
    if not kept and first_time and random.random() * 100 < settings.REVIEW_SECOND_OPINION_PERCENT:
        SecondOpinion.objects.create(prediction=prediction, first_reviewer=reviewer, first_label=label)


def check_label(label: int | None) -> None:
    """ValueError, saying why, unless `label` is one a reviewer gives (None: no label)."""
    if label is not None and label not in LABELS:
        raise ValueError(f"a label is 0 to 9, or {NOT_A_DIGIT} for not a digit; not {label!r}")


def save_label(prediction_id, reviewer, label: int | None, revision: int | None = None, page: str = "") -> Prediction:
    """Set (or, with None, undo) reviewer's label of a drawing, at once, with who and when.

    A first label may pick the drawing for a second opinion; an undone label gives the drawing back to
    the reviewer under a fresh lease. LeasedByAnother when another reviewer holds it; Prediction.Redrawn when a
    label is given for the drawing's `revision` the reviewer saw, and the drawer has changed it since; ValueError for
    a `revision` the drawing has not reached."""
    check_label(label)
    now = timezone.now()
    with transaction.atomic():
        prediction = locked_for(prediction_id, reviewer, now, page)
        if revision is not None and revision > prediction.revision:
            # No page was shown a version still to come: a request made up, refused without a word of a redrawing.
            raise ValueError(REVISION_UNSHOWN)
        if label is not None and revision is not None and revision != prediction.revision:
            raise Prediction.Redrawn(str(prediction_id))
        second_opinion = is_second_opinion(prediction, reviewer)
        if labelled_by_another(prediction, reviewer, second_opinion):
            raise LabelledByAnother(str(prediction_id))
        if label is not None and not second_opinion and labelled_elsewhere(prediction, page):
            raise LabelledInAnotherPage(str(prediction_id))
        write_label(prediction, reviewer, label, now, second_opinion)
        if label is None:
            hold(prediction, reviewer, now, page)
    return prediction


def write_label(prediction: Prediction, reviewer, label: int | None, now, second_opinion: bool = False) -> None:
    """Write reviewer's label (None: take it back) as the drawing's label, with who and when, or as the
    `second_opinion` owed on it, into the drawing as locked_for locked it and its caller checked it. A label
    lets the drawing's lease go: the reviewer's own queue page, still showing it, moves on instead of
    labelling over it unseen (labelled_elsewhere)."""
    if second_opinion:
        SecondOpinion.objects.filter(prediction=prediction).update(
            label=label, reviewer=reviewer if label is not None else None,
            reviewed_at=now if label is not None else None)
    else:
        first_time = prediction.true_label is None
        prediction.true_label = label
        prediction.reviewed_by = reviewer if label is not None else None
        prediction.reviewed_at = now if label is not None else None
        prediction.save(update_fields=["true_label", "reviewed_by", "reviewed_at"])
        label_changed(prediction, reviewer, label, first_time)
    if label is not None:
        ReviewLease.objects.filter(prediction=prediction).delete()


def progress(reviewer, filters: Filters = Filters()) -> dict:
    """How many drawings (under the filters) are labelled, and how many this reviewer still has to see."""
    predictions = filters.apply(Prediction.objects.all())
    # All less the labelled, rather than the unlabelled counted: SQLite counts a whole table off its index
    # pages without reading an entry, and the labelled are few, where the unlabelled are the whole backlog.
    total = predictions.count()
    done = predictions.reviewed().count()
    return {"done": done, "remaining": total - done + owed_second_opinions(reviewer, filters).count()}
