-- Columba's initial schema, in the common subset of SQLite and PostgreSQL.
--
-- Conventions:
--   * ids are BIGINT allocated from the counters table (no AUTOINCREMENT or IDENTITY, so that one
--     file serves both dialects);
--   * times are BIGINT microseconds since the Unix epoch, UTC;
--   * message bodies are BYTEA: a bytea column in PostgreSQL; in SQLite the declared type only
--     gives NUMERIC affinity, which stores the blobs we insert unchanged;
--   * BOOLEAN is a boolean in PostgreSQL and 0/1 in SQLite.
-- The messaging tables have no foreign keys on purpose: the store-before-deliver path is the
-- hot path, and its rules are kept by the operations in messages.py and delivery.py.

CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('user_id', 0);
INSERT INTO counters (name, value) VALUES ('conversation_id', 0);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Accounts ------------------------------------------------------------------------------------

CREATE TABLE accounts (
    user_id       BIGINT PRIMARY KEY,
    sid           TEXT NOT NULL UNIQUE,
    number        TEXT UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    impresa       TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    is_disabled   BOOLEAN NOT NULL DEFAULT FALSE
);

-- HA1 per realm and algorithm (RFC 7616 §3.4.2), so that a password is never stored in clear.
CREATE TABLE digest_credentials (
    user_id   BIGINT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    realm     TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    ha1       TEXT NOT NULL,
    PRIMARY KEY (user_id, realm, algorithm)
);

CREATE TABLE invites (
    code       TEXT PRIMARY KEY,
    created_by BIGINT REFERENCES accounts (user_id) ON DELETE SET NULL,
    uses_left  BIGINT NOT NULL CHECK (uses_left >= 0),
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX invites_created_by ON invites (created_by);

-- Contacts ------------------------------------------------------------------------------------

-- The owner's contact-list version: bumped by every change to the owner's contacts or buddy
-- lists; each changed row is stamped with the new version, so a delta is "version > N".
CREATE TABLE contact_versions (
    owner_id BIGINT PRIMARY KEY REFERENCES accounts (user_id) ON DELETE CASCADE,
    version  BIGINT NOT NULL
);

-- One row per owner and other user. A removed entry stays as a tombstone (is_deleted) so that
-- a delta can report the removal. contact_id has no foreign key: tombstones outlive accounts.
CREATE TABLE contacts (
    owner_id   BIGINT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL,
    state      TEXT NOT NULL,
    local_name TEXT NOT NULL DEFAULT '',
    list_ids   TEXT NOT NULL DEFAULT '',
    version    BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (owner_id, contact_id)
);
CREATE INDEX contacts_owner_version ON contacts (owner_id, version);
-- "Who has this user as a contact": presence fan-out, and tombstones when an account goes.
CREATE INDEX contacts_contact ON contacts (contact_id);

CREATE TABLE buddy_lists (
    owner_id   BIGINT NOT NULL REFERENCES accounts (user_id) ON DELETE CASCADE,
    list_id    BIGINT NOT NULL,
    name       TEXT NOT NULL,
    version    BIGINT NOT NULL,
    is_deleted BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (owner_id, list_id)
);

-- Messages ------------------------------------------------------------------------------------

-- pair_low < pair_high for a pair conversation (NULL for a group): UNIQUE finds the one
-- conversation of two users; NULLs are distinct, so groups never collide.
CREATE TABLE conversations (
    conversation_id BIGINT PRIMARY KEY,
    kind            TEXT NOT NULL,
    pair_low        BIGINT,
    pair_high       BIGINT,
    last_seq        BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    UNIQUE (pair_low, pair_high)
);

CREATE TABLE messages (
    message_id      TEXT PRIMARY KEY,
    conversation_id BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    sender_id       BIGINT NOT NULL,
    client_key      TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    body            BYTEA NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (conversation_id, seq),
    -- client_key first: the retransmission lookup is by key, which is nearly unique alone.
    UNIQUE (client_key, sender_id)
);

CREATE TABLE devices (
    user_id       BIGINT NOT NULL,
    device_id     TEXT NOT NULL,
    registered_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id)
);

-- What each device still owes an acknowledgement for, keyed in the order it is to be delivered.
-- One index only: a device's queue is a range of it, an ack (resolved to conversation and seq
-- through messages) a point in it, and no second index can tempt the planner into scanning a
-- long queue to find the acked rows.
CREATE TABLE deliveries (
    user_id         BIGINT NOT NULL,
    device_id       TEXT NOT NULL,
    conversation_id BIGINT NOT NULL,
    seq             BIGINT NOT NULL,
    PRIMARY KEY (user_id, device_id, conversation_id, seq)
);

-- The fate of each message for each recipient (not for the sender's own devices).
CREATE TABLE delivery_status (
    message_id       TEXT NOT NULL,
    recipient_id     BIGINT NOT NULL,
    state            TEXT NOT NULL,
    updated_at       BIGINT NOT NULL,
    delivered_at     BIGINT,
    sms_sent_at      BIGINT,
    sms_delivered_at BIGINT,
    failed_at        BIGINT,
    PRIMARY KEY (message_id, recipient_id)
);
-- What a user has received on no device yet: owed to the user's next new device. Partial, so
-- it holds only the open statuses and stays small however long the history.
CREATE INDEX delivery_status_open ON delivery_status (recipient_id)
    WHERE state IN ('pending', 'failed');
