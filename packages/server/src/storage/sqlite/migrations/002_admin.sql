-- Administration (issue 9): the audit trail (a hash chain), recorded authentication failures
-- (aggregated, bounded), runtime realms, cluster leases and client tombstones (a deleted client
-- id's not-before, so a re-created id never revives its predecessor's tokens).

CREATE TABLE audit_events (
  seq       INTEGER PRIMARY KEY,
  at        INTEGER NOT NULL,
  type      TEXT    NOT NULL,
  realm     TEXT,
  client_id TEXT,
  data      TEXT    NOT NULL,
  prev_hash TEXT    NOT NULL,
  hash      TEXT    NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_realm_client ON audit_events (realm, client_id);

-- One row: the last pruned event (the chain continues from its hash).
CREATE TABLE audit_anchor (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  seq  INTEGER NOT NULL,
  hash TEXT    NOT NULL
);

CREATE TABLE auth_failures (
  key        TEXT    PRIMARY KEY,
  realm      TEXT    NOT NULL,
  client_id  TEXT,
  data       TEXT    NOT NULL,
  count      INTEGER NOT NULL,
  first_seen INTEGER NOT NULL,
  last_seen  INTEGER NOT NULL
);
CREATE INDEX auth_failures_realm_last ON auth_failures (realm, last_seen);

CREATE TABLE realms (
  name       TEXT    PRIMARY KEY,
  data       TEXT    NOT NULL,
  created_at INTEGER NOT NULL
);

CREATE TABLE leases (
  name       TEXT    PRIMARY KEY,
  holder     TEXT    NOT NULL,
  expires_at INTEGER NOT NULL
);

CREATE TABLE client_tombstones (
  realm      TEXT    NOT NULL,
  client_id  TEXT    NOT NULL,
  deleted_at INTEGER NOT NULL,
  PRIMARY KEY (realm, client_id)
) WITHOUT ROWID;
