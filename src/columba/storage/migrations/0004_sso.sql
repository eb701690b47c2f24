-- Single sign-in (SSI): sessions, third-party apps and their keys, and the OpenID Connect
-- provider's clients, codes, tokens and signing keys. Conventions as in 0001_initial.sql.
-- Secrets handed to users (session tokens, codes, access tokens) are stored only as SHA-256
-- hashes; app keys and signing keys must be usable, so they are stored as they are.

-- SSI sessions: the opaque, revocable, expiring result of a password sign-in.
CREATE TABLE ssi_sessions (
    token_hash TEXT PRIMARY KEY,
    session_id TEXT NOT NULL UNIQUE,
    user_id    BIGINT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    auth_time  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX ssi_sessions_user ON ssi_sessions (user_id);

-- Third-party applications registered by an admin; login_urls is a JSON array; initiate_url
-- is where SSI sends a browser to start a login at the app (so the app can set its nonce).
CREATE TABLE ssi_apps (
    app_id       TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    login_urls   TEXT NOT NULL,
    logout_url   TEXT NOT NULL DEFAULT '',
    initiate_url TEXT NOT NULL DEFAULT '',
    alg          TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Random 256-bit keys per app, named by key id; the newest live key issues, every live key
-- is accepted (rotation with overlap); a retired key stays for the record.
CREATE TABLE ssi_app_keys (
    app_id     TEXT NOT NULL,
    kid        TEXT NOT NULL,
    secret     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT,
    PRIMARY KEY (app_id, kid)
);

-- Which apps received a credential in which session: the back-channel logout list.
CREATE TABLE ssi_grants (
    session_id TEXT NOT NULL,
    app_id     TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (session_id, app_id)
);

-- OpenID Connect -------------------------------------------------------------------------------

CREATE TABLE oidc_clients (
    client_id              TEXT PRIMARY KEY,
    secret_hash            TEXT NOT NULL DEFAULT '',
    name                   TEXT NOT NULL,
    redirect_uris          TEXT NOT NULL,
    is_public              BOOLEAN NOT NULL DEFAULT FALSE,
    backchannel_logout_uri TEXT NOT NULL DEFAULT '',
    created_at             BIGINT NOT NULL
);

-- Authorization codes: single use (used_at), short-lived; the row carries what the token
-- endpoint and the ID token need.
CREATE TABLE oidc_codes (
    code_hash             TEXT PRIMARY KEY,
    client_id             TEXT NOT NULL,
    user_id               BIGINT NOT NULL,
    redirect_uri          TEXT NOT NULL,
    scope                 TEXT NOT NULL,
    nonce                 TEXT NOT NULL DEFAULT '',
    code_challenge        TEXT NOT NULL,
    code_challenge_method TEXT NOT NULL,
    session_id            TEXT NOT NULL,
    auth_time             BIGINT NOT NULL,
    expires_at            BIGINT NOT NULL,
    used_at               BIGINT
);
CREATE INDEX oidc_codes_nonce ON oidc_codes (client_id, nonce);

CREATE TABLE oidc_tokens (
    token_hash TEXT PRIMARY KEY,
    client_id  TEXT NOT NULL,
    user_id    BIGINT NOT NULL,
    scope      TEXT NOT NULL,
    session_id TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);

-- ID-token signing keys (private JWK as JSON); the newest live key signs, live and recently
-- retired keys are published in the JWKS.
CREATE TABLE oidc_signing_keys (
    kid         TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);
