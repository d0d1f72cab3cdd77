"""Dashboard pages for agents (`/app/agents/`). Thin: forms validate, services act.

Every action is a plain POST form that redirects back, so the pages work without JavaScript
(`static/js/agents.js` only adds click-to-insert for the prompt variables). Members see the
pages read-only; another account's agent answers 404.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.views import account_required
from agents import selectors, services, sync
from agents.forms import (
    AgentForm,
    AgentSettingsForm,
    CriterionFormSet,
    NewAgentForm,
    OutcomeFormSet,
    formset_rows,
)
from agents.models import Agent
from agents.presets import PRESETS
from prixagent.errors import ApplicationError

TOOL_LOG_PAGE = 50


def _manager_only(request: HttpRequest) -> None:
    if not request.user.can_manage:
        raise PermissionDenied(_("Only the account's owners and admins can change agents."))


def _sync_message(request: HttpRequest, agent: Agent, done: str) -> None:
    if agent.sync_status == Agent.SyncStatus.SYNCED:
        messages.success(request, _("%(done)s It is live at ElevenLabs.") % {"done": done})
    elif agent.sync_status == Agent.SyncStatus.DRIFTED:
        messages.warning(
            request,
            _("%(done)s The agent was changed at ElevenLabs: choose which version to keep.") % {"done": done},
        )
    else:
        messages.error(
            request,
            _("%(done)s It could not be pushed to ElevenLabs: %(reason)s") % {"done": done, "reason": agent.sync_error},
        )


# --- list, create, settings --------------------------------------------------------------------


@account_required
def agent_list(request: HttpRequest) -> HttpResponse:
    account = request.user.account
    current = selectors.agent_settings_for(account)
    context = {
        "agents": selectors.agents_for_account(account),
        "new_form": NewAgentForm(),
        "settings_form": AgentSettingsForm(
            initial={"no_email_policy": current.no_email_policy, "placeholder_email": current.placeholder_email}
        ),
        "presets": PRESETS.values(),
        "can_manage": request.user.can_manage,
    }
    return render(request, "agents/list.html", context)


@require_POST
@account_required
def agent_new(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    form = NewAgentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a template and a language."))
        return redirect("dashboard:agents")
    try:
        agent = services.agent_create_from_template(
            account=request.user.account,
            template=form.cleaned_data["template"],
            language=form.cleaned_data["language"],
            name=form.cleaned_data["name"],
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("dashboard:agents")
    _sync_message(request, agent, _("Agent created."))
    return redirect("dashboard:agent_edit", agent_id=agent.pk)


@require_POST
@account_required
def agent_settings(request: HttpRequest) -> HttpResponse:
    _manager_only(request)
    form = AgentSettingsForm(request.POST)
    if form.is_valid():
        try:
            services.agent_settings_update(account=request.user.account, **form.cleaned_data)
        except ApplicationError as exc:
            messages.error(request, " ".join(m for ms in exc.fields.values() for m in ms) or exc.message)
        else:
            messages.success(request, _("Booking settings saved."))
    else:
        messages.error(request, _("Enter a valid placeholder email."))
    return redirect("dashboard:agents")


# --- the edit page -------------------------------------------------------------------------------


def _initial(agent: Agent) -> dict[str, Any]:
    initial = {name: getattr(agent, name) for name in services.EDITABLE}
    initial["inbound_numbers"] = [n.phone_number for n in agent.inbound_numbers.all()]
    return initial


def _forms(request: HttpRequest, agent: Agent, data: Any = None) -> tuple[AgentForm, Any, Any]:
    account = request.user.account
    event_types, _default = selectors.calcom_event_types(account)
    form = AgentForm(
        data,
        initial=_initial(agent),
        voices=selectors.voices_or_none(account),
        event_types=event_types,
        numbers=selectors.twilio_voice_numbers(account),
        read_only=not request.user.can_manage,
    )
    outcomes = OutcomeFormSet(data, initial=agent.data_collection, prefix="outcomes")
    criteria = CriterionFormSet(data, initial=agent.evaluation_criteria, prefix="criteria")
    if not request.user.can_manage:
        for row in [*outcomes.forms, *criteria.forms]:
            for field in row.fields.values():
                field.disabled = True
    return form, outcomes, criteria


def _drift_rows(agent: Agent) -> list[dict[str, Any]]:
    """The fields that differ between PrixAgent and ElevenLabs, for the drift banner."""
    if agent.sync_status != Agent.SyncStatus.DRIFTED or not agent.remote_snapshot:
        return []
    theirs = agent.remote_snapshot.get("fields") or {}
    return [
        {"field": Agent._meta.get_field(name).verbose_name, "ours": getattr(agent, name), "theirs": value}
        for name, value in theirs.items()
        if name in services.EDITABLE and getattr(agent, name) != value
    ]


def _render_edit(request: HttpRequest, agent: Agent, forms: tuple[Any, Any, Any], status: int = 200) -> HttpResponse:
    form, outcomes, criteria = forms
    account = request.user.account
    context = {
        "agent": agent,
        "form": form,
        "outcomes": outcomes,
        "criteria": criteria,
        "variables": selectors.known_variables(account),
        "drift_rows": _drift_rows(agent),
        "calcom_connected": account.calcom_configured,
        "can_manage": request.user.can_manage,
    }
    return render(request, "agents/edit.html", context, status=status)


@account_required
def agent_edit(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = selectors.get_agent_for_user(request.user, agent_id)
    if request.method != "POST":
        return _render_edit(request, agent, _forms(request, agent))
    _manager_only(request)
    form, outcomes, criteria = forms = _forms(request, agent, request.POST)
    if not (form.is_valid() and outcomes.is_valid() and criteria.is_valid()):
        return _render_edit(request, agent, forms, status=400)
    data = dict(form.cleaned_data)
    inbound = data.pop("inbound_numbers")
    data["data_collection"], data["evaluation_criteria"] = formset_rows(outcomes), formset_rows(criteria)
    try:
        agent = services.agent_update(agent=agent, data=data, inbound_numbers=inbound)
    except ApplicationError as exc:
        exc.add_to_form(form)
        return _render_edit(request, selectors.get_agent_for_user(request.user, agent_id), forms, status=400)
    _sync_message(request, agent, _("Saved."))
    return redirect("dashboard:agent_edit", agent_id=agent.pk)


def _act(request: HttpRequest, agent_id: str, action: Any, done: str) -> HttpResponse:
    _manager_only(request)
    agent = selectors.get_agent_for_user(request.user, agent_id)
    try:
        agent = action(agent)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        _sync_message(request, agent, done)
    return redirect("dashboard:agent_edit", agent_id=agent.pk)


@require_POST
@account_required
def agent_sync(request: HttpRequest, agent_id: str) -> HttpResponse:
    return _act(request, agent_id, lambda a: sync.agent_sync(agent=a), _("Pushed again."))


@require_POST
@account_required
def agent_check(request: HttpRequest, agent_id: str) -> HttpResponse:
    return _act(request, agent_id, lambda a: sync.agent_check_drift(agent=a), _("Checked ElevenLabs."))


@require_POST
@account_required
def agent_take_theirs(request: HttpRequest, agent_id: str) -> HttpResponse:
    return _act(request, agent_id, lambda a: services.agent_take_theirs(agent=a), _("Kept the ElevenLabs version."))


@require_POST
@account_required
def agent_overwrite(request: HttpRequest, agent_id: str) -> HttpResponse:
    return _act(request, agent_id, lambda a: services.agent_overwrite(agent=a), _("Overwrote ElevenLabs."))


@account_required
def agent_delete(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = selectors.get_agent_for_user(request.user, agent_id)
    if request.method != "POST":
        return render(request, "agents/delete.html", {"agent": agent, "can_manage": request.user.can_manage})
    _manager_only(request)
    services.agent_delete(agent=agent)
    messages.success(request, _("The agent %(name)s was deleted, here and at ElevenLabs.") % {"name": agent.name})
    return redirect("dashboard:agents")


@account_required
def agent_tool_log(request: HttpRequest, agent_id: str) -> HttpResponse:
    agent = selectors.get_agent_for_user(request.user, agent_id)
    page = Paginator(selectors.tool_invocations_for_agent(agent), TOOL_LOG_PAGE).get_page(request.GET.get("page"))
    return render(request, "agents/tool_log.html", {"agent": agent, "page": page})
