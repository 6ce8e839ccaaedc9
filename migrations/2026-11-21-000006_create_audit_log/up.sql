-- Who changed what, written in the same transaction as the change.
CREATE TABLE audit_log (
    id        BIGSERIAL PRIMARY KEY,
    at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    actor_id  BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    via       TEXT        NOT NULL CHECK (via IN ('admin', 'api', 'web', 'cli')),
    action    TEXT        NOT NULL,
    entity    TEXT        NOT NULL,
    entity_id BIGINT      NOT NULL,
    changes   JSONB       NOT NULL DEFAULT '{}'
);

CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id, at DESC);
CREATE INDEX audit_log_at_idx ON audit_log (at DESC, id DESC);
CREATE INDEX audit_log_actor_id_idx ON audit_log (actor_id);
