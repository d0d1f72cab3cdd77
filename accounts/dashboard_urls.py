"""`/app/`: the client dashboard (session auth)."""

from django.contrib.auth import views as auth_views
from django.urls import include, path, reverse_lazy

from accounts import views
from campaigns import views as campaign_views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("signup/sent/", views.signup_done, name="signup_done"),
    path("email/confirm/<str:token>/", views.email_confirm, name="email_confirm"),
    path("account/email/resend/", views.email_verification_resend, name="email_verification_resend"),
    path("logout/everywhere/", views.logout_everywhere, name="logout_everywhere"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/<uuid:pk>/role/", views.member_role, name="member_role"),
    path("team/<uuid:pk>/remove/", views.member_remove, name="member_remove"),
    path("team/invitations/<uuid:pk>/revoke/", views.invitation_revoke, name="invitation_revoke"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("activity/", views.activity, name="activity"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
    path("integrations/", include("integrations.dashboard_urls")),
    path("contacts/", include("contacts.dashboard_urls")),
    path("agents/", include("agents.dashboard_urls")),
    path("billing/", include("billing.dashboard_urls")),
    path("calls/", include("calls.dashboard_urls")),
    path("campaigns/", include("campaigns.dashboard_urls")),
    path("overview/", campaign_views.overview, name="overview"),
    path(
        "password/change/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change_form.html",
            success_url=reverse_lazy("dashboard:password_change_done"),
        ),
        name="password_change",
    ),
    path(
        "password/change/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password_change_done",
    ),
    path("password/reset/", views.password_reset, name="password_reset"),
    path(
        "password/reset/sent/",
        auth_views.PasswordResetDoneView.as_view(template_name="accounts/password_reset_done.html"),
        name="password_reset_done",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="accounts/password_reset_confirm.html",
            success_url=reverse_lazy("dashboard:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(template_name="accounts/password_reset_complete.html"),
        name="password_reset_complete",
    ),
]
