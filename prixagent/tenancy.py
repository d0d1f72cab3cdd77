"""Tenant scoping for the API and the dashboard. Every tenant-owned query goes through here.

The account always comes from the authenticated user, never from the request body or URL.
An object of another account is simply not in the queryset, so it answers 404 exactly like
an id that does not exist: the API is no oracle for other tenants' ids.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework import permissions, viewsets
from rest_framework.request import Request
from rest_framework.views import APIView

from accounts.models import Account


class IsTenantUser(permissions.BasePermission):
    """Authenticated and belonging to an account (platform staff use the admin instead)."""

    message = _("This endpoint is for users of a client account.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and getattr(user, "account_id", None))


def inactive_account_message(account: Account) -> str:
    return _("This account is %(status)s: %(reason)s") % {
        "status": account.get_status_display().lower(),
        "reason": account.status_reason or _("contact support."),
    }


class AccountIsActive(permissions.BasePermission):
    """A suspended or cancelled account can read who it is and why, and nothing else."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        account = request.user.account
        if account.is_active or getattr(view, "allow_inactive_account", False):
            return True
        self.code = "account_inactive"
        self.message = inactive_account_message(account)
        return False


class CanManageOrReadOnly(permissions.BasePermission):
    """Members read; owners and admins also write."""

    message = _("Only the account's owners and admins can change this.")

    def has_permission(self, request: Request, view: APIView) -> bool:
        return request.method in permissions.SAFE_METHODS or request.user.can_manage


TENANT_PERMISSIONS = [permissions.IsAuthenticated, IsTenantUser, AccountIsActive, CanManageOrReadOnly]


class TenantScopedMixin:
    """Base of every tenant API view: scoping, permissions and account on create.

    Subclasses set `queryset` (or `model`) and must not override `get_queryset`; narrow
    the queryset with `filter_tenant_queryset` instead, so scoping cannot be forgotten.
    """

    permission_classes = TENANT_PERMISSIONS
    tenant_field = "account"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "get_queryset" in cls.__dict__:
            raise TypeError(f"{cls.__name__} must not override get_queryset; use filter_tenant_queryset")

    @property
    def account(self) -> Account:
        return self.request.user.account  # type: ignore[attr-defined]

    def get_queryset(self) -> QuerySet[Any]:
        queryset = self.queryset.all()  # type: ignore[attr-defined]
        scoped = queryset.filter(**{self.tenant_field: self.account})
        return self.filter_tenant_queryset(scoped)

    def filter_tenant_queryset(self, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset

    def perform_create(self, serializer: Any) -> None:
        serializer.save(**{self.tenant_field: self.account})

    def get_serializer_context(self) -> dict[str, Any]:
        context = super().get_serializer_context()  # type: ignore[misc]
        if getattr(self.request, "user", None) and self.request.user.is_authenticated:  # type: ignore[attr-defined]
            context["account"] = getattr(self.request.user, "account", None)  # type: ignore[attr-defined]
        return context


class TenantModelViewSet(TenantScopedMixin, viewsets.ModelViewSet):
    pass


class TenantReadOnlyViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    pass


def get_for_account(request: HttpRequest, queryset: QuerySet[Any], **lookup: Any) -> Model:
    """Dashboard helper: one object of the request's account, or 404."""
    account_id = getattr(request.user, "account_id", None)
    if account_id is None:
        raise Http404
    try:
        return queryset.get(account_id=account_id, **lookup)
    except (queryset.model.DoesNotExist, ValueError):
        raise Http404 from None
