"""`/app/agents/` (included from accounts.dashboard_urls, "dashboard" namespace)."""

from __future__ import annotations

from django.urls import path

from agents import views

urlpatterns = [
    path("", views.agent_list, name="agents"),
    path("new/", views.agent_new, name="agent_new"),
    path("settings/", views.agent_settings, name="agent_settings"),
    path("<uuid:agent_id>/", views.agent_edit, name="agent_edit"),
    path("<uuid:agent_id>/sync/", views.agent_sync, name="agent_sync"),
    path("<uuid:agent_id>/check/", views.agent_check, name="agent_check"),
    path("<uuid:agent_id>/take-theirs/", views.agent_take_theirs, name="agent_take_theirs"),
    path("<uuid:agent_id>/overwrite/", views.agent_overwrite, name="agent_overwrite"),
    path("<uuid:agent_id>/delete/", views.agent_delete, name="agent_delete"),
    path("<uuid:agent_id>/tools/", views.agent_tool_log, name="agent_tool_log"),
]
