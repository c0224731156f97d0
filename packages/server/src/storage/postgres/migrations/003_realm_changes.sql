-- Runtime realms (issue 9). PostgreSQL carries changes on LISTEN/NOTIFY (no change log), so the
-- new 'realm' change kind needs no schema change here (SQLite's 003 widens its change_log CHECK);
-- this migration keeps the two backends' versions in step and documents the table.

COMMENT ON TABLE realms IS 'Runtime realms (created through the admin API or CLI); realms declared in the configuration file are not stored here and always win over a runtime realm of the same name.';
