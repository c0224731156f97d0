-- Initial schema, the PostgreSQL twin of the SQLite one (no change_log: LISTEN/NOTIFY carries
-- changes). `data` holds the full record; the other columns are the keys and the values queries
-- filter or sort on. Ids use the "C" collation: byte order of UTF-8, i.e. code point order, the
-- order every adapter lists in. Instants are milliseconds since the epoch.

CREATE TABLE clients (
  realm      text COLLATE "C" NOT NULL,
  client_id  text COLLATE "C" NOT NULL,
  data       jsonb            NOT NULL,
  created_at bigint           NOT NULL,
  updated_at bigint           NOT NULL,
  PRIMARY KEY (realm, client_id)
);

CREATE TABLE signing_keys (
  realm        text COLLATE "C" NOT NULL,
  kid          text COLLATE "C" NOT NULL,
  data         jsonb            NOT NULL,
  activates_at bigint           NOT NULL,
  PRIMARY KEY (realm, kid)
);

CREATE TABLE revocations (
  realm      text COLLATE "C" NOT NULL,
  jti        text COLLATE "C" NOT NULL,
  expires_at bigint           NOT NULL,
  PRIMARY KEY (realm, jti)
);

CREATE INDEX revocations_expires_at ON revocations (expires_at);

CREATE TABLE replay (
  realm      text COLLATE "C" NOT NULL,
  client_id  text COLLATE "C" NOT NULL,
  jti        text COLLATE "C" NOT NULL,
  expires_at bigint           NOT NULL,
  PRIMARY KEY (realm, client_id, jti)
);

CREATE INDEX replay_expires_at ON replay (expires_at);
