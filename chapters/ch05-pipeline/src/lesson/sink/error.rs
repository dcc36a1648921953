//! Why the sink's database could not be used: every error names the file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::ErrorCode;

/// Why the database could not be used. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(
        "the database {path} is locked by another connection (still busy after {waited:?}); \
         close whatever holds it (an sqlite3 shell in a transaction?) and run again. \
         Nothing was written and no offset moved."
    )]
    Locked { path: PathBuf, waited: Duration },
    #[error(
        "cannot write the database {path}: {source}. Check that the file and its directory are \
         writable. Nothing was written and no offset moved."
    )]
    Write {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

pub(super) fn classify(path: &Path, waited: Duration, source: rusqlite::Error) -> SinkError {
    match source.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => SinkError::Locked {
            path: path.into(),
            waited,
        },
        _ => SinkError::Write {
            path: path.into(),
            source,
        },
    }
}
