//! The checks a component file passes before it may serve, in order: it is a
//! component, it carries a valid signature when keys are configured, it imports
//! nothing outside the allowlist, it exports an accepted version of the callscope
//! interface, and it passes the self-test.

use std::path::Path;

use ed25519_dalek::{Signature, Verifier, VerifyingKey};

use crate::runtime::{Compiled, ComponentRuntime, RuntimeLimits, accepted_minor, exported_version};

/// Interfaces every callscope component exports, in every accepted version.
pub const REQUIRED_INTERFACES: [&str; 7] = ["types", "ingest", "audio", "analysis", "policy", "redaction", "annotation"];

/// Interfaces a component of the accepted `major.minor` version exports.
fn required_interfaces(minor: &str) -> Vec<&'static str> {
    let mut required = REQUIRED_INTERFACES.to_vec();
    if minor != "0.1" {
        required.push("about");
    }
    required
}

/// A failed install check and its reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check} check failed: {message}")]
pub struct Refusal {
    /// `component`, `interface`, `imports`, `signature` or `self-test`.
    pub check: &'static str,
    pub message: String,
}

impl Refusal {
    fn new(check: &'static str, message: impl Into<String>) -> Self {
        Self { check, message: message.into() }
    }
}

/// A public key that may sign components.
#[derive(Debug, Clone)]
pub struct SigningKey {
    pub name: String,
    pub key: VerifyingKey,
}

impl SigningKey {
    /// Parses `NAME=BASE64` or `NAME=HEX`, the 32-byte raw Ed25519 public key.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (name, encoded) = text
            .split_once('=')
            .ok_or_else(|| format!("signing key {text:?} has no name; write NAME=KEY with the 32-byte public key in hex"))?;
        let bytes = hex::decode(encoded.trim())
            .map_err(|e| format!("signing key {name}: {e}; give the 32-byte Ed25519 public key as 64 hex digits"))?;
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|b: Vec<u8>| format!("signing key {name} is {} bytes; an Ed25519 public key is 32", b.len()))?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|e| format!("signing key {name} is not a valid Ed25519 point: {e}"))?;
        Ok(Self { name: name.trim().to_owned(), key })
    }
}

/// A component that passed every check, with the name of the key that signed it.
pub struct Accepted {
    pub runtime: ComponentRuntime,
    pub interface_version: String,
    pub signed_by: Option<String>,
}

/// Runs every check on `bytes`. With no keys configured a signature is not needed,
/// and one given is still checked against nothing and refused.
pub fn check(
    bytes: &[u8],
    signature: Option<&[u8]>,
    keys: &[SigningKey],
    origin: &Path,
    cache_dir: &Path,
    limits: RuntimeLimits,
) -> Result<Accepted, Refusal> {
    check_header(bytes)?;
    let signed_by = check_signature(bytes, signature, keys)?;
    let compiled = Compiled::new(bytes, origin, cache_dir, limits)
        .map_err(|e| Refusal::new("component", format!("it does not compile as a WebAssembly component: {e}")))?;
    check_imports(&compiled.imports())?;
    let interface_version = check_interface(&compiled.exports())?;
    let runtime = compiled.link().map_err(|e| Refusal::new("interface", e.to_string()))?;
    super::self_test::run(&runtime).map_err(|message| Refusal::new("self-test", message))?;
    Ok(Accepted { runtime, interface_version, signed_by })
}

/// Tells a component from other files, and a core module from a component, before
/// spending time on compiling.
fn check_header(bytes: &[u8]) -> Result<(), Refusal> {
    if bytes.len() < 8 || &bytes[..4] != b"\0asm" {
        return Err(Refusal::new("component", "the file is not WebAssembly (it does not start with \\0asm)"));
    }
    // Bytes 4..8 are the version and layer: 1 0 0 0 for a core module; a component
    // has layer 1 in bytes 6..8.
    if bytes[6..8] != [1, 0] {
        return Err(Refusal::new(
            "component",
            "the file is a core WebAssembly module, not a component; build it for wasm32-wasip2",
        ));
    }
    Ok(())
}

/// Returns the single WIT package version of the callscope exports when this host
/// accepts it and every interface of that version is there.
fn check_interface(exports: &[String]) -> Result<String, Refusal> {
    let version = exported_version(exports).map_err(|message| Refusal::new("interface", message))?;
    let minor = accepted_minor(&version).map_err(|message| Refusal::new("interface", message))?;
    let found: Vec<&str> = exports
        .iter()
        .filter_map(|export| export.strip_prefix("callscope:plugin/").and_then(|rest| rest.split_once('@')))
        .map(|(interface, _)| interface)
        .collect();
    let missing: Vec<&str> = required_interfaces(minor).into_iter().filter(|name| !found.contains(name)).collect();
    if !missing.is_empty() {
        return Err(Refusal::new("interface", format!("it does not export the interfaces {missing:?} of callscope:plugin@{version}")));
    }
    Ok(version)
}

fn check_imports(imports: &[String]) -> Result<(), Refusal> {
    let allowed = crate::inspect::ImportAllowlist::builtin();
    let extra: Vec<&String> = imports.iter().filter(|import| !allowed.contains(import)).collect();
    if !extra.is_empty() {
        return Err(Refusal::new(
            "imports",
            format!("it imports {extra:?}, which the sandbox does not grant; the allowed imports are in wit/allowed-imports.txt"),
        ));
    }
    Ok(())
}

fn check_signature(bytes: &[u8], signature: Option<&[u8]>, keys: &[SigningKey]) -> Result<Option<String>, Refusal> {
    if keys.is_empty() {
        return match signature {
            None => Ok(None),
            Some(_) => Err(Refusal::new("signature", "a signature was given but no signing keys are configured; add --component-key")),
        };
    }
    let signature = signature
        .ok_or_else(|| Refusal::new("signature", "signing keys are configured, so the component needs an Ed25519 signature file"))?;
    let signature: [u8; 64] = signature
        .try_into()
        .map_err(|_| Refusal::new("signature", format!("the signature is {} bytes; an Ed25519 signature is 64", signature.len())))?;
    let signature = Signature::from_bytes(&signature);
    keys.iter()
        .find(|key| key.key.verify(bytes, &signature).is_ok())
        .map(|key| Some(key.name.clone()))
        .ok_or_else(|| {
            let names: Vec<&str> = keys.iter().map(|k| k.name.as_str()).collect();
            Refusal::new("signature", format!("the signature does not verify with any configured key ({names:?})"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn core_module_is_not_a_component() {
        let module = [0, b'a', b's', b'm', 1, 0, 0, 0];
        assert_eq!(check_header(&module).unwrap_err().check, "component");
        let component = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];
        assert!(check_header(&component).is_ok());
        assert!(check_header(b"hello world").unwrap_err().message.contains("not WebAssembly"));
    }

    #[test]
    fn interface_versions() {
        let exports = |version: &str| -> Vec<String> {
            let minor = &version[..version.rfind('.').unwrap()];
            required_interfaces(minor).iter().map(|name| format!("callscope:plugin/{name}@{version}")).collect()
        };
        assert_eq!(check_interface(&exports("0.2.0")).unwrap(), "0.2.0");
        assert_eq!(check_interface(&exports("0.1.0")).unwrap(), "0.1.0");
        assert_eq!(check_interface(&exports("0.1.7")).unwrap(), "0.1.7");
        assert!(check_interface(&exports("0.3.0")).unwrap_err().message.contains("accepts 0.2.x or 0.1.x"));
        assert!(check_interface(&exports("0.0.9")).is_err(), "0.0 is older than the previous minor version");
        assert!(check_interface(&exports("0.10.0")).is_err(), "0.10 is not 0.1");

        let mut partial = exports("0.1.0");
        partial.retain(|e| !e.contains("/policy@"));
        assert!(check_interface(&partial).unwrap_err().message.contains("policy"));
        let mut without_about = exports("0.2.0");
        without_about.retain(|e| !e.contains("/about@"));
        assert!(check_interface(&without_about).unwrap_err().message.contains("about"));
        assert!(check_interface(&["wasi:cli/run@0.2.0".into()]).unwrap_err().message.contains("no callscope:plugin"));
    }

    #[test]
    fn imports_outside_the_allowlist_are_named() {
        let refusal = check_imports(&["wasi:io/streams@0.2.6".into(), "wasi:sockets/tcp@0.2.6".into()]).unwrap_err();
        assert_eq!(refusal.check, "imports");
        assert!(refusal.message.contains("wasi:sockets/tcp@0.2.6"), "{}", refusal.message);
        assert!(!refusal.message.contains("streams"), "{}", refusal.message);
    }

    #[test]
    fn signatures() {
        use ed25519_dalek::Signer;
        let signer = ed25519_dalek::SigningKey::from_bytes(&[7; 32]);
        let other = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let key = SigningKey::parse(&format!("release={}", hex::encode(signer.verifying_key().to_bytes()))).unwrap();
        let bytes = b"component bytes";
        let good = signer.sign(bytes).to_bytes();
        let bad = other.sign(bytes).to_bytes();

        assert_eq!(check_signature(bytes, Some(&good), std::slice::from_ref(&key)).unwrap().as_deref(), Some("release"));
        assert!(check_signature(bytes, Some(&bad), std::slice::from_ref(&key)).unwrap_err().message.contains("does not verify"));
        assert!(check_signature(bytes, None, std::slice::from_ref(&key)).is_err());
        assert!(check_signature(bytes, Some(&good[..10]), std::slice::from_ref(&key)).unwrap_err().message.contains("10 bytes"));
        assert_eq!(check_signature(bytes, None, &[]).unwrap(), None);
        assert!(SigningKey::parse("nokey").is_err());
        assert!(SigningKey::parse("k=abcd").unwrap_err().contains("2 bytes"));
    }
}
