-- A panel form sent after its session had ended: what was typed, kept for
-- the session its sender logged in with next, until the form's page shows
-- it again (or that session ends, which deletes it).
CREATE TABLE form_drafts (
    session_id BIGINT PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    -- The form's page, where the draft is shown again.
    page TEXT NOT NULL,
    -- The form's fields as sent (URL-encoded), without its CSRF token.
    body TEXT NOT NULL CHECK (length(body) <= 65536),
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
