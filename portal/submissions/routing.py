from django.urls import path

from portal.submissions.consumers import SubmissionConsumer

websocket_urlpatterns = [
    path("ws/submissions/<uuid:submission_id>/", SubmissionConsumer.as_asgi()),
]
