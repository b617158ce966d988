from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from . import canvases


@login_required
def page(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/page.html", {"canvases": canvases.titles(request.user.pk)})


@login_required
@require_POST
def start(request: HttpRequest, canvas: str) -> HttpResponse:
    """Start a canvas or the django.tasks task: the page's script asks for JSON and stays; a plain form post
    goes back to the page."""
    try:
        canvases.start(canvas, request.user.pk)
    except KeyError:
        raise Http404(f"No demo canvas or task {canvas!r}") from None
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"started": canvas}, status=202)
    return redirect("demo")
