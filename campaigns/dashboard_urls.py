"""`/app/campaigns/` (included from accounts.dashboard_urls, "dashboard" namespace)."""

from __future__ import annotations

from django.urls import path

from campaigns import views

urlpatterns = [
    path("", views.campaign_list, name="campaigns"),
    path("new/", views.campaign_new, name="campaign_new"),
    path("<uuid:campaign_id>/", views.campaign_detail, name="campaign"),
    path("<uuid:campaign_id>/edit/", views.campaign_edit, name="campaign_edit"),
    path("<uuid:campaign_id>/start/", views.campaign_control, {"verb": "start"}, name="campaign_start"),
    path("<uuid:campaign_id>/pause/", views.campaign_control, {"verb": "pause"}, name="campaign_pause"),
    path("<uuid:campaign_id>/resume/", views.campaign_control, {"verb": "resume"}, name="campaign_resume"),
    path("<uuid:campaign_id>/cancel/", views.campaign_control, {"verb": "cancel"}, name="campaign_cancel"),
    path("<uuid:campaign_id>/delete/", views.campaign_delete, name="campaign_delete"),
]
