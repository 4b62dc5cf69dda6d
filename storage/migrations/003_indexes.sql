-- Indexes for the queries on the hot path, which scanned whole tables as data grew (found by
-- `paychat bench`): the limits check, cancelling a request's jobs, and history.
CREATE INDEX payments_by_customer ON payments (customer_id, created_at);
CREATE INDEX requests_by_business ON requests (business_id, created_at);
CREATE INDEX requests_by_customer ON requests (customer_id, created_at);
CREATE INDEX jobs_by_key ON jobs (kind, json_extract(payload, '$.key')) WHERE done = 0;
