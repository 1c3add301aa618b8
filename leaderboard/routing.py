from django.urls import path

from leaderboard.live import BoardConsumer

websocket_urlpatterns = [
    path("ws/boards/<str:board>/", BoardConsumer.as_asgi()),
]
