"""`/app/contacts/` (included from accounts.dashboard_urls, "dashboard" namespace)."""

from __future__ import annotations

from django.urls import path

from contacts import views

urlpatterns = [
    path("", views.contact_list, name="contacts"),
    path("new/", views.contact_new, name="contact_new"),
    path("bulk/", views.contact_bulk, name="contact_bulk"),
    path("export.csv", views.contact_export, name="contact_export"),
    path("<int:pk>/", views.contact_detail, name="contact"),
    path("<int:pk>/edit/", views.contact_edit, name="contact_edit"),
    path("<int:pk>/delete/", views.contact_delete, name="contact_delete"),
    path("<int:pk>/do-not-call/", views.contact_dnc, name="contact_dnc"),
    path("<int:pk>/tags/", views.contact_tag, name="contact_tag"),
    path("imports/", views.import_upload, name="contact_imports"),
    path("imports/<uuid:pk>/", views.import_detail, name="contact_import"),
    path("imports/<uuid:pk>/status.json", views.import_status, name="contact_import_status"),
    path("imports/<uuid:pk>/errors.csv", views.import_errors, name="contact_import_errors"),
    path("imports/<uuid:pk>/cancel/", views.import_cancel, name="contact_import_cancel"),
    path("imports/<uuid:pk>/resume/", views.import_resume, name="contact_import_resume"),
    path("do-not-call/", views.dnc_list, name="contact_dnc_list"),
    path("do-not-call/<int:pk>/remove/", views.dnc_remove, name="contact_dnc_remove"),
    path("ghl-sync/", views.ghl_sync_now, name="contact_ghl_sync"),
]
