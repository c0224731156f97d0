-- Web console sessions (issue 10), shared by every process on the database so that a session
-- signed in through one instance works on all and sign-out ends it everywhere. The session id is
-- a bearer credential: only its SHA-256 is stored (id_hash). Instants are ms since the epoch;
-- rows past expires_at (the absolute timeout) or idle too long are purged.

CREATE TABLE console_sessions (
  id_hash    TEXT    PRIMARY KEY,
  subject    TEXT    NOT NULL,
  scope      TEXT    NOT NULL,
  created_at INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);
CREATE INDEX console_sessions_last_seen ON console_sessions (last_seen);
