from __future__ import annotations

from django.urls import path

from .conf import conf
from .consumers import TaskStatusConsumer

websocket_urlpatterns = [
    path(conf.WEBSOCKET_PATH.lstrip("/"), TaskStatusConsumer.as_asgi()),  # type: ignore[arg-type]
]
