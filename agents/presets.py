"""Templates to start an agent from: appointment setter, lead qualifier, reminder call (es, en).

A template fills a new agent's texts, outcomes, evaluation criteria and tools; the tenant edits
everything afterwards. Texts use only built-in prompt variables, so every template saves as is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from agents.models import Language, Tool

TEMPLATE_LANGUAGES = (Language.ES, Language.EN)


def _outcome(id_: str, type_: str, en: str, es: str) -> dict[str, Any]:
    return {"id": id_, "type": type_, "description": {"en": en, "es": es}}


def _criterion(id_: str, en_name: str, es_name: str, en: str, es: str) -> dict[str, Any]:
    return {"id": id_, "name": {"en": en_name, "es": es_name}, "goal": {"en": en, "es": es}}


APPOINTMENT_BOOKED = _outcome(
    "appointment_booked",
    "boolean",
    "True if an appointment was booked during the call.",
    "Verdadero si se reservó una cita durante la llamada.",
)
INTERESTED = _outcome(
    "interested",
    "boolean",
    "True if the person showed interest in the offer.",
    "Verdadero si la persona mostró interés en la oferta.",
)
CALLBACK_TIME = _outcome(
    "callback_time",
    "string",
    "When the person asked to be called back, in their words; empty if they did not.",
    "Cuándo pidió la persona que se le volviera a llamar, con sus palabras; vacío si no lo pidió.",
)
OPTED_OUT = _outcome(
    "opted_out",
    "boolean",
    "True if the person asked not to be called again.",
    "Verdadero si la persona pidió que no se le vuelva a llamar.",
)
POLITE = _criterion(
    "polite_and_clear",
    "Polite and clear",
    "Amable y claro",
    "The agent was polite, introduced the business and never pressured the person.",
    "El agente fue amable, presentó el negocio y nunca presionó a la persona.",
)

COMPLIANCE = {
    "en": (
        "If the person asks not to be called again, apologise, call the opt_out tool at once and end "
        "the call politely. Never pretend to be a human if asked; you are an AI assistant calling on "
        "behalf of {{account_name}}."
    ),
    "es": (
        "Si la persona pide que no la vuelvan a llamar, discúlpate, usa de inmediato la herramienta "
        "opt_out y termina la llamada con amabilidad. Si te lo preguntan, nunca finjas ser humano: eres "
        "un asistente de IA que llama en nombre de {{account_name}}."
    ),
}


@dataclass(frozen=True)
class Preset:
    slug: str
    title: Promise
    description: Promise
    tools: tuple[str, ...]
    outcomes: tuple[dict[str, Any], ...]
    criteria: tuple[dict[str, Any], ...]
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def initial(self, language: str) -> dict[str, Any]:
        """The agent fields this template fills, in `language` (es or en)."""
        lang = language if language in self.texts else "en"
        texts = self.texts[lang]
        return {
            "template": self.slug,
            "language": lang,
            "name": texts["name"],
            "first_message": texts["first_message"],
            "system_prompt": f"{texts['system_prompt']}\n\n{COMPLIANCE[lang]}",
            "voicemail_message": texts["voicemail_message"],
            "tools": [str(tool) for tool in self.tools],
            "data_collection": [{**o, "description": o["description"][lang]} for o in self.outcomes],
            "evaluation_criteria": [{**c, "name": c["name"][lang], "goal": c["goal"][lang]} for c in self.criteria],
        }


PRESETS: dict[str, Preset] = {
    preset.slug: preset
    for preset in (
        Preset(
            slug="appointment_setter",
            title=_("Appointment setter"),
            description=_("Calls leads, answers questions and books a meeting in your Cal.com."),
            tools=(Tool.CHECK_AVAILABILITY, Tool.BOOK_APPOINTMENT, Tool.OPT_OUT, Tool.ADD_NOTE, Tool.UPDATE_CONTACT),
            outcomes=(APPOINTMENT_BOOKED, INTERESTED, CALLBACK_TIME, OPTED_OUT),
            criteria=(
                POLITE,
                _criterion(
                    "meeting_offered",
                    "Meeting offered",
                    "Reunión ofrecida",
                    "If the person was interested, the agent offered concrete times and tried to book one.",
                    "Si la persona estaba interesada, el agente ofreció horarios concretos e intentó reservar uno.",
                ),
            ),
            texts={
                "en": {
                    "name": "Appointment setter",
                    "first_message": (
                        "Hi {{first_name}}, this is the virtual assistant of {{account_name}}. Do you have a minute?"
                    ),
                    "system_prompt": (
                        "You are a friendly, concise phone assistant for {{account_name}}. You are calling "
                        "{{first_name}} {{last_name}} from {{company}}; their local time is {{local_time}}.\n\n"
                        "Goal: book a short meeting with our team.\n"
                        "1. Confirm you are speaking with {{first_name}} and briefly say why you are calling.\n"
                        "2. Answer questions in one or two sentences. If you do not know, say the team will "
                        "follow up and use add_note to record the question.\n"
                        "3. If they are interested, use check_availability and offer two or three of the times "
                        "it returns. When they choose one, call book_appointment with that time's start "
                        "value. If the tool asks for an email address, ask for it, spell it back, and call "
                        "book_appointment again with it.\n"
                        "4. Confirm the booked time in their words and thank them.\n"
                        "If they want a call back later, ask when and record it with add_note. If they give "
                        "you a corrected name, email or company, use update_contact."
                    ),
                    "voicemail_message": (
                        "Hi {{first_name}}, this is the assistant of {{account_name}}. We would love to set up "
                        "a short call with you. We will try you again soon. Thank you!"
                    ),
                },
                "es": {
                    "name": "Agendador de citas",
                    "first_message": (
                        "Hola {{first_name}}, le habla el asistente virtual de {{account_name}}. ¿Tiene un minuto?"
                    ),
                    "system_prompt": (
                        "Eres un asistente telefónico amable y conciso de {{account_name}}. Llamas a "
                        "{{first_name}} {{last_name}} de {{company}}; su hora local es {{local_time}}.\n\n"
                        "Objetivo: agendar una reunión breve con nuestro equipo.\n"
                        "1. Confirma que hablas con {{first_name}} y di en pocas palabras por qué llamas.\n"
                        "2. Responde preguntas en una o dos frases. Si no sabes algo, di que el equipo le "
                        "contactará y usa add_note para anotar la pregunta.\n"
                        "3. Si le interesa, usa check_availability y ofrece dos o tres de los horarios que "
                        "devuelve. Cuando elija uno, llama a book_appointment con el valor start de ese "
                        "horario. Si la herramienta pide un correo, pídelo, deletréalo para confirmarlo y "
                        "vuelve a llamar a book_appointment con él.\n"
                        "4. Confirma la hora reservada con tus palabras y da las gracias.\n"
                        "Si prefiere que le llamen más tarde, pregunta cuándo y anótalo con add_note. Si te "
                        "corrige el nombre, el correo o la empresa, usa update_contact."
                    ),
                    "voicemail_message": (
                        "Hola {{first_name}}, le habla el asistente de {{account_name}}. Nos gustaría agendar "
                        "una llamada breve con usted. Le volveremos a llamar pronto. ¡Gracias!"
                    ),
                },
            },
        ),
        Preset(
            slug="lead_qualifier",
            title=_("Lead qualifier"),
            description=_("Asks a few qualifying questions and notes the answers on the contact."),
            tools=(Tool.ADD_NOTE, Tool.UPDATE_CONTACT, Tool.OPT_OUT),
            outcomes=(
                INTERESTED,
                _outcome(
                    "budget",
                    "string",
                    "The budget the person mentioned, in their words; empty if none.",
                    "El presupuesto que mencionó la persona, con sus palabras; vacío si no lo dijo.",
                ),
                _outcome(
                    "decision_maker",
                    "boolean",
                    "True if the person decides on the purchase.",
                    "Verdadero si la persona decide la compra.",
                ),
                CALLBACK_TIME,
                OPTED_OUT,
            ),
            criteria=(
                POLITE,
                _criterion(
                    "questions_asked",
                    "Qualifying questions asked",
                    "Preguntas de calificación hechas",
                    "The agent asked about need, budget, timeline and who decides.",
                    "El agente preguntó por la necesidad, el presupuesto, los plazos y quién decide.",
                ),
            ),
            texts={
                "en": {
                    "name": "Lead qualifier",
                    "first_message": (
                        "Hi {{first_name}}, I'm calling from {{account_name}} about your recent enquiry. "
                        "Is now a good time?"
                    ),
                    "system_prompt": (
                        "You are a warm, efficient phone assistant for {{account_name}}, calling "
                        "{{first_name}} from {{company}} (local time {{local_time}}) about their enquiry.\n\n"
                        "Ask, one at a time and conversationally: what they need, their timeline, their "
                        "budget, and whether they decide on the purchase. Keep each turn short. Summarise "
                        "the answers with add_note before the call ends. If they correct their details, use "
                        "update_contact. Tell them the team will follow up."
                    ),
                    "voicemail_message": (
                        "Hi {{first_name}}, this is {{account_name}} following up on your enquiry. "
                        "We will call you again soon."
                    ),
                },
                "es": {
                    "name": "Calificador de prospectos",
                    "first_message": (
                        "Hola {{first_name}}, le llamo de {{account_name}} por su consulta reciente. ¿Es buen momento?"
                    ),
                    "system_prompt": (
                        "Eres un asistente telefónico cercano y eficiente de {{account_name}}; llamas a "
                        "{{first_name}} de {{company}} (hora local {{local_time}}) por su consulta.\n\n"
                        "Pregunta, de una en una y con naturalidad: qué necesita, en qué plazo, con qué "
                        "presupuesto y si decide la compra. Sé breve en cada turno. Resume las respuestas "
                        "con add_note antes de terminar. Si corrige sus datos, usa update_contact. Dile que "
                        "el equipo le contactará."
                    ),
                    "voicemail_message": (
                        "Hola {{first_name}}, le llama {{account_name}} por su consulta. Le volveremos a llamar pronto."
                    ),
                },
            },
        ),
        Preset(
            slug="reminder_call",
            title=_("Reminder call"),
            description=_("Reminds contacts of an upcoming appointment and reschedules if needed."),
            tools=(Tool.CHECK_AVAILABILITY, Tool.BOOK_APPOINTMENT, Tool.ADD_NOTE, Tool.OPT_OUT),
            outcomes=(
                _outcome(
                    "confirmed",
                    "boolean",
                    "True if the person confirmed they will attend.",
                    "Verdadero si la persona confirmó que asistirá.",
                ),
                _outcome(
                    "rescheduled",
                    "boolean",
                    "True if a new time was booked.",
                    "Verdadero si se reservó un nuevo horario.",
                ),
                OPTED_OUT,
            ),
            criteria=(POLITE,),
            texts={
                "en": {
                    "name": "Reminder call",
                    "first_message": (
                        "Hi {{first_name}}, this is {{account_name}} calling to remind you about your "
                        "upcoming appointment."
                    ),
                    "system_prompt": (
                        "You are a brief, friendly reminder assistant for {{account_name}}, calling "
                        "{{first_name}} (local time {{local_time}}).\n\n"
                        "Remind them of their upcoming appointment and ask them to confirm. If they cannot "
                        "make it, use check_availability, offer two times and book the one they choose with "
                        "book_appointment. Record anything they ask with add_note. Keep the call under two "
                        "minutes."
                    ),
                    "voicemail_message": (
                        "Hi {{first_name}}, this is {{account_name}} reminding you of your upcoming "
                        "appointment. See you soon!"
                    ),
                },
                "es": {
                    "name": "Llamada recordatorio",
                    "first_message": (
                        "Hola {{first_name}}, le llamamos de {{account_name}} para recordarle su próxima cita."
                    ),
                    "system_prompt": (
                        "Eres un asistente breve y amable de {{account_name}} que llama a {{first_name}} "
                        "(hora local {{local_time}}) para recordar una cita.\n\n"
                        "Recuérdale su próxima cita y pide que la confirme. Si no puede asistir, usa "
                        "check_availability, ofrece dos horarios y reserva el que elija con "
                        "book_appointment. Anota con add_note cualquier petición. Que la llamada dure "
                        "menos de dos minutos."
                    ),
                    "voicemail_message": (
                        "Hola {{first_name}}, le llama {{account_name}} para recordarle su próxima cita. ¡Hasta pronto!"
                    ),
                },
            },
        ),
    )
}


def preset_choices() -> list[tuple[str, Promise]]:
    return [(slug, preset.title) for slug, preset in PRESETS.items()]
