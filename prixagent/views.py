"""The public landing page, and the language switch shared by every surface."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import check_for_language
from django.views.i18n import set_language

from accounts import services


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html")


def language_set(request: HttpRequest) -> HttpResponse:
    """Django's set_language (cookie + redirect), and for a logged-in user also `user.language`,
    so the choice follows them to the next login on another device."""
    response = set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and check_for_language(language):
        if request.user.language != language:
            services.member_update(actor=request.user, member=request.user, changes={"language": language})
    return response
