-- Tokens issued and requests refused per minute (the console's activity chart), summed over every
-- instance: each adds its counts every few seconds. client_id '' holds the realm's totals. Minutes
-- older than an hour are purged.

CREATE TABLE activity (
  realm     text COLLATE "C" NOT NULL,
  client_id text COLLATE "C" NOT NULL,
  minute    bigint           NOT NULL,
  issued    bigint           NOT NULL DEFAULT 0,
  failed    bigint           NOT NULL DEFAULT 0,
  PRIMARY KEY (realm, client_id, minute)
);
CREATE INDEX activity_minute ON activity (minute);
