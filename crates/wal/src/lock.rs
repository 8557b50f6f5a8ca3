//! Exclusive advisory lock (`flock`) on segment files, so two processes (or two `Wal`s in one
//! process) never append to the same log. The lock lives as long as the open file handle and
//! survives a rename, which is why new segments are locked while still a temp file.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::error::WalError;

/// Takes an exclusive lock on `file` without waiting; [`WalError::Locked`] if someone holds it.
pub(crate) fn try_lock_exclusive(file: &File, path: &Path) -> Result<(), WalError> {
    // SAFETY: flock takes a file descriptor that `file` keeps open for the duration of the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
        return Err(WalError::Locked {
            path: path.to_path_buf(),
        });
    }
    Err(WalError::io(format!("lock {}", path.display()), err))
}
