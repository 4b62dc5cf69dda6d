-- Every copy of a message leads back to its ref (PostgreSQL twin of ../004_every_copy.sql):
-- keyed by the platform's id; `rowid` keeps the order they were remembered in (newest first).
CREATE TABLE messages_by_copy (
    rowid       BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id     TEXT NOT NULL,
    ref         TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    PRIMARY KEY (user_id, platform_id)
);
INSERT INTO messages_by_copy (user_id, ref, platform_id)
    SELECT user_id, ref, platform_id FROM messages;
DROP TABLE messages;
ALTER TABLE messages_by_copy RENAME TO messages;
ALTER INDEX messages_by_copy_pkey RENAME TO messages_pkey;
CREATE INDEX messages_by_ref ON messages (user_id, ref);
