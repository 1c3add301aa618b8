from django.urls import path

from evaluation.consumers import EvaluationConsumer

websocket_urlpatterns = [
    path("ws/evaluations/<uuid:run_id>/", EvaluationConsumer.as_asgi()),
]
