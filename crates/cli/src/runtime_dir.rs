//! Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on stderr at every start
//! when the variable names no usable folder (containers, CI, cron). The program gives them a
//! private one instead, so that a user never sees the message.

use std::path::{Path, PathBuf};

/// Points `XDG_RUNTIME_DIR` at a private folder when it is unset or not a folder we can use.
/// Called once at start-up, before any thread or GPU adapter exists.
pub fn ensure() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| usable(Path::new(&dir))) {
        return;
    }
    if let Some(dir) = private_folder() {
        // Single-threaded here: nothing else reads the environment concurrently.
        std::env::set_var("XDG_RUNTIME_DIR", dir);
    }
}

/// What Mesa asks of the folder: it exists, is ours and is mode 0700.
fn usable(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(dir)
            .is_ok_and(|m| m.is_dir() && m.mode() & 0o777 == 0o700 && m.uid() == current_uid())
    }
    #[cfg(not(unix))]
    {
        dir.is_dir()
    }
}

#[cfg(unix)]
fn current_uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    // The owner of a file we just made is us; /proc/self is ours on Linux.
    std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX)
}

/// `<temp>/paillier-gpu-runtime-<uid>`, created mode 0700 if absent. Used only when the name
/// is itself a folder of ours (a symbolic link someone planted there is neither followed nor
/// changed); its mode is set only then.
fn private_folder() -> Option<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let dir = std::env::temp_dir().join(format!("paillier-gpu-runtime-{}", current_uid()));
        let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
        let ours = std::fs::symlink_metadata(&dir)
            .is_ok_and(|m| m.file_type().is_dir() && m.uid() == current_uid());
        if !ours {
            return None;
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        usable(&dir).then_some(dir)
    }
    #[cfg(not(unix))]
    {
        None
    }
}
