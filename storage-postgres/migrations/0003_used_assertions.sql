-- JWT bearer assertions already exchanged (RFC 7523: a jti is single use): one row per
-- (tenant, SHA-256 of issuer and jti), expiring at `exp` (the last moment the assertion itself
-- could have been accepted). The primary key makes the first use the one INSERT that lands.
CREATE TABLE used_assertions (
    tenant text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    exp bigint NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX used_assertions_exp ON used_assertions (exp);
