-- Sign-in lockouts (the password guard's): one row per (tenant, limit, address, username),
-- keyed by the same bytes fjall keys it by, expiring at `exp` (the lockout's `until`).
CREATE TABLE lockouts (
    tenant text COLLATE "C" NOT NULL,
    lkey bytea NOT NULL,
    exp bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, lkey)
);
CREATE INDEX lockouts_exp ON lockouts (exp);
