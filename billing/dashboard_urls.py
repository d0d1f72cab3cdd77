"""`/app/billing/` (included by accounts.dashboard_urls in the "dashboard" namespace)."""

from django.urls import path

from billing import views

urlpatterns = [
    path("", views.billing, name="billing"),
    path("subscribe/", views.billing_subscribe, name="billing_subscribe"),
    path("return/", views.billing_return, name="billing_return"),
    path("cancel/", views.billing_cancel, name="billing_cancel"),
    path("pay/", views.billing_pay, name="billing_pay"),
]
