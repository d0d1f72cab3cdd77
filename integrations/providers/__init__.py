"""Provider clients: one small module per provider, each built from one tenant's credentials.

Every failure comes out as `base.ProviderError`, permanent (bad credentials, not found,
permission) or transient (timeout, connection refused, 5xx, 429).
"""
