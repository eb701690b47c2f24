"""The OpenID Connect provider on Columba accounts (Authlib core, joserfc keys)."""
