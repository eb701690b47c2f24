"""The single sign-in (SSI) role: sessions, per-app credentials, apps and keys.

See ``docs/single-sign-in.md``. Third parties verify credentials with ``columba.sso``.
"""
