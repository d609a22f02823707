-- 0006: what a stored campaign needs to be exported again without its Result (export
-- --campaign ID): the link kinds that formed it (Result v1 `formed_by`) and its ATT&CK
-- techniques with the rules that showed them (`techniques`). Rows stored before this
-- migration have none recorded: an empty list and NULL.

ALTER TABLE campaigns ADD COLUMN formed_by jsonb NOT NULL DEFAULT '[]'::jsonb;
ALTER TABLE campaigns ADD COLUMN techniques jsonb;
