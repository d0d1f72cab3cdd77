"""`/app/`: the client dashboard (session auth)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

app_name = "dashboard"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(template_name="dashboard/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("account/", views.account, name="account"),
]
