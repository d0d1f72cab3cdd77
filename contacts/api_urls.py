"""`/api/v1/contacts/` routes (included from prixagent.api_urls)."""

from __future__ import annotations

from django.urls import path

from contacts import api

urlpatterns = [
    path("", api.ContactListView.as_view(), name="contact-list"),
    path("<int:pk>/", api.ContactDetailView.as_view(), name="contact-detail"),
    path("<int:pk>/do-not-call/", api.ContactDoNotCallView.as_view(), name="contact-dnc"),
    path("bulk/", api.ContactBulkView.as_view(), name="contact-bulk"),
    path("export/", api.ContactExportView.as_view(), name="contact-export"),
    path("tags/", api.TagListView.as_view(), name="contact-tag-list"),
    path("tags/<int:pk>/", api.TagDetailView.as_view(), name="contact-tag-detail"),
    path("imports/", api.ImportListView.as_view(), name="contact-import-list"),
    path("imports/<uuid:pk>/", api.ImportDetailView.as_view(), name="contact-import-detail"),
    path("imports/<uuid:pk>/start/", api.ImportStartView.as_view(), name="contact-import-start"),
    path("imports/<uuid:pk>/resume/", api.ImportResumeView.as_view(), name="contact-import-resume"),
    path("imports/<uuid:pk>/cancel/", api.ImportCancelView.as_view(), name="contact-import-cancel"),
    path("imports/<uuid:pk>/errors/", api.ImportErrorsView.as_view(), name="contact-import-errors"),
    path("do-not-call/", api.DoNotCallListView.as_view(), name="dnc-list"),
    path("do-not-call/<int:pk>/", api.DoNotCallDetailView.as_view(), name="dnc-detail"),
    path("ghl-sync/", api.GhlSyncView.as_view(), name="contact-ghl-sync"),
]
