-- The SMS leg: per-user SMS preferences, STOPped phones, quotas, and the durable SMS outbox.
-- Same conventions as 0001 (times in microseconds since the epoch, ids from counters).

INSERT INTO counters (name, value) VALUES ('sms_id', 0);

-- Absent row = the defaults (offline messages may go as SMS, no refusal, no quiet hours).
CREATE TABLE sms_preferences (
    user_id      BIGINT PRIMARY KEY,
    offline_sms  BOOLEAN NOT NULL DEFAULT TRUE,
    refuse_until BIGINT NOT NULL DEFAULT 0,
    quiet_start  BIGINT NOT NULL DEFAULT -1,  -- minutes after midnight UTC, -1 = none
    quiet_end    BIGINT NOT NULL DEFAULT -1,
    updated_at   BIGINT NOT NULL
);

-- Phones that texted STOP (digits only); START deletes the row.
CREATE TABLE sms_stops (
    number     TEXT PRIMARY KEY,
    stopped_at BIGINT NOT NULL
);

-- Segments sent per user and period ('d20261124', 'm202611').
CREATE TABLE sms_usage (
    user_id BIGINT NOT NULL,
    period  TEXT NOT NULL,
    count   BIGINT NOT NULL,
    PRIMARY KEY (user_id, period)
);

-- One row per SMS (however many segments). state: queued → submitting → submitted →
-- delivered | failed. client_key makes enqueueing idempotent (the IM's id, or the sender's
-- Call-ID/CSeq for SendCatSMS).
CREATE TABLE sms_outbox (
    sms_id          BIGINT PRIMARY KEY,
    client_key      TEXT NOT NULL UNIQUE,
    route           TEXT NOT NULL,
    sender_id       BIGINT NOT NULL,
    recipient_id    BIGINT NOT NULL,
    message_id      TEXT NOT NULL,
    source          TEXT NOT NULL,
    destination     TEXT NOT NULL,
    body            TEXT NOT NULL,
    segments        BIGINT NOT NULL,
    state           TEXT NOT NULL,
    delivered_parts BIGINT NOT NULL DEFAULT 0,
    smsc_ids        TEXT NOT NULL DEFAULT '',
    detail          TEXT NOT NULL DEFAULT '',
    not_before      BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX sms_outbox_queue ON sms_outbox (route, state, sms_id);
CREATE INDEX sms_outbox_message ON sms_outbox (message_id);

-- SMSC message id of each submitted segment → its SMS, to match delivery receipts.
CREATE TABLE sms_parts (
    smsc_id TEXT PRIMARY KEY,
    sms_id  BIGINT NOT NULL
);
