"""REST endpoints for auth, the caller (`me/`), their account and its users."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from accounts import members, services
from accounts.models import AuditEvent, Invitation, User
from accounts.serializers import (
    AccountSerializer,
    AuditEventSerializer,
    DetailSerializer,
    InvitationCreateSerializer,
    InvitationSerializer,
    LogoutSerializer,
    MeSerializer,
    RegisterSerializer,
    UserSerializer,
)
from prixagent.tenancy import TENANT_PERMISSIONS, TenantScopedMixin
from prixagent.throttling import LoginAttemptThrottle, PlatformRateThrottle, SignupAttemptThrottle

SIGNUP_ACCEPTED = _(
    "Check your inbox: we sent a link to confirm this address (or, if it already has a PrixAgent "
    "login, a reminder of how to log in)."
)


class RegisterView(generics.GenericAPIView):
    """Sign up a business. The answer is the same whether or not the email already has a
    login (no oracle): a new address gets its account and a confirmation link, a known one a
    reminder. Then log in with `auth/token/`; providers can be connected once the email is
    confirmed."""

    serializer_class = RegisterSerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [PlatformRateThrottle, SignupAttemptThrottle]

    @extend_schema(responses={202: DetailSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.account_signup(**serializer.validated_data)
        return Response({"detail": str(SIGNUP_ACCEPTED)}, status=status.HTTP_202_ACCEPTED)


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange email + password for an access and a refresh token."""

    throttle_classes = [PlatformRateThrottle, LoginAttemptThrottle]


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""


class LogoutView(generics.GenericAPIView):
    """Revoke a refresh token. Access tokens expire on their own (JWT_EXPIRES_IN); to end
    them too, use `me/logout-everywhere/`."""

    serializer_class = LogoutSerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    def get_authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="api"'  # a bad token is a 401 (DRF answers 403 without this header)

    @extend_schema(responses={205: None})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(status=status.HTTP_205_RESET_CONTENT)


class MeView(generics.RetrieveUpdateAPIView):
    """The caller. Readable even when the account is suspended, so the user sees why."""

    serializer_class = MeSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self) -> User:
        return self.request.user  # type: ignore[return-value]


class LogoutEverywhereView(APIView):
    """End every session of the caller: all refresh tokens are revoked, and access tokens and
    dashboard sessions issued before now stop working."""

    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(request=None, responses={205: None})
    def post(self, request: Request) -> Response:
        services.user_logout_everywhere(user=request.user, request=request)
        return Response(status=status.HTTP_205_RESET_CONTENT)


class AccountView(TenantScopedMixin, generics.RetrieveUpdateAPIView):
    """The caller's own account. Owners and admins may edit it. A new `email` takes effect
    once the link sent to it is followed (`pending_email` until then)."""

    serializer_class = AccountSerializer
    permission_classes = TENANT_PERMISSIONS
    http_method_names = ["get", "patch", "head", "options"]

    @property
    def allow_inactive_account(self) -> bool:
        return self.request.method in permissions.SAFE_METHODS

    def get_object(self) -> Any:
        return self.account

    def perform_update(self, serializer: AccountSerializer) -> None:
        services.account_update(
            account=serializer.instance,
            actor=self.request.user,
            changes=serializer.validated_data,
            request=self.request,
        )


class AccountUserViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The account's users. Owners and admins invite (POST answers with the invitation: the
    invitee chooses their own password), change roles and remove; only owners touch owners."""

    # The account is the caller's own: no need to join its ~40 columns into every user row.
    queryset = User.objects.select_related(None)
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=InvitationCreateSerializer, responses={201: InvitationSerializer})
    def create(self, request: Request) -> Response:
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        invitation = members.invitation_create(
            account=self.account, actor=request.user, request=request, **serializer.validated_data
        )
        return Response(InvitationSerializer(invitation).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: UserSerializer) -> None:
        members.member_update(
            actor=self.request.user, member=serializer.instance, changes=serializer.validated_data, request=self.request
        )

    def perform_destroy(self, instance: User) -> None:
        members.member_remove(actor=self.request.user, member=instance, request=self.request)


class InvitationViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The account's invitations (newest first). DELETE revokes a pending one."""

    queryset = Invitation.objects.select_related("invited_by")
    serializer_class = InvitationSerializer

    def perform_destroy(self, instance: Invitation) -> None:
        members.invitation_revoke(actor=self.request.user, invitation=instance, request=self.request)


class AuditEventViewSet(TenantScopedMixin, viewsets.ReadOnlyModelViewSet):
    """The account's audit trail: members, roles, the account and its integrations."""

    queryset = AuditEvent.objects.all()
    serializer_class = AuditEventSerializer


class PublicConfigView(APIView):
    """What a mobile app needs before it logs in: where the API and the realtime server are."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

    @extend_schema(
        responses=inline_serializer(
            "PublicConfig",
            {
                "api_url": serializers.URLField(),
                "ws_url": serializers.CharField(),
                "languages": serializers.ListField(),
            },
        )
    )
    def get(self, request: Request) -> Response:
        return Response(
            {
                "api_url": settings.API_URL,
                "ws_url": settings.WS_URL,
                "languages": [code for code, _ in settings.LANGUAGES],
            }
        )
