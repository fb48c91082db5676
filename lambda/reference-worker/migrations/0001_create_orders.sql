-- Orders recorded by the reference worker from OrderPlaced events. EventBridge
-- and Lambda's async retries deliver an event at least once, so the order id
-- (the client's key) is the primary key: a repeated delivery finds its order
-- instead of adding a second one.
--
-- utf8mb4_bin compares ids exactly: under the server's default collation
-- (case- and accent-insensitive) 'abc' and 'ABC' would be the same order.
-- The CHECK constraints repeat the worker's rules, so rows written any other
-- way obey them too (MySQL 8.0.16+ and MariaDB 10.2+ enforce them).
CREATE TABLE orders (
  order_id VARCHAR(64) NOT NULL PRIMARY KEY,
  customer_id VARCHAR(64) NOT NULL,
  amount_cents BIGINT UNSIGNED NOT NULL,
  currency CHAR(3) NOT NULL,
  recorded_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  CONSTRAINT orders_order_id_format CHECK (order_id REGEXP '^[A-Za-z0-9_-]{1,64}$'),
  CONSTRAINT orders_customer_id_format CHECK (customer_id REGEXP '^[A-Za-z0-9_-]{1,64}$'),
  CONSTRAINT orders_amount_positive_safe CHECK (amount_cents BETWEEN 1 AND 9007199254740991),
  CONSTRAINT orders_currency_format CHECK (currency REGEXP '^[A-Z]{3}$')
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
