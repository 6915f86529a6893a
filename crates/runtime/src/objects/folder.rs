//! A bucket kept in a local folder: an object's key is its path under the folder, `/`
//! separated. A key is taken apart before any file is touched: an absolute key, a `..` or
//! `.` segment, an empty segment, a backslash or a NUL is refused, and the file reached must
//! still be inside the folder once symbolic links are resolved. A listing never follows a
//! symbolic link.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

/// One object of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ObjectInfo {
    pub key: String,
    pub size: u64,
    /// Seconds since the Unix epoch.
    pub modified: u64,
}

#[derive(Debug, Clone)]
pub struct Folder {
    root: PathBuf,
}

impl Folder {
    /// The bucket kept in `path`, which must be an existing directory.
    pub fn open(path: &Path) -> std::io::Result<Self> {
        let root = path.canonicalize()?;
        if !root.is_dir() {
            return Err(std::io::Error::other(format!(
                "{} is not a directory",
                root.display()
            )));
        }
        Ok(Self { root })
    }

    /// The path of `key` under the folder, or why the key is refused.
    fn path_of(&self, key: &str) -> Result<PathBuf, String> {
        let refuse = |why: &str| Err(format!("the object key {key:?} is refused: {why}"));
        if key.is_empty() {
            return refuse("it is empty");
        }
        if key.contains('\\') || key.contains('\0') {
            return refuse("it holds a backslash or a NUL");
        }
        let mut path = self.root.clone();
        for segment in key.split('/') {
            match segment {
                "" => return refuse("it is absolute or holds an empty segment"),
                "." | ".." => return refuse("it holds a . or .. segment"),
                segment => path.push(segment),
            }
        }
        Ok(path)
    }

    /// `path`, resolved, if it is inside the folder.
    fn inside(&self, path: &Path, key: &str) -> Result<PathBuf, String> {
        let resolved = path
            .canonicalize()
            .map_err(|e| format!("no object {key:?}: {e}"))?;
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(format!(
                "the object key {key:?} is refused: it leads out of its bucket"
            ))
        }
    }

    /// The bytes of the object `key`, refused beyond `max_bytes`.
    pub(crate) fn read(&self, key: &str, max_bytes: u64) -> Result<Vec<u8>, String> {
        let path = self.inside(&self.path_of(key)?, key)?;
        let file = fs::File::open(&path).map_err(|e| format!("no object {key:?}: {e}"))?;
        let meta = file
            .metadata()
            .map_err(|e| format!("object {key:?}: {e}"))?;
        if !meta.is_file() {
            return Err(format!("no object {key:?}: it is a folder"));
        }
        let mut bytes = Vec::new();
        file.take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("reading object {key:?}: {e}"))?;
        if bytes.len() as u64 > max_bytes {
            return Err(format!(
                "object {key:?} is larger than the {max_bytes} bytes a read may take"
            ));
        }
        Ok(bytes)
    }

    /// Every object whose key starts with `prefix`, in key order; refused beyond `max`.
    pub(crate) fn list(&self, prefix: &str, max: usize) -> Result<Vec<ObjectInfo>, String> {
        let mut found = Vec::new();
        let mut folders = vec![(self.root.clone(), String::new())];
        while let Some((dir, key_prefix)) = folders.pop() {
            let entries = fs::read_dir(&dir).map_err(|e| format!("listing the bucket: {e}"))?;
            for entry in entries {
                let entry = entry.map_err(|e| format!("listing the bucket: {e}"))?;
                let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                    continue;
                };
                let key = format!("{key_prefix}{name}");
                let kind = entry
                    .file_type()
                    .map_err(|e| format!("listing the bucket: {e}"))?;
                if kind.is_dir() {
                    // Only folders that may hold keys with the prefix are walked.
                    let below = format!("{key}/");
                    if below.starts_with(prefix) || prefix.starts_with(&below) {
                        folders.push((entry.path(), below));
                    }
                } else if kind.is_file() && key.starts_with(prefix) {
                    if found.len() == max {
                        return Err(format!(
                            "more than {max} objects start with {prefix:?}; give MaxItems or a longer Prefix"
                        ));
                    }
                    let meta = entry
                        .metadata()
                        .map_err(|e| format!("listing the bucket: {e}"))?;
                    let modified = meta
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_secs());
                    found.push(ObjectInfo {
                        key,
                        size: meta.len(),
                        modified,
                    });
                }
            }
        }
        found.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(found)
    }

    /// Writes `bytes` as the object `key` (its folders made as needed), whole or not at all.
    pub(crate) fn write(&self, key: &str, bytes: &[u8]) -> Result<(), String> {
        let path = self.path_of(key)?;
        let Some(parent) = path.parent() else {
            return Err(format!("the object key {key:?} is refused"));
        };
        // The folders that exist are checked before any is made: a symbolic link inside the
        // bucket must not lead the new ones out of it.
        let existing = parent
            .ancestors()
            .find(|p| p.exists())
            .unwrap_or(&self.root);
        self.inside(existing, key)?;
        fs::create_dir_all(parent).map_err(|e| format!("writing object {key:?}: {e}"))?;
        let parent = self.inside(parent, key)?;
        let Some(name) = path.file_name() else {
            return Err(format!("the object key {key:?} is refused"));
        };
        let target = parent.join(name);
        let temporary = parent.join(format!(
            ".{}.{}.partial",
            name.to_string_lossy(),
            std::process::id()
        ));
        let written = fs::File::create(&temporary)
            .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
            .and_then(|()| fs::rename(&temporary, &target));
        written.map_err(|e| {
            let _ = fs::remove_file(&temporary);
            format!("writing object {key:?}: {e}")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket() -> (tempfile::TempDir, Folder) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("bucket/data")).unwrap();
        fs::write(dir.path().join("bucket/data/a.json"), "[1]").unwrap();
        fs::write(dir.path().join("bucket/data/b.csv"), "x\n1\n").unwrap();
        fs::write(dir.path().join("bucket/top.txt"), "t").unwrap();
        fs::write(dir.path().join("secret"), "s").unwrap();
        let folder = Folder::open(&dir.path().join("bucket")).unwrap();
        (dir, folder)
    }

    #[test]
    fn keys_never_leave_the_folder() {
        let (dir, folder) = bucket();
        for key in [
            "../secret",
            "../../etc/passwd",
            "/etc/passwd",
            "data/../../secret",
            "data/./a.json",
            "data//a.json",
            "data\\..\\..\\secret",
            "",
        ] {
            let error = folder.read(key, 100).unwrap_err();
            assert!(error.contains("refused"), "{key}: {error}");
            assert!(folder.write(key, b"x").is_err(), "{key}");
        }
        std::os::unix::fs::symlink(dir.path().join("secret"), dir.path().join("bucket/link"))
            .unwrap();
        let error = folder.read("link", 100).unwrap_err();
        assert!(error.contains("out of its bucket"), "{error}");
        assert_eq!(fs::read_to_string(dir.path().join("secret")).unwrap(), "s");
    }

    #[test]
    fn reads_are_bounded_and_listings_ordered() {
        let (_dir, folder) = bucket();
        assert_eq!(folder.read("data/a.json", 3).unwrap(), b"[1]");
        assert!(
            folder
                .read("data/a.json", 2)
                .unwrap_err()
                .contains("larger")
        );
        assert!(
            folder
                .read("data/none.json", 10)
                .unwrap_err()
                .contains("no object")
        );
        let keys = |prefix| -> Vec<String> {
            folder
                .list(prefix, 10)
                .unwrap()
                .into_iter()
                .map(|o| o.key)
                .collect()
        };
        assert_eq!(keys(""), ["data/a.json", "data/b.csv", "top.txt"]);
        assert_eq!(keys("data/"), ["data/a.json", "data/b.csv"]);
        assert_eq!(keys("data/b"), ["data/b.csv"]);
        assert!(folder.list("", 2).unwrap_err().contains("more than 2"));
    }

    #[test]
    fn writes_make_their_folders() {
        let (dir, folder) = bucket();
        folder.write("out/run/manifest.json", b"{}").unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("bucket/out/run/manifest.json")).unwrap(),
            "{}"
        );
    }
}
