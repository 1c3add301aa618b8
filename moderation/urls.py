"""The moderation console, under /moderation/ (README "Moderation"); every URL is for moderators only."""

from django.urls import path

from moderation import views

app_name = "moderation"

urlpatterns = [
    path("", views.overview_page, name="overview"),
    path("flagged/", views.flagged_page, name="flagged"),
    path("reports/", views.reports_page, name="reports"),
    path("reports/<int:report_id>/resolve/", views.report_resolve_action, name="report-resolve"),
    path("submissions/", views.submissions_page, name="submissions"),
    path("submissions/<uuid:submission_id>/<str:action>/", views.submission_action, name="submission-action"),
    path("voters/", views.voters_page, name="voters"),
    path("voters/<str:kind>/<str:value>/", views.subject_page, name="subject"),
    path("voters/<str:kind>/<str:value>/<str:action>/", views.subject_action, name="subject-action"),
    path("bans/<int:ban_id>/lift/", views.ban_lift_action, name="ban-lift"),
    path("battles/<uuid:battle_id>/", views.battle_page, name="battle"),
    path("battles/<uuid:battle_id>/<str:action>/", views.battle_action, name="battle-action"),
    path("votes/<int:vote_id>/invalidate/", views.vote_invalidate_action, name="vote-invalidate"),
    path("models/", views.models_page, name="models"),
    path("models/<slug:slug>/status/", views.model_status_action, name="model-status"),
    path("audit/", views.audit_page, name="audit"),
    path("audit.csv", views.audit_csv, name="audit-csv"),
]
