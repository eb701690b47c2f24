-- MO texts already taken from each SMSC route, so that a text the SMSC delivers again (it got
-- no deliver_sm_resp: Columba stopped between storing the text and acking it) is recognised
-- and acked without delivering it twice. Rows older than [sms] mo_dedupe_window are deleted.
-- mo_key: a digest of source, destination, concatenation reference and parts, and the text
-- (SMPP 3.4 gives an MO no identity of its own). client_key: the key of the IM or SMS the text
-- produced (unique in messages / sms_outbox), so a redelivery re-runs to the same rows.
-- state: 'pending' (taken, not yet handed on) | 'done'.
CREATE TABLE sms_mo (
    route      TEXT NOT NULL,
    mo_key     TEXT NOT NULL,
    client_key TEXT NOT NULL,
    state      TEXT NOT NULL,
    seen_at    BIGINT NOT NULL,
    PRIMARY KEY (route, mo_key)
);
CREATE INDEX sms_mo_seen ON sms_mo (seen_at);
