//! What the test process holds, read from `/proc/self`: resident memory, open descriptors and
//! threads. The servers under test run in the test's process, so a leak of sessions, sockets
//! or threads shows here.

use std::fs;
use std::net::SocketAddr;

/// The process's resident set (`VmRSS` of `/proc/self/status`), in bytes.
pub fn rss_bytes() -> u64 {
    status_field("VmRSS") * 1024
}

/// The process's threads (`Threads` of `/proc/self/status`).
pub fn thread_count() -> u64 {
    status_field("Threads")
}

/// The process's open file descriptors (entries of `/proc/self/fd`).
pub fn fd_count() -> usize {
    fs::read_dir("/proc/self/fd")
        .map(|entries| entries.count())
        .unwrap_or_else(|e| panic!("read /proc/self/fd: {e}"))
}

/// A numeric field of `/proc/self/status` (the first number after `name:`).
fn status_field(name: &str) -> u64 {
    let status = fs::read_to_string("/proc/self/status")
        .unwrap_or_else(|e| panic!("/proc/self/status: {e}"));
    status
        .lines()
        .find_map(|line| {
            let (key, value) = line.split_once(':')?;
            (key == name).then(|| value.split_whitespace().next()?.parse().ok())?
        })
        .unwrap_or_else(|| panic!("no {name} in /proc/self/status"))
}

/// `bytes` in MiB, for messages.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// The send and receive queues (bytes) of the IPv4 TCP socket `local` → `remote`, from
/// `/proc/net/tcp`; `None` if there is no such socket. A receive queue of 0 on the server's
/// end of a connection means the server has read everything the client sent: a test can wait
/// for that before it cuts the connection, instead of sleeping.
pub fn tcp_queues(local: SocketAddr, remote: SocketAddr) -> Option<(u64, u64)> {
    let table = fs::read_to_string("/proc/net/tcp").ok()?;
    let (local, remote) = (proc_net_addr(local)?, proc_net_addr(remote)?);
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.len() < 5 || fields[1] != local || fields[2] != remote {
            return None;
        }
        let (tx, rx) = fields[4].split_once(':')?;
        Some((
            u64::from_str_radix(tx, 16).ok()?,
            u64::from_str_radix(rx, 16).ok()?,
        ))
    })
}

/// An IPv4 socket address as `/proc/net/tcp` writes it: `0100007F:1F90` (the address in host
/// byte order, little-endian here, the port big-endian).
fn proc_net_addr(addr: SocketAddr) -> Option<String> {
    match addr {
        SocketAddr::V4(v4) => Some(format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        )),
        SocketAddr::V6(_) => None,
    }
}
