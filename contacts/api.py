"""`/api/v1/contacts/`: contacts, tags, CSV imports, the do-not-call list, the GoHighLevel sync.

Thin: serializers check shapes, `contacts.services` / `imports` / `ghl_sync` do the work. Every
view is a `TenantScopedMixin`: the account is the caller's, another account's object answers 404
like a missing one, members read, owners and admins change.

The list is the hot path: one query for the page (`.values()`, keyset-paginated on the id, no
COUNT) and one for the page's tags; with the caller's own lookup, three queries per request.
"""

from __future__ import annotations

import json
from typing import Any

from django.db.models import Count, QuerySet
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.pagination import CursorPagination
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from contacts import export, ghl_sync, imports, services
from contacts.models import Contact, DoNotCallEntry, ImportJob, Tag
from contacts.selectors import (
    contact_filter_parse,
    contact_rows_tagged,
    contact_values_with_tags,
    contacts_apply_filter,
    ghl_sync_state,
)
from contacts.serializers import (
    CONTACT_VALUES,
    BulkResultSerializer,
    BulkSerializer,
    ContactPageSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    DoNotCallEntrySerializer,
    DoNotCallReasonSerializer,
    GhlSyncSerializer,
    ImportJobSerializer,
    ImportStartSerializer,
    ImportUploadSerializer,
    TagSerializer,
    contact_instance_json,
    contact_json,
    filter_params,
)
from prixagent.errors import ApplicationError
from prixagent.tenancy import TenantScopedMixin

TAGS = ["contacts"]
FILTERS = [
    OpenApiParameter("q", str, description="Search in names, company, email and phone"),
    OpenApiParameter("tag", str, many=True, description="Tag name or id; repeat for several (all must match)"),
    OpenApiParameter("do_not_call", bool),
    OpenApiParameter("time_zone", str, description="IANA zone"),
    OpenApiParameter("source", str, enum=Contact.Source.values),
    OpenApiParameter("consent", str, enum=Contact.Consent.values),
    OpenApiParameter("created_after", str, description="Date or ISO 8601 date-time"),
    OpenApiParameter("created_before", str, description="Date or ISO 8601 date-time"),
]
ERRORS = {400: OpenApiResponse(description="Invalid input"), 403: None, 404: None}


class CsvRenderer(BaseRenderer):
    """Lets `Accept: text/csv` through content negotiation; the CSV itself is streamed."""

    media_type = "text/csv"
    format = "csv"

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        return json.dumps(data).encode() if data is not None else b""


class ContactPagination(CursorPagination):
    """50 a page, newest first, keyset on the id: page N costs what page 1 costs (no COUNT)."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"


def _filtered(view: Any, queryset: QuerySet[Contact], params: Any) -> QuerySet[Contact]:
    return contacts_apply_filter(queryset, contact_filter_parse(params))


class ContactListView(TenantScopedMixin, generics.GenericAPIView):
    queryset = Contact.objects.all()
    pagination_class = ContactPagination
    serializer_class = ContactWriteSerializer

    def filter_tenant_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        return _filtered(self, queryset, self.request.query_params)

    @extend_schema(
        tags=TAGS, operation_id="contacts_list", parameters=FILTERS, responses={200: ContactPageSerializer, 400: None}
    )
    def get(self, request: Request) -> Response:
        """The account's contacts, newest first, 50 a page (`next` / `previous` cursors)."""
        page = self.paginate_queryset(contact_values_with_tags(self.get_queryset(), CONTACT_VALUES))
        rows = contact_rows_tagged(page)
        return self.get_paginated_response([contact_json(row, row["tag_names"]) for row in rows])

    @extend_schema(tags=TAGS, request=ContactWriteSerializer, responses={201: ContactSerializer, **ERRORS})
    def post(self, request: Request) -> Response:
        """Create a contact (source `api`). The phone is required."""
        serializer = ContactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(
            account=self.account, data=serializer.validated_data, source=Contact.Source.API, actor=request.user
        )
        return Response(contact_instance_json(contact), status=status.HTTP_201_CREATED)


class ContactDetailView(TenantScopedMixin, generics.GenericAPIView):
    queryset = Contact.objects.all()
    serializer_class = ContactWriteSerializer

    def filter_tenant_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        return queryset.select_related("account").prefetch_related("tags")

    @extend_schema(tags=TAGS, operation_id="contacts_retrieve", responses={200: ContactSerializer, 404: None})
    def get(self, request: Request, pk: int) -> Response:
        return Response(contact_instance_json(self.get_object()))

    @extend_schema(tags=TAGS, request=ContactWriteSerializer, responses={200: ContactSerializer, **ERRORS})
    def patch(self, request: Request, pk: int) -> Response:
        """Change the fields sent. `tags` replaces the contact's tags; `do_not_call` adds or removes
        its number on the do-not-call list."""
        contact = self.get_object()
        serializer = ContactWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, data=serializer.validated_data, actor=request.user)
        return Response(contact_instance_json(Contact.objects.prefetch_related("tags").get(pk=contact.pk)))

    put = patch

    @extend_schema(tags=TAGS, responses={204: None, 403: None, 404: None})
    def delete(self, request: Request, pk: int) -> Response:
        """Delete the contact (its number stays on the do-not-call list if it is there)."""
        services.contact_delete(contact=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class ContactDoNotCallView(TenantScopedMixin, generics.GenericAPIView):
    queryset = Contact.objects.all()
    serializer_class = DoNotCallReasonSerializer

    @extend_schema(
        tags=TAGS,
        operation_id="contacts_do_not_call_add",
        request=DoNotCallReasonSerializer,
        responses={200: ContactSerializer, **ERRORS},
    )
    def post(self, request: Request, pk: int) -> Response:
        """Mark the contact do-not-call: its number goes on the account's list."""
        contact = self.get_object()
        serializer = DoNotCallReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.dnc_add(
            account=self.account,
            phone=contact.phone,
            reason=serializer.validated_data["reason"],
            source=DoNotCallEntry.Source.API,
            added_by=request.user.email,
        )
        return Response(contact_instance_json(Contact.objects.prefetch_related("tags").get(pk=contact.pk)))

    @extend_schema(
        tags=TAGS,
        operation_id="contacts_do_not_call_remove",
        request=None,
        responses={200: ContactSerializer, 403: None, 404: None},
    )
    def delete(self, request: Request, pk: int) -> Response:
        """Take the contact's number off the do-not-call list."""
        contact = self.get_object()
        services.dnc_remove(account=self.account, phone=contact.phone)
        return Response(contact_instance_json(Contact.objects.prefetch_related("tags").get(pk=contact.pk)))


class ContactBulkView(TenantScopedMixin, generics.GenericAPIView):
    queryset = Contact.objects.all()
    serializer_class = BulkSerializer

    @extend_schema(tags=TAGS, request=BulkSerializer, responses={200: BulkResultSerializer, 400: None, 403: None})
    def post(self, request: Request) -> Response:
        """Tag, untag or delete contacts, chosen by `ids` or by `filter` (the list's filters).
        Ids that are not the account's are ignored."""
        serializer = BulkSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        contacts = self.get_queryset()
        if "ids" in data:
            contacts = contacts.filter(id__in=data["ids"])
        else:
            contacts = _filtered(self, contacts, filter_params(data["filter"]))
        affected = services.contacts_bulk(
            account=self.account, action=data["action"], contacts=contacts, tags=data.get("tags", [])
        )
        return Response({"action": data["action"], "affected": affected})


class ContactExportView(TenantScopedMixin, generics.GenericAPIView):
    queryset = Contact.objects.all()
    renderer_classes = [JSONRenderer, CsvRenderer]

    def filter_tenant_queryset(self, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
        return _filtered(self, queryset, self.request.query_params)

    @extend_schema(tags=TAGS, parameters=FILTERS, responses={(200, "text/csv"): bytes, 400: None})
    def get(self, request: Request) -> HttpResponse:
        """The contacts of the current filter as CSV (streamed; formula cells neutralised)."""
        return export.csv_response(export.contact_rows(self.get_queryset()), export.export_filename())


# --- tags -----------------------------------------------------------------------------------------


class TagListView(TenantScopedMixin, generics.ListCreateAPIView):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    pagination_class = None

    def filter_tenant_queryset(self, queryset: QuerySet[Tag]) -> QuerySet[Tag]:
        return queryset.annotate(contact_count=Count("contacts")).order_by("name")

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The account's tags with how many contacts carry each."""
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAGS, responses={201: TagSerializer, 400: None, 403: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = TagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = services.tag_create(account=self.account, name=serializer.validated_data["name"])
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)


class TagDetailView(TenantScopedMixin, generics.RetrieveUpdateDestroyAPIView):
    queryset = Tag.objects.all()
    serializer_class = TagSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    @extend_schema(tags=TAGS, responses={200: TagSerializer, **ERRORS})
    def patch(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Rename the tag."""
        serializer = TagSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tag = services.tag_rename(tag=self.get_object(), name=serializer.validated_data["name"])
        return Response(TagSerializer(tag).data)

    def perform_destroy(self, instance: Tag) -> None:
        services.tag_delete(tag=instance)


# --- imports --------------------------------------------------------------------------------------


def _mapping_input(job: ImportJob, raw: Any) -> list[str] | None:
    """A mapping as a list (one target per column) or an object {header: target}."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise ApplicationError(_invalid_mapping(), fields={"mapping": [_invalid_mapping()]}) from None
    if isinstance(raw, dict):
        unknown = set(raw) - set(job.header)
        if unknown:
            message = f"Unknown columns: {', '.join(sorted(unknown))}"
            raise ApplicationError(message, fields={"mapping": [message]})
        return [str(raw.get(name, "")) for name in job.header]
    return raw


def _invalid_mapping() -> str:
    return "mapping must be a JSON list or object"


class ImportListView(TenantScopedMixin, generics.ListAPIView):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def filter_tenant_queryset(self, queryset: QuerySet[ImportJob]) -> QuerySet[ImportJob]:
        return queryset.order_by("-created_at")

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The account's imports, newest first."""
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=TAGS,
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: ImportJobSerializer, 400: None, 403: None},
    )
    def post(self, request: Request) -> Response:
        """Upload a CSV file. It is checked at once (a file that cannot be imported is refused and
        nothing is kept); the answer has the guessed column mapping and a preview. Start it with
        `start/`, or here with `start=true` (then `mapping` and `policy` apply here)."""
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        upload = data["file"]
        job = imports.import_job_create(
            account=self.account, source=upload, file_name=upload.name, kind=data["kind"], actor=request.user
        )
        if data["start"]:
            try:
                job = imports.import_job_start(
                    job=job, mapping=_mapping_input(job, data.get("mapping")), policy=data.get("policy")
                )
            except ApplicationError:
                imports.import_job_cancel(job=job)  # a refused start keeps nothing
                ImportJob.objects.filter(pk=job.pk).delete()
                raise
            job.refresh_from_db()
        return Response(ImportJobSerializer(job).data, status=status.HTTP_201_CREATED)


class ImportDetailView(TenantScopedMixin, generics.RetrieveAPIView):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer

    @extend_schema(tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """An import: status and figures (poll it for progress), the mapping while it waits for one."""
        return super().get(request, *args, **kwargs)


class ImportStartView(TenantScopedMixin, generics.GenericAPIView):
    queryset = ImportJob.objects.all()
    serializer_class = ImportStartSerializer

    @extend_schema(tags=TAGS, request=ImportStartSerializer, responses={200: ImportJobSerializer, 409: None, **ERRORS})
    def post(self, request: Request, pk: str) -> Response:
        """Confirm the mapping (or keep the guessed one), choose the duplicate policy, and start."""
        job = self.get_object()
        serializer = ImportStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        job = imports.import_job_start(
            job=job, mapping=_mapping_input(job, data.get("mapping")), policy=data.get("policy")
        )
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data)


class ImportResumeView(TenantScopedMixin, generics.GenericAPIView):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer

    @extend_schema(tags=TAGS, request=None, responses={200: ImportJobSerializer, 409: None, 403: None, 404: None})
    def post(self, request: Request, pk: str) -> Response:
        """Continue an interrupted import from the row where it stopped."""
        job = imports.import_job_resume(job=self.get_object())
        job.refresh_from_db()
        return Response(ImportJobSerializer(job).data)


class ImportCancelView(TenantScopedMixin, generics.GenericAPIView):
    queryset = ImportJob.objects.all()
    serializer_class = ImportJobSerializer

    @extend_schema(tags=TAGS, request=None, responses={200: ImportJobSerializer, 403: None, 404: None})
    def post(self, request: Request, pk: str) -> Response:
        """Stop an import. Rows already imported stay; the uploaded file is deleted."""
        job = imports.import_job_cancel(job=self.get_object())
        return Response(ImportJobSerializer(job).data)


class ImportErrorsView(TenantScopedMixin, generics.GenericAPIView):
    queryset = ImportJob.objects.all()
    renderer_classes = [JSONRenderer, CsvRenderer]

    @extend_schema(tags=TAGS, responses={(200, "text/csv"): bytes, 404: None})
    def get(self, request: Request, pk: str) -> HttpResponse:
        """The per-row error report: row, column, value, reason (CSV)."""
        job = self.get_object()
        return export.csv_response(imports.import_error_rows(job=job), f"import-errors-{job.pk}.csv")


# --- do-not-call ------------------------------------------------------------------------------------


class DoNotCallListView(TenantScopedMixin, generics.ListCreateAPIView):
    queryset = DoNotCallEntry.objects.all()
    serializer_class = DoNotCallEntrySerializer

    def filter_tenant_queryset(self, queryset: QuerySet[DoNotCallEntry]) -> QuerySet[DoNotCallEntry]:
        digits = "".join(ch for ch in self.request.query_params.get("q", "") if ch.isdigit())
        return queryset.filter(phone__contains=digits) if digits else queryset

    @extend_schema(tags=TAGS, parameters=[OpenApiParameter("q", str, description="Digits of the number")])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The account's do-not-call list, newest first."""
        return super().get(request, *args, **kwargs)

    @extend_schema(tags=TAGS, responses={201: DoNotCallEntrySerializer, 400: None, 403: None})
    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Add a number (with or without a contact). Adding it again changes nothing."""
        serializer = DoNotCallEntrySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = services.dnc_add(
            account=self.account,
            phone=serializer.validated_data["phone"],
            reason=serializer.validated_data.get("reason", ""),
            source=DoNotCallEntry.Source.API,
            added_by=request.user.email,
        )
        return Response(DoNotCallEntrySerializer(entry).data, status=status.HTTP_201_CREATED)


class DoNotCallDetailView(TenantScopedMixin, generics.RetrieveDestroyAPIView):
    queryset = DoNotCallEntry.objects.all()
    serializer_class = DoNotCallEntrySerializer

    @extend_schema(tags=TAGS, responses={204: None, 403: None, 404: None})
    def delete(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take the number off the list (its contact may be called again)."""
        entry = self.get_object()
        services.dnc_remove(account=self.account, phone=entry.phone)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- GoHighLevel sync -------------------------------------------------------------------------------


class GhlSyncView(TenantScopedMixin, APIView):
    @extend_schema(tags=TAGS, responses={200: GhlSyncSerializer})
    def get(self, request: Request) -> Response:
        """The last sync: when, its figures, and why it stopped (a spent daily quota says until when)."""
        return Response(GhlSyncSerializer(ghl_sync_state(account=self.account)).data)

    @extend_schema(tags=TAGS, request=None, responses={202: GhlSyncSerializer, 403: None, 409: None})
    def post(self, request: Request) -> Response:
        """Sync now (pull the location's contacts, push local changes)."""
        ghl_sync.ghl_sync_enqueue(account=self.account, reason=f"requested by {request.user.email}")
        return Response(GhlSyncSerializer(ghl_sync_state(account=self.account)).data, status=status.HTTP_202_ACCEPTED)
