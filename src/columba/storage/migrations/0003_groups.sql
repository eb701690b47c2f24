-- Groups (membership, roles, mutes) and robots (registrations, group scopes, the durable
-- outbox of robot events). Conventions as in 0001_initial.sql.
--
-- A group's id is the id of its conversation (kind 'group'): its messages are ordinary stored
-- messages with a per-group sequence, delivered through the same per-device queues as 1:1.
-- A robot's id is the user id of the account that speaks for it in groups and 1:1 chats.

INSERT INTO counters (name, value) VALUES ('robot_event', 0);

CREATE TABLE chat_groups (
    group_id     BIGINT PRIMARY KEY,
    name         TEXT NOT NULL,
    bulletin     TEXT NOT NULL DEFAULT '',
    owner_id     BIGINT NOT NULL,
    member_limit BIGINT NOT NULL,
    version      BIGINT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- role: owner, admin, member (receive messages); invited, applied (waiting, receive nothing).
CREATE TABLE group_members (
    group_id    BIGINT NOT NULL,
    user_id     BIGINT NOT NULL,
    role        TEXT NOT NULL,
    muted_until BIGINT NOT NULL DEFAULT 0,
    note        TEXT NOT NULL DEFAULT '',
    joined_at   BIGINT NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

-- The token is stored as its SHA-256 (it is a random 256-bit value: no salt or stretching
-- needed); the signing secret must be kept to sign, so it is stored as is.
CREATE TABLE robots (
    robot_id       BIGINT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    owner_id       BIGINT,
    token_hash     TEXT NOT NULL UNIQUE,
    signing_secret TEXT NOT NULL,
    transport      TEXT NOT NULL,
    webhook_url    TEXT NOT NULL DEFAULT '',
    description    TEXT NOT NULL DEFAULT '',
    is_builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     BIGINT NOT NULL
);

-- read_scope: 'mentions' (mentions and /commands, the default) or 'all'.
CREATE TABLE group_robots (
    group_id   BIGINT NOT NULL,
    robot_id   BIGINT NOT NULL,
    read_scope TEXT NOT NULL,
    added_by   BIGINT NOT NULL,
    added_at   BIGINT NOT NULL,
    PRIMARY KEY (group_id, robot_id)
);
CREATE INDEX group_robots_robot ON group_robots (robot_id);

-- The outbox: one row per event owed to a robot, written in the transaction that stored the
-- message, with the full payload (a retry resends exactly what the first attempt sent).
-- chat_key orders delivery: one event in flight per (robot, chat), in event_seq order.
-- state: pending, delivered, dead.
CREATE TABLE robot_events (
    event_seq       BIGINT PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    robot_id        BIGINT NOT NULL,
    chat_key        TEXT NOT NULL,
    payload         TEXT NOT NULL,
    state           TEXT NOT NULL,
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX robot_events_due ON robot_events (state, robot_id, chat_key, event_seq);
