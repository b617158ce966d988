"""The benchmarks' ASGI application, wired as the README tells users to wire theirs."""

from __future__ import annotations

import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
django_application = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

import realtime_tasks  # noqa: E402
from realtime_tasks.routing import websocket_urlpatterns  # noqa: E402

# Which package this daphne serves (the old contender's copy or the repository's), for its log.
print(f"realtime_tasks from {realtime_tasks.__file__}", file=sys.stderr, flush=True)

application = ProtocolTypeRouter(
    {
        "http": django_application,
        "websocket": AllowedHostsOriginValidator(AuthMiddlewareStack(URLRouter(websocket_urlpatterns))),
    }
)
