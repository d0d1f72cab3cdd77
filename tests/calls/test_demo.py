"""`make demo` (`manage.py demo`): the demo tenant loads against a fresh sandbox, twice in a row."""

from __future__ import annotations

from io import StringIO
from typing import Any

from django.contrib.auth import authenticate
from django.core.management import call_command

from accounts.models import Account
from agents.models import Agent, AgentInboundNumber
from campaigns.models import Campaign
from campaigns.preview import campaign_preview
from contacts.models import Contact
from sandbox.demo_tenant import CAMPAIGN_CONTACTS


def run_demo(settings: Any) -> str:
    # Through the settings fixture first: what the command changes is undone after the test.
    settings.API_URL, settings.WS_URL, settings.APP_URL = settings.API_URL, settings.WS_URL, settings.APP_URL
    settings.PROVIDER_BASE_URLS = dict(settings.PROVIDER_BASE_URLS)
    out = StringIO()
    call_command("demo", "--no-serve", "--sandbox-port-base", "0", stdout=out)
    return out.getvalue()


def test_the_demo_loads_a_ready_tenant_and_can_be_run_again(db: None, settings: Any) -> None:
    first = run_demo(settings)
    second = run_demo(settings)
    password = second.split("Log in:")[1].split("/")[1].split()[0]
    account = Account.objects.get()
    assert authenticate(email="demo@prixagent.local", password=password) is not None
    assert password not in first  # a fresh password each run
    assert (account.twilio_configured, account.elevenlabs_configured) == (True, True)
    assert (account.calcom_configured, account.ghl_configured) == (True, True)
    [agent] = Agent.objects.all()
    assert agent.is_ready_for_calls and agent.sync_status == "synced"
    assert AgentInboundNumber.objects.get().agent == agent
    assert Contact.objects.filter(account=account).count() == 3 + len(CAMPAIGN_CONTACTS)
    # A draft campaign over its tagged contacts, callable at any hour, ready to preview and start.
    [campaign] = Campaign.objects.filter(account=account)
    assert (campaign.state, campaign.agent) == ("draft", agent)
    preview = campaign_preview(campaign=campaign)
    assert preview["total"] == preview["callable_now"] == len(CAMPAIGN_CONTACTS)
    assert f"http://localhost:{settings.PORTS['landing']}/app/" in second
