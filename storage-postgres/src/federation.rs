//! [`FederationStore`] for [`PgStore`]: a federated link is a row keyed by its tenant,
//! identity provider id and upstream subject (kept as sent: text compares byte for byte under
//! `COLLATE "C"`, and a subject holds no NUL), the record in `record`. A create is
//! `INSERT ... ON CONFLICT DO NOTHING`, so the primary key decides which of concurrent creates
//! on any number of nodes lands; a create that did not land then reads the winner in a
//! statement of its own (one statement's snapshot predates the winner's commit, so a CTE could
//! miss it). The index on (tenant, user_id) bounds a user's listing and deletion
//! (`users::delete_user`); a tenant's links go with it (`records::TENANT_TABLES`).

use std::future::ready;

use tessera_core::model::FederatedLink;
use tessera_core::store::{Commit, FederationStore, Read, StoreError};
use tessera_storage::encoding::{Encoded, key};

use crate::error::{PgError, conflict};
use crate::sql::{encode, execute, fetch};
use crate::store::PgStore;

/// How often a create retries when the link it lost to was deleted before it could read it.
const CREATE_ATTEMPTS: usize = 4;

const SELECT_ONE: &str = "SELECT record FROM federated_links WHERE tenant = $1 AND idp = $2 AND subject = $3";

impl FederationStore for PgStore {
    fn federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Read<Option<FederatedLink>> {
        // Ids and subjects no link can have (a NUL among them, which text cannot bind) are absent.
        let Some(k) = key::federated_link(tenant, idp, subject) else { return Read::ready(Ok(None)) };
        let (tenant, idp, subject) = (tenant.to_owned(), idp.to_owned(), subject.to_owned());
        self.read(|db| async move { fetch(&db, SELECT_ONE, &[&tenant, &idp, &subject], &k).await })
    }

    fn create_federated_link(&self, link: &FederatedLink) -> Read<Option<FederatedLink>> {
        let Some(k) = key::federated_link(&link.tenant, &link.idp, &link.subject) else {
            return Read::ready(Err(crate::error::invalid("federated link")));
        };
        let record = match encode(Some(k.clone()), link, "federated link") {
            Ok(record) => record,
            Err(err) => return Read::ready(Err(err)),
        };
        let FederatedLink { tenant, idp, subject, user_id, .. } = link.clone();
        Read::pending(self.write(move |db| async move {
            let insert = "INSERT INTO federated_links (tenant, idp, subject, user_id, record)
                          VALUES ($1, $2, $3, $4, $5)
                          ON CONFLICT (tenant, idp, subject) DO NOTHING";
            for _ in 0..CREATE_ATTEMPTS {
                if execute(&db, insert, &[&tenant, &idp, &subject, &user_id, &record], &[]).await? == 1 {
                    return Ok((None, Vec::new()));
                }
                let existing: Option<FederatedLink> =
                    fetch(&db, SELECT_ONE, &[&tenant, &idp, &subject], &k).await?;
                if let Some(existing) = existing {
                    return Ok((Some(existing), Vec::new()));
                }
                // The winner was deleted between the two statements: the key is free again.
            }
            Err(conflict("a federated link of this key is being created and deleted over and over"))
        }))
    }

    fn delete_federated_link(&self, tenant: &str, idp: &str, subject: &str) -> Commit {
        if key::federated_link(tenant, idp, subject).is_none() {
            return Box::pin(ready(Ok(())));
        }
        let (tenant, idp, subject) = (tenant.to_owned(), idp.to_owned(), subject.to_owned());
        self.write(move |db| async move {
            let sql = "DELETE FROM federated_links WHERE tenant = $1 AND idp = $2 AND subject = $3";
            execute(&db, sql, &[&tenant, &idp, &subject], &[]).await?;
            Ok(((), Vec::new()))
        })
    }

    fn federated_links_of_user(&self, tenant: &str, user_id: &str) -> Read<Vec<FederatedLink>> {
        if key::by_id(tenant, user_id).is_none() {
            return Read::ready(Ok(Vec::new()));
        }
        let (tenant, user) = (tenant.to_owned(), user_id.to_owned());
        self.read(|db| async move {
            let client = db.client().await?;
            let sql = "SELECT record, idp, subject FROM federated_links WHERE tenant = $1 AND user_id = $2
                       ORDER BY idp, subject";
            let statement = client.prepare_cached(sql).await?;
            let rows = client.query(&statement, &[&tenant, &user]).await?;
            rows.iter()
                .map(|row| {
                    let (idp, subject): (&str, &str) = (row.get(1), row.get(2));
                    let k =
                        key::federated_link(&tenant, idp, subject).ok_or_else(|| StoreError::Corrupt {
                            key: format!("federated_links:{tenant}/{idp}"),
                            detail: "a row's identity provider or subject is not one a link can have"
                                .to_owned(),
                        })?;
                    Ok(FederatedLink::decode(&k, row.get(0))?)
                })
                .collect::<Result<Vec<_>, PgError>>()
        })
    }
}
