"""Prompt variables and what a call sends (`agent_dynamic_variables`); times worded for speech."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.models import Account
from agents import selectors
from agents.models import Agent
from agents.speech import spoken_clock, spoken_moment
from agents.variables import custom_variable_name, unknown_variables, variables_in
from contacts.models import Contact


def test_it_finds_variables_with_or_without_spaces() -> None:
    text = "Hi {{first_name}}, {{ company }} and {{first_name}} again; {not} {{}}"
    assert variables_in(text) == ["first_name", "company", ""]
    assert unknown_variables(text, known=[]) == [""]
    assert unknown_variables("{{budget}} {{system__time_utc}} {{account_name}}", known=["budget"]) == []


@pytest.mark.parametrize(
    ("key", "name"), [("Budget (USD)", "budget_usd"), ("plan", "plan"), ("2nd phone", "cf_2nd_phone"), ("---", "")]
)
def test_custom_field_keys_become_variable_names(key: str, name: str) -> None:
    assert custom_variable_name(key) == name


def test_a_call_to_a_contact_sends_its_fields_and_the_token(alice_account: Account, alice_contact: Contact) -> None:
    agent = Agent(account=alice_account, language="en", system_prompt="Budget {{budget}}, plan {{plan}}")
    values = selectors.agent_dynamic_variables(agent=agent, contact=alice_contact, session_token="pxt_abc")
    assert values["first_name"] == "Ana" and values["full_name"] == "Ana López" and values["company"] == "Tacos SA"
    assert values["phone"] == "+14155550123" and values["account_name"] == "Alice Co"
    assert values["budget"] == "5000" and values["plan"] == ""  # a field this contact does not have
    assert values["time_zone"] == "America/Los_Angeles"
    local = timezone.now().astimezone(ZoneInfo("America/Los_Angeles"))
    assert values["local_time"].startswith(f"{local.strftime('%A')}, {local.strftime('%B')} {local.day}, {local.year}")
    assert values["secret__prix_tool_token"] == "pxt_abc"
    assert all(isinstance(v, str) for v in values.values())


def test_a_test_call_without_a_contact_gets_placeholders(alice_account: Account) -> None:
    agent = Agent(account=alice_account, language="es", system_prompt="Hola {{first_name}} de {{company}}")
    values = selectors.agent_dynamic_variables(agent=agent)
    assert (values["first_name"], values["company"], values["account_name"]) == ("Alex", "Empresa Ejemplo", "Alice Co")
    assert values["time_zone"] == alice_account.time_zone and values["secret__prix_tool_token"] == "none"


def test_another_accounts_contact_is_refused(alice_account: Account, charlie_account: Account) -> None:
    stranger = Contact.objects.create(account=charlie_account, phone="+14155550100", time_zone="UTC")
    with pytest.raises(ValueError):
        selectors.agent_dynamic_variables(agent=Agent(account=alice_account), contact=stranger)


NOW = datetime(2030, 3, 4, 10, 0, tzinfo=ZoneInfo("America/New_York"))  # a Monday


@pytest.mark.parametrize(
    ("moment", "en", "es"),
    [
        (datetime(2030, 3, 4, 15, 0), "today at 3 pm", "hoy a las 3 de la tarde"),
        (datetime(2030, 3, 5, 9, 30), "tomorrow at 9:30 am", "mañana a las 9 y media de la mañana"),
        (datetime(2030, 3, 7, 13, 15), "Thursday, March 7 at 1:15 pm", "el jueves 7 de marzo a la 1:15 de la tarde"),
        (datetime(2030, 3, 8, 12, 0), "Friday, March 8 at 12 pm", "el viernes 8 de marzo a las 12 de la tarde"),
        (datetime(2030, 3, 8, 20, 0), "Friday, March 8 at 8 pm", "el viernes 8 de marzo a las 8 de la noche"),
    ],
)
def test_times_are_worded_for_speech(moment: datetime, en: str, es: str) -> None:
    local = moment.replace(tzinfo=ZoneInfo("America/New_York"))
    assert spoken_moment(local, now=NOW, language="en") == en
    assert spoken_moment(local, now=NOW, language="es") == es
    assert spoken_moment(local, now=NOW, language="fr") == en  # other languages: English wording


def test_today_is_the_contacts_today() -> None:
    late = datetime(2030, 3, 4, 23, 30, tzinfo=ZoneInfo("America/New_York"))  # already Tuesday in Madrid
    madrid = datetime(2030, 3, 5, 9, 0, tzinfo=ZoneInfo("Europe/Madrid"))
    assert spoken_moment(madrid, now=late, language="es") == "hoy a las 9 de la mañana"
    assert spoken_clock(datetime(2030, 1, 1, 0, 5), "en") == "12:05 am"


def test_custom_fields_that_are_not_an_object_are_ignored(alice_account: Account, alice_contact: Contact) -> None:
    Contact.objects.create(account=alice_account, phone="+14155550199", time_zone="UTC", custom_fields=["odd"])
    assert selectors.contact_custom_field_keys(alice_account) == ["Budget"]
    assert "budget" in selectors.known_variables(alice_account)
