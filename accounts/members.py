"""The team: roles, deactivation, removal and invitations. The rules live here and nowhere else:

- owners and admins manage the team, members only read;
- only owners create (invite), promote, demote, deactivate or remove owners;
- the account always keeps at least one active owner, also when two requests race (the
  account's owner rows are locked while the rule is checked);
- nobody picks a password for someone else: new members are invited and choose their own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Account, AuditEvent, Invitation, User
from accounts.services import audit_record, check_password_strength, enqueue_after_commit, user_logout_everywhere
from prixagent.errors import ApplicationError
from prixagent.security_log import security_event

INVITATION_DAYS = 7
_INVITATION_SALT = "accounts.invitation"


# --- The team: roles, deactivation, removal -------------------------------------------------------


def _forbidden(message: str) -> ApplicationError:
    return ApplicationError(message, code="forbidden", status_code=403)


def _require_manager(actor: User) -> None:
    if not actor.can_manage:
        raise _forbidden(_("Only the account's owners and admins can manage the team."))


def _require_owner_for(actor: User, *roles: str) -> None:
    if User.Role.OWNER in roles and not actor.is_owner:
        raise _forbidden(_("Only an owner can invite, promote, demote, deactivate or remove an owner."))


def _lock_owners(account_id: Any) -> list[User]:
    """Lock the account's active owners for the rest of the transaction. Two requests that
    each remove a different owner queue here, and the second sees the first one's result."""
    owners = User.objects.select_for_update().filter(account_id=account_id, role=User.Role.OWNER, is_active=True)
    return list(owners.order_by("pk"))


def _keeps_an_owner(member: User, *, role: str, is_active: bool) -> bool:
    still_owner = role == User.Role.OWNER and is_active
    others = [owner for owner in _lock_owners(member.account_id) if owner.pk != member.pk]
    return still_owner or bool(others)


MEMBER_EDITABLE = ("name", "language", "role", "is_active")


def member_update(*, actor: User, member: User, changes: dict[str, Any], request: Any = None) -> User:
    """Change a user's name, language, role or active flag within the same account."""
    changes = {field: value for field, value in changes.items() if field in MEMBER_EDITABLE}
    role = changes.get("role", member.role)
    is_active = changes.get("is_active", member.is_active)
    if role not in User.Role.values:
        raise ApplicationError(_("Some fields are invalid."), fields={"role": [_("Unknown role.")]})
    team_change = role != member.role or is_active != member.is_active
    if member.pk != actor.pk or team_change:
        # Someone else's profile, or anyone's place in the team: owners and admins only, and
        # only owners touch owners (an admin cannot promote themselves either).
        _require_manager(actor)
        _require_owner_for(actor, member.role, role)
    if team_change:
        if is_active is False and member.pk == actor.pk:
            raise ApplicationError(_("You cannot deactivate yourself."), code="invalid")
    with transaction.atomic():
        if team_change and not _keeps_an_owner(member, role=role, is_active=is_active):
            raise ApplicationError(_("The account needs at least one active owner."), code="last_owner")
        before = {field: getattr(member, field) for field in changes}
        for field, value in changes.items():
            setattr(member, field, value)
        changed = [field for field in changes if before[field] != changes[field]]
        if changed:
            member.save(update_fields=changed)
        _audit_member_change(actor, member, before, request)
    return member


def _audit_member_change(actor: User, member: User, before: dict[str, Any], request: Any) -> None:
    if "role" in before and before["role"] != member.role:
        audit_record(
            account=member.account,
            actor=actor,
            action=AuditEvent.Action.ROLE_CHANGED,
            target=member.email,
            details={"from": before["role"], "to": member.role},
            request=request,
        )
        security_event(
            "role changed",
            request=request,
            account=member.account.slug,
            actor=actor.pk,
            user=member.pk,
            role_from=before["role"],
            role_to=member.role,
        )
    if "is_active" in before and before["is_active"] != member.is_active:
        action = AuditEvent.Action.MEMBER_REACTIVATED if member.is_active else AuditEvent.Action.MEMBER_DEACTIVATED
        audit_record(account=member.account, actor=actor, action=action, target=member.email, request=request)
        security_event(action, request=request, account=member.account.slug, actor=actor.pk, user=member.pk)
        if not member.is_active:
            user_logout_everywhere(user=member, actor=actor, request=request, audit=False)


def member_remove(*, actor: User, member: User, request: Any = None) -> None:
    _require_manager(actor)
    if member.pk == actor.pk:
        raise ApplicationError(_("You cannot remove yourself."), code="invalid")
    _require_owner_for(actor, member.role)
    with transaction.atomic():
        if member.role == User.Role.OWNER and not _keeps_an_owner(member, role=User.Role.MEMBER, is_active=False):
            raise ApplicationError(_("The account needs at least one active owner."), code="last_owner")
        account, email, pk = member.account, member.email, member.pk
        member.delete()
        audit_record(
            account=account, actor=actor, action=AuditEvent.Action.MEMBER_REMOVED, target=email, request=request
        )
    security_event("member removed", request=request, account=account.slug, actor=actor.pk, user=pk)


# --- Invitations --------------------------------------------------------------------------------


def invitation_create(
    *, account: Account, actor: User, email: str, role: str, name: str = "", request: Any = None
) -> Invitation:
    """Invite someone by email. Answers the same whether or not the address has a login
    elsewhere on the platform: the email sent decides (an invitation link, or a notice)."""
    from accounts import tasks

    _require_manager(actor)
    email = email.strip().lower()
    if role not in User.Role.values:
        raise ApplicationError(_("Some fields are invalid."), fields={"role": [_("Unknown role.")]})
    _require_owner_for(actor, role)
    if User.objects.filter(account=account, email__iexact=email).exists():
        # Only this account's own members are named: nothing about other tenants.
        raise ApplicationError(
            _("Some fields are invalid."), fields={"email": [_("Already a member of this account.")]}
        )
    now = timezone.now()
    with transaction.atomic():
        Invitation.objects.filter(account=account, email__iexact=email, accepted_at=None, revoked_at=None).update(
            revoked_at=now
        )
        invitation = Invitation.objects.create(
            account=account,
            email=email,
            name=name.strip(),
            role=role,
            invited_by=actor,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit_record(
            account=account,
            actor=actor,
            action=AuditEvent.Action.MEMBER_INVITED,
            target=email,
            details={"role": role},
            request=request,
        )
        enqueue_after_commit(tasks.invitation_email_send, invitation_id=str(invitation.pk))
    security_event("invitation sent", request=request, account=account.slug, actor=actor.pk, email=email, role=role)
    return invitation


def invitation_revoke(*, actor: User, invitation: Invitation, request: Any = None) -> Invitation:
    _require_manager(actor)
    _require_owner_for(actor, invitation.role)
    if invitation.accepted_at is None and invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(
            account=invitation.account,
            actor=actor,
            action=AuditEvent.Action.INVITATION_REVOKED,
            target=invitation.email,
            request=request,
        )
        security_event(
            "invitation revoked",
            request=request,
            account=invitation.account.slug,
            actor=actor.pk,
            email=invitation.email,
        )
    return invitation


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps(str(invitation.pk), salt=_INVITATION_SALT)


def invitation_from_token(token: str) -> Invitation:
    """The pending invitation a link names, or an error saying the link no longer works."""
    try:
        pk = signing.loads(token, salt=_INVITATION_SALT, max_age=INVITATION_DAYS * 86400)
    except signing.BadSignature:
        pk = None
    invitation = Invitation.objects.select_related("account").filter(pk=pk).first() if pk else None
    if invitation is None or not invitation.is_pending:
        raise ApplicationError(_("This invitation link is invalid, expired or already used."), code="invalid_link")
    return invitation


def invitation_accept(*, token: str, name: str, password: str, request: Any = None) -> User:
    """The invitee joins with a password of their own choosing. A link works once."""
    invitation = invitation_from_token(token)
    check_password_strength(password, User(email=invitation.email, name=name))
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if not invitation.is_pending:
            raise ApplicationError(_("This invitation link is invalid, expired or already used."), code="invalid_link")
        if User.objects.filter(email__iexact=invitation.email).exists():
            raise ApplicationError(
                _("This email already has a PrixAgent login. Ask for an invitation to another address."),
                code="email_taken",
            )
        user = User.objects.create_user(
            invitation.email, password, name=name.strip(), account=invitation.account, role=invitation.role
        )
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        audit_record(
            account=invitation.account,
            actor=user,
            action=AuditEvent.Action.MEMBER_JOINED,
            target=user.email,
            details={"role": user.role},
            request=request,
        )
    security_event("invitation accepted", request=request, account=invitation.account.slug, user=user.pk)
    return user
