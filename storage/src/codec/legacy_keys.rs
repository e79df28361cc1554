//! The frozen layout that sealed software keys replaced: [`KeyRecord`] version 1, whose
//! material was plain PKCS#8 or an HSM handle. Version 2 added a third kind of material (the
//! PKCS#8 sealed under a key-encryption key); an older binary meeting one then reports an
//! unknown format version rather than misreading an enum tag. Read-only, like every layout in
//! `legacy`: never written again, and pinned by golden bytes.

use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg, UnixSecs};

/// [`KeyRecord`] as format version 1 laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) struct KeyRecordV1 {
    pub(super) tenant: String,
    pub(super) kid: String,
    pub(super) alg: SigningAlg,
    pub(super) public_jwk: String,
    pub(super) material: KeyMaterialV1,
    pub(super) created_at: UnixSecs,
    pub(super) retired_at: Option<UnixSecs>,
    pub(super) expires_at: Option<UnixSecs>,
}

/// [`KeyMaterial`] as format version 1 of [`KeyRecord`] laid it out.
#[derive(Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(super) enum KeyMaterialV1 {
    Software { pkcs8: Vec<u8> },
    Pkcs11 { id: Vec<u8> },
}

impl From<KeyRecordV1> for KeyRecord {
    /// A key stored before sealing is plain PKCS#8 or an HSM handle, as it was.
    fn from(v1: KeyRecordV1) -> Self {
        KeyRecord {
            tenant: v1.tenant,
            kid: v1.kid,
            alg: v1.alg,
            public_jwk: v1.public_jwk,
            material: match v1.material {
                KeyMaterialV1::Software { pkcs8 } => KeyMaterial::Software { pkcs8 },
                KeyMaterialV1::Pkcs11 { id } => KeyMaterial::Pkcs11 { id },
            },
            created_at: v1.created_at,
            retired_at: v1.retired_at,
            expires_at: v1.expires_at,
        }
    }
}
