//! The stored login: `<config dir>/prikke/credentials.toml` (`$XDG_CONFIG_HOME` or `~/.config`
//! on Linux and macOS, `%APPDATA%` on Windows), the file 0600 and its directory 0700. The key
//! is never printed.

use std::io::Write;
use std::path::{Path, PathBuf};

use etcetera::BaseStrategy;
use serde::{Deserialize, Serialize};

use crate::client::Failure;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    pub api_key: String,
    /// The API URL given at login, when it was not the default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

pub fn dir() -> Result<PathBuf, Failure> {
    let base = etcetera::choose_base_strategy().map_err(|e| Failure::Local(format!("cannot find your config directory: {e}")))?;
    Ok(base.config_dir().join("prikke"))
}

pub fn path() -> Result<PathBuf, Failure> {
    Ok(dir()?.join("credentials.toml"))
}

/// The stored credentials, if any.
pub fn load() -> Result<Option<Credentials>, Failure> {
    let path = path()?;
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Failure::Local(format!("cannot read {}: {e}", path.display()))),
    };
    // never echo the file's content (it holds the key): name the problem only
    toml::from_str(&text).map(Some).map_err(|e| {
        Failure::Local(format!("{} is damaged ({}); run `prikke login` again", path.display(), e.message()))
    })
}

/// Writes the credentials: the directory 0700, the file 0600 (written beside and renamed, so a
/// reader never sees half a file and the key never sits in a file anyone else may read).
pub fn store(creds: &Credentials) -> Result<PathBuf, Failure> {
    let dir = dir()?;
    create_private_dir(&dir).map_err(|e| Failure::Local(format!("cannot create {}: {e}", dir.display())))?;
    let path = dir.join("credentials.toml");
    let tmp = dir.join(".credentials.toml.tmp");
    let text = toml::to_string(creds).map_err(|e| Failure::Local(format!("cannot write the credentials: {e}")))?;
    let write = || -> std::io::Result<()> {
        let _ = std::fs::remove_file(&tmp);
        let mut file = private_file(&tmp)?;
        file.write_all(b"# written by `prikke login`; keep this file private\n")?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    write().map_err(|e| Failure::Local(format!("cannot write {}: {e}", path.display())))?;
    Ok(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        // an existing directory is tightened, in case it was made by hand
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new().write(true).create_new(true).open(path)
}
