//! [`ApiKeyStore`] for [`FjallStore`]: API keys are plain records of their tenant, read from
//! fjall at each use (a point read), created only in a stored tenant and replaced only while
//! stored (`writer::tenancy`), so a rotation or a last-use write racing a revocation never
//! brings the key back.

use std::future::ready;

use tessera_core::model::ApiKey;
use tessera_core::store::{ApiKeyStore, Commit, Read, failed_commit};

use crate::codec;
use crate::keys::{self, Space};
use crate::store::{FjallStore, invalid};
use crate::writer::WriteOp;

fn api_key_key(tenant: &str, id: &str) -> Option<Vec<u8>> {
    if tessera_core::model::is_valid_id(id) { keys::scoped_key(tenant, id.as_bytes()) } else { None }
}

impl ApiKeyStore for FjallStore {
    fn api_key(&self, tenant: &str, id: &str) -> Read<Option<ApiKey>> {
        Read::ready(self.read(tenant, api_key_key(tenant, id)))
    }

    fn api_keys(&self, tenant: &str) -> Read<Vec<ApiKey>> {
        Read::ready(self.all_of(tenant))
    }

    fn create_api_key(&self, key: &ApiKey) -> Commit {
        let Some(k) = api_key_key(&key.tenant, &key.id) else {
            return failed_commit(invalid(Space::ApiKeys, "API key"));
        };
        match codec::encode(&k, key) {
            Ok(value) => self.submit(WriteOp::Create { space: Space::ApiKeys, key: k, value }),
            Err(err) => failed_commit(err),
        }
    }

    fn update_api_key(&self, key: &ApiKey) -> Commit {
        let Some(k) = api_key_key(&key.tenant, &key.id) else {
            return failed_commit(invalid(Space::ApiKeys, "API key"));
        };
        match codec::encode(&k, key) {
            Ok(value) => self.submit(WriteOp::Replace { space: Space::ApiKeys, key: k, value }),
            Err(err) => failed_commit(err),
        }
    }

    fn delete_api_key(&self, tenant: &str, id: &str) -> Commit {
        match api_key_key(tenant, id) {
            Some(key) => self.submit(WriteOp::Delete { space: Space::ApiKeys, key }),
            None => Box::pin(ready(Ok(()))),
        }
    }
}
