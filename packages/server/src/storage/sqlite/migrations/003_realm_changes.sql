-- Runtime realms (issue 9): the change log also carries 'realm' events (a runtime realm was
-- created or deleted), so that every instance sharing the database loads or drops it. SQLite
-- cannot alter a CHECK constraint: the table is rebuilt, keeping its rows and its AUTOINCREMENT
-- counter (a seq is never reused, so "seq > last seen" stays correct).

CREATE TABLE change_log_new (
  seq   INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT    NOT NULL,
  kind  TEXT    NOT NULL CHECK (kind IN ('client', 'keys', 'realm')),
  id    TEXT    NOT NULL,
  at    INTEGER NOT NULL
);
INSERT INTO change_log_new (seq, realm, kind, id, at) SELECT seq, realm, kind, id, at FROM change_log;
-- The counter, not only the rows: a pruned-empty log must not hand out seqs instances have seen.
DELETE FROM sqlite_sequence WHERE name = 'change_log_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'change_log_new', seq FROM sqlite_sequence WHERE name = 'change_log';
DROP TABLE change_log;
ALTER TABLE change_log_new RENAME TO change_log;
CREATE INDEX change_log_at ON change_log (at);
