"""Keeping ElevenLabs in step with PrixAgent: workspaces, agents, drift.

PrixAgent is the source of truth. Saving an agent pushes it: `PATCH` when it exists at
ElevenLabs, create otherwise, and never a second agent for the same local one:

- Pushes of one agent are serialised by a row lock on it (two saves cannot both create).
- Every remote agent carries the tag `prix-agent-<uuid>`. Before creating, the workspace is
  searched for it, so a create whose answer was lost (a timeout after ElevenLabs did create)
  is adopted instead of repeated. SDK retries are off on every call.
- A failed push keeps the local edit (it is committed before the push) and records why, for
  the tenant to see and retry; a credential ElevenLabs rejects marks the integration failing.

Drift: the ElevenLabs version our last push left is stored. Before pushing, the agent is read
back; another version there means someone edited it at ElevenLabs, and instead of silently
overwriting their edit the agent is marked drifted until the tenant chooses "take theirs"
(copy their fields here, then push) or "overwrite" (push ours).

Keys: the tenant's own ElevenLabs key when connected, else the platform's
`ELEVENLABS_API_KEY` (the agent then lives in the platform's workspace, tagged with the
account). Each workspace gets, once, the post-call webhook (its HMAC secret stored encrypted)
and the server tools, created through the API and referenced by id.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts.models import Account
from agents import remote
from agents.models import Agent, ElevenLabsWorkspace, Tool
from agents.variables import TOOL_TOKEN_VARIABLE
from integrations.providers import elevenlabs
from integrations.providers.base import ProviderError
from integrations.services import integration_mark_failing
from prixagent.crypto import DecryptionError
from prixagent.errors import ApplicationError
from prixagent.public_urls import public_url

logger = logging.getLogger(__name__)
RETRY_AFTER = timedelta(minutes=5)
DRIFT_CHECK_EVERY = timedelta(minutes=30)
CREDENTIAL_ERRORS = ("invalid_credentials", "invalid_api_key", "missing_permissions", "missing_credentials")


@dataclass(frozen=True)
class ElevenLabsKey:
    """The key an account's agents are pushed with. Its repr never shows the key."""

    value: str
    platform: bool

    def __repr__(self) -> str:
        return f"<ElevenLabsKey {'platform' if self.platform else 'tenant'}>"

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(self.value.encode()).hexdigest()


class NoKey(Exception):
    """Neither the tenant nor the platform has an ElevenLabs key to push with."""


@sensitive_variables()
def key_for(account: Account) -> ElevenLabsKey:
    if account.elevenlabs_configured:
        try:
            tenant_key = account.elevenlabs_api_key
        except DecryptionError:
            logger.exception("the ElevenLabs key of account %s cannot be decrypted", account.slug)
            raise NoKey(_("The stored ElevenLabs key cannot be read; connect ElevenLabs again.")) from None
        if tenant_key:
            return ElevenLabsKey(tenant_key, platform=False)
    if settings.ELEVENLABS_API_KEY:
        return ElevenLabsKey(settings.ELEVENLABS_API_KEY, platform=True)
    raise NoKey(_("No ElevenLabs key: connect your ElevenLabs account, or ask the platform operator to set one."))


def post_call_webhook_url(workspace: ElevenLabsWorkspace) -> str:
    """Where ElevenLabs posts this workspace's post-call webhooks (the calls app receives them)."""
    return public_url(f"/webhooks/elevenlabs/{workspace.public_id}/")


def tool_configs() -> dict[str, dict[str, object]]:
    return {tool: remote.tool_config(tool, public_url(reverse("api:agent-tool", args=[tool]))) for tool in Tool.values}


# --- workspaces ------------------------------------------------------------------------------


def _workspace_row(account: Account, key: ElevenLabsKey) -> ElevenLabsWorkspace:
    owner = None if key.platform else account
    workspace, _created = ElevenLabsWorkspace.objects.get_or_create(account=owner, key_fingerprint=key.fingerprint)
    return workspace


def _workspace_complete(workspace: ElevenLabsWorkspace, webhook_url: str, signature: str) -> bool:
    return (
        bool(workspace.webhook_id)
        and workspace.webhook_url == webhook_url
        and workspace.tools_signature == signature
        and set(workspace.tool_ids) == set(Tool.values)
    )


@sensitive_variables()
def workspace_ensure(*, account: Account, key: ElevenLabsKey) -> ElevenLabsWorkspace:
    """The workspace of `key`, with its post-call webhook and current tools (created if missing).

    Idempotent and safe to race: the row is locked while anything is created at ElevenLabs.
    A changed API_URL creates a new webhook (its URL cannot be edited) and updates the tools.
    """
    workspace = _workspace_row(account, key)
    configs = tool_configs()
    signature = remote.tools_signature(configs)
    if _workspace_complete(workspace, post_call_webhook_url(workspace), signature):
        return workspace
    with transaction.atomic():
        workspace = ElevenLabsWorkspace.objects.select_for_update().get(pk=workspace.pk)
        webhook_url = post_call_webhook_url(workspace)
        if not workspace.webhook_id or workspace.webhook_url != webhook_url:
            name = "PrixAgent post-call" if key.platform else f"PrixAgent post-call ({account.name})"
            workspace.webhook_id, workspace.webhook_secret = elevenlabs.webhook_create(
                key.value, name=name[:100], url=webhook_url
            )
            workspace.webhook_url = webhook_url
            workspace.save()  # the secret is stored before anything else can fail
        if workspace.tools_signature != signature or set(workspace.tool_ids) != set(Tool.values):
            tool_ids = dict(workspace.tool_ids)
            for tool, config in configs.items():
                if tool in tool_ids and _tool_updated(key, tool_ids[tool], config):
                    continue
                tool_ids[tool] = elevenlabs.tool_create(key.value, config)
                workspace.tool_ids = tool_ids
                workspace.save(update_fields=["tool_ids", "updated_at"])  # never create it twice
            workspace.tools_signature = signature
            workspace.save(update_fields=["tool_ids", "tools_signature", "updated_at"])
    return workspace


@sensitive_variables()
def _tool_updated(key: ElevenLabsKey, tool_id: str, config: dict[str, object]) -> bool:
    """PATCH a workspace tool; False when it was deleted at ElevenLabs (it is created again)."""
    try:
        elevenlabs.tool_update(key.value, tool_id, config)
    except ProviderError as exc:
        if exc.code == "not_found":
            return False
        raise
    return True


# --- pushing an agent ------------------------------------------------------------------------


def _payload(agent: Agent, workspace: ElevenLabsWorkspace) -> dict[str, object]:
    from agents.selectors import agent_dynamic_variables  # selectors import this module's readers

    placeholders = agent_dynamic_variables(agent=agent)
    placeholders.pop(TOOL_TOKEN_VARIABLE, None)
    tool_ids = [workspace.tool_ids[tool] for tool in agent.tools if tool in workspace.tool_ids]
    return {
        "name": agent.name,
        "tags": remote.agent_tags(agent),
        "conversation_config": remote.conversation_config(agent, tool_ids=tool_ids, placeholders=placeholders),
        "platform_settings": remote.platform_settings(agent, webhook_id=workspace.webhook_id),
    }


@sensitive_variables()
def _create(agent: Agent, key: ElevenLabsKey, payload: dict[str, object]) -> dict[str, object]:
    """Create the remote agent, or adopt the one an earlier, unanswered create left behind."""
    found = elevenlabs.agent_ids_tagged(key.value, remote.agent_tag(agent))
    if found:
        agent.elevenlabs_agent_id = found[0]
        return elevenlabs.agent_update(key.value, found[0], **payload)  # type: ignore[arg-type]
    agent.elevenlabs_agent_id = elevenlabs.agent_create(key.value, **payload)  # type: ignore[arg-type]
    # Stored at once: whatever fails next, the agent is not created a second time.
    agent.save(update_fields=["elevenlabs_agent_id", "workspace", "updated_at"])
    return elevenlabs.agent_get(key.value, agent.elevenlabs_agent_id)


@sensitive_variables()
def _push(agent: Agent, key: ElevenLabsKey, *, force: bool) -> None:
    workspace = workspace_ensure(account=agent.account, key=key)
    payload = _payload(agent, workspace)
    moved_from = None
    if agent.elevenlabs_agent_id and agent.workspace_id != workspace.pk:
        # The key changed (ElevenLabs connected or disconnected): the agent moves workspaces.
        moved_from = (agent.workspace, agent.elevenlabs_agent_id)
        agent.elevenlabs_agent_id, agent.remote_revision = "", ""
    agent.workspace = workspace
    if agent.elevenlabs_agent_id and not force and agent.remote_revision:
        theirs = _read(agent, key)
        if theirs is not None and remote.revision(theirs) != agent.remote_revision:
            _mark_drifted(agent, theirs)
            return
    if agent.elevenlabs_agent_id:
        try:
            result = elevenlabs.agent_update(key.value, agent.elevenlabs_agent_id, **payload)  # type: ignore[arg-type]
        except ProviderError as exc:
            if exc.code != "not_found":
                raise
            agent.elevenlabs_agent_id = ""  # deleted at ElevenLabs: PrixAgent's copy wins
            result = _create(agent, key, payload)
    else:
        result = _create(agent, key, payload)
    _mark_synced(agent, result)
    if moved_from:
        _forget_old_remote(agent.account, *moved_from)


def _read(agent: Agent, key: ElevenLabsKey) -> dict[str, object] | None:
    """The remote agent, or None when it no longer exists at ElevenLabs."""
    try:
        return elevenlabs.agent_get(key.value, agent.elevenlabs_agent_id)
    except ProviderError as exc:
        if exc.code == "not_found":
            return None
        raise


def _mark_synced(agent: Agent, result: dict[str, object]) -> None:
    now = timezone.now()
    agent.remote_revision = remote.revision(result)
    agent.sync_status = Agent.SyncStatus.SYNCED
    agent.sync_error, agent.sync_error_permanent, agent.remote_snapshot = "", False, None
    agent.last_synced_at = agent.sync_attempted_at = now
    agent.save()


def _mark_drifted(agent: Agent, theirs: dict[str, object]) -> None:
    agent.sync_status = Agent.SyncStatus.DRIFTED
    agent.remote_snapshot = {"revision": remote.revision(theirs), "fields": remote.editable_fields(theirs)}
    agent.sync_error, agent.sync_error_permanent = "", False
    agent.sync_attempted_at = timezone.now()
    agent.save()


def _mark_failed(agent: Agent, message: str, *, permanent: bool) -> None:
    """Only the sync fields are written: a half-done push must not leave half its changes."""
    agent.sync_status = Agent.SyncStatus.FAILED
    agent.sync_error, agent.sync_error_permanent = message[:1000], permanent
    agent.sync_attempted_at = timezone.now()
    agent.save(update_fields=["sync_status", "sync_error", "sync_error_permanent", "sync_attempted_at", "updated_at"])
    agent.refresh_from_db()


@sensitive_variables()
def _forget_old_remote(account: Account, workspace: ElevenLabsWorkspace | None, agent_id: str) -> None:
    """Best effort: delete the copy left in the previous workspace, if we still hold its key."""
    try:
        key = key_for(account)
    except NoKey:
        return
    for candidate in (key, ElevenLabsKey(settings.ELEVENLABS_API_KEY or "", platform=True)):
        if workspace is not None and candidate.value and candidate.fingerprint == workspace.key_fingerprint:
            try:
                elevenlabs.agent_delete(candidate.value, agent_id)
            except ProviderError as exc:
                logger.warning("could not delete moved agent %s from its old workspace: %s", agent_id, exc.message)
            return
    logger.info("agent %s left in a workspace whose key we no longer hold", agent_id)


def _record_failure(agent: Agent, key: ElevenLabsKey | None, exc: ProviderError) -> None:
    permanent = exc.permanent
    _mark_failed(agent, _("ElevenLabs: %(reason)s") % {"reason": exc.message}, permanent=permanent)
    if permanent and exc.code in CREDENTIAL_ERRORS and key is not None:
        if key.platform:
            logger.error("the platform ElevenLabs key was refused (%s): %s", exc.code, exc.message)
        else:
            integration_mark_failing(account=agent.account, provider="elevenlabs", error=exc)


def _locked(agent_id: object, *, skip_locked: bool = False) -> Agent | None:
    query = Agent.objects.select_for_update(skip_locked=skip_locked, of=("self",)).select_related(
        "account", "workspace"
    )
    return query.filter(pk=agent_id).first()


def agent_sync(*, agent: Agent, force: bool = False, skip_locked: bool = False) -> Agent:
    """Push `agent` to ElevenLabs now. `force` overwrites a version edited at ElevenLabs.

    Never raises for a provider problem: the outcome is on the returned agent's sync fields.
    """
    with transaction.atomic():
        locked = _locked(agent.pk, skip_locked=skip_locked)
        if locked is None:  # deleted meanwhile, or (skip_locked) another worker is pushing it
            return agent
        key = None
        try:
            key = key_for(locked.account)
            _push(locked, key, force=force)
        except NoKey as exc:
            _mark_failed(locked, str(exc), permanent=True)
        except ProviderError as exc:
            _record_failure(locked, key, exc)
    if locked.sync_status == Agent.SyncStatus.SYNCED:
        logger.info("agent %s pushed to ElevenLabs %s", locked.pk, locked.elevenlabs_agent_id)
    else:
        logger.warning("agent %s not pushed (%s): %s", locked.pk, locked.sync_status, locked.sync_error)
    return locked


def agent_check_drift(*, agent: Agent, skip_locked: bool = False) -> Agent:
    """Read the agent back from ElevenLabs and mark it drifted if it was edited there."""
    with transaction.atomic():
        locked = _locked(agent.pk, skip_locked=skip_locked)
        if locked is None or not locked.elevenlabs_agent_id or not locked.remote_revision:
            return locked or agent
        key = None
        try:
            key = key_for(locked.account)
            theirs = _read(locked, key)
            if theirs is not None and remote.revision(theirs) != locked.remote_revision:
                _mark_drifted(locked, theirs)
            else:
                locked.sync_attempted_at = timezone.now()
                locked.save(update_fields=["sync_attempted_at"])
        except NoKey as exc:
            _mark_failed(locked, str(exc), permanent=True)
        except ProviderError as exc:
            _record_failure(locked, key, exc)
    return locked


def agents_retry_due(*, limit: int = 50) -> int:
    """Push again agents whose last push failed for a passing reason (periodic)."""
    due = Agent.objects.filter(
        Q(sync_attempted_at__isnull=True) | Q(sync_attempted_at__lt=timezone.now() - RETRY_AFTER),
        sync_status__in=[Agent.SyncStatus.PENDING, Agent.SyncStatus.FAILED],
        sync_error_permanent=False,
    ).order_by(F("sync_attempted_at").asc(nulls_first=True))
    agents = list(due[:limit])
    for agent in agents:
        agent_sync(agent=agent, skip_locked=True)
    return len(agents)


def agents_check_drift_due(*, limit: int = 50) -> int:
    """Look for edits made at ElevenLabs on agents not checked for a while (periodic)."""
    due = Agent.objects.filter(
        sync_status=Agent.SyncStatus.SYNCED, sync_attempted_at__lt=timezone.now() - DRIFT_CHECK_EVERY
    ).order_by("sync_attempted_at")
    agents = list(due[:limit])
    for agent in agents:
        agent_check_drift(agent=agent, skip_locked=True)
    return len(agents)


@sensitive_variables()
def agent_remote_fields(*, agent: Agent) -> tuple[str, dict[str, object]]:
    """(revision, editable fields) of the agent as ElevenLabs has it now, for "take theirs"."""
    try:
        key = key_for(agent.account)
    except NoKey as exc:
        raise ApplicationError(str(exc), code="no_elevenlabs_key", status_code=409) from None
    try:
        theirs = _read(agent, key) if agent.elevenlabs_agent_id else None
    except ProviderError as exc:
        raise ApplicationError(
            _("ElevenLabs could not be reached (%(reason)s). Try again in a minute.") % {"reason": exc.message},
            code="provider_unavailable",
            status_code=503 if not exc.permanent else 400,
        ) from None
    if theirs is None:
        raise ApplicationError(_("This agent does not exist at ElevenLabs."), code="not_at_elevenlabs", status_code=409)
    return remote.revision(theirs), remote.editable_fields(theirs)


@sensitive_variables()
def agent_remote_delete(*, account: Account, workspace: ElevenLabsWorkspace | None, elevenlabs_agent_id: str) -> None:
    """Delete an agent at ElevenLabs (gone already is fine). Raises ProviderError when it cannot."""
    if not elevenlabs_agent_id:
        return
    key = key_for(account)
    if workspace is not None and key.fingerprint != workspace.key_fingerprint:
        # The agent lives in a workspace whose key this account no longer uses.
        platform = ElevenLabsKey(settings.ELEVENLABS_API_KEY or "", platform=True)
        if not (workspace.is_platform and platform.value and platform.fingerprint == workspace.key_fingerprint):
            logger.info("agent %s: no key for its workspace any more; not deleted there", elevenlabs_agent_id)
            return
        key = platform
    try:
        elevenlabs.agent_delete(key.value, elevenlabs_agent_id)
    except ProviderError as exc:
        if exc.code != "not_found":
            raise
