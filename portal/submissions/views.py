"""The submission pages: the form, the submitter's list, one submission (live), and the public queue."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import ServiceError, TooManyRequests
from core.ratelimits import request_rate_limit_check
from leaderboard.boards.model.description import description_html
from portal.submissions import selectors, services
from portal.submissions.forms import SubmissionForm


@login_required
def submission_new_page(request: HttpRequest) -> HttpResponse:
    form = SubmissionForm(request.POST or None)
    status = 200
    retry_after_s: int | None = None
    if request.method == "POST":
        if form.is_valid():
            try:
                request_rate_limit_check(
                    request=request, scope="submission", client=f"user:{request.user.pk}"
                )
                submission = services.submission_create(user=request.user, data=form.submission_data())
            except ServiceError as error:
                form.add_error(None, error.message)
                status = error.status_code
                if isinstance(error, TooManyRequests):
                    retry_after_s = error.retry_after_s
            else:
                return HttpResponseRedirect(reverse("submission", args=[submission.pk]))
        else:
            status = 400
    response = render(request, "portal/submission_new.html", {"form": form}, status=status)
    if retry_after_s is not None:
        response["Retry-After"] = str(retry_after_s)
    return response


@login_required
def submissions_page(request: HttpRequest) -> HttpResponse:
    submissions = selectors.submissions_visible(user=request.user)[:200]
    return render(request, "portal/submissions.html", {"submissions": submissions})


@login_required
def submission_page(request: HttpRequest, submission_id: str) -> HttpResponse:
    try:
        submission = selectors.submission_get(user=request.user, submission_id=submission_id)
    except ServiceError:
        raise Http404 from None
    context = {
        "submission": submission,
        "events": submission.events.select_related("actor"),
        "card": description_html(text=submission.description),
        "is_owner": submission.submitter_id == request.user.pk,
        "error": request.GET.get("error", ""),
    }
    template = (
        "portal/submission_live.html" if request.GET.get("part") == "live" else "portal/submission.html"
    )
    return render(request, template, context)


@login_required
@require_POST
def submission_action(request: HttpRequest, submission_id: str, action: str) -> HttpResponse:
    """A button on the submission's page; a refusal comes back to the page as its sentence."""
    url = reverse("submission", args=[submission_id])
    if action not in services.ACTIONS:
        raise Http404
    try:
        services.submission_act(
            user=request.user,
            submission_id=submission_id,
            action=action,
            reason=request.POST.get("reason", ""),
        )
    except ServiceError as error:
        return render(
            request,
            "portal/submission_refused.html",
            {"detail": error.message, "back": url},
            status=error.status_code,
        )
    return HttpResponseRedirect(url)


def submissions_queue_page(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/queue.html", {"groups": selectors.queue_groups()})
