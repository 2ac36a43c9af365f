-- Idempotency keys expire (service_main's cleanup deletes the oldest in batches).
CREATE INDEX idx_idempotency_created ON idempotency_keys (created_at);
