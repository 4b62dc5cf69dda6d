-- Payments: business bank links, customer methods, PINs, SMS codes, requests, payments, refunds,
-- a double-entry ledger, and the simulated rails' own books (bank accounts, card funds).
CREATE TABLE bank_accounts (                     -- the simulated banks' accounts, found by phone
    id          TEXT PRIMARY KEY,
    bank        TEXT NOT NULL,
    phone       TEXT NOT NULL,
    number_enc  BLOB NOT NULL,                    -- encrypted at rest
    last4       TEXT NOT NULL,
    currency    TEXT NOT NULL,
    balance     INTEGER NOT NULL CHECK (balance >= 0)
);
CREATE INDEX bank_accounts_phone ON bank_accounts (phone, bank);

CREATE TABLE payouts (                           -- a business's payment setup: where money lands
    business_id TEXT PRIMARY KEY REFERENCES users (id),
    bank        TEXT NOT NULL,
    account_id  TEXT NOT NULL REFERENCES bank_accounts (id),
    linked_at   TEXT NOT NULL
);

CREATE TABLE methods (
    id          TEXT PRIMARY KEY,
    user_id     TEXT NOT NULL REFERENCES users (id),
    kind        TEXT NOT NULL CHECK (kind IN ('card', 'upi', 'pix', 'paynow', 'wallet')),
    label       TEXT NOT NULL,                    -- safe to show: "Visa •••• 4242", "asha@okhdfc"
    token_enc   BLOB NOT NULL,                    -- processor token or bank account id, encrypted
    brand       TEXT,
    funding     TEXT,
    last4       TEXT,
    expiry      TEXT,                             -- MM/YY
    added_at    TEXT NOT NULL,
    is_default  INTEGER NOT NULL DEFAULT 0,
    removed     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX methods_user ON methods (user_id) WHERE removed = 0;

CREATE TABLE card_funds (                        -- the simulated processor's view of a card
    token       TEXT PRIMARY KEY,
    currency    TEXT NOT NULL,
    balance     INTEGER NOT NULL CHECK (balance >= 0),
    behaviour   TEXT NOT NULL DEFAULT 'approve'   -- from the test card the token was made from
);

CREATE TABLE pins (
    user_id     TEXT PRIMARY KEY REFERENCES users (id),
    hash        BLOB NOT NULL,                    -- scrypt(salt, pin); never the PIN
    salt        BLOB NOT NULL,
    wrong       INTEGER NOT NULL DEFAULT 0,
    locked_until TEXT
);

CREATE TABLE sms_codes (
    user_id     TEXT NOT NULL,
    purpose     TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    expires_at  TEXT NOT NULL,
    tries_left  INTEGER NOT NULL,
    sent_at     TEXT NOT NULL,
    PRIMARY KEY (user_id, purpose)
);
CREATE TABLE sms_sends (user_id TEXT NOT NULL, sent_at TEXT NOT NULL);

CREATE TABLE requests (
    id          TEXT PRIMARY KEY,                 -- PR-…
    business_id TEXT NOT NULL REFERENCES users (id),
    customer_id TEXT REFERENCES users (id),        -- NULL for a payment link
    kind        TEXT NOT NULL CHECK (kind IN ('request', 'link')),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    note        TEXT NOT NULL DEFAULT '',
    status      TEXT NOT NULL CHECK (status IN ('open', 'paid', 'declined', 'cancelled',
                    'expired', 'refunded', 'partially_refunded')),
    token_hash  TEXT UNIQUE,                       -- payment links: sha256 of the token
    created_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL,
    failed_attempts INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE payments (
    id          TEXT PRIMARY KEY,                 -- TX-…
    request_id  TEXT NOT NULL REFERENCES requests (id),
    customer_id TEXT NOT NULL REFERENCES users (id),
    method_id   TEXT NOT NULL REFERENCES methods (id),
    method_kind TEXT NOT NULL,
    amount      INTEGER NOT NULL CHECK (amount > 0),
    currency    TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('authorising', 'succeeded', 'failed', 'unknown')),
    reason      TEXT,
    created_at  TEXT NOT NULL,
    refunded    INTEGER NOT NULL DEFAULT 0 CHECK (refunded >= 0 AND refunded <= amount)
);
-- At most one successful (or still undecided) payment per request: a constraint, not a hope.
CREATE UNIQUE INDEX one_live_payment_per_request ON payments (request_id)
    WHERE status IN ('succeeded', 'unknown', 'authorising');

CREATE TABLE refunds (
    id          TEXT PRIMARY KEY,                 -- RF-…
    payment_id  TEXT NOT NULL REFERENCES payments (id),
    amount      INTEGER NOT NULL CHECK (amount > 0),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    created_at  TEXT NOT NULL
);

CREATE TABLE ledger (                            -- double entry: each txn's rows sum to zero
    id          INTEGER PRIMARY KEY,
    txn         TEXT NOT NULL,
    account     TEXT NOT NULL,
    currency    TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    created_at  TEXT NOT NULL
);
CREATE INDEX ledger_account ON ledger (account);

CREATE TABLE processor_charges (                 -- the simulated processor's own record of a charge
    payment_id  TEXT PRIMARY KEY,
    token       TEXT NOT NULL,
    amount      INTEGER NOT NULL,
    currency    TEXT NOT NULL,
    outcome     TEXT NOT NULL,                    -- succeeded | declined | error
    code        TEXT
);
