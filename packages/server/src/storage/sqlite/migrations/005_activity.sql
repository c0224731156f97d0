-- Tokens issued and requests refused per minute (the console's activity chart), summed over every
-- instance: each adds its counts every few seconds. client_id '' holds the realm's totals. Minutes
-- older than an hour are purged.

CREATE TABLE activity (
  realm     TEXT    NOT NULL,
  client_id TEXT    NOT NULL,
  minute    INTEGER NOT NULL,
  issued    INTEGER NOT NULL DEFAULT 0,
  failed    INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, client_id, minute)
) WITHOUT ROWID;
CREATE INDEX activity_minute ON activity (minute);
