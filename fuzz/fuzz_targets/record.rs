//! Stored-record decoding (`tessera_storage`'s rkyv codec, through `tessera_storage::fuzzing`):
//! bytes as a damaged disk could hold them. The first byte picks the record kind, the second
//! the key's length, then come the key and the stored value. Decoding must end in `Corrupt` or
//! in a record that passed its invariants and survives encode and decode unchanged; anything
//! else (a panic, another error, a record that changes) is a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_storage::fuzzing::decode_record;

fuzz_target!(|data: &[u8]| {
    let [kind, key_len, rest @ ..] = data else { return };
    let key_len = usize::from(*key_len).min(rest.len());
    let (key, value) = rest.split_at(key_len);
    if let Err(broken) = decode_record(*kind, key, value) {
        panic!("{broken}");
    }
});
