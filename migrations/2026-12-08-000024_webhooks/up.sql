-- Webhooks: endpoints that want the events pushed to them, one delivery
-- per event and endpoint (made as the event is numbered), and every attempt
-- to deliver one.
CREATE TABLE webhook_endpoints (
    id BIGSERIAL PRIMARY KEY,
    owner_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    -- The kinds of event wanted; empty: every kind.
    kinds TEXT[] NOT NULL DEFAULT '{}',
    -- Only this store's events, when set. No foreign key: a store's
    -- deletion is itself an event the endpoint is to get.
    store_id BIGINT,
    -- Signs each delivery (`whsec_` and the key's base64); after a
    -- rotation the previous one signs too, until `previous_secret_until`.
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_secret_until TIMESTAMPTZ,
    enabled BOOLEAN NOT NULL DEFAULT true,
    -- Why it is disabled: by its owner, or for failing too long.
    disabled_reason TEXT,
    -- Since when every attempt has failed (NULL while deliveries succeed).
    failing_since TIMESTAMPTZ,
    -- Held by one instance's worker until then, so that its deliveries go
    -- one at a time, in order.
    leased_until TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_owner_idx ON webhook_endpoints (owner_id, id);

CREATE TABLE webhook_deliveries (
    id BIGSERIAL PRIMARY KEY,
    endpoint_id BIGINT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL,
    -- What is sent: the event as the stream shows it, written at the first
    -- attempt (events are pruned sooner than deliveries give up).
    body TEXT,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    finished_at TIMESTAMPTZ
);

-- An endpoint's next delivery: its pending one of the lowest id.
CREATE INDEX webhook_deliveries_pending_idx ON webhook_deliveries (endpoint_id, id) WHERE state = 'pending';
-- An endpoint's log, newest first.
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);
-- Old deliveries, for housekeeping.
CREATE INDEX webhook_deliveries_created_idx ON webhook_deliveries (created_at);

CREATE TABLE webhook_attempts (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    at TIMESTAMPTZ NOT NULL DEFAULT now(),
    duration_ms INTEGER NOT NULL,
    -- The answer's status, when one came.
    status INTEGER,
    -- Why the attempt failed, when it did: a timeout, a refused address...
    error TEXT,
    -- The answer's first bytes.
    response TEXT NOT NULL DEFAULT ''
);

CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id);
