-- Tessera's first schema. Every record is stored as the bytes the fjall backend writes (a
-- format-version byte and the rkyv archive) in `record`; the other columns hold only what SQL
-- must look up, index, order or decide on. Primary keys start with the tenant, so a tenant's
-- rows lie together and deleting a tenant walks one key range per table. Times are Unix
-- seconds (bigint), as in the records. Text columns use the "C" collation, so order and equality
-- are byte order, as in the fjall keys, whatever the database's locale. Kept to SQL CockroachDB
-- also speaks.

CREATE TABLE tenants (
    id text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE clients (
    tenant text COLLATE "C" NOT NULL,
    client_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, client_id)
);

CREATE TABLE signing_keys (
    tenant text COLLATE "C" NOT NULL,
    kid text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, kid)
);

CREATE TABLE opaque_tokens (
    tenant text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    exp bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX opaque_tokens_exp ON opaque_tokens (exp);

CREATE TABLE revocations (
    tenant text COLLATE "C" NOT NULL,
    jti text COLLATE "C" NOT NULL,
    exp bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, jti)
);
CREATE INDEX revocations_exp ON revocations (exp);

-- `username_folded` and `email_folded` are core's `fold_case` of the names, for lookups; the
-- shared namespace of both is `user_names`, whose primary key is the uniqueness rule.
CREATE TABLE users (
    tenant text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    username_folded text COLLATE "C" NOT NULL,
    email_folded text COLLATE "C",
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE INDEX users_username ON users (tenant, username_folded);
CREATE INDEX users_email ON users (tenant, email_folded);

CREATE TABLE user_names (
    tenant text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, name)
);
CREATE INDEX user_names_user ON user_names (tenant, user_id);

-- `name_key` is the role's name in ASCII lower case (`Role::is_named` compares so).
CREATE TABLE roles (
    tenant text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    name_key text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);
CREATE UNIQUE INDEX roles_name ON roles (tenant, name_key);

-- `subject_kind`: 'u' a user, 'c' a client.
CREATE TABLE role_assignments (
    tenant text COLLATE "C" NOT NULL,
    subject_kind text COLLATE "C" NOT NULL,
    subject text COLLATE "C" NOT NULL,
    role_id text COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant, subject_kind, subject, role_id)
);
CREATE INDEX role_assignments_role ON role_assignments (tenant, role_id);

CREATE TABLE api_keys (
    tenant text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);

CREATE TABLE codes (
    tenant text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    exp bigint NOT NULL,
    used boolean NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX codes_exp ON codes (exp);

CREATE TABLE sessions (
    tenant text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    exp bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX sessions_user ON sessions (tenant, user_id);
CREATE INDEX sessions_exp ON sessions (exp);

CREATE TABLE consents (
    tenant text COLLATE "C" NOT NULL,
    user_id text COLLATE "C" NOT NULL,
    client_id text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, user_id, client_id)
);
CREATE INDEX consents_client ON consents (tenant, client_id);

CREATE TABLE refresh_tokens (
    tenant text COLLATE "C" NOT NULL,
    digest bytea NOT NULL,
    family text COLLATE "C" NOT NULL,
    exp bigint NOT NULL,
    rotated boolean NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, digest)
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant, family);
CREATE INDEX refresh_tokens_exp ON refresh_tokens (exp);

CREATE TABLE refresh_families (
    tenant text COLLATE "C" NOT NULL,
    family text COLLATE "C" NOT NULL,
    sub text COLLATE "C",
    exp bigint NOT NULL,
    revoked boolean NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, family)
);
CREATE INDEX refresh_families_sub ON refresh_families (tenant, sub);
CREATE INDEX refresh_families_exp ON refresh_families (exp);

-- Event ids begin with their time, so id order is time order.
CREATE TABLE events (
    tenant text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- The change feed between nodes: one row per change, written in the transaction of the write.
-- `origin` is the node that made it (it has already told its own listeners).
CREATE TABLE changes (
    seq bigserial PRIMARY KEY,
    origin text COLLATE "C" NOT NULL,
    tenant text COLLATE "C" NOT NULL,
    kind text COLLATE "C" NOT NULL,
    id text COLLATE "C" NOT NULL,
    at bigint NOT NULL
);
CREATE INDEX changes_at ON changes (at);
