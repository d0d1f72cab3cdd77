"""REST endpoints for auth, the caller (`me/`), their account and its users."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt import views as jwt_views

from accounts import services
from accounts.models import User
from accounts.serializers import (
    AccountSerializer,
    LogoutSerializer,
    MemberCreateSerializer,
    MeSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    UserSerializer,
)
from accounts.tokens import RefreshToken
from prixagent.tenancy import TENANT_PERMISSIONS, TenantScopedMixin
from prixagent.throttling import LoginAttemptThrottle, PlatformRateThrottle, SignupAttemptThrottle


def token_pair(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class RegisterView(generics.GenericAPIView):
    """Sign up a business: creates the account, its owner, and returns tokens."""

    serializer_class = RegisterSerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []
    throttle_classes = [PlatformRateThrottle, SignupAttemptThrottle]

    @extend_schema(responses={201: RegisterResponseSerializer})
    def post(self, request: Request) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.save()
        body = {
            "user": UserSerializer(user).data,
            "account": AccountSerializer(user.account).data,
            **token_pair(user),
        }
        return Response(body, status=status.HTTP_201_CREATED)


class TokenObtainView(jwt_views.TokenObtainPairView):
    """Exchange email + password for an access and a refresh token."""

    throttle_classes = [PlatformRateThrottle, LoginAttemptThrottle]


class TokenRefreshView(jwt_views.TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token stops working."""


class LogoutView(generics.GenericAPIView):
    """Revoke a refresh token. Access tokens expire on their own (JWT_EXPIRES_IN)."""

    serializer_class = LogoutSerializer
    permission_classes = [permissions.AllowAny]
    authentication_classes: list[Any] = []

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


class AccountView(TenantScopedMixin, generics.RetrieveUpdateAPIView):
    """The caller's own account. Owners and admins may edit it."""

    serializer_class = AccountSerializer
    permission_classes = TENANT_PERMISSIONS
    http_method_names = ["get", "patch", "head", "options"]

    @property
    def allow_inactive_account(self) -> bool:
        return self.request.method in permissions.SAFE_METHODS

    def get_object(self) -> Any:
        return self.account


class AccountUserViewSet(
    TenantScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The account's users. Owners and admins add members and change roles."""

    queryset = User.objects.all()
    serializer_class = UserSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    @extend_schema(request=MemberCreateSerializer, responses={201: UserSerializer})
    def create(self, request: Request) -> Response:
        serializer = MemberCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = services.member_create(account=self.account, **serializer.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: UserSerializer) -> None:
        services.member_update(actor=self.request.user, member=serializer.instance, changes=serializer.validated_data)

    def perform_destroy(self, instance: User) -> None:
        services.member_remove(actor=self.request.user, member=instance)


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
