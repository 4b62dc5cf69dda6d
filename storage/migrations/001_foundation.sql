-- Foundation: parties, durable conversations, idempotent inbox, outbox, delivered messages, jobs.
CREATE TABLE users (
    id          TEXT PRIMARY KEY,               -- transport user id (Telegram id, simulator name)
    role        TEXT NOT NULL CHECK (role IN ('business', 'customer')),
    phone       TEXT NOT NULL UNIQUE,           -- E.164
    market      TEXT NOT NULL,
    name        TEXT NOT NULL,
    locale      TEXT NOT NULL,
    biometric   INTEGER NOT NULL DEFAULT 0,
    created_at  TEXT NOT NULL
);

CREATE TABLE conversations (
    user_id     TEXT PRIMARY KEY,
    flow        TEXT NOT NULL,
    state       TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    updated_at  TEXT NOT NULL
);

CREATE TABLE inbox (                             -- one row per processed inbound event
    key         TEXT PRIMARY KEY,                 -- transport key: a redelivery is a no-op
    received_at TEXT NOT NULL
);

CREATE TABLE outbox (
    id          INTEGER PRIMARY KEY,
    to_user     TEXT NOT NULL,
    kind        TEXT NOT NULL,
    key         TEXT NOT NULL,
    body        TEXT NOT NULL,                    -- JSON of the Outbound
    created_at  TEXT NOT NULL,
    delivered   INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_undelivered ON outbox (id) WHERE delivered = 0;

CREATE TABLE messages (                          -- logical message id -> the platform's id
    user_id     TEXT NOT NULL,
    ref         TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    PRIMARY KEY (user_id, ref)
);
CREATE INDEX messages_by_platform ON messages (user_id, platform_id);

CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY,
    due_at      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    payload     TEXT NOT NULL,
    done        INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX jobs_due ON jobs (due_at) WHERE done = 0;
