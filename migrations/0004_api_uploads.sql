-- HTTP API, second step: uploaded objects (raw logs sent once, analysed by name, possibly
-- several times and at several depths) and what an analysis adds beside its Result.

-- An object a tenant uploaded with POST /uploads; its bytes are a file in the server's state
-- directory named by the id, removed when the row expires.
CREATE TABLE api_uploads (
  id          text PRIMARY KEY,
  tenant      text NOT NULL,
  key_id      text REFERENCES api_keys (id) ON DELETE SET NULL,
  name        text NOT NULL DEFAULT '',
  format      text NOT NULL,
  bytes       bigint NOT NULL CHECK (bytes >= 0),
  sha256      text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL
);
CREATE INDEX api_uploads_tenant_created ON api_uploads (tenant, created_at DESC);
CREATE INDEX api_uploads_expires ON api_uploads (expires_at);

-- What an analysis adds beside its Result (JSON): a deep analysis's narrative and tool
-- reports, a stored analysis's counts of sessions and campaigns written.
ALTER TABLE api_analyses ADD COLUMN extras text;

-- The audit rows leave out the extras as they leave out the Result.
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  actor text := coalesce(nullif(current_setting('app.actor', true), ''), current_user);
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, old_row)
    VALUES (TG_TABLE_NAME, OLD.id, TG_OP, current_user, to_jsonb(OLD)->>'tenant', actor, to_jsonb(OLD) - 'result' - 'extras');
    RETURN OLD;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, old_row, new_row)
    VALUES (TG_TABLE_NAME, NEW.id, TG_OP, current_user, to_jsonb(NEW)->>'tenant', actor, to_jsonb(OLD) - 'result' - 'extras', to_jsonb(NEW) - 'result' - 'extras');
    RETURN NEW;
  ELSE
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, new_row)
    VALUES (TG_TABLE_NAME, NEW.id, TG_OP, current_user, to_jsonb(NEW)->>'tenant', actor, to_jsonb(NEW) - 'result' - 'extras');
    RETURN NEW;
  END IF;
END
$$;

CREATE TRIGGER api_uploads_audit AFTER INSERT OR UPDATE OR DELETE ON api_uploads FOR EACH ROW EXECUTE FUNCTION audit_row_change();

GRANT SELECT, INSERT, UPDATE, DELETE ON api_uploads TO dshield_app;
ALTER TABLE api_uploads ENABLE ROW LEVEL SECURITY;
CREATE POLICY api_uploads_tenant ON api_uploads USING (tenant = current_setting('app.tenant', true));
