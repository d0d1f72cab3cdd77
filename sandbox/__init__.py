"""Provider sandbox: local fakes of the Twilio, ElevenLabs, GoHighLevel, Cal.com and PayPal APIs.

    from sandbox import ProviderSandbox
    with ProviderSandbox() as sb:
        creds = sb.twilio.create_account(numbers=["+15005550006"])
        ...  # point settings.PROVIDER_BASE_URLS at sb.base_urls
        sb.requests("twilio")[-1].identity  # which credential the call used

Run it standalone with `manage.py provider_sandbox [--demo]`.
"""

from sandbox.base import RecordedRequest
from sandbox.sandbox import PROVIDERS, ProviderSandbox

__all__ = ["PROVIDERS", "ProviderSandbox", "RecordedRequest"]
