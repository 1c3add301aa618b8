from django.urls import path

from leaderboard.consumers import BoardConsumer

websocket_urlpatterns = [
    path("ws/boards/<str:board>/", BoardConsumer.as_asgi()),
]
