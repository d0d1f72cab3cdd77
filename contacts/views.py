"""Dashboard pages for contacts (`/app/contacts/`). Thin: forms check shape, services act.

Every object is looked up inside the request's account (`get_for_account`), so another account's
contact, import or number answers 404. Members see everything and change nothing (403 on every
POST). Every action is a plain form POST that redirects, so the pages work without JavaScript;
the import page polls a small JSON status when JavaScript is on and refreshes itself when it is
not.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.views import account_required
from contacts import export, ghl_sync, imports, selectors, services
from contacts.forms import (
    BulkForm,
    ContactDncForm,
    ContactForm,
    DncAddForm,
    FilterForm,
    MappingForm,
    TagForm,
    UploadForm,
)
from contacts.models import Contact, DoNotCallEntry, ImportJob, Tag
from prixagent.errors import ApplicationError
from prixagent.tenancy import get_for_account

PAGE_SIZE = 50
DNC_PAGE_SIZE = 100


def _manager_only(request: HttpRequest) -> None:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can change contacts."))


def _contact(request: HttpRequest, pk: int) -> Contact:
    return get_for_account(request, Contact.objects.select_related("account").prefetch_related("tags"), pk=pk)


def _job(request: HttpRequest, pk: Any) -> ImportJob:
    return get_for_account(request, ImportJob.objects.all(), pk=pk)


def _filter_of(params: QueryDict) -> tuple[selectors.ContactFilter, dict[str, list[str]]]:
    """The list's filter from the query string; bad values are shown, not fatal."""
    clean = QueryDict(mutable=True)
    for name in selectors.FILTER_PARAMS:
        values = [v for v in params.getlist(name) if v.strip()]
        if values:
            clean.setlist(name, values)
    try:
        return selectors.contact_filter_parse(clean), {}
    except ApplicationError as exc:
        return selectors.ContactFilter(), exc.fields


def _pairs(params: dict[str, Any]) -> list[tuple[str, str]]:
    """Query parameters as (name, value) pairs, for hidden inputs that carry the filter."""
    return [(k, str(v)) for k, values in params.items() for v in (values if isinstance(values, list) else [values])]


def _list_url(flt: selectors.ContactFilter) -> str:
    params = flt.as_params()
    return reverse("dashboard:contacts") + (f"?{urlencode(params, doseq=True)}" if params else "")


# --- the list --------------------------------------------------------------------------------------


@account_required
def contact_list(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    flt, filter_errors = _filter_of(request.GET)
    queryset = selectors.contacts_filtered(account=account, flt=flt).order_by("-id")
    page = Paginator(queryset.prefetch_related("tags"), PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {
        "page": page,
        "filter": flt,
        "filter_form": FilterForm(request.GET or None, time_zones=selectors.contact_time_zones(account=account)),
        "filter_errors": filter_errors,
        "query": query.urlencode(),
        "export_query": urlencode(flt.as_params(), doseq=True),
        "filter_pairs": _pairs(flt.as_params()),
        "tags": selectors.tags_with_counts(account=account),
        "bulk_form": BulkForm(),
        "can_manage": request.user.can_manage,
        "total": Contact.objects.filter(account=account).count(),
        "sync": selectors.ghl_sync_state(account=account),
        "ghl_connected": account.ghl_configured,
        "quota_blocked": ghl_sync.quota_blocked(selectors.ghl_sync_state(account=account)),
    }
    return render(request, "contacts/list.html", context)


@require_POST
@account_required
def contact_bulk(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    account = request.user.account
    flt, _errors = _filter_of(request.POST)
    form = BulkForm(request.POST)
    if not form.is_valid():
        for error in form.errors.values():
            messages.error(request, " ".join(error))
        return redirect(_list_url(flt))
    data = form.cleaned_data
    contacts = Contact.objects.filter(account=account)
    if data["scope"] == "selected":
        contacts = contacts.filter(id__in=data["ids"])
    else:
        contacts = selectors.contacts_apply_filter(contacts, flt)
    if data["action"] == "delete" and not data["confirm"]:
        # Deleting is the one bulk action that cannot be undone: say how many, ask once more.
        context = {"count": contacts.count(), "form_data": request.POST, "filter": flt, "back": _list_url(flt)}
        return render(request, "contacts/bulk_confirm.html", context)
    try:
        affected = services.contacts_bulk(account=account, action=data["action"], contacts=contacts, tags=data["tags"])
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _bulk_message(data["action"], affected))
    return redirect(_list_url(flt))


def _bulk_message(action: str, n: int) -> str:
    if action == "delete":
        return ngettext("%(n)d contact deleted.", "%(n)d contacts deleted.", n) % {"n": n}
    if action == "tag":
        return ngettext("Tag added to %(n)d contact.", "Tag added to %(n)d contacts.", n) % {"n": n}
    return ngettext("Tag removed from %(n)d contact.", "Tag removed from %(n)d contacts.", n) % {"n": n}


@require_GET
@account_required
def contact_export(request: HttpRequest) -> HttpResponse:
    flt, errors = _filter_of(request.GET)
    if errors:
        messages.error(request, _("Fix the filters before exporting."))
        return redirect("dashboard:contacts")
    queryset = selectors.contacts_filtered(account=request.user.account, flt=flt)
    return export.csv_response(export.contact_rows(queryset), export.export_filename())


# --- one contact -------------------------------------------------------------------------------------


@account_required
def contact_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        _manager_only(request)
    form = ContactForm(request.POST or None, initial={"consent_status": Contact.Consent.UNKNOWN})
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_create(
                account=request.user.account, data=form.service_data(), source=Contact.Source.MANUAL, actor=request.user
            )
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            messages.success(request, _("Contact added."))
            return redirect("dashboard:contact", pk=contact.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/form.html", {"form": form, "contact": None}, status=status)


@account_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    entry = DoNotCallEntry.objects.filter(account=contact.account, phone=contact.phone).first()
    context = {
        "contact": contact,
        "dnc_entry": entry,
        "tag_form": TagForm(),
        "dnc_form": ContactDncForm(),
        "can_manage": request.user.can_manage,
    }
    return render(request, "contacts/detail.html", context)


@account_required
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    if request.method == "POST":
        _manager_only(request)
    form = ContactForm(request.POST or None, initial=ContactForm.initial_for(contact))
    if request.method == "POST" and form.is_valid():
        try:
            services.contact_update(contact=contact, data=form.service_data(), actor=request.user)
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            messages.success(request, _("Contact saved."))
            return redirect("dashboard:contact", pk=contact.pk)
    status = 400 if form.errors else 200
    return render(request, "contacts/form.html", {"form": form, "contact": contact}, status=status)


@require_POST
@account_required
def contact_delete(request: HttpRequest, pk: int) -> HttpResponse:
    contact = _contact(request, pk)
    _manager_only(request)
    services.contact_delete(contact=contact)
    messages.success(request, _("Contact deleted."))
    return redirect("dashboard:contacts")


@require_POST
@account_required
def contact_dnc(request: HttpRequest, pk: int) -> HttpResponse:
    """Add (`action=add`) or remove the contact's number on the do-not-call list."""
    contact = _contact(request, pk)
    _manager_only(request)
    if request.POST.get("action") == "remove":
        services.dnc_remove(account=contact.account, phone=contact.phone)
        messages.success(request, _("The number can be called again."))
    else:
        form = ContactDncForm(request.POST)
        reason = form.cleaned_data["reason"] if form.is_valid() else ""
        services.dnc_add(
            account=contact.account,
            phone=contact.phone,
            reason=reason,
            source=DoNotCallEntry.Source.MANUAL,
            added_by=request.user.email,
        )
        messages.success(request, _("The number is on the do-not-call list."))
    return redirect("dashboard:contact", pk=contact.pk)


@require_POST
@account_required
def contact_tag(request: HttpRequest, pk: int) -> HttpResponse:
    """Add (`action=add`, `name`) or remove (`action=remove`, `tag` id) one tag."""
    contact = _contact(request, pk)
    _manager_only(request)
    names = [t.name for t in contact.tags.all()]
    if request.POST.get("action") == "remove":
        tag = get_for_account(request, Tag.objects.all(), pk=request.POST.get("tag"))
        names = [n for n in names if n != tag.name]
    else:
        form = TagForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Name the tag."))
            return redirect("dashboard:contact", pk=contact.pk)
        names.append(form.cleaned_data["name"])
    try:
        services.contact_update(contact=contact, data={"tags": names}, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message if not exc.fields else " ".join(sum(exc.fields.values(), [])))
    return redirect("dashboard:contact", pk=contact.pk)


# --- imports -----------------------------------------------------------------------------------------


@account_required
def import_upload(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        _manager_only(request)
    form = UploadForm(
        request.POST or None, request.FILES or None, initial={"kind": request.GET.get("kind", "contacts")}
    )
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = imports.import_job_create(
                account=request.user.account,
                source=upload,
                file_name=upload.name,
                kind=form.cleaned_data["kind"],
                actor=request.user,
            )
        except ApplicationError as exc:
            exc.add_to_form(form)
        else:
            return redirect("dashboard:contact_import", pk=job.pk)
    context = {
        "form": form,
        "jobs": selectors.import_jobs(account=request.user.account)[:20],
        "can_manage": request.user.can_manage,
    }
    return render(request, "contacts/import_upload.html", context, status=400 if form.errors else 200)


@account_required
def import_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """The mapping step while the job waits for it; the progress (and the outcome) after."""
    job = _job(request, pk)
    if job.status == ImportJob.Status.MAPPING:
        return _mapping_step(request, job)
    context = {"job": job, "can_manage": request.user.can_manage, "status_url": _status_url(job)}
    return render(request, "contacts/import_progress.html", context)


def _mapping_step(request: HttpRequest, job: ImportJob) -> HttpResponse:
    if request.method == "POST":
        _manager_only(request)
    form = MappingForm(request.POST or None, job=job)
    if request.method == "POST" and form.is_valid():
        try:
            imports.import_job_start(job=job, mapping=form.mapping(), policy=form.cleaned_data.get("policy"))
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect("dashboard:contact_import", pk=job.pk)
    context = {"job": job, "form": form, "can_manage": request.user.can_manage}
    return render(request, "contacts/import_mapping.html", context, status=400 if form.errors else 200)


def _status_url(job: ImportJob) -> str:
    return reverse("dashboard:contact_import_status", args=[job.pk])


@require_GET
@account_required
def import_status(request: HttpRequest, pk: Any) -> JsonResponse:
    """The figures the progress bar polls."""
    job = _job(request, pk)
    return JsonResponse(
        {
            "status": job.status,
            "status_display": job.get_status_display(),
            "finished": job.is_finished,
            "percent": job.percent,
            "rows_read": job.rows_read,
            "created": job.created,
            "updated": job.updated,
            "skipped": job.skipped,
            "invalid": job.invalid,
            "errors_total": job.errors_total,
            "message": job.message,
        }
    )


@require_GET
@account_required
def import_errors(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request, pk)
    return export.csv_response(imports.import_error_rows(job=job), f"import-errors-{job.pk}.csv")


@require_POST
@account_required
def import_cancel(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request, pk)
    _manager_only(request)
    imports.import_job_cancel(job=job)
    messages.success(request, _("Import cancelled."))
    return redirect("dashboard:contact_imports")


@require_POST
@account_required
def import_resume(request: HttpRequest, pk: Any) -> HttpResponse:
    job = _job(request, pk)
    _manager_only(request)
    try:
        imports.import_job_resume(job=job)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("dashboard:contact_import", pk=job.pk)


# --- do-not-call -------------------------------------------------------------------------------------


@account_required
def dnc_list(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    form = DncAddForm(request.POST or None)
    if request.method == "POST":
        _manager_only(request)
        if form.is_valid():
            try:
                services.dnc_add(
                    account=account,
                    phone=form.cleaned_data["phone"],
                    reason=form.cleaned_data["reason"],
                    source=DoNotCallEntry.Source.MANUAL,
                    added_by=request.user.email,
                )
            except ApplicationError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Number added to the do-not-call list."))
                return redirect("dashboard:contact_dnc_list")
    q = request.GET.get("q", "")[:40]
    page = Paginator(selectors.dnc_entries(account=account, q=q), DNC_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "q": q, "can_manage": request.user.can_manage}
    return render(request, "contacts/dnc.html", context, status=400 if form.errors else 200)


@require_POST
@account_required
def dnc_remove(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_for_account(request, DoNotCallEntry.objects.all(), pk=pk)
    _manager_only(request)
    services.dnc_remove(account=entry.account, phone=entry.phone)
    messages.success(request, _("Number removed from the do-not-call list."))
    return redirect("dashboard:contact_dnc_list")


# --- GoHighLevel -------------------------------------------------------------------------------------


@require_POST
@account_required
def ghl_sync_now(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    try:
        ghl_sync.ghl_sync_enqueue(account=request.user.account, reason=f"requested by {request.user.email}")
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("GoHighLevel sync started."))
    return redirect(reverse("dashboard:contacts") + "#ghl-sync")
