//! The plain record stores over PostgreSQL: tenants, clients, signing keys, opaque tokens,
//! revocations, API keys, consents and sessions. Each is a row per record, its bytes in
//! `record`; the create-if-absent writes (tenants, clients, API keys) are `INSERT ... ON
//! CONFLICT DO NOTHING`, so the primary key decides which of concurrent creates wins, and a
//! create under a tenant holds the tenant's row `FOR SHARE` until it commits, so it lands
//! before a concurrent `delete_tenant` (which deletes that row first) or is refused after it.
//! The key rotation's compare-and-set locks the tenant's row `FOR UPDATE` and applies
//! `tessera_core::rules::keys::rotate`, as the fjall writer does.

use std::future::ready;
use std::sync::Arc;

use tessera_core::changes::{Change, ChangeKind};
use tessera_core::model::{
    ApiKey, Client, Consent, KeyRecord, OpaqueToken, Revocation, Session, Tenant, UnixSecs,
};
use tessera_core::rules::keys::{self as key_rules, KeyWrite, Refused};
use tessera_core::store::{
    ApiKeyStore, ClientStore, Commit, ConsentStore, JwtStatus, KeyStore, Read, RevocationStore, SessionStore,
    StoreError, TenantStore, TokenStore, failed_commit,
};
use tessera_storage::encoding::key;

use crate::batch::Row;
use crate::error::{PgError, conflict};
use crate::sql::{self, bindable, encode, execute, fetch, fetch_all, lock_tenant};
use crate::store::PgStore;

/// Every table a tenant owns rows in, deleted with it (the tenant's own row first, see
/// `delete_tenant`). Not `changes`: other nodes may not have read its rows yet, and they
/// leave by their retention.
const TENANT_TABLES: [&str; 18] = [
    "lockouts",
    "used_assertions",
    "federated_links",
    "clients",
    "signing_keys",
    "opaque_tokens",
    "revocations",
    "users",
    "user_names",
    "roles",
    "role_assignments",
    "api_keys",
    "codes",
    "sessions",
    "consents",
    "refresh_tokens",
    "refresh_families",
    "events",
];

fn change(tenant: &str, kind: ChangeKind, id: &str) -> Change {
    Change { tenant: tenant.to_owned(), kind, id: id.to_owned() }
}

fn done() -> Commit {
    Box::pin(ready(Ok(())))
}

impl PgStore {
    /// Creates a row under stored tenant `tenant`: `insert` is an `INSERT ... ON CONFLICT DO
    /// NOTHING` of `params`, so the primary key decides between concurrent creates.
    fn create_under_tenant(
        &self,
        tenant: String,
        insert: &'static str,
        params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
        what: String,
        changes: Vec<Change>,
    ) -> Commit {
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> =
                params.iter().map(|p| &**p as &(dyn tokio_postgres::types::ToSql + Sync)).collect();
            if !lock_tenant(&tx, &tenant, false).await? {
                return Err(conflict(format!("tenant {tenant} does not exist")));
            }
            let statement = tx.prepare_cached(insert).await?;
            if tx.execute(&statement, &refs).await? == 0 {
                return Err(conflict(format!("{what} exists")));
            }
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }
}

impl TenantStore for PgStore {
    fn tenant(&self, id: &str) -> Read<Option<Arc<Tenant>>> {
        let Some(k) = key::tenant(id) else { return Read::ready(Ok(None)) };
        if let Some(copy) = self.inner.caches.tenant(id) {
            return Read::ready(Ok(Some(copy)));
        }
        let id = id.to_owned();
        self.read(|db| async move {
            let epoch = db.caches.epoch();
            let found: Option<Tenant> =
                fetch(&db, "SELECT record FROM tenants WHERE id = $1", &[&id], &k).await?;
            let found = found.map(Arc::new);
            if let Some(tenant) = &found {
                db.caches.fill_tenant(epoch, tenant);
            }
            Ok(found)
        })
    }

    fn tenants(&self) -> Read<Vec<Tenant>> {
        self.read(|db| async move {
            fetch_all(&db, "SELECT record, id FROM tenants ORDER BY id", &[], key::tenant).await
        })
    }

    fn put_tenant(&self, tenant: &Tenant) -> Commit {
        let record = match encode(key::tenant(&tenant.id), tenant, "tenant") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let id = tenant.id.clone();
        self.write(move |db| async move {
            let changes = vec![Change::tenant(&id)];
            let sql = "INSERT INTO tenants (id, record) VALUES ($1, $2)
                       ON CONFLICT (id) DO UPDATE SET record = excluded.record";
            execute(&db, sql, &[&id, &record], &changes).await?;
            Ok(((), changes))
        })
    }

    fn create_tenant(&self, tenant: &Tenant) -> Commit {
        let record = match encode(key::tenant(&tenant.id), tenant, "tenant") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let id = tenant.id.clone();
        self.write(move |db| async move {
            let changes = vec![Change::tenant(&id)];
            let sql = "INSERT INTO tenants (id, record) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING";
            if execute(&db, sql, &[&id, &record], &changes).await? == 0 {
                return Err(conflict(format!("tenant {id} exists")));
            }
            Ok(((), changes))
        })
    }

    fn delete_tenant(&self, id: &str) -> Commit {
        if key::tenant(id).is_none() {
            return done();
        }
        let id = id.to_owned();
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The tenant's row first: its lock makes creates under the tenant that are still
            // running finish before the rows below are deleted, and refuses those that follow.
            tx.execute("DELETE FROM tenants WHERE id = $1", &[&id]).await?;
            for table in TENANT_TABLES {
                let statement = tx.prepare_cached(&format!("DELETE FROM {table} WHERE tenant = $1")).await?;
                tx.execute(&statement, &[&id]).await?;
            }
            let changes = vec![Change::tenant(&id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }
}

impl ClientStore for PgStore {
    fn client(&self, tenant: &str, client_id: &str) -> Read<Option<Arc<Client>>> {
        let Some(k) = key::client(tenant, client_id) else { return Read::ready(Ok(None)) };
        if let Some(copy) = self.inner.caches.client(tenant, client_id) {
            return Read::ready(Ok(Some(copy)));
        }
        let (tenant, client_id) = (tenant.to_owned(), client_id.to_owned());
        self.read(|db| async move {
            let epoch = db.caches.epoch();
            let sql = "SELECT record FROM clients WHERE tenant = $1 AND client_id = $2";
            let found: Option<Client> = fetch(&db, sql, &[&tenant, &client_id], &k).await?;
            let found = found.map(Arc::new);
            if let Some(client) = &found {
                db.caches.fill_client(epoch, client);
            }
            Ok(found)
        })
    }

    fn clients(&self, tenant: &str) -> Read<Vec<Client>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let tenant = tenant.to_owned();
        self.read(|db| async move {
            let sql = "SELECT record, client_id FROM clients WHERE tenant = $1 ORDER BY client_id";
            fetch_all(&db, sql, &[&tenant], |id| key::client(&tenant, id)).await
        })
    }

    fn put_client(&self, client: &Client) -> Commit {
        let record = match encode(key::client(&client.tenant, &client.client_id), client, "client") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, id) = (client.tenant.clone(), client.client_id.clone());
        self.write(move |db| async move {
            let changes = vec![change(&tenant, ChangeKind::Client, &id)];
            let sql = "INSERT INTO clients (tenant, client_id, record) VALUES ($1, $2, $3)
                       ON CONFLICT (tenant, client_id) DO UPDATE SET record = excluded.record";
            execute(&db, sql, &[&tenant, &id, &record], &changes).await?;
            Ok(((), changes))
        })
    }

    fn create_client(&self, client: &Client) -> Commit {
        let record = match encode(key::client(&client.tenant, &client.client_id), client, "client") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, id) = (client.tenant.clone(), client.client_id.clone());
        let changes = vec![change(&tenant, ChangeKind::Client, &id)];
        let sql = "INSERT INTO clients (tenant, client_id, record) VALUES ($1, $2, $3)
                   ON CONFLICT (tenant, client_id) DO NOTHING";
        let what = format!("client {id}");
        self.create_under_tenant(
            tenant.clone(),
            sql,
            vec![Box::new(tenant), Box::new(id), Box::new(record)],
            what,
            changes,
        )
    }

    fn delete_client(&self, tenant: &str, client_id: &str) -> Commit {
        if key::client(tenant, client_id).is_none() {
            return done();
        }
        let (tenant, id) = (tenant.to_owned(), client_id.to_owned());
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The client's row first, as `delete_user` does with the user's.
            tx.execute("DELETE FROM clients WHERE tenant = $1 AND client_id = $2", &[&tenant, &id]).await?;
            tx.execute("DELETE FROM consents WHERE tenant = $1 AND client_id = $2", &[&tenant, &id]).await?;
            let unassign =
                "DELETE FROM role_assignments WHERE tenant = $1 AND subject_kind = 'c' AND subject = $2";
            tx.execute(unassign, &[&tenant, &id]).await?;
            let changes = vec![change(&tenant, ChangeKind::Client, &id)];
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }
}

/// The key records of `tenant` as stored.
async fn stored_keys(
    tx: &deadpool_postgres::Transaction<'_>,
    tenant: &str,
) -> Result<Vec<KeyRecord>, PgError> {
    let statement = tx.prepare_cached("SELECT record, kid FROM signing_keys WHERE tenant = $1").await?;
    let rows = tx.query(&statement, &[&tenant]).await?;
    rows.iter().map(|row| sql::decode_row(row, &|kid: &str| key::scoped(tenant, kid.as_bytes()))).collect()
}

fn rotation_refused(refused: &Refused, new: &KeyRecord) -> PgError {
    match refused {
        Refused::NoTenant(_) | Refused::NotCurrent { .. } | Refused::KidTaken(_) => {
            conflict(refused.to_string())
        }
        Refused::NotNew => PgError::Refused(StoreError::Corrupt {
            key: format!("keys:{}/{}", new.tenant, new.kid),
            detail: format!("refusing to write: {refused}"),
        }),
    }
}

impl KeyStore for PgStore {
    fn keys(&self, tenant: &str) -> Read<Vec<KeyRecord>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let tenant = tenant.to_owned();
        self.read(|db| async move {
            let sql = "SELECT record, kid FROM signing_keys WHERE tenant = $1";
            let mut keys: Vec<KeyRecord> =
                fetch_all(&db, sql, &[&tenant], |kid| key::scoped(&tenant, kid.as_bytes())).await?;
            keys.sort_by(|a, b| a.created_at.cmp(&b.created_at).then_with(|| a.kid.cmp(&b.kid)));
            Ok(keys)
        })
    }

    fn put_key(&self, k: &KeyRecord) -> Commit {
        let scoped = key::scoped(&k.tenant, k.kid.as_bytes()).filter(|_| bindable(&k.kid));
        let record = match encode(scoped, k, "key") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, kid) = (k.tenant.clone(), k.kid.clone());
        self.write(move |db| async move {
            let changes = vec![change(&tenant, ChangeKind::Key, &kid)];
            let sql = "INSERT INTO signing_keys (tenant, kid, record) VALUES ($1, $2, $3)
                       ON CONFLICT (tenant, kid) DO UPDATE SET record = excluded.record";
            execute(&db, sql, &[&tenant, &kid, &record], &changes).await?;
            Ok(((), changes))
        })
    }

    fn rotate_key(
        &self,
        new: &KeyRecord,
        expected_current: Option<&str>,
        retired_expires_at: UnixSecs,
    ) -> Commit {
        let scoped = key::scoped(&new.tenant, new.kid.as_bytes()).filter(|_| bindable(&new.kid));
        if let Err(err) = encode(scoped, new, "key") {
            return failed_commit(err);
        }
        let new = new.clone();
        let expected = expected_current.map(str::to_owned);
        self.write(move |db| async move {
            let mut client = db.client().await?;
            let tx = client.transaction().await?;
            // The tenant's row, exclusively: rotations of one tenant (first keys included,
            // which have no key row to lock) run one at a time, each seeing the last's keys.
            let exists = lock_tenant(&tx, &new.tenant, true).await?;
            let stored = if exists { stored_keys(&tx, &new.tenant).await? } else { Vec::new() };
            let writes = key_rules::rotate(exists, &stored, &new, expected.as_deref(), retired_expires_at)
                .map_err(|refused| rotation_refused(&refused, &new))?;
            let upsert = tx
                .prepare_cached(
                    "INSERT INTO signing_keys (tenant, kid, record) VALUES ($1, $2, $3)
                     ON CONFLICT (tenant, kid) DO UPDATE SET record = excluded.record",
                )
                .await?;
            let mut changes = Vec::new();
            for write in writes {
                let record = match write {
                    KeyWrite::PutNew => new.clone(),
                    KeyWrite::Retire(old) => old,
                };
                let bytes = encode(key::scoped(&record.tenant, record.kid.as_bytes()), &record, "key")?;
                tx.execute(&upsert, &[&record.tenant, &record.kid, &bytes]).await?;
                changes.push(change(&record.tenant, ChangeKind::Key, &record.kid));
            }
            db.record(&tx, &changes).await?;
            tx.commit().await?;
            Ok(((), changes))
        })
    }

    fn delete_key(&self, tenant: &str, kid: &str) -> Commit {
        if key::scoped(tenant, kid.as_bytes()).is_none() || !bindable(kid) {
            return done();
        }
        let (tenant, kid) = (tenant.to_owned(), kid.to_owned());
        self.write(move |db| async move {
            let changes = vec![change(&tenant, ChangeKind::Key, &kid)];
            execute(
                &db,
                "DELETE FROM signing_keys WHERE tenant = $1 AND kid = $2",
                &[&tenant, &kid],
                &changes,
            )
            .await?;
            Ok(((), changes))
        })
    }
}

impl TokenStore for PgStore {
    fn put_opaque_token(&self, digest: &[u8; 32], token: &OpaqueToken) -> Commit {
        let record = match encode(key::scoped(&token.tenant, digest), token, "opaque token") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let row =
            Row::Opaque { tenant: token.tenant.clone(), digest: digest.to_vec(), exp: token.exp, record };
        self.write(move |db| async move {
            db.batcher.submit(row).await?;
            Ok(((), Vec::new()))
        })
    }

    fn opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Read<Option<OpaqueToken>> {
        let Some(k) = key::scoped(tenant, digest) else { return Read::ready(Ok(None)) };
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.read(|db| async move {
            fetch(
                &db,
                "SELECT record FROM opaque_tokens WHERE tenant = $1 AND digest = $2",
                &[&tenant, &digest],
                &k,
            )
            .await
        })
    }

    fn delete_opaque_token(&self, tenant: &str, digest: &[u8; 32]) -> Commit {
        if key::scoped(tenant, digest).is_none() {
            return done();
        }
        let changes = vec![Change::opaque_token(tenant, digest)];
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.write(move |db| async move {
            let sql = "DELETE FROM opaque_tokens WHERE tenant = $1 AND digest = $2";
            execute(&db, sql, &[&tenant, &digest], &changes).await?;
            Ok(((), changes))
        })
    }
}

impl RevocationStore for PgStore {
    fn put_revocation(&self, revocation: &Revocation) -> Commit {
        let scoped =
            key::scoped(&revocation.tenant, revocation.jti.as_bytes()).filter(|_| bindable(&revocation.jti));
        let record = match encode(scoped, revocation, "revocation") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let changes = vec![change(&revocation.tenant, ChangeKind::Revocation, &revocation.jti)];
        let row = Row::Revocation {
            tenant: revocation.tenant.clone(),
            jti: revocation.jti.clone(),
            exp: revocation.exp,
            record,
        };
        self.write(move |db| async move {
            // Recorded in the changes table by the batch's transaction; heard here after it.
            db.batcher.submit(row).await?;
            Ok(((), changes))
        })
    }

    fn jwt_status(&self, tenant: &str, jti: &str) -> Read<JwtStatus> {
        if key::scoped(tenant, jti.as_bytes()).is_none() || !bindable(jti) {
            return Read::ready(Ok(JwtStatus::NotRevoked));
        }
        if let Some(copy) = self.inner.caches.jwt_status(tenant, jti) {
            return Read::ready(Ok(copy));
        }
        let (tenant, jti) = (tenant.to_owned(), jti.to_owned());
        self.read(|db| async move {
            let epoch = db.caches.epoch();
            let client = db.client().await?;
            let statement =
                client.prepare_cached("SELECT exp FROM revocations WHERE tenant = $1 AND jti = $2").await?;
            let exp: Option<i64> =
                client.query_opt(&statement, &[&tenant, &jti]).await?.map(|row| row.get(0));
            // In force until its exp, by the store's clock.
            let status = if exp.is_some_and(|exp| exp > db.now()) {
                JwtStatus::Revoked
            } else {
                JwtStatus::NotRevoked
            };
            // Only "not revoked" is kept: a revocation lapses at its exp, which a copy would
            // not notice (and a revoked JWT is rarely presented twice).
            if status == JwtStatus::NotRevoked {
                db.caches.fill_jwt_status(epoch, &tenant, &jti, status);
            }
            Ok(status)
        })
    }
}

impl ApiKeyStore for PgStore {
    fn api_key(&self, tenant: &str, id: &str) -> Read<Option<ApiKey>> {
        let Some(k) = key::by_id(tenant, id) else { return Read::ready(Ok(None)) };
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.read(|db| async move {
            fetch(&db, "SELECT record FROM api_keys WHERE tenant = $1 AND id = $2", &[&tenant, &id], &k).await
        })
    }

    fn api_keys(&self, tenant: &str) -> Read<Vec<ApiKey>> {
        if key::tenant(tenant).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let tenant = tenant.to_owned();
        self.read(|db| async move {
            let sql = "SELECT record, id FROM api_keys WHERE tenant = $1 ORDER BY id";
            fetch_all(&db, sql, &[&tenant], |id| key::by_id(&tenant, id)).await
        })
    }

    fn create_api_key(&self, k: &ApiKey) -> Commit {
        let record = match encode(key::by_id(&k.tenant, &k.id), k, "API key") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let sql = "INSERT INTO api_keys (tenant, id, record) VALUES ($1, $2, $3) ON CONFLICT (tenant, id) DO NOTHING";
        let what = format!("API key {}", k.id);
        let params: Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>> =
            vec![Box::new(k.tenant.clone()), Box::new(k.id.clone()), Box::new(record)];
        self.create_under_tenant(k.tenant.clone(), sql, params, what, Vec::new())
    }

    fn update_api_key(&self, k: &ApiKey) -> Commit {
        let record = match encode(key::by_id(&k.tenant, &k.id), k, "API key") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, id) = (k.tenant.clone(), k.id.clone());
        self.write(move |db| async move {
            // Conditional on the row: a key deleted meanwhile is not brought back.
            let sql = "UPDATE api_keys SET record = $3 WHERE tenant = $1 AND id = $2";
            if execute(&db, sql, &[&tenant, &id, &record], &[]).await? == 0 {
                return Err(conflict(format!("API key {id} does not exist")));
            }
            Ok(((), Vec::new()))
        })
    }

    fn delete_api_key(&self, tenant: &str, id: &str) -> Commit {
        if key::by_id(tenant, id).is_none() {
            return done();
        }
        let (tenant, id) = (tenant.to_owned(), id.to_owned());
        self.write(move |db| async move {
            execute(&db, "DELETE FROM api_keys WHERE tenant = $1 AND id = $2", &[&tenant, &id], &[]).await?;
            Ok(((), Vec::new()))
        })
    }
}

impl ConsentStore for PgStore {
    fn consent(&self, tenant: &str, user_id: &str, client_id: &str) -> Read<Option<Consent>> {
        let Some(k) = key::consent(tenant, user_id, client_id) else { return Read::ready(Ok(None)) };
        let (tenant, user, client) = (tenant.to_owned(), user_id.to_owned(), client_id.to_owned());
        self.read(|db| async move {
            let sql = "SELECT record FROM consents WHERE tenant = $1 AND user_id = $2 AND client_id = $3";
            fetch(&db, sql, &[&tenant, &user, &client], &k).await
        })
    }

    fn put_consent(&self, consent: &Consent) -> Commit {
        let scoped = key::consent(&consent.tenant, &consent.user_id, &consent.client_id);
        let record = match encode(scoped, consent, "consent") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, user, client) =
            (consent.tenant.clone(), consent.user_id.clone(), consent.client_id.clone());
        self.write(move |db| async move {
            let sql = "INSERT INTO consents (tenant, user_id, client_id, record) VALUES ($1, $2, $3, $4)
                       ON CONFLICT (tenant, user_id, client_id) DO UPDATE SET record = excluded.record";
            execute(&db, sql, &[&tenant, &user, &client, &record], &[]).await?;
            Ok(((), Vec::new()))
        })
    }
}

impl SessionStore for PgStore {
    fn put_session(&self, digest: &[u8; 32], session: &Session) -> Commit {
        // Found by its user when the user's sessions end, so the user must be one an id names.
        let scoped = key::scoped(&session.tenant, digest)
            .filter(|_| key::by_id(&session.tenant, &session.auth.sub).is_some());
        let record = match encode(scoped, session, "session") {
            Ok(record) => record,
            Err(err) => return failed_commit(err),
        };
        let (tenant, digest) = (session.tenant.clone(), digest.to_vec());
        let (user, exp) = (session.auth.sub.clone(), session.expires_at);
        self.write(move |db| async move {
            let sql =
                "INSERT INTO sessions (tenant, digest, user_id, exp, record) VALUES ($1, $2, $3, $4, $5)
                       ON CONFLICT (tenant, digest) DO UPDATE
                       SET user_id = excluded.user_id, exp = excluded.exp, record = excluded.record";
            execute(&db, sql, &[&tenant, &digest, &user, &exp, &record], &[]).await?;
            Ok(((), Vec::new()))
        })
    }

    fn session(&self, tenant: &str, digest: &[u8; 32], now: UnixSecs) -> Read<Option<Session>> {
        let Some(k) = key::scoped(tenant, digest) else { return Read::ready(Ok(None)) };
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.read(move |db| async move {
            let sql = "SELECT record FROM sessions WHERE tenant = $1 AND digest = $2";
            let found: Option<Session> = fetch(&db, sql, &[&tenant, &digest], &k).await?;
            Ok(found.filter(|s| s.expires_at > now))
        })
    }

    fn delete_session(&self, tenant: &str, digest: &[u8; 32]) -> Commit {
        if key::scoped(tenant, digest).is_none() {
            return done();
        }
        let (tenant, digest) = (tenant.to_owned(), digest.to_vec());
        self.write(move |db| async move {
            execute(&db, "DELETE FROM sessions WHERE tenant = $1 AND digest = $2", &[&tenant, &digest], &[])
                .await?;
            Ok(((), Vec::new()))
        })
    }

    fn end_sessions_of_user(&self, tenant: &str, user_id: &str) -> Commit {
        if key::by_id(tenant, user_id).is_none() {
            return done();
        }
        let (tenant, user) = (tenant.to_owned(), user_id.to_owned());
        self.write(move |db| async move {
            // The index on (tenant, user_id) bounds the work by the user's sessions.
            execute(&db, "DELETE FROM sessions WHERE tenant = $1 AND user_id = $2", &[&tenant, &user], &[])
                .await?;
            Ok(((), Vec::new()))
        })
    }
}
