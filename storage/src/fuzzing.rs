//! The door the fuzz targets (`fuzz/`, built with the `fuzzing` feature) use to reach the
//! record codec, which is otherwise private to this crate. Not part of the store's API: it
//! exists so arbitrary bytes can be decoded as every kind of stored record, the way a damaged
//! disk would present them, and the result checked.

use rkyv::api::high::{HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::de::Pool;
use rkyv::rancor::{self, Strategy};
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use tessera_core::model::{
    Client, Consent, KeyRecord, OpaqueToken, RefreshToken, Revocation, Session, Tenant, User,
};
use tessera_core::store::StoreError;

use crate::codec::{self, Record, StoredCode, StoredFamily};

/// Every kind of record the store keeps, in the order a fuzz input's first byte picks them.
pub const RECORD_KINDS: usize = 11;

/// What decoding `bytes` as a record of kind `kind % RECORD_KINDS` under `key` gave.
#[derive(Debug)]
pub enum Decoded {
    /// The bytes were refused as corrupt (the only error decoding may give).
    Corrupt,
    /// The bytes decoded to a record that passed its invariants, and re-encoding it and
    /// decoding again gave the same record.
    RoundTripped,
}

/// Why a fuzz input broke the codec's contract.
#[derive(Debug, thiserror::Error)]
pub enum Broken {
    /// Decoding failed with something other than `Corrupt`.
    #[error("decoding gave an error other than Corrupt: {0:?}")]
    WrongError(StoreError),
    /// A decoded record could not be written back.
    #[error("a record that decoded could not be encoded again: {0:?}")]
    NotReencodable(StoreError),
    /// A decoded record changed on its way through the codec and back.
    #[error("a record changed on a second round through the codec")]
    Changed,
}

/// Decodes `bytes` as the record kind `kind` picks, under `key`, and checks the contract:
/// either the bytes are corrupt, or they are a record that survives encode and decode unchanged.
pub fn decode_record(kind: u8, key: &[u8], bytes: &[u8]) -> Result<Decoded, Broken> {
    match usize::from(kind) % RECORD_KINDS {
        0 => check::<Tenant>(key, bytes),
        1 => check::<Client>(key, bytes),
        2 => check::<KeyRecord>(key, bytes),
        3 => check::<OpaqueToken>(key, bytes),
        4 => check::<Revocation>(key, bytes),
        5 => check::<User>(key, bytes),
        6 => check::<StoredCode>(key, bytes),
        7 => check::<Session>(key, bytes),
        8 => check::<Consent>(key, bytes),
        9 => check::<RefreshToken>(key, bytes),
        _ => check::<StoredFamily>(key, bytes),
    }
}

fn check<T>(key: &[u8], bytes: &[u8]) -> Result<Decoded, Broken>
where
    T: Record + PartialEq + rkyv::Archive,
    T: for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>,
    T::Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
        + rkyv::Deserialize<T, Strategy<Pool, rancor::Error>>,
{
    let record = match codec::decode::<T>(key, bytes) {
        Ok(record) => record,
        Err(StoreError::Corrupt { .. }) => return Ok(Decoded::Corrupt),
        Err(other) => return Err(Broken::WrongError(other)),
    };
    let again = codec::encode(key, &record).map_err(Broken::NotReencodable)?;
    match codec::decode::<T>(key, &again) {
        Ok(back) if back == record => Ok(Decoded::RoundTripped),
        Ok(_) => Err(Broken::Changed),
        Err(e) => Err(Broken::NotReencodable(e)),
    }
}
