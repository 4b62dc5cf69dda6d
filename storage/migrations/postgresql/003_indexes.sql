-- Indexes for the hot path (PostgreSQL twin of ../003_indexes.sql).
CREATE INDEX payments_by_customer ON payments (customer_id, created_at);
CREATE INDEX requests_by_business ON requests (business_id, created_at);
CREATE INDEX requests_by_customer ON requests (customer_id, created_at);
CREATE INDEX jobs_by_key ON jobs (kind, (payload::jsonb ->> 'key')) WHERE done = 0;
