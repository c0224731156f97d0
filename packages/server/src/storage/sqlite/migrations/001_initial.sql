-- Initial schema. `data` holds the full record as JSON; the other columns are the keys and the
-- values queries filter or sort on. Client and key rows carry JSON of a few KB, so they keep a
-- rowid (the primary key becomes an index); the small replay and revocation rows live in their
-- primary key (WITHOUT ROWID).

CREATE TABLE clients (
  realm      TEXT    NOT NULL,
  client_id  TEXT    NOT NULL,
  data       TEXT    NOT NULL CHECK (json_valid(data)),
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (realm, client_id)
);

CREATE TABLE signing_keys (
  realm        TEXT    NOT NULL,
  kid          TEXT    NOT NULL,
  data         TEXT    NOT NULL CHECK (json_valid(data)),
  activates_at INTEGER NOT NULL,
  PRIMARY KEY (realm, kid)
);

CREATE TABLE revocations (
  realm      TEXT    NOT NULL,
  jti        TEXT    NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (realm, jti)
) WITHOUT ROWID;

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE replay (
  realm      TEXT    NOT NULL,
  client_id  TEXT    NOT NULL,
  jti        TEXT    NOT NULL,
  expires_at INTEGER NOT NULL,
  PRIMARY KEY (realm, client_id, jti)
) WITHOUT ROWID;

CREATE INDEX replay_expires_at ON replay (expires_at);

-- AUTOINCREMENT: a seq is never reused after pruning, so "seq > last seen" stays correct.
CREATE TABLE change_log (
  seq   INTEGER PRIMARY KEY AUTOINCREMENT,
  realm TEXT    NOT NULL,
  kind  TEXT    NOT NULL CHECK (kind IN ('client', 'keys')),
  id    TEXT    NOT NULL,
  at    INTEGER NOT NULL
);

CREATE INDEX change_log_at ON change_log (at);
