-- 0003: the HTTP API (`dshield-coord serve`): API keys with roles and expiry, refresh
-- tokens, revoked access tokens, analyses submitted over the API, webhook deliveries, audit
-- of API events, and tenant isolation enforced by row-level security for a non-owner role.

-- Keys: a role (viewer, analyst, admin), an optional expiry, a per-key daily analysis quota.
-- The secret is never stored: key_hash is "sha256$<salt>$<digest>" (src/api/auth/secrets.ts).
ALTER TABLE api_keys ADD COLUMN role text NOT NULL DEFAULT 'viewer' CHECK (role IN ('viewer', 'analyst', 'admin'));
ALTER TABLE api_keys ADD COLUMN expires_at timestamptz;
ALTER TABLE api_keys ADD COLUMN last_used_at timestamptz;
ALTER TABLE api_keys ADD COLUMN daily_analysis_quota integer CHECK (daily_analysis_quota IS NULL OR daily_analysis_quota >= 0);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- Refresh tokens (hashed like keys); using one rotates it (replaced_by), revoking the key
-- revokes them all through revoked_at on the key.
CREATE TABLE api_refresh_tokens (
  id            text PRIMARY KEY,
  key_id        text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  token_hash    text NOT NULL,
  expires_at    timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz,
  replaced_by   text
);
CREATE INDEX api_refresh_tokens_key ON api_refresh_tokens (key_id);

-- Access tokens revoked before they expire (by their jti); rows past expires_at are useless
-- and removed by `maintenance`.
CREATE TABLE api_revoked_tokens (
  jti           text PRIMARY KEY,
  expires_at    timestamptz NOT NULL,
  revoked_at    timestamptz NOT NULL DEFAULT now()
);

-- Analyses submitted over the API: their state, their Result when done, their failure.
CREATE TABLE api_analyses (
  id            text PRIMARY KEY,
  tenant        text NOT NULL,
  key_id        text REFERENCES api_keys (id) ON DELETE SET NULL,
  status        text NOT NULL CHECK (status IN ('queued', 'running', 'completed', 'failed')),
  depth         text NOT NULL CHECK (depth IN ('minimal', 'standard', 'deep')),
  callback_url  text,
  sessions      integer NOT NULL DEFAULT 0 CHECK (sessions >= 0),
  -- The Result v1 document exactly as the engine wrote it (text, so no key is reordered).
  result        text,
  error         text,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX api_analyses_tenant_created ON api_analyses (tenant, created_at DESC);

-- Every attempt to deliver an analysis's webhook.
CREATE TABLE webhook_deliveries (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  analysis_id   text NOT NULL REFERENCES api_analyses (id) ON DELETE CASCADE,
  tenant        text NOT NULL,
  url           text NOT NULL,
  attempt       integer NOT NULL CHECK (attempt >= 1),
  status_code   integer,
  error         text,
  delivered     boolean NOT NULL,
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_deliveries_analysis ON webhook_deliveries (analysis_id);

-- The audit log also records API events (authentication failures, key changes, submitted
-- analyses): who, which tenant, from where, under which request id.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_action_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_action_check CHECK (action IN ('INSERT', 'UPDATE', 'DELETE', 'EVENT'));
ALTER TABLE audit_log ADD COLUMN tenant text;
ALTER TABLE audit_log ADD COLUMN actor text;
ALTER TABLE audit_log ADD COLUMN client_ip text;
ALTER TABLE audit_log ADD COLUMN request_id text;
ALTER TABLE audit_log ADD COLUMN detail jsonb;
-- Row changes are attributed to the tenant of the row and to the API actor of the
-- transaction (app.actor, set by the API next to app.tenant), when there is one. A Result
-- document is not copied into the audit rows (it is kept once, in its own row; the audit
-- says that it changed, not what it holds).
CREATE OR REPLACE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  actor text := coalesce(nullif(current_setting('app.actor', true), ''), current_user);
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, old_row)
    VALUES (TG_TABLE_NAME, OLD.id, TG_OP, current_user, to_jsonb(OLD)->>'tenant', actor, to_jsonb(OLD) - 'result');
    RETURN OLD;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, old_row, new_row)
    VALUES (TG_TABLE_NAME, NEW.id, TG_OP, current_user, to_jsonb(NEW)->>'tenant', actor, to_jsonb(OLD) - 'result', to_jsonb(NEW) - 'result');
    RETURN NEW;
  ELSE
    INSERT INTO audit_log (table_name, row_id, action, changed_by, tenant, actor, new_row)
    VALUES (TG_TABLE_NAME, NEW.id, TG_OP, current_user, to_jsonb(NEW)->>'tenant', actor, to_jsonb(NEW) - 'result');
    RETURN NEW;
  END IF;
END
$$;
CREATE TRIGGER api_keys_audit AFTER INSERT OR UPDATE OR DELETE ON api_keys FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER api_analyses_audit AFTER INSERT OR UPDATE OR DELETE ON api_analyses FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- Two tenants may store the same session (same content-derived id, same start): the key
-- includes the tenant.
ALTER TABLE attack_sessions DROP CONSTRAINT attack_sessions_pkey;
ALTER TABLE attack_sessions ADD PRIMARY KEY (tenant, id, start_at);

-- Tenant isolation. The API runs every tenant's statements as dshield_app (SET LOCAL ROLE
-- inside the transaction, with app.tenant set for that transaction only), a role that owns
-- nothing, so the policies below apply to it; the CLI and the workers keep the owner role.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dshield_app') THEN
    CREATE ROLE dshield_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
END
$$;
-- The engine's own login may switch to it (a superuser may anyway; a plain owner needs this).
GRANT dshield_app TO CURRENT_USER;
GRANT SELECT, INSERT, UPDATE, DELETE ON analysis_sessions, campaigns, campaign_sessions, campaign_indicators, attack_sessions, analysis_results, api_analyses, webhook_deliveries TO dshield_app;
-- The audit log is written by the tenant's transactions (triggers, API events) and read by
-- none of them: `audit tail` reads it as the owner.
GRANT INSERT ON audit_log TO dshield_app;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO dshield_app;

ALTER TABLE campaign_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaign_indicators ENABLE ROW LEVEL SECURITY;
ALTER TABLE attack_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_analyses ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY campaign_sessions_tenant ON campaign_sessions USING (EXISTS (SELECT 1 FROM campaigns c WHERE c.id = campaign_id));
CREATE POLICY campaign_indicators_tenant ON campaign_indicators USING (EXISTS (SELECT 1 FROM campaigns c WHERE c.id = campaign_id));
CREATE POLICY attack_sessions_tenant ON attack_sessions USING (tenant = current_setting('app.tenant', true));
CREATE POLICY api_analyses_tenant ON api_analyses USING (tenant = current_setting('app.tenant', true));
CREATE POLICY webhook_deliveries_tenant ON webhook_deliveries USING (tenant = current_setting('app.tenant', true));
