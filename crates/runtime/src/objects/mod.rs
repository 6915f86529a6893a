//! Buckets: where a distributed Map's items are read from and its results written to. The
//! configuration maps each bucket name a definition may use to a local directory
//! ([`Buckets`]); a name not configured is refused. The engine asks through the object
//! actions (`sluice_ir::actions::READ_ITEMS`, `WRITE_RESULTS`); this module answers.
//!
//! Bounded against hostile definitions and objects: a key never leaves its bucket's folder
//! (`folder.rs`), an object is read only up to [`MAX_OBJECT_BYTES`], at most [`MAX_ITEMS`]
//! items are made of it, a listing walks at most [`MAX_ITEMS`] objects.

mod folder;
mod items;
mod results;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;
use sluice_ir::TaskError;
use sluice_ir::objects::{ItemsRequest, ResultsRequest};

pub use folder::Folder;

/// The longest object read (16 MiB): the items read live in their execution's state.
pub const MAX_OBJECT_BYTES: u64 = 16 * 1024 * 1024;
/// The most items one read makes (give `MaxItems` to read fewer of a larger object).
pub const MAX_ITEMS: usize = 100_000;

/// Codes of failed object actions (each language renames them as its reader and writer
/// failures, `States.ItemReaderFailed`, …).
pub mod object_codes {
    pub const READ_FAILED: &str = "Sluice.ItemReaderFailed";
    pub const WRITE_FAILED: &str = "Sluice.ResultWriterFailed";
}

/// The configured buckets, by name.
#[derive(Debug, Clone, Default)]
pub struct Buckets {
    folders: Arc<HashMap<String, Folder>>,
}

impl Buckets {
    /// Buckets named to their folders (each must exist: see [`Folder::open`]).
    pub fn new(folders: HashMap<String, PathBuf>) -> std::io::Result<Self> {
        let folders = folders
            .into_iter()
            .map(|(name, path)| match Folder::open(&path) {
                Ok(folder) => Ok((name, folder)),
                Err(e) => Err(std::io::Error::other(format!(
                    "bucket {name:?} in {}: {e}",
                    path.display()
                ))),
            })
            .collect::<std::io::Result<_>>()?;
        Ok(Self {
            folders: Arc::new(folders),
        })
    }

    fn folder(&self, bucket: &str, code: &str) -> Result<Folder, TaskError> {
        self.folders.get(bucket).cloned().ok_or_else(|| {
            TaskError::new(
                code,
                format!("no bucket {bucket:?} is configured on this server ([buckets])"),
            )
        })
    }

    /// The items `body` (an [`ItemsRequest`]) asks for, as a JSON array.
    pub(crate) async fn read_items(&self, body: &Value) -> Result<Value, TaskError> {
        let code = object_codes::READ_FAILED;
        let request: ItemsRequest = serde_json::from_value(body.clone())
            .map_err(|e| TaskError::new(code, format!("a malformed item request: {e}")))?;
        let folder = self.folder(&request.bucket, code)?;
        blocking(move || items::read(&folder, &request), code).await
    }

    /// Writes the results `body` (a [`ResultsRequest`]) carries; answers where they went.
    pub(crate) async fn write_results(&self, body: &Value) -> Result<Value, TaskError> {
        let code = object_codes::WRITE_FAILED;
        let request: ResultsRequest = serde_json::from_value(body.clone())
            .map_err(|e| TaskError::new(code, format!("a malformed result request: {e}")))?;
        let folder = self.folder(&request.bucket, code)?;
        blocking(move || results::write(&folder, &request), code).await
    }
}

/// Runs file IO off the async threads.
async fn blocking(
    work: impl FnOnce() -> Result<Value, String> + Send + 'static,
    code: &str,
) -> Result<Value, TaskError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(|detail| TaskError::new(code, detail)),
        Err(e) => Err(TaskError::new(code, format!("the object IO failed: {e}"))),
    }
}
