"""The moderation console's pages; each action reads its form, calls one service and goes back.

Anonymous visitors are sent to sign in; signed-in users without the moderators' permission get a 403
on every page and action (moderation.selectors.moderator_can_act).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import wraps
from typing import Any, Concatenate, ParamSpec

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from core.errors import ServiceError
from moderation import selectors, services
from moderation.forms import (
    AuditFilterForm,
    BanForm,
    BulkInvalidateForm,
    ModelStatusForm,
    ReasonForm,
    ResolveForm,
)

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]


def moderator_required(view: View[P]) -> View[P]:
    @wraps(view)
    def guarded(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not selectors.moderator_can_act(user=request.user):
            return render(request, "moderation/forbidden.html", status=403)
        return view(request, *args, **kwargs)

    return guarded


def _refused(request: HttpRequest, *, detail: str, status: int, back: str) -> HttpResponse:
    return render(request, "moderation/refused.html", {"detail": detail, "back": back}, status=status)


def _done(request: HttpRequest, *, message: str, back: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseRedirect(back)


def _act(request: HttpRequest, *, back: str, done: str, call: Callable[[], object]) -> HttpResponse:
    try:
        call()
    except ServiceError as error:
        return _refused(request, detail=error.message, status=error.status_code, back=back)
    return _done(request, message=done, back=back)


def _form_refused(request: HttpRequest, *, form: Any, back: str) -> HttpResponse:
    sentences = [str(error) for errors in form.errors.values() for error in errors]
    return _refused(request, detail=" ".join(sentences), status=400, back=back)


# ---------------------------------------------------------------- queues


@moderator_required
@require_GET
def overview_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "moderation/overview.html",
        {
            "counts": selectors.queue_counts(),
            "recent": selectors.audit_entries(filters=selectors.AuditFilter())[:10],
        },
    )


@moderator_required
@require_GET
def flagged_page(request: HttpRequest) -> HttpResponse:
    battles = selectors.flagged_battles()[: selectors.QUEUE_LIMIT]
    return render(request, "moderation/flagged.html", {"battles": battles, "queue": "flagged"})


@moderator_required
@require_GET
def reports_page(request: HttpRequest) -> HttpResponse:
    reports = selectors.reports_open()[: selectors.QUEUE_LIMIT]
    return render(request, "moderation/reports.html", {"reports": reports, "queue": "reports"})


@moderator_required
@require_GET
def submissions_page(request: HttpRequest) -> HttpResponse:
    waiting = selectors.submissions_waiting()[: selectors.QUEUE_LIMIT]
    return render(
        request,
        "moderation/submissions.html",
        {"submissions": waiting, "form": ReasonForm(), "queue": "submissions"},
    )


@moderator_required
@require_GET
def voters_page(request: HttpRequest) -> HttpResponse:
    voters = selectors.voters_suspicious()[: selectors.QUEUE_LIMIT]
    return render(request, "moderation/voters.html", {"voters": voters, "queue": "voters"})


@moderator_required
@require_GET
def models_page(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "moderation/models.html",
        {"models": selectors.models_listed(), "form": ModelStatusForm(), "queue": "models"},
    )


# ---------------------------------------------------------------- a battle


@moderator_required
@require_GET
def battle_page(request: HttpRequest, battle_id: uuid.UUID) -> HttpResponse:
    try:
        review = selectors.battle_review(battle_id=battle_id)
    except ServiceError as error:
        raise Http404(error.message) from None
    return render(
        request,
        "moderation/battle.html",
        {"review": review, "battle": review.battle, "form": ReasonForm(), "resolve_form": ResolveForm()},
    )


def _with_reason(
    request: HttpRequest, *, back: str, done: str, call: Callable[[str], object]
) -> HttpResponse:
    """An action that needs only a reason: the form refused as it stands, or `call(reason)` done."""
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    reason = form.cleaned_data["reason"]
    return _act(request, back=back, done=done, call=lambda: call(reason))


def _back_within(request: HttpRequest, *, default: str) -> str:
    """Where the form asks to go back to, if it is a console page (never elsewhere: no open redirect)."""
    back = request.POST.get("back") or ""
    return back if back.startswith("/moderation/") else reverse(default)


BATTLE_ACTIONS: dict[str, tuple[Callable[..., object], str]] = {
    "hide": (services.battle_hide, "The battle is hidden from exports and its link."),
    "unhide": (services.battle_unhide, "The battle is shown again."),
    "block": (services.battle_prompt_block, "The prompt is blocked; its vote is not counted."),
    "review-flags": (services.battle_flags_review, "The flags are reviewed; the battle left the queue."),
    "erase": (services.battle_erase, "The battle's prompts and images are erased."),
    "ban-images": (services.battle_images_ban, "Its images are banned: copies are refused on upload."),
}


@moderator_required
@require_POST
def battle_action(request: HttpRequest, battle_id: uuid.UUID, action: str) -> HttpResponse:
    back = reverse("moderation:battle", args=[battle_id])
    if action not in BATTLE_ACTIONS:
        raise Http404("No such action.")
    service, done = BATTLE_ACTIONS[action]
    return _with_reason(
        request,
        back=back,
        done=done,
        call=lambda reason: service(actor=request.user, battle_id=battle_id, reason=reason),
    )


@moderator_required
@require_POST
def vote_invalidate_action(request: HttpRequest, vote_id: int) -> HttpResponse:
    back = _back_within(request, default="moderation:overview")
    return _with_reason(
        request,
        back=back,
        done="The vote is invalidated: the counts and the online Elo no longer include it.",
        call=lambda reason: services.vote_invalidate(actor=request.user, vote_id=vote_id, reason=reason),
    )


@moderator_required
@require_POST
def report_resolve_action(request: HttpRequest, report_id: int) -> HttpResponse:
    back = _back_within(request, default="moderation:reports")
    form = ResolveForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    resolution = form.cleaned_data["resolution"]
    return _act(
        request,
        back=back,
        done="The report is resolved.",
        call=lambda: services.report_resolve(actor=request.user, report_id=report_id, resolution=resolution),
    )


# ---------------------------------------------------------------- a voter or an address


def _subject_checked(kind: str, value: str) -> None:
    if kind not in selectors.SUBJECT_KINDS or not value or len(value) > 64:
        raise Http404("No such voter or address.")


@moderator_required
@require_GET
def subject_page(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    _subject_checked(kind, value)
    return render(
        request,
        "moderation/subject.html",
        {
            "review": selectors.voter_review(kind=kind, value=value),
            "invalidate_form": BulkInvalidateForm(),
            "ban_form": BanForm(),
            "form": ReasonForm(),
        },
    )


def subject_invalidate_action(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    """The first post shows how many votes it would take out; the confirmed one takes them out."""
    _subject_checked(kind, value)
    back = reverse("moderation:subject", args=[kind, value])
    form = BulkInvalidateForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    data = form.cleaned_data
    if not data["confirmed"]:
        try:
            count = services.votes_matching_count(
                kind=kind, value=value, since=data["since"], until=data["until"]
            )
        except ServiceError as error:
            return _refused(request, detail=error.message, status=error.status_code, back=back)
        confirm = BulkInvalidateForm(initial={**data, "confirmed": True})
        return render(
            request,
            "moderation/confirm.html",
            {
                "title": "Invalidate these votes?",
                "summary": f"This takes {count} counted vote{'s' if count != 1 else ''} out of the counts "
                "and the online Elo. The votes stay stored, with the reason.",
                "count": count,
                "form": confirm,
                "hidden": data,
                "action": reverse("moderation:subject-action", args=[kind, value, "invalidate"]),
                "back": back,
                "button": f"Invalidate {count} vote{'s' if count != 1 else ''}",
            },
        )

    def invalidate() -> object:
        entry = services.votes_invalidate(
            actor=request.user,
            kind=kind,
            value=value,
            since=data["since"],
            until=data["until"],
            reason=data["reason"],
        )
        messages.success(request, f"{entry.changes.get('votes_invalidated', 0)} votes invalidated.")
        return entry

    try:
        invalidate()
    except ServiceError as error:
        return _refused(request, detail=error.message, status=error.status_code, back=back)
    return HttpResponseRedirect(back)


def subject_ban_action(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    _subject_checked(kind, value)
    back = reverse("moderation:subject", args=[kind, value])
    form = BanForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    data = form.cleaned_data
    if not data["confirmed"]:
        review = selectors.voter_review(kind=kind, value=value)
        until = (
            f"until {timezone.localtime(data['expires_at']):%d %b %Y, %H:%M}"
            if data["expires_at"]
            else "until lifted"
        )
        return render(
            request,
            "moderation/confirm.html",
            {
                "title": f"Ban this {'voter' if kind == 'voter' else 'address'}?",
                "summary": f"From now {until}, their new votes are stored but not counted. Their "
                f"{review.total} stored votes ({review.counted} counted) stay as they are; invalidate "
                "them separately if they should go too.",
                "count": review.counted,
                "form": BanForm(initial={**data, "confirmed": True}),
                "action": reverse("moderation:subject-action", args=[kind, value, "ban"]),
                "back": back,
                "button": "Ban",
            },
        )
    return _act(
        request,
        back=back,
        done="Banned.",
        call=lambda: services.ban_create(
            actor=request.user, kind=kind, value=value, reason=data["reason"], expires_at=data["expires_at"]
        ),
    )


def subject_review_action(request: HttpRequest, kind: str, value: str) -> HttpResponse:
    _subject_checked(kind, value)
    back = reverse("moderation:subject", args=[kind, value])
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    if kind != "voter":
        return _refused(request, detail="Only voters are flagged; an address is not.", status=400, back=back)
    reason = form.cleaned_data["reason"]
    return _act(
        request,
        back=back,
        done="The voter left the suspicious voters' queue.",
        call=lambda: services.flagged_voter_review(actor=request.user, voter_id=value, reason=reason),
    )


SUBJECT_ACTIONS: dict[str, Callable[[HttpRequest, str, str], HttpResponse]] = {
    "invalidate": subject_invalidate_action,
    "ban": subject_ban_action,
    "review": subject_review_action,
}


@moderator_required
@require_POST
def subject_action(request: HttpRequest, kind: str, value: str, action: str) -> HttpResponse:
    view = SUBJECT_ACTIONS.get(action)
    if view is None:
        raise Http404("No such action.")
    return view(request, kind, value)


@moderator_required
@require_POST
def ban_lift_action(request: HttpRequest, ban_id: int) -> HttpResponse:
    back = _back_within(request, default="moderation:overview")
    return _with_reason(
        request,
        back=back,
        done="The ban is lifted.",
        call=lambda reason: services.ban_lift(actor=request.user, ban_id=ban_id, reason=reason),
    )


# ---------------------------------------------------------------- models and submissions


@moderator_required
@require_POST
def model_status_action(request: HttpRequest, slug: str) -> HttpResponse:
    back = reverse("moderation:models")
    form = ModelStatusForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    data = form.cleaned_data
    return _act(
        request,
        back=back,
        done=f"{slug} is now {data['status']}.",
        call=lambda: services.model_status_set(
            actor=request.user, slug=slug, status=data["status"], reason=data["reason"]
        ),
    )


SUBMISSION_ACTIONS: dict[str, tuple[Callable[..., object], str]] = {
    "approve": (services.submission_approve, "Approved: the submission's evaluation starts."),
    "reject": (services.submission_reject, "Rejected; the submitter reads the reason."),
}


@moderator_required
@require_POST
def submission_action(request: HttpRequest, submission_id: uuid.UUID, action: str) -> HttpResponse:
    back = reverse("moderation:submissions")
    if action not in SUBMISSION_ACTIONS:
        raise Http404("No such action.")
    form = ReasonForm(request.POST)
    if not form.is_valid():
        return _form_refused(request, form=form, back=back)
    service, done = SUBMISSION_ACTIONS[action]
    reason = form.cleaned_data["reason"]
    return _act(
        request,
        back=back,
        done=done,
        call=lambda: service(actor=request.user, submission_id=submission_id, reason=reason),
    )


# ---------------------------------------------------------------- the audit log


def _audit_filter_form(request: HttpRequest) -> AuditFilterForm:
    return AuditFilterForm(request.GET or None, actions=selectors.audit_actions())


@moderator_required
@require_GET
def audit_page(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    filters = form.filters() if request.GET else selectors.AuditFilter()
    page = Paginator(selectors.audit_entries(filters=filters), selectors.AUDIT_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "moderation/audit.html",
        {"form": form, "page_obj": page, "query": query.urlencode(), "queue": "audit"},
    )


@moderator_required
@require_GET
def audit_csv(request: HttpRequest) -> HttpResponse:
    form = _audit_filter_form(request)
    filters = form.filters() if request.GET else selectors.AuditFilter()
    # Whole, not streamed: an async server would run a streamed query outside the request's thread.
    response = HttpResponse("".join(selectors.audit_csv_lines(filters=filters)), content_type="text/csv")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="moderation-audit-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
