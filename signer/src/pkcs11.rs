//! PKCS#11 keys: generated inside the token, marked sensitive and non-extractable, and used
//! through `cryptoki` by the signer actor, a pool of OS threads each holding its own
//! logged-in R/W session.
//!
//! Why it is shaped this way:
//! - PKCS#11 calls block, so they run on the pool's threads and never on an async worker; a
//!   request travels over a bounded channel and its answer comes back through a oneshot.
//! - The library is initialised with `CKF_OS_LOCKING_OK`: without it, sessions used from several
//!   threads at once fail. One initialised library is shared by every signer of a process,
//!   since `C_Initialize` is per process and a second one fails.
//! - Finding a key (`C_FindObjects*`) costs more than a signature, so handles are found once at
//!   `load`/`generate` and cached next to the public key, which is read from the token's public
//!   key object and used to verify in software.
//! - ECDSA digests are computed here and signed with `CKM_ECDSA`: SoftHSM2 has no combined
//!   ECDSA-with-SHA mechanism, and hashing in software costs the same wherever it is done.

use std::fmt;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;

use aws_lc_rs::digest;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::eddsa::{EddsaParams, EddsaSignatureScheme};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::{AuthPin, Ulong};
use parking_lot::Mutex;
use tessera_core::model::{KeyMaterial, KeyRecord, SigningAlg, UnixSecs};
use tessera_core::signer::{SignError, SignFuture, Signer, SignerFuture};
use tokio::sync::oneshot;

use crate::jwk;
use crate::keys::{KeyMap, new_kid, random_bytes};
use crate::public_key::PublicKey;

/// DER of the named-curve OIDs that go in `CKA_EC_PARAMS`.
const P256_OID: &[u8] = &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384_OID: &[u8] = &[0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];
/// id-Ed25519 (1.3.101.112, RFC 8410), which PKCS#11 3.0 accepts for Edwards keys.
const ED25519_OID: &[u8] = &[0x06, 0x03, 0x2b, 0x65, 0x70];

/// Length of the random `CKA_ID` of a generated key pair.
pub const KEY_ID_LEN: usize = 16;

/// Requests that may wait for a session before new ones are refused, unless configured.
pub const DEFAULT_MAX_QUEUED_JOBS: usize = 4096;

/// The user PIN of the token. Its `Debug` shows nothing and it is zeroised when dropped.
pub struct Pkcs11Pin(AuthPin);

impl Pkcs11Pin {
    /// Wraps a PIN (the server reads it from `TESSERA_PKCS11_PIN`).
    pub fn new(pin: impl Into<String>) -> Self {
        Self(AuthPin::from(pin.into()))
    }
}

impl fmt::Debug for Pkcs11Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pkcs11Pin(<redacted>)")
    }
}

/// How to reach the token.
#[derive(Debug)]
pub struct Pkcs11Config {
    /// The PKCS#11 module (shared library) to load.
    pub module_path: PathBuf,
    /// The label of the token to use; the first slot holding a token so labelled is used.
    pub token_label: String,
    /// The user PIN.
    pub pin: Pkcs11Pin,
    /// Sessions (and threads) in the pool; `None` means one per CPU.
    pub sessions: Option<NonZeroUsize>,
    /// Requests allowed to wait for a free session; beyond it `sign` fails at once rather than
    /// letting latency grow without bound.
    pub max_queued_jobs: usize,
}

impl Pkcs11Config {
    /// A configuration with one session per CPU and [`DEFAULT_MAX_QUEUED_JOBS`].
    pub fn new(module_path: impl Into<PathBuf>, token_label: impl Into<String>, pin: Pkcs11Pin) -> Self {
        Self {
            module_path: module_path.into(),
            token_label: token_label.into(),
            pin,
            sessions: None,
            max_queued_jobs: DEFAULT_MAX_QUEUED_JOBS,
        }
    }
}

/// Security attributes of a private key object, as the token reports them (for audits and
/// tests: a regulated deployment must be able to show its keys cannot leave the HSM).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyAttributes {
    /// `CKA_TOKEN`: stored in the token, not only in the session.
    pub token: bool,
    /// `CKA_PRIVATE`: usable only after login.
    pub private: bool,
    /// `CKA_SENSITIVE`: the private value cannot be read.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`: the key can be wrapped out of the token.
    pub extractable: bool,
    /// `CKA_ALWAYS_SENSITIVE`: sensitive since it was made.
    pub always_sensitive: bool,
    /// `CKA_NEVER_EXTRACTABLE`: never was extractable.
    pub never_extractable: bool,
    /// `CKA_LOCAL`: generated inside the token (not imported).
    pub local: bool,
}

/// A PKCS#11 signer for every tenant. `Send + Sync`; dropping it stops its threads (after the
/// requests they are running) and closes their sessions.
pub struct Pkcs11Signer {
    // Field order is drop order: the pool's sessions close before the library is finalised.
    pool: Pool,
    keys: Arc<KeyMap<HsmKey>>,
    library: Arc<Library>,
    slot: Slot,
    mechanisms: Vec<MechanismType>,
}

struct HsmKey {
    handle: ObjectHandle,
    public: PublicKey,
}

impl Pkcs11Signer {
    /// Loads the module, finds the token by label, and opens and logs in the session pool.
    /// Blocks while it does so: call it at start-up, not on an async worker.
    pub fn new(config: Pkcs11Config) -> Result<Self, SignError> {
        let library = Library::open(&config.module_path)?;
        let slot = find_slot(&library.pkcs11, &config.token_label)?;
        let mechanisms = library.pkcs11.get_mechanism_list(slot).map_err(ck("C_GetMechanismList"))?;
        let sessions = config
            .sessions
            .or_else(|| std::thread::available_parallelism().ok())
            .map_or(1, NonZeroUsize::get);
        let pin = Arc::new(config.pin.0);
        let (tx, rx) = mpsc::sync_channel(config.max_queued_jobs.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let mut pool =
            Pool { tx: Some(tx), threads: Vec::with_capacity(sessions), capacity: config.max_queued_jobs };
        for i in 0..sessions {
            // Opened here rather than in the thread so that a wrong PIN or a missing token
            // fails `new` with its reason; `Session` is `Send`, so it moves to its thread.
            let session = open_session(&library.pkcs11, slot, &pin)?;
            let worker = Worker {
                pkcs11: library.pkcs11.clone(),
                slot,
                pin: Arc::clone(&pin),
                session: Some(session),
                lost: String::new(),
            };
            let rx = Arc::clone(&rx);
            let thread = std::thread::Builder::new()
                .name(format!("tessera-pkcs11-{i}"))
                .spawn(move || worker.run(&rx))
                .map_err(|e| SignError::Backend(format!("cannot start PKCS#11 thread: {e}")))?;
            pool.threads.push(thread);
        }
        Ok(Self { pool, keys: Arc::new(KeyMap::new()), library, slot, mechanisms })
    }

    /// Whether the token offers the mechanisms `alg` needs (Ed25519 needs PKCS#11 3.0
    /// `CKM_EC_EDWARDS_KEY_PAIR_GEN` and `CKM_EDDSA`, which SoftHSM2 has only when built with
    /// an OpenSSL that supports Ed25519).
    pub fn supports(&self, alg: SigningAlg) -> bool {
        required_mechanisms(alg).iter().all(|m| self.mechanisms.contains(m))
    }

    /// Number of sessions (threads) in the pool.
    pub fn sessions(&self) -> usize {
        self.pool.threads.len()
    }

    /// The public key of a loaded key.
    pub fn public_key(&self, tenant: &str, kid: &str) -> Result<PublicKey, SignError> {
        Ok(self.keys.get(tenant, kid)?.public.clone())
    }

    /// Reads back the security attributes of a loaded key's private key object. Blocks for
    /// one round trip to the token.
    pub fn private_key_attributes(&self, tenant: &str, kid: &str) -> Result<KeyAttributes, SignError> {
        let handle = self.keys.get(tenant, kid)?.handle;
        self.pool.run_blocking(move |session| read_security_attributes(session, handle))
    }

    fn generate_in_token(
        session: &Session,
        tenant: &str,
        alg: SigningAlg,
        now: UnixSecs,
    ) -> Result<(KeyRecord, HsmKey), SignError> {
        let kid = new_kid()?;
        let mut id = [0u8; KEY_ID_LEN];
        random_bytes(&mut id)?;
        let (mechanism, mut public_template) = match alg {
            SigningAlg::ES256 => (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(P256_OID.to_vec())]),
            SigningAlg::ES384 => (Mechanism::EccKeyPairGen, vec![Attribute::EcParams(P384_OID.to_vec())]),
            SigningAlg::RS256 => (
                Mechanism::RsaPkcsKeyPairGen,
                vec![Attribute::ModulusBits(Ulong::from(2048)), Attribute::PublicExponent(vec![1, 0, 1])],
            ),
            SigningAlg::EdDSA => {
                (Mechanism::EccEdwardsKeyPairGen, vec![Attribute::EcParams(ED25519_OID.to_vec())])
            }
        };
        let label = kid.as_bytes().to_vec();
        public_template.extend([
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label.clone()),
        ]);
        let private_template = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Id(id.to_vec()),
            Attribute::Label(label),
        ];
        let (public_handle, handle) = session
            .generate_key_pair(&mechanism, &public_template, &private_template)
            .map_err(ck("C_GenerateKeyPair"))?;
        let public = read_public_key(session, public_handle, alg)
            .map_err(|detail| SignError::Backend(format!("generated key {kid}: {detail}")))?;
        let record = KeyRecord {
            tenant: tenant.to_owned(),
            public_jwk: jwk::to_jwk_json(&public, &kid),
            kid,
            alg,
            material: KeyMaterial::Pkcs11 { id: id.to_vec() },
            created_at: now,
            retired_at: None,
            expires_at: None,
        };
        Ok((record, HsmKey { handle, public }))
    }
}

fn required_mechanisms(alg: SigningAlg) -> [MechanismType; 2] {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => [MechanismType::ECC_KEY_PAIR_GEN, MechanismType::ECDSA],
        SigningAlg::RS256 => [MechanismType::RSA_PKCS_KEY_PAIR_GEN, MechanismType::SHA256_RSA_PKCS],
        SigningAlg::EdDSA => [MechanismType::ECC_EDWARDS_KEY_PAIR_GEN, MechanismType::EDDSA],
    }
}

fn sign_mechanism(alg: SigningAlg) -> Mechanism<'static> {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => Mechanism::Ecdsa,
        SigningAlg::RS256 => Mechanism::Sha256RsaPkcs,
        // Pure Ed25519 (RFC 8032) takes no parameter, as JWS EdDSA requires.
        SigningAlg::EdDSA => Mechanism::Eddsa(EddsaParams::new(EddsaSignatureScheme::Pure)),
    }
}

/// What the token signs for `alg`: the digest for ECDSA (see the module doc), else the input.
fn to_be_signed(alg: SigningAlg, signing_input: &[u8]) -> Vec<u8> {
    match alg {
        SigningAlg::ES256 => digest::digest(&digest::SHA256, signing_input).as_ref().to_vec(),
        SigningAlg::ES384 => digest::digest(&digest::SHA384, signing_input).as_ref().to_vec(),
        SigningAlg::RS256 | SigningAlg::EdDSA => signing_input.to_vec(),
    }
}

impl Signer for Pkcs11Signer {
    fn generate(&self, tenant: &str, alg: SigningAlg, now: UnixSecs) -> SignerFuture<KeyRecord> {
        if !self.supports(alg) {
            let reason = format!(
                "the token does not support {} (mechanisms {:?} needed)",
                alg.as_str(),
                required_mechanisms(alg)
            );
            return Box::pin(std::future::ready(Err(SignError::Backend(reason))));
        }
        let keys = Arc::clone(&self.keys);
        let tenant = tenant.to_owned();
        let (reply, answer) = oneshot::channel();
        let job = Job::Run(Box::new(move |session| {
            let result =
                session.and_then(|s| Self::generate_in_token(s, &tenant, alg, now)).map(|(record, key)| {
                    // Loaded here, not in the future: a caller that stops waiting still finds the
                    // key loaded, and the token's copy is never unaccounted for in this process.
                    keys.insert(&record.tenant, &record.kid, Arc::new(key));
                    record
                });
            let _ = reply.send(result);
        }));
        if let Err(e) = self.pool.submit(job) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(async move { answer.await.unwrap_or(Err(SignError::Closed)) })
    }

    /// Finds the key's objects by `CKA_ID` (blocking for one round trip to the token: call it
    /// at start-up or from a blocking context) and checks the token's public key against the
    /// record's JWK.
    fn load(&self, record: &KeyRecord) -> Result<(), SignError> {
        let KeyMaterial::Pkcs11 { id } = &record.material else {
            return Err(SignError::WrongBackend(record.kid.clone()));
        };
        let bad = |detail: String| SignError::BadKey { kid: record.kid.clone(), detail };
        let stored = jwk::from_jwk_json(&record.public_jwk, &record.kid).map_err(bad)?;
        if stored.alg() != record.alg {
            return Err(bad(format!(
                "public_jwk is a {} key, record says {}",
                stored.alg().as_str(),
                record.alg.as_str()
            )));
        }
        let id = id.clone();
        let alg = record.alg;
        let key = self.pool.run_blocking(move |session| Ok(find_key(session?, &id, alg, stored)))?;
        let key = key.map_err(bad)?;
        self.keys.insert(&record.tenant, &record.kid, Arc::new(key));
        Ok(())
    }

    fn unload(&self, tenant: &str, kid: &str) {
        self.keys.remove(tenant, kid);
    }

    fn destroy(&self, record: &KeyRecord) -> SignerFuture<()> {
        self.keys.remove(&record.tenant, &record.kid);
        let KeyMaterial::Pkcs11 { id } = &record.material else {
            return Box::pin(std::future::ready(Err(SignError::WrongBackend(record.kid.clone()))));
        };
        let id = id.clone();
        let (reply, answer) = oneshot::channel();
        let job = Job::Run(Box::new(move |session| {
            let result = session.and_then(|s| {
                // Every object with the key's CKA_ID: the private and the public half.
                let handles = s.find_objects(&[Attribute::Id(id.clone())]).map_err(ck("C_FindObjects"))?;
                for handle in handles {
                    s.destroy_object(handle).map_err(ck("C_DestroyObject"))?;
                }
                Ok(())
            });
            let _ = reply.send(result);
        }));
        if let Err(e) = self.pool.submit(job) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(async move { answer.await.unwrap_or(Err(SignError::Closed)) })
    }

    fn sign(&self, tenant: &str, kid: &str, signing_input: &[u8]) -> SignFuture {
        let key = match self.keys.get(tenant, kid) {
            Ok(key) => key,
            Err(e) => return Box::pin(std::future::ready(Err(e))),
        };
        let alg = key.public.alg();
        let (reply, answer) = oneshot::channel();
        let job = Job::Sign { handle: key.handle, alg, data: to_be_signed(alg, signing_input), reply };
        if let Err(e) = self.pool.submit(job) {
            return Box::pin(std::future::ready(Err(e)));
        }
        Box::pin(async move { answer.await.unwrap_or(Err(SignError::Closed)) })
    }

    fn verify(
        &self,
        tenant: &str,
        kid: &str,
        signing_input: &[u8],
        signature: &[u8],
    ) -> Result<bool, SignError> {
        Ok(self.keys.get(tenant, kid)?.public.verify(signing_input, signature))
    }
}

impl fmt::Debug for Pkcs11Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11Signer")
            .field("module", &self.library.path)
            .field("slot", &self.slot)
            .field("sessions", &self.pool.threads.len())
            .finish_non_exhaustive()
    }
}

// ---- the token ----

/// Maps a cryptoki error to `SignError::Backend`, naming the call. cryptoki errors never
/// contain the PIN.
fn ck(call: &'static str) -> impl Fn(CkError) -> SignError {
    move |e| SignError::Backend(format!("{call}: {e}"))
}

fn find_slot(pkcs11: &Pkcs11, label: &str) -> Result<Slot, SignError> {
    let mut seen = Vec::new();
    for slot in pkcs11.get_slots_with_initialized_token().map_err(ck("C_GetSlotList"))? {
        let info = pkcs11.get_token_info(slot).map_err(ck("C_GetTokenInfo"))?;
        // Labels are blank-padded to 32 bytes on the wire.
        let found = info.label().trim_end();
        if found == label {
            return Ok(slot);
        }
        seen.push(found.to_owned());
    }
    Err(SignError::Backend(format!("no initialised token labelled {label:?} (found {seen:?})")))
}

fn open_session(pkcs11: &Pkcs11, slot: Slot, pin: &AuthPin) -> Result<Session, SignError> {
    let session = pkcs11.open_rw_session(slot).map_err(ck("C_OpenSession"))?;
    match session.login(UserType::User, Some(pin)) {
        // Login state belongs to the application, not the session: every session after the
        // first is already logged in.
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(ck("C_Login")(e)),
    }
}

/// Unwraps `CKA_EC_POINT`: PKCS#11 says it is a DER OCTET STRING around the point, but some
/// tokens return the bare point, which is recognised by its exact length.
fn unwrap_ec_point(value: &[u8], bare_len: usize) -> Result<&[u8], String> {
    if value.len() == bare_len {
        return Ok(value);
    }
    let content = match value {
        [0x04, len, rest @ ..] if *len < 0x80 && rest.len() == usize::from(*len) => rest,
        [0x04, 0x81, len, rest @ ..] if rest.len() == usize::from(*len) => rest,
        _ => return Err(format!("CKA_EC_POINT of {} bytes is not an OCTET STRING", value.len())),
    };
    if content.len() == bare_len {
        Ok(content)
    } else {
        Err(format!("CKA_EC_POINT holds {} bytes, {bare_len} expected", content.len()))
    }
}

fn read_public_key(session: &Session, handle: ObjectHandle, alg: SigningAlg) -> Result<PublicKey, String> {
    let wanted: &[AttributeType] = match alg {
        SigningAlg::RS256 => &[AttributeType::Modulus, AttributeType::PublicExponent],
        _ => &[AttributeType::EcPoint],
    };
    let attrs = session.get_attributes(handle, wanted).map_err(|e| format!("C_GetAttributeValue: {e}"))?;
    let (mut point, mut n, mut e) = (None, None, None);
    for attr in attrs {
        match attr {
            Attribute::EcPoint(v) => point = Some(v),
            Attribute::Modulus(v) => n = Some(v),
            Attribute::PublicExponent(v) => e = Some(v),
            _ => {}
        }
    }
    let missing = |what: &str| format!("public key object has no {what}");
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => {
            let point = point.ok_or_else(|| missing("CKA_EC_POINT"))?;
            let len = if alg == SigningAlg::ES256 { 65 } else { 97 };
            PublicKey::ec(alg, unwrap_ec_point(&point, len)?)
        }
        SigningAlg::RS256 => PublicKey::rsa(
            &n.ok_or_else(|| missing("CKA_MODULUS"))?,
            &e.ok_or_else(|| missing("CKA_PUBLIC_EXPONENT"))?,
        ),
        SigningAlg::EdDSA => {
            let point = point.ok_or_else(|| missing("CKA_EC_POINT"))?;
            PublicKey::ed25519(unwrap_ec_point(&point, 32)?)
        }
    }
}

fn key_type(alg: SigningAlg) -> KeyType {
    match alg {
        SigningAlg::ES256 | SigningAlg::ES384 => KeyType::EC,
        SigningAlg::RS256 => KeyType::RSA,
        SigningAlg::EdDSA => KeyType::EC_EDWARDS,
    }
}

/// Finds the private key with `CKA_ID = id`, checks it can sign `alg`, and checks that it is
/// the private half of `stored` (the record's JWK): by the token's public key object when there
/// is one, else by signing a probe and verifying it.
fn find_key(session: &Session, id: &[u8], alg: SigningAlg, stored: PublicKey) -> Result<HsmKey, String> {
    let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let find = |class| {
        session
            .find_objects(&[Attribute::Class(class), Attribute::Id(id.to_vec())])
            .map_err(|e| format!("C_FindObjects: {e}"))
    };
    let handle = match find(ObjectClass::PRIVATE_KEY)?[..] {
        [handle] => handle,
        [] => return Err(format!("no private key with CKA_ID {hex} in the token")),
        ref many => return Err(format!("{} private keys share CKA_ID {hex}", many.len())),
    };
    let attrs = session
        .get_attributes(handle, &[AttributeType::KeyType, AttributeType::Sign])
        .map_err(|e| format!("C_GetAttributeValue: {e}"))?;
    for attr in attrs {
        match attr {
            Attribute::KeyType(kt) if kt != key_type(alg) => {
                return Err(format!("CKA_ID {hex} is a {kt} key, not one for {}", alg.as_str()));
            }
            Attribute::Sign(false) => return Err(format!("CKA_ID {hex} has CKA_SIGN false")),
            _ => {}
        }
    }
    match find(ObjectClass::PUBLIC_KEY)?[..] {
        [public_handle] => {
            let public = read_public_key(session, public_handle, alg)?;
            if public != stored {
                return Err(format!("the token's public key for CKA_ID {hex} differs from public_jwk"));
            }
        }
        _ => {
            let probe = b"tessera key probe";
            let sig = session
                .sign(&sign_mechanism(alg), handle, &to_be_signed(alg, probe))
                .map_err(|e| format!("C_Sign (probe): {e}"))?;
            if !stored.verify(probe, &sig) {
                return Err(format!("CKA_ID {hex} does not sign for public_jwk"));
            }
        }
    }
    Ok(HsmKey { handle, public: stored })
}

fn read_security_attributes(
    session: Result<&Session, SignError>,
    handle: ObjectHandle,
) -> Result<KeyAttributes, SignError> {
    let attrs = session?
        .get_attributes(
            handle,
            &[
                AttributeType::Token,
                AttributeType::Private,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::AlwaysSensitive,
                AttributeType::NeverExtractable,
                AttributeType::Local,
            ],
        )
        .map_err(ck("C_GetAttributeValue"))?;
    // Missing attributes read as the insecure answer, so a token that hides them fails audits.
    let mut out = KeyAttributes {
        token: false,
        private: false,
        sensitive: false,
        extractable: true,
        always_sensitive: false,
        never_extractable: false,
        local: false,
    };
    for attr in attrs {
        match attr {
            Attribute::Token(v) => out.token = v,
            Attribute::Private(v) => out.private = v,
            Attribute::Sensitive(v) => out.sensitive = v,
            Attribute::Extractable(v) => out.extractable = v,
            Attribute::AlwaysSensitive(v) => out.always_sensitive = v,
            Attribute::NeverExtractable(v) => out.never_extractable = v,
            Attribute::Local(v) => out.local = v,
            _ => {}
        }
    }
    Ok(out)
}

// ---- the library, once per process ----

/// An initialised PKCS#11 library. `C_Initialize` and `C_Finalize` are per process, so every
/// signer using the same module shares one, and the last to go finalises it (which lets a
/// signer be dropped and made again, as after a restart).
struct Library {
    pkcs11: Pkcs11,
    path: PathBuf,
    /// False when someone else in the process had initialised it: then it is theirs to finalise.
    owned: bool,
}

/// Libraries by module path. An entry whose `Weak` is dead is being finalised by its `Drop`,
/// which removes it when done; `open` waits for that rather than initialising concurrently.
static LIBRARIES: Mutex<Vec<(PathBuf, Weak<Library>)>> = Mutex::new(Vec::new());

impl Library {
    fn open(path: &Path) -> Result<Arc<Self>, SignError> {
        loop {
            let mut libraries = LIBRARIES.lock();
            match libraries.iter().find(|(p, _)| p == path) {
                Some((_, weak)) => match weak.upgrade() {
                    Some(library) => return Ok(library),
                    None => {
                        drop(libraries);
                        std::thread::yield_now();
                    }
                },
                None => {
                    let pkcs11 = Pkcs11::new(path)
                        .map_err(|e| SignError::Backend(format!("cannot load {}: {e}", path.display())))?;
                    let owned = match pkcs11.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK))
                    {
                        Ok(()) => true,
                        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => false,
                        Err(e) => return Err(ck("C_Initialize")(e)),
                    };
                    let library = Arc::new(Library { pkcs11, path: path.to_owned(), owned });
                    libraries.push((path.to_owned(), Arc::downgrade(&library)));
                    return Ok(library);
                }
            }
        }
    }
}

impl Drop for Library {
    fn drop(&mut self) {
        let mut libraries = LIBRARIES.lock();
        if self.owned {
            // Nothing to do about a failing C_Finalize at shutdown.
            let _ = self.pkcs11.clone().finalize();
        }
        libraries.retain(|(p, weak)| !(p == &self.path && weak.strong_count() == 0));
    }
}

// ---- the session pool ----

type RunFn = Box<dyn FnOnce(Result<&Session, SignError>) + Send>;

enum Job {
    /// The hot path, without a boxed closure.
    Sign {
        handle: ObjectHandle,
        alg: SigningAlg,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, SignError>>,
    },
    /// Anything else (generate, load, attribute reads).
    Run(RunFn),
}

struct Pool {
    tx: Option<SyncSender<Job>>,
    threads: Vec<JoinHandle<()>>,
    capacity: usize,
}

impl Pool {
    fn submit(&self, job: Job) -> Result<(), SignError> {
        let tx = self.tx.as_ref().ok_or(SignError::Closed)?;
        tx.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => {
                SignError::Busy(format!("{} PKCS#11 requests already waiting", self.capacity))
            }
            TrySendError::Disconnected(_) => SignError::Closed,
        })
    }

    /// Runs `f` on a session and waits for its answer on this thread.
    fn run_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(Result<&Session, SignError>) -> Result<T, SignError> + Send + 'static,
    ) -> Result<T, SignError> {
        let (reply, answer) = mpsc::sync_channel(1);
        self.submit(Job::Run(Box::new(move |session| {
            let _ = reply.send(f(session));
        })))?;
        answer.recv().unwrap_or(Err(SignError::Closed))
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Closing the channel ends each worker's loop once the queue is drained.
        self.tx = None;
        for thread in self.threads.drain(..) {
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

struct Worker {
    pkcs11: Pkcs11,
    slot: Slot,
    pin: Arc<AuthPin>,
    session: Option<Session>,
    /// Why the session was lost, for the errors of requests until it is back.
    lost: String,
}

impl Worker {
    fn run(mut self, rx: &Mutex<Receiver<Job>>) {
        loop {
            // The lock is held only while waiting: whichever idle worker holds it takes the
            // next job and releases it, so jobs spread over all sessions. (A separate statement
            // on purpose: in `while let`, the guard would live through the job and serialise
            // every session.)
            let next = rx.lock().recv();
            let Ok(job) = next else { return };
            match job {
                Job::Sign { handle, alg, data, reply } => {
                    let result = match self.session() {
                        Ok(session) => session.sign(&sign_mechanism(alg), handle, &data),
                        Err(e) => {
                            let _ = reply.send(Err(e));
                            continue;
                        }
                    };
                    let result = result.map_err(|e| {
                        if session_lost(&e) {
                            self.lost = e.to_string();
                            self.session = None;
                        }
                        ck("C_Sign")(e)
                    });
                    let _ = reply.send(result);
                }
                Job::Run(f) => f(self.session()),
            }
        }
    }

    /// The session, reopened and logged in again if it was lost (token reset, HSM failover).
    fn session(&mut self) -> Result<&Session, SignError> {
        if self.session.is_none() {
            match open_session(&self.pkcs11, self.slot, &self.pin) {
                Ok(s) => self.session = Some(s),
                Err(e) => return Err(SignError::Backend(format!("{e} (session lost after: {})", self.lost))),
            }
        }
        self.session.as_ref().ok_or(SignError::Closed)
    }
}

/// Errors after which a session is useless and must be reopened.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionHandleInvalid
                | RvError::SessionClosed
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent,
            _
        )
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ec_points_unwrap_from_der_or_bare() {
        let point = [4u8; 65];
        let mut der = vec![0x04, 65];
        der.extend_from_slice(&point);
        assert_eq!(unwrap_ec_point(&der, 65).unwrap(), &point);
        assert_eq!(unwrap_ec_point(&point, 65).unwrap(), &point);
        let p384 = [4u8; 97];
        let mut der = vec![0x04, 97];
        der.extend_from_slice(&p384);
        assert_eq!(unwrap_ec_point(&der, 97).unwrap(), &p384);
        let ed = [9u8; 32];
        let mut der = vec![0x04, 32];
        der.extend_from_slice(&ed);
        assert_eq!(unwrap_ec_point(&der, 32).unwrap(), &ed);
        assert!(unwrap_ec_point(&der, 65).is_err());
        assert!(unwrap_ec_point(&[0x04, 0x81, 3, 1, 2], 3).is_err());
    }

    #[test]
    fn pin_debug_is_redacted() {
        let config = Pkcs11Config::new("/x.so", "t", Pkcs11Pin::new("1234-secret"));
        assert!(!format!("{config:?}").contains("1234-secret"));
    }

    // Two jobs that each wait for the other to start: they finish only if two sessions run
    // them at once (a pool that serialised its sessions would time out here).
    crate::softhsm_test!(fn sessions_run_jobs_in_parallel(env) {
        let signer = Pkcs11Signer::new(env.config(2)).unwrap();
        let (started_a, wait_a) = mpsc::channel();
        let (started_b, wait_b) = mpsc::channel();
        let (done, finished) = mpsc::channel();
        for (tell, wait) in [(started_a, wait_b), (started_b, wait_a)] {
            let done = done.clone();
            let job = Job::Run(Box::new(move |session| {
                assert!(session.is_ok());
                tell.send(()).unwrap();
                done.send(wait.recv_timeout(std::time::Duration::from_secs(20)).is_ok()).unwrap();
            }));
            signer.pool.submit(job).unwrap();
        }
        assert!(finished.recv().unwrap() && finished.recv().unwrap(), "jobs ran one after the other");
    });

    #[test]
    fn signer_is_send_and_sync() {
        fn check<T: Send + Sync + 'static>() {}
        check::<Pkcs11Signer>();
    }
}
