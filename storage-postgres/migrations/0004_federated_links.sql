-- Federated identity links: the local user an account at one of a tenant's external identity
-- providers signs in as. One row per (tenant, identity provider id, upstream `sub`), the record
-- as tessera_storage encodes it; the primary key makes the first create the one INSERT that
-- lands. The index by user bounds a user's deletion and the listing of its links.
CREATE TABLE federated_links (
    tenant text COLLATE "C" NOT NULL,
    idp text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, idp, subject)
);
CREATE INDEX federated_links_user ON federated_links (tenant, user_id);
