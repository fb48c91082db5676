-- Items of the reference API. POST /items is idempotent: each item keeps the
-- client's Idempotency-Key (unique) and the SHA-256 of the request it was
-- created by, so a retry with the same key returns this item instead of
-- creating another one, and a different request under a used key is refused.
CREATE TABLE items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  idempotency_key text NOT NULL UNIQUE CHECK (idempotency_key ~ '^[A-Za-z0-9._:-]{1,128}$'),
  request_hash text NOT NULL CHECK (request_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz NOT NULL DEFAULT now()
);
