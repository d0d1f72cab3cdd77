"""Client dashboard pages. Thin: forms validate, services act."""

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from accounts import services
from prixagent.errors import ApplicationError


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/home.html")


@login_required
def account(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/account.html")


def signup(request: HttpRequest) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        try:
            _account, user = services.account_signup(
                account_name=request.POST.get("account_name", ""),
                email=request.POST.get("email", ""),
                password=request.POST.get("password", ""),
            )
        except ApplicationError as exc:
            errors = exc.fields
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("dashboard:home")
    return render(request, "dashboard/signup.html", {"errors": errors})
