-- 0007: campaigns name the networks their sources come from (Result v1 indicators of type
-- `asn`, value "AS<number>", and `country`, an ISO 3166 code), and an `asn` indicator carries
-- the organisation's name. Rows stored before this migration have no name: NULL.
ALTER TABLE campaign_indicators DROP CONSTRAINT campaign_indicators_type_check;
ALTER TABLE campaign_indicators ADD CONSTRAINT campaign_indicators_type_check
  CHECK (type IN ('ip', 'ssh_key', 'sha256', 'url', 'domain', 'credential', 'hassh', 'client_version', 'command', 'user_agent', 'asn', 'country'));
ALTER TABLE campaign_indicators ADD COLUMN name text;
