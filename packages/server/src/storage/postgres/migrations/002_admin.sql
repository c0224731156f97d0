-- Administration (issue 9): the audit trail (a hash chain; appends serialised by an advisory
-- lock), recorded authentication failures (aggregated, bounded), runtime realms, cluster leases
-- and client tombstones (a deleted client id's not-before). Instants are ms since the epoch.

CREATE TABLE audit_events (
  seq       bigint           PRIMARY KEY,
  at        bigint           NOT NULL,
  type      text COLLATE "C" NOT NULL,
  realm     text COLLATE "C",
  client_id text COLLATE "C",
  data      text             NOT NULL,
  prev_hash text             NOT NULL,
  hash      text             NOT NULL
);
CREATE INDEX audit_events_at ON audit_events (at);
CREATE INDEX audit_events_realm_client ON audit_events (realm, client_id);

CREATE TABLE audit_anchor (
  id   integer PRIMARY KEY CHECK (id = 1),
  seq  bigint  NOT NULL,
  hash text    NOT NULL
);

CREATE TABLE auth_failures (
  key        text COLLATE "C" PRIMARY KEY,
  realm      text COLLATE "C" NOT NULL,
  client_id  text COLLATE "C",
  data       jsonb            NOT NULL,
  count      bigint           NOT NULL,
  first_seen bigint           NOT NULL,
  last_seen  bigint           NOT NULL
);
CREATE INDEX auth_failures_realm_last ON auth_failures (realm, last_seen);

CREATE TABLE realms (
  name       text COLLATE "C" PRIMARY KEY,
  data       jsonb            NOT NULL,
  created_at bigint           NOT NULL
);

CREATE TABLE leases (
  name       text COLLATE "C" PRIMARY KEY,
  holder     text             NOT NULL,
  expires_at bigint           NOT NULL
);

CREATE TABLE client_tombstones (
  realm      text COLLATE "C" NOT NULL,
  client_id  text COLLATE "C" NOT NULL,
  deleted_at bigint           NOT NULL,
  PRIMARY KEY (realm, client_id)
);
