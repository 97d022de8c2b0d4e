-- Bench schemas in one database: jobkeeper (the extension), bare (the same tables and indexes
-- with no trigger) and plpg (the same tables with the status rules as a PL/pgSQL trigger).
CREATE EXTENSION jobkeeper;
CREATE SCHEMA bare;
CREATE SCHEMA plpg;
CREATE TABLE bare.jobs (LIKE jobkeeper.jobs INCLUDING ALL) WITH (fillfactor = 80);
CREATE TABLE plpg.jobs (LIKE jobkeeper.jobs INCLUDING ALL) WITH (fillfactor = 80);

-- The rules of SPEC section 3 as a PL/pgSQL trigger: what jobkeeper would be without C++.
CREATE FUNCTION plpg.status_rules() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NEW.status IN ('completed', 'failed', 'cancelled') AND NEW.finished_at IS NULL THEN
      NEW.finished_at := now();
    END IF;
    IF NEW.status = 'completed' THEN NEW.progress := 100; END IF;
    RETURN NEW;
  END IF;
  NEW.updated_at := now();
  IF NEW.status = OLD.status THEN
    IF NEW.status = 'processing' AND NEW.progress < OLD.progress THEN
      RAISE EXCEPTION 'cannot lower progress of job % from % to %', OLD.id, OLD.progress, NEW.progress
        USING ERRCODE = '22023';
    END IF;
    RETURN NEW;
  END IF;
  IF NOT ((OLD.status = 'pending' AND NEW.status IN ('processing', 'cancelled'))
       OR (OLD.status = 'processing' AND NEW.status IN ('completed', 'failed', 'pending', 'cancelled'))
       OR (OLD.status IN ('failed', 'cancelled') AND NEW.status = 'pending')) THEN
    RAISE EXCEPTION 'cannot change status of job % from "%" to "%"', OLD.id, OLD.status, NEW.status
      USING ERRCODE = '55000';
  END IF;
  IF NEW.status IN ('completed', 'failed', 'cancelled') THEN
    NEW.finished_at := now();
  ELSIF OLD.status IN ('completed', 'failed', 'cancelled') THEN
    NEW.finished_at := NULL;
  END IF;
  IF NEW.status = 'pending' THEN NEW.progress := 0; END IF;
  IF NEW.status = 'completed' THEN NEW.progress := 100; END IF;
  IF OLD.status = 'processing' THEN
    NEW.locked_by := NULL;
    NEW.lease_expires_at := NULL;
  END IF;
  IF NEW.status = 'processing' AND NEW.started_at IS NULL THEN
    NEW.started_at := now();
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER plpg_status BEFORE INSERT OR UPDATE ON plpg.jobs
  FOR EACH ROW EXECUTE FUNCTION plpg.status_rules();

-- The floor for any BEFORE ROW trigger: PostgreSQL's own C trigger
-- suppress_redundant_updates_trigger(), which only compares the old and new row. Before calling
-- any BEFORE UPDATE row trigger the executor locks the row (GetTupleForTrigger), which writes a
-- WAL record per row; this copy measures that cost with next to no trigger work.
CREATE SCHEMA noop;
CREATE TABLE noop.jobs (LIKE jobkeeper.jobs INCLUDING ALL) WITH (fillfactor = 80);
CREATE TRIGGER noop_before BEFORE UPDATE ON noop.jobs
  FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger();
