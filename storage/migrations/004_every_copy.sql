-- A message the bot sent twice (a crash between sending and recording it) has two platform ids:
-- both must lead back to the message's logical ref, so a button on either copy still works.
-- Keyed by the platform's id; a ref may have several (the newest is edited first).
CREATE TABLE messages_by_copy (
    user_id     TEXT NOT NULL,
    ref         TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    PRIMARY KEY (user_id, platform_id)
);
INSERT INTO messages_by_copy (user_id, ref, platform_id)
    SELECT user_id, ref, platform_id FROM messages;
DROP TABLE messages;
ALTER TABLE messages_by_copy RENAME TO messages;
CREATE INDEX messages_by_ref ON messages (user_id, ref);
-- outbox.delivered: 0 not yet, 1 delivered, 2 refused by the platform for good (not retried).
