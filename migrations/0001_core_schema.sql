-- 0001: the engine's core schema.
-- Applied by `dshield-coord migrate` inside one transaction and recorded in
-- schema_migrations; every statement is safe on PostgreSQL 15 and on PGlite.

-- Analyses: one row per run, owned by a tenant (row-level security below).
CREATE TABLE analysis_sessions (
  id            text PRIMARY KEY,
  tenant        text NOT NULL DEFAULT 'default',
  status        text NOT NULL CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
  input_digest  text NOT NULL,
  config_digest text NOT NULL,
  seed          bigint NOT NULL,
  engine_version text NOT NULL,
  sessions      integer NOT NULL DEFAULT 0 CHECK (sessions >= 0),
  events        bigint NOT NULL DEFAULT 0 CHECK (events >= 0),
  metadata      jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now(),
  started_at    timestamptz,
  finished_at   timestamptz
);
CREATE INDEX analysis_sessions_tenant_created ON analysis_sessions (tenant, created_at DESC);
CREATE INDEX analysis_sessions_status ON analysis_sessions (status) WHERE status IN ('pending', 'running');

-- Campaigns tracked across runs (family → variant → wave).
CREATE TABLE campaigns (
  id            text PRIMARY KEY,
  tenant        text NOT NULL DEFAULT 'default',
  parent_id     text REFERENCES campaigns (id) ON DELETE CASCADE,
  level         text NOT NULL CHECK (level IN ('family', 'variant', 'wave')),
  name          text NOT NULL,
  state         text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'dormant', 'concluded')),
  confidence    double precision NOT NULL CHECK (confidence >= 0 AND confidence <= 1),
  confidence_low  double precision NOT NULL CHECK (confidence_low >= 0 AND confidence_low <= 1),
  confidence_high double precision NOT NULL CHECK (confidence_high >= 0 AND confidence_high <= 1),
  assessment    text NOT NULL CHECK (assessment IN ('highly_coordinated', 'likely_coordinated', 'possibly_coordinated', 'likely_coincidental', 'coincidental')),
  evidence      jsonb NOT NULL DEFAULT '{}'::jsonb,
  ttps          text[] NOT NULL DEFAULT '{}',
  session_count integer NOT NULL DEFAULT 0 CHECK (session_count >= 0),
  source_ip_count integer NOT NULL DEFAULT 0 CHECK (source_ip_count >= 0),
  first_seen    timestamptz NOT NULL,
  last_seen     timestamptz NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CHECK (first_seen <= last_seen),
  CHECK (confidence_low <= confidence_high)
);
CREATE INDEX campaigns_tenant_last_seen ON campaigns (tenant, last_seen DESC);
CREATE INDEX campaigns_parent ON campaigns (parent_id);
CREATE INDEX campaigns_state ON campaigns (state) WHERE state <> 'concluded';

-- Which sessions a campaign holds, and in which analysis they were attributed.
CREATE TABLE campaign_sessions (
  campaign_id   text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  session_id    text NOT NULL,
  analysis_id   text NOT NULL REFERENCES analysis_sessions (id) ON DELETE CASCADE,
  PRIMARY KEY (campaign_id, session_id)
);
CREATE INDEX campaign_sessions_session ON campaign_sessions (session_id);
CREATE INDEX campaign_sessions_analysis ON campaign_sessions (analysis_id);

CREATE TABLE campaign_indicators (
  campaign_id   text NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
  type          text NOT NULL CHECK (type IN ('ip', 'ssh_key', 'sha256', 'url', 'domain', 'credential', 'hassh', 'client_version', 'command', 'user_agent')),
  value         text NOT NULL,
  first_seen    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign_id, type, value)
);
-- Matching a new run's artefacts to known campaigns looks indicators up by value.
CREATE INDEX campaign_indicators_value ON campaign_indicators (type, value);

-- Attack sessions, range-partitioned by month of their start.
CREATE TABLE attack_sessions (
  id            text NOT NULL,
  tenant        text NOT NULL DEFAULT 'default',
  analysis_id   text,
  sensor        text,
  protocol      text NOT NULL CHECK (protocol IN ('ssh', 'telnet', 'http', 'tcp', 'udp', 'icmp', 'other')),
  src_ip        inet,
  src_port      integer CHECK (src_port BETWEEN 1 AND 65535),
  dst_ip        inet,
  dst_port      integer CHECK (dst_port BETWEEN 1 AND 65535),
  start_at      timestamptz NOT NULL,
  end_at        timestamptz NOT NULL,
  client_version text,
  hassh         text,
  data          jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (id, start_at),
  CHECK (start_at <= end_at)
) PARTITION BY RANGE (start_at);
CREATE INDEX attack_sessions_src_ip ON attack_sessions (src_ip);
CREATE INDEX attack_sessions_analysis ON attack_sessions (analysis_id);
-- Sessions outside every monthly partition still land somewhere.
CREATE TABLE attack_sessions_default PARTITION OF attack_sessions DEFAULT;

-- Creates the monthly partitions of attack_sessions from `from_month` for `months` months;
-- existing ones are left alone. Called by `migrate` and by `maintenance`.
CREATE FUNCTION create_attack_session_partitions(from_month date, months integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  created integer := 0;
  m date := date_trunc('month', from_month)::date;
  name text;
BEGIN
  FOR i IN 0 .. months - 1 LOOP
    name := format('attack_sessions_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(name) IS NULL THEN
      EXECUTE format(
        'CREATE TABLE %I PARTITION OF attack_sessions FOR VALUES FROM (%L) TO (%L)',
        name, m, (m + interval '1 month')::date
      );
      created := created + 1;
    END IF;
    m := (m + interval '1 month')::date;
  END LOOP;
  RETURN created;
END
$$;

-- The Result v1 document of each analysis, for replay and the API.
CREATE TABLE analysis_results (
  analysis_id   text PRIMARY KEY REFERENCES analysis_sessions (id) ON DELETE CASCADE,
  result        jsonb NOT NULL,
  result_digest text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tool_execution_logs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  analysis_id   text REFERENCES analysis_sessions (id) ON DELETE CASCADE,
  tool          text NOT NULL,
  status        text NOT NULL CHECK (status IN ('ok', 'error', 'timeout', 'skipped')),
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  detail        jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tool_execution_logs_analysis ON tool_execution_logs (analysis_id);

CREATE TABLE api_keys (
  id            text PRIMARY KEY,
  tenant        text NOT NULL,
  key_hash      text NOT NULL UNIQUE,
  name          text NOT NULL,
  scopes        text[] NOT NULL DEFAULT '{}',
  rate_limit_per_minute integer NOT NULL DEFAULT 60 CHECK (rate_limit_per_minute > 0),
  created_at    timestamptz NOT NULL DEFAULT now(),
  revoked_at    timestamptz
);

CREATE TABLE api_usage_logs (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  api_key_id    text REFERENCES api_keys (id) ON DELETE SET NULL,
  endpoint      text NOT NULL,
  status_code   integer NOT NULL CHECK (status_code BETWEEN 100 AND 599),
  duration_ms   integer NOT NULL CHECK (duration_ms >= 0),
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_usage_logs_created ON api_usage_logs (created_at);

-- Audit trail of analyses and campaigns, written by triggers.
CREATE TABLE audit_log (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  table_name    text NOT NULL,
  row_id        text NOT NULL,
  action        text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
  changed_by    text NOT NULL DEFAULT current_user,
  old_row       jsonb,
  new_row       jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created ON audit_log (created_at);
CREATE INDEX audit_log_row ON audit_log (table_name, row_id);

CREATE FUNCTION audit_row_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO audit_log (table_name, row_id, action, old_row) VALUES (TG_TABLE_NAME, OLD.id, TG_OP, to_jsonb(OLD));
    RETURN OLD;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO audit_log (table_name, row_id, action, old_row, new_row) VALUES (TG_TABLE_NAME, NEW.id, TG_OP, to_jsonb(OLD), to_jsonb(NEW));
    RETURN NEW;
  ELSE
    INSERT INTO audit_log (table_name, row_id, action, new_row) VALUES (TG_TABLE_NAME, NEW.id, TG_OP, to_jsonb(NEW));
    RETURN NEW;
  END IF;
END
$$;
CREATE TRIGGER analysis_sessions_audit AFTER INSERT OR UPDATE OR DELETE ON analysis_sessions FOR EACH ROW EXECUTE FUNCTION audit_row_change();
CREATE TRIGGER campaigns_audit AFTER INSERT OR UPDATE OR DELETE ON campaigns FOR EACH ROW EXECUTE FUNCTION audit_row_change();

-- Row-level security: a role sees only its tenant's analyses and campaigns. The tenant of a
-- connection is the setting app.tenant (SET app.tenant = '...'); owners and superusers
-- bypass RLS as usual, so the engine's own role keeps full access.
ALTER TABLE analysis_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE campaigns ENABLE ROW LEVEL SECURITY;
ALTER TABLE analysis_results ENABLE ROW LEVEL SECURITY;
CREATE POLICY analysis_sessions_tenant ON analysis_sessions USING (tenant = current_setting('app.tenant', true));
CREATE POLICY campaigns_tenant ON campaigns USING (tenant = current_setting('app.tenant', true));
CREATE POLICY analysis_results_tenant ON analysis_results
  USING (EXISTS (SELECT 1 FROM analysis_sessions a WHERE a.id = analysis_id));
