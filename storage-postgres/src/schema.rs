//! The schema, embedded in the binary as plain SQL files (`migrations/`), and its migration at
//! open. Applied versions are rows of `schema_migrations`; each missing one runs in its own
//! transaction with its row, so a failed migration leaves the schema as it was. Everything runs
//! under a session-level `pg_advisory_lock` on a dedicated connection, so two nodes opening
//! at once apply each migration once: the second waits, then finds it applied. The lock goes
//! with the connection, so a node that dies mid-migration does not hold it.

use tokio_postgres::Config;
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::error::PgError;

/// The migrations, in order: version, name, SQL. Never edit an applied one: add the next.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "lockouts", include_str!("../migrations/0002_lockouts.sql")),
    (3, "used_assertions", include_str!("../migrations/0003_used_assertions.sql")),
    (4, "federated_links", include_str!("../migrations/0004_federated_links.sql")),
];

/// The advisory lock key of Tessera's migrations (any constant; "tessera" in ASCII, truncated).
const MIGRATION_LOCK: i64 = 0x0074_6573_7365_7261;

/// Brings the database's schema up to date.
pub(crate) async fn migrate(config: &Config, tls: &MakeRustlsConnect) -> Result<(), PgError> {
    let (mut client, connection) = config.connect(tls.clone()).await?;
    let driver = tokio::spawn(connection);
    client.execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK]).await?;
    let applied = apply(&mut client).await;
    // Unlocking is a courtesy: closing the connection, just below, releases the lock anyway.
    let _ = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK]).await;
    drop(client);
    let _ = driver.await;
    applied
}

async fn apply(client: &mut tokio_postgres::Client) -> Result<(), PgError> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version bigint PRIMARY KEY,
                name text NOT NULL
            )",
        )
        .await?;
    let rows = client.query("SELECT version FROM schema_migrations", &[]).await?;
    let applied: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    if let Some(newest) = applied.iter().max()
        && *newest > MIGRATIONS.last().map_or(0, |m| m.0)
    {
        return Err(PgError::Setup(format!(
            "the database's schema is version {newest}, newer than this binary knows: upgrade the binary"
        )));
    }
    for (version, name, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(sql).await?;
        tx.execute("INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &[version, name]).await?;
        tx.commit().await?;
        tracing::info!(version, name, "applied schema migration");
    }
    Ok(())
}
