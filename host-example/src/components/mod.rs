//! Component versions at runtime: installing a new component while the server runs,
//! swapping it in atomically, rolling back, and remembering both across restarts.
//!
//! A request takes the active runtime once ([`ComponentSlot::active`]) and uses that
//! `Arc` to the end, so requests in flight finish on the version they started with
//! while new ones get the new version; no request sees a mix. Installed files live in
//! `<data dir>/components/<sha256>.wasm`, and `state.json` there names the active and
//! the previous version.

pub mod checks;
pub mod incoming;
pub mod reanalysis;
pub mod self_test;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use callscope_api_types as api;

use crate::runtime::{ComponentError, ComponentRuntime, RuntimeLimits};
pub use checks::{Refusal, SigningKey};

/// A runtime and what is known about its installation.
pub struct Installed {
    pub runtime: Arc<ComponentRuntime>,
    pub info: api::InstalledComponent,
}

/// Failure of an install or rollback.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("there is no previous version to roll back to")]
    NoPrevious,
    #[error("storing the component under {path} failed: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("loading the installed component failed: {0}")]
    Load(#[from] ComponentError),
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
struct SlotState {
    active: Option<api::InstalledComponent>,
    previous: Option<api::InstalledComponent>,
    /// sha256 of every component given on the command line so far, so a restart with
    /// the same file does not undo an upgrade installed since.
    #[serde(default)]
    bootstraps: Vec<String>,
}

/// The active component version, the previous one, and how new ones are checked.
pub struct ComponentSlot {
    active: RwLock<Arc<Installed>>,
    previous: RwLock<Option<Arc<Installed>>>,
    /// `<data dir>/components`; `None` keeps nothing on disk.
    dir: Option<PathBuf>,
    cache_dir: PathBuf,
    limits: RuntimeLimits,
    keys: Vec<SigningKey>,
    /// One install or rollback at a time.
    changing: Mutex<()>,
    bootstraps: Mutex<Vec<String>>,
    pub reanalysis: reanalysis::Progress,
}

impl ComponentSlot {
    /// Wraps an already loaded runtime, keeping versions in memory only. Tests and
    /// embedders that manage component files themselves use this.
    pub fn with_runtime(runtime: Arc<ComponentRuntime>, cache_dir: PathBuf, keys: Vec<SigningKey>) -> Self {
        let info = installed_info(&runtime, "startup", None, 0);
        Self {
            active: RwLock::new(Arc::new(Installed { runtime: runtime.clone(), info })),
            previous: RwLock::new(None),
            dir: None,
            limits: runtime.limits().clone(),
            cache_dir,
            keys,
            changing: Mutex::new(()),
            bootstraps: Mutex::new(Vec::new()),
            reanalysis: reanalysis::Progress::default(),
        }
    }

    /// Opens the component store in `data_dir`. The version active at the last stop is
    /// loaded again; `bootstrap` (the `--component` file) is installed through every
    /// check when it was never given before, so a new build replaces the active version
    /// while a restart with the same file keeps an upgrade installed since.
    pub fn open(data_dir: &Path, bootstrap: &Path, limits: RuntimeLimits, keys: Vec<SigningKey>) -> Result<Self, InstallError> {
        let dir = data_dir.join("components");
        let cache_dir = data_dir.join("compiled");
        std::fs::create_dir_all(&dir).map_err(|source| InstallError::Io { path: dir.clone(), source })?;
        let state: SlotState = std::fs::read(dir.join("state.json"))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default();

        let bootstrap_bytes = std::fs::read(bootstrap).map_err(|source| InstallError::Io { path: bootstrap.to_owned(), source })?;
        let bootstrap_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bootstrap_bytes));
        let load = |info: &api::InstalledComponent| -> Result<Arc<Installed>, InstallError> {
            let path = dir.join(format!("{}.wasm", info.sha256));
            let runtime = ComponentRuntime::load(&path, &cache_dir, limits.clone())?;
            Ok(Arc::new(Installed { runtime: Arc::new(runtime), info: info.clone() }))
        };

        let known = state.bootstraps.contains(&bootstrap_sha);
        let slot_from_state = match (&state.active, known) {
            (Some(active), true) => Some((load(active)?, state.previous.as_ref().map(load).transpose()?)),
            _ => None,
        };
        if let Some((active, previous)) = slot_from_state {
            tracing::info!(component_sha = %active.info.sha256, "active component version restored");
            return Ok(Self {
                active: RwLock::new(active),
                previous: RwLock::new(previous),
                dir: Some(dir),
                cache_dir,
                limits,
                keys,
                changing: Mutex::new(()),
                bootstraps: Mutex::new(state.bootstraps),
                reanalysis: reanalysis::Progress::default(),
            });
        }

        // First start, or a component file never seen: it must pass every check. Its
        // signature, when keys are configured, sits next to it as `<file>.sig`.
        let signature = std::fs::read(signature_path(bootstrap)).ok();
        let accepted = checks::check(&bootstrap_bytes, signature.as_deref(), &keys, bootstrap, &cache_dir, limits.clone())?;
        let info = installed_info(&accepted.runtime, "startup", accepted.signed_by, bootstrap_bytes.len() as u64);
        let info = api::InstalledComponent { interface_version: accepted.interface_version, ..info };
        let active = Arc::new(Installed { runtime: Arc::new(accepted.runtime), info });
        let previous = state.active.as_ref().filter(|old| old.sha256 != bootstrap_sha).map(load).transpose().unwrap_or_else(|error| {
            tracing::warn!(%error, "the version active before could not be loaded; rollback is unavailable");
            None
        });
        let mut bootstraps = state.bootstraps;
        bootstraps.push(bootstrap_sha);
        let slot = Self {
            active: RwLock::new(active),
            previous: RwLock::new(previous),
            dir: Some(dir),
            cache_dir,
            limits,
            keys,
            changing: Mutex::new(()),
            bootstraps: Mutex::new(bootstraps),
            reanalysis: reanalysis::Progress::default(),
        };
        slot.store_file(&bootstrap_bytes)?;
        slot.save()?;
        Ok(slot)
    }

    /// Returns the runtime new requests use.
    pub fn active(&self) -> Arc<ComponentRuntime> {
        self.active.read().unwrap_or_else(|p| p.into_inner()).runtime.clone()
    }

    pub fn status(&self) -> api::ComponentsStatus {
        api::ComponentsStatus {
            active: self.active.read().unwrap_or_else(|p| p.into_inner()).info.clone(),
            previous: self.previous.read().unwrap_or_else(|p| p.into_inner()).as_ref().map(|p| p.info.clone()),
            reanalysis: self.reanalysis.snapshot(),
        }
    }

    /// Checks a component and, when it passes, makes it the active version; the
    /// version it replaces becomes the previous one. Runs on the calling thread and
    /// takes seconds (compiling and the self-test): call it from a blocking task.
    pub fn install(&self, bytes: &[u8], signature: Option<&[u8]>, by: &str) -> Result<api::InstalledComponent, InstallError> {
        let _changing = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let origin = PathBuf::from(format!("upload by {by}"));
        let accepted = match checks::check(bytes, signature, &self.keys, &origin, &self.cache_dir, self.limits.clone()) {
            Ok(accepted) => accepted,
            Err(refusal) => {
                tracing::warn!(user = by, check = refusal.check, reason = %refusal.message, "component install refused");
                return Err(refusal.into());
            }
        };
        let info = installed_info(&accepted.runtime, by, accepted.signed_by, bytes.len() as u64);
        let info = api::InstalledComponent { interface_version: accepted.interface_version, ..info };
        self.store_file(bytes)?;

        let installed = Arc::new(Installed { runtime: Arc::new(accepted.runtime), info: info.clone() });
        let replaced = std::mem::replace(&mut *self.active.write().unwrap_or_else(|p| p.into_inner()), installed);
        *self.previous.write().unwrap_or_else(|p| p.into_inner()) = Some(replaced);
        self.save()?;
        tracing::info!(user = by, component_sha = %info.sha256, version = %info.interface_version, "component installed and active");
        Ok(info)
    }

    /// Makes the previous version active again; the active one becomes the previous.
    pub fn rollback(&self, by: &str) -> Result<api::ComponentsStatus, InstallError> {
        let _changing = self.changing.lock().unwrap_or_else(|p| p.into_inner());
        let mut previous = self.previous.write().unwrap_or_else(|p| p.into_inner());
        let restored = previous.take().ok_or(InstallError::NoPrevious)?;
        let sha = restored.info.sha256.clone();
        let replaced = std::mem::replace(&mut *self.active.write().unwrap_or_else(|p| p.into_inner()), restored);
        *previous = Some(replaced);
        drop(previous);
        self.save()?;
        tracing::info!(user = by, component_sha = %sha, "rolled back to the previous component version");
        Ok(self.status())
    }

    fn store_file(&self, bytes: &[u8]) -> Result<(), InstallError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        let path = dir.join(format!("{sha}.wasm"));
        if !path.exists() {
            write_atomically(&path, bytes)?;
        }
        Ok(())
    }

    fn save(&self) -> Result<(), InstallError> {
        let Some(dir) = &self.dir else { return Ok(()) };
        let status = self.status();
        let state = SlotState {
            active: Some(status.active),
            previous: status.previous,
            bootstraps: self.bootstraps.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        };
        let json = serde_json::to_vec_pretty(&state).expect("serialising the component state");
        write_atomically(&dir.join("state.json"), &json)
    }
}

/// Returns the path of the signature file that goes with a component file.
pub fn signature_path(component: &Path) -> PathBuf {
    let mut name = component.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn installed_info(runtime: &ComponentRuntime, by: &str, signed_by: Option<String>, size_bytes: u64) -> api::InstalledComponent {
    // The self-test already called `describe` on an installed component, so a failure
    // here means a fault that showed up later; the version is still usable.
    let describes_itself_as = runtime.describe().unwrap_or_else(|error| {
        tracing::warn!(component_sha = %runtime.sha256(), %error, "the component could not describe itself");
        None
    });
    api::InstalledComponent {
        sha256: runtime.sha256().to_owned(),
        interface_version: runtime.version().interface_version,
        installed_at: time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        installed_by: by.to_owned(),
        size_bytes,
        signed_by,
        describes_itself_as,
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), InstallError> {
    let temporary = path.with_extension(format!("{}.tmp", uuid::Uuid::new_v4().simple()));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|source| InstallError::Io { path: path.to_owned(), source })
}
