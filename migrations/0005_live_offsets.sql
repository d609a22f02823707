-- 0005: live mode (`dshield-coord ingest --from nats`). Where each JetStream consumer's
-- committed work ends, written in the same transaction as the analysis it committed, so the
-- store and the position in the stream never disagree: after a crash the consumer skips what
-- the store already has and rebuilds the rest from the redelivered messages.

CREATE TABLE live_offsets (
  consumer       text NOT NULL,
  stream         text NOT NULL,
  tenant         text NOT NULL,
  -- Every message below this stream sequence is in the store (or was rejected).
  floor_seq      bigint NOT NULL CHECK (floor_seq >= 1),
  -- The highest sequence the consumer had read when it committed.
  processed_seq  bigint NOT NULL CHECK (processed_seq >= 0),
  -- Sessions still open then: {"<session id>": <first sequence of its uncommitted piece>}.
  open_sessions  jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- The analysis written by that commit (not a foreign key: retention may remove it).
  analysis_id    text,
  commits        bigint NOT NULL DEFAULT 1 CHECK (commits >= 1),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, stream, tenant),
  CHECK (processed_seq >= floor_seq - 1)
);

GRANT SELECT, INSERT, UPDATE, DELETE ON live_offsets TO dshield_app;
ALTER TABLE live_offsets ENABLE ROW LEVEL SECURITY;
CREATE POLICY live_offsets_tenant ON live_offsets USING (tenant = current_setting('app.tenant', true));
