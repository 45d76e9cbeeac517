-- The PostgreSQL schema of pos-server: the same tables as the SQLite one, plus
-- the in-flight claims and the idempotency outcome counters that several
-- instances share. A migration is never edited once released: add V2__….sql.

CREATE TABLE businesses (
    id   BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE cashiers (
    id           BIGSERIAL PRIMARY KEY,
    business_id  BIGINT NOT NULL REFERENCES businesses(id),
    name         TEXT NOT NULL,
    -- SHA-256 of the bearer token, hex; the token itself is never stored.
    token_sha256 TEXT NOT NULL UNIQUE
);
CREATE TABLE products (
    id          BIGSERIAL PRIMARY KEY,
    business_id BIGINT NOT NULL REFERENCES businesses(id),
    name        TEXT NOT NULL,
    price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
    stock       BIGINT NOT NULL CHECK (stock >= 0)
);
CREATE INDEX products_business ON products(business_id);

-- Invoice and return numbers: the last number drawn per business, kind and
-- month. The sale's transaction increments the row (and so holds its lock until
-- it commits or rolls back): numbers are gapless across every instance.
CREATE TABLE sequences (
    business_id BIGINT NOT NULL REFERENCES businesses(id),
    kind        TEXT NOT NULL CHECK (kind IN ('INV', 'RET')),
    period      TEXT NOT NULL,
    last_value  BIGINT NOT NULL CHECK (last_value > 0),
    PRIMARY KEY (business_id, kind, period)
);

CREATE TABLE sales (
    id                  BIGSERIAL PRIMARY KEY,
    public_id           TEXT NOT NULL UNIQUE,
    business_id         BIGINT NOT NULL REFERENCES businesses(id),
    cashier_id          BIGINT NOT NULL REFERENCES cashiers(id),
    location_id         TEXT NOT NULL, -- JSON: the client's string or number, as sent
    period              TEXT NOT NULL,
    seq                 BIGINT NOT NULL CHECK (seq > 0),
    invoice_number      TEXT NOT NULL,
    total_cents         BIGINT NOT NULL CHECK (total_cents >= 0),
    created_at          TEXT NOT NULL,
    idempotency_key     TEXT,
    request_fingerprint BYTEA,
    UNIQUE (business_id, invoice_number),
    UNIQUE (business_id, period, seq)
);
CREATE UNIQUE INDEX sales_idempotency_key ON sales(business_id, cashier_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE sale_items (
    sale_id          BIGINT NOT NULL REFERENCES sales(id),
    product_id       BIGINT NOT NULL REFERENCES products(id),
    name             TEXT NOT NULL,
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (sale_id, product_id)
);
CREATE TABLE payments (
    sale_id      BIGINT NOT NULL REFERENCES sales(id),
    position     BIGINT NOT NULL,
    method       TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents > 0),
    PRIMARY KEY (sale_id, position)
);

CREATE TABLE refunds (
    id                  BIGSERIAL PRIMARY KEY,
    public_id           TEXT NOT NULL UNIQUE,
    business_id         BIGINT NOT NULL REFERENCES businesses(id),
    sale_id             BIGINT NOT NULL REFERENCES sales(id),
    cashier_id          BIGINT NOT NULL REFERENCES cashiers(id),
    period              TEXT NOT NULL,
    seq                 BIGINT NOT NULL CHECK (seq > 0),
    return_number       TEXT NOT NULL,
    total_cents         BIGINT NOT NULL CHECK (total_cents >= 0),
    created_at          TEXT NOT NULL,
    idempotency_key     TEXT,
    request_fingerprint BYTEA,
    UNIQUE (business_id, return_number),
    UNIQUE (business_id, period, seq)
);
CREATE INDEX refunds_sale ON refunds(sale_id);
CREATE UNIQUE INDEX refunds_idempotency_key ON refunds(business_id, cashier_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE TABLE refund_items (
    refund_id        BIGINT NOT NULL REFERENCES refunds(id),
    product_id       BIGINT NOT NULL REFERENCES products(id),
    quantity         BIGINT NOT NULL CHECK (quantity > 0),
    unit_price_cents BIGINT NOT NULL CHECK (unit_price_cents >= 0),
    PRIMARY KEY (refund_id, product_id)
);

-- One row per idempotency scope. 'processing': claimed by the instance holding
-- claim_token until expires_at_ms (the lease); any instance may take the row
-- over once the lease has run out. 'completed': the stored response, replayed
-- until expires_at_ms (the key TTL), written in the transaction of the effect.
-- The purge deletes rows of either state whose expires_at_ms has passed.
CREATE TABLE idempotency_keys (
    id            BIGSERIAL PRIMARY KEY,
    business_id   BIGINT NOT NULL,
    cashier_id    BIGINT NOT NULL,
    key           TEXT NOT NULL,
    fingerprint   BYTEA NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('processing', 'completed')),
    claim_token   TEXT,
    status        INTEGER,
    content_type  TEXT,
    body          BYTEA,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    CHECK ((state = 'processing') = (claim_token IS NOT NULL)),
    CHECK ((state = 'completed') = (status IS NOT NULL AND content_type IS NOT NULL AND body IS NOT NULL)),
    UNIQUE (business_id, cashier_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys(expires_at_ms);

-- Replays, in-flight conflicts and key mismatches per business, one row per
-- instance (so instances never wait on each other's counters), summed by
-- GET /api/stats.
CREATE TABLE idempotency_outcomes (
    business_id         BIGINT NOT NULL,
    instance            TEXT NOT NULL,
    replays             BIGINT NOT NULL DEFAULT 0,
    in_flight_conflicts BIGINT NOT NULL DEFAULT 0,
    key_mismatches      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (business_id, instance)
);
