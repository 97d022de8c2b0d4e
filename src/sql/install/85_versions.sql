-- Releases and upgrades (SPEC section 9): what is installed, what the library is, what is
-- pending, and the history of every install, update and downgrade.

-- One row per install, update or downgrade, written by each version's scripts. pg_dump keeps
-- it: a restored database shows its history, then the restore itself as an install of the
-- version restored (the restore runs CREATE EXTENSION before it copies the rows back; its
-- application is pg_restore). This is the one dumped table the install script writes to,
-- and on purpose: the row it writes is an event of this database, never a copy of a dumped
-- one, and the table has no key a restored row could collide with.
CREATE TABLE jobkeeper.schema_history (
  version      text NOT NULL,
  action       text NOT NULL
    CONSTRAINT schema_history_action_valid CHECK (action IN ('install', 'update', 'downgrade')),
  from_version text,
  at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  by_role      name NOT NULL DEFAULT CURRENT_USER,
  -- the client that ran it: "pg_restore" marks the install a restore made
  application  text NOT NULL DEFAULT pg_catalog.current_setting('application_name'),
  -- an update or a downgrade names the version it came from; an install does not
  CONSTRAINT schema_history_from_version_valid CHECK ((action = 'install') = (from_version IS NULL))
);
COMMENT ON TABLE jobkeeper.schema_history IS
  'every install, update and downgrade of jobkeeper in this database: version, from which, when, by whom';
SELECT pg_catalog.pg_extension_config_dump('jobkeeper.schema_history', '');
INSERT INTO jobkeeper.schema_history (version, action) VALUES ('1.1', 'install');

CREATE FUNCTION jobkeeper.version_info(
    OUT library_version text, OUT installed_version text, OUT newest_version text,
    OUT update_pending boolean, OUT update_path text)
  LANGUAGE sql STABLE
  SET search_path = pg_catalog, pg_temp
  AS $$
  SELECT jobkeeper.version(), e.extversion, a.default_version,
         e.extversion <> a.default_version,
         (SELECT p.path FROM pg_catalog.pg_extension_update_paths('jobkeeper') p
           WHERE p.source = e.extversion AND p.target = a.default_version)
    FROM pg_catalog.pg_extension e
    JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname
   WHERE e.extname = 'jobkeeper'
$$;
COMMENT ON FUNCTION jobkeeper.version_info() IS
  'library version, installed SQL version, newest available version, whether an update is pending and its path';
