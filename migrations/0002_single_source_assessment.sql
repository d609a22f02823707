-- A campaign whose sessions all come from one source address is single-source activity, not
-- coordination: Result v1 labels it `single_source` (confidence 0). Allow it in the store.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_assessment_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_assessment_check
  CHECK (assessment IN ('highly_coordinated', 'likely_coordinated', 'possibly_coordinated', 'likely_coincidental', 'coincidental', 'single_source'));
