-- Rapport's first PostgreSQL layout. Runs inside one transaction with search_path set to the
-- store's schema, so names here are unqualified.

-- Every document of every guild: load(table, guild) is one primary-key range scan, and
-- guild_ids() a skip scan over the leading guild_id column.
-- json, not jsonb: documents are only ever read and written whole, and jsonb's numeric
-- conversion made reading a million pair documents 3x slower (2.9 s against 0.6-0.9 s).
CREATE TABLE documents (
    guild_id   bigint NOT NULL,
    table_name text   NOT NULL,
    key        text   NOT NULL,
    doc        json   NOT NULL,
    PRIMARY KEY (guild_id, table_name, key)
);

-- Named claims with expiry ("send digest X"): how processes sharing the database never send
-- the same DM twice. Not tied to a guild, so delete_guild leaves them alone.
CREATE TABLE claims (
    key   text        PRIMARY KEY,
    owner text        NOT NULL,
    until timestamptz NOT NULL
);
