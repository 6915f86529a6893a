//! What the processes used: CPU time, memory and disk, read from /proc and the data directory.

use std::path::Path;
use std::time::Duration;

use crate::client::Client;
use crate::servers::SpawnedServer;

/// Counters at the beginning of a phase.
pub(crate) struct Meter {
    pub(crate) steps: Option<u64>,
    pub(crate) server_pids: Vec<u32>,
    pub(crate) server_cpu: Option<Duration>,
    pub(crate) bench_cpu: Option<Duration>,
}

/// How much the server did, and how much CPU both sides used, during a phase.
pub(crate) struct Usage {
    pub(crate) steps: Option<u64>,
    pub(crate) server_cpu: Option<Duration>,
    pub(crate) bench_cpu: Option<Duration>,
}

impl Meter {
    pub(crate) async fn finish(self, client: &Client) -> Usage {
        let since = |before: Option<Duration>, after: Option<Duration>| {
            Some(after?.saturating_sub(before?))
        };
        let steps = client.steps_committed().await;
        Usage {
            steps: steps.zip(self.steps).map(|(a, b)| a.saturating_sub(b)),
            server_cpu: since(self.server_cpu, servers_cpu_time(&self.server_pids)),
            bench_cpu: since(self.bench_cpu, cpu_time("self")),
        }
    }
}

/// CPU time of all the spawned servers together (none without a spawned server).
pub(crate) fn servers_cpu_time(pids: &[u32]) -> Option<Duration> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_time(&pid.to_string())).sum()
}

/// CPU time (user + system, all threads) of a process (`self` or a pid), from /proc.
pub(crate) fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; utime and stime are fields 14 and 15
    // of the line, so the 12th and 13th after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    Some(Duration::from_millis(ticks * 10))
}

/// Server memory and database size at one moment (only for a spawned server).
pub(crate) struct Resources {
    pub(crate) when: String,
    pub(crate) rss_bytes: Option<u64>,
    /// The servers' peak RSS so far (VmHWM).
    pub(crate) peak_rss_bytes: Option<u64>,
    pub(crate) data_bytes: Option<u64>,
}

impl Resources {
    /// RSS summed over the servers; the data directory only of a server on SQLite.
    pub(crate) fn measure(when: &str, servers: &[SpawnedServer]) -> Resources {
        let rss = servers
            .iter()
            .map(|s| memory_kib(s.child.id(), "VmRSS:"))
            .sum();
        let peak = servers
            .iter()
            .map(|s| memory_kib(s.child.id(), "VmHWM:"))
            .sum();
        let data = match servers {
            [server] if !server.external_database => dir_bytes(server.data.path()).ok(),
            _ => None,
        };
        Resources {
            when: when.to_string(),
            rss_bytes: if servers.is_empty() { None } else { rss },
            peak_rss_bytes: if servers.is_empty() { None } else { peak },
            data_bytes: data,
        }
    }
}

/// A memory figure of a process (`VmRSS:`, `VmHWM:`), in bytes, from /proc.
fn memory_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(field))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Total size of the files under `dir`.
pub(crate) fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}
