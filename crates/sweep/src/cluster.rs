//! Where a sweep's timely workers run: threads of this process, or threads of several
//! processes on one or more hosts (timely's cluster mode), from flags, a hostfile or Slurm.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::communication::{Hooks, WorkerGuards};

use crate::SweepError;

/// The first port of the processes of a Slurm job: task `t` on a node listens on
/// `SLURM_BASE_PORT + its index among the tasks of that node`.
pub const SLURM_BASE_PORT: u16 = 51_700;

/// Where a sweep's timely workers run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Workers {
    /// This many worker threads in this process.
    Threads(usize),
    /// `threads` worker threads in each of `addresses.len()` processes, this one being number
    /// `process`; process `i` listens on `addresses[i]` (`host:port`). Every process runs the
    /// same command; process 0 owns the study, the journal and the tables.
    Cluster {
        /// Worker threads per process.
        threads: usize,
        /// This process's index.
        process: usize,
        /// `host:port` of every process, in process order.
        addresses: Vec<String>,
    },
}

impl Workers {
    /// A cluster of `processes` processes on this host, listening on consecutive ports from
    /// `first_port` (what `scripts/sweep-local` launches).
    pub fn localhost(threads: usize, process: usize, processes: usize, first_port: u16) -> Self {
        let addresses =
            (0..processes).map(|i| format!("127.0.0.1:{}", usize::from(first_port) + i)).collect();
        Workers::Cluster { threads, process, addresses }
    }

    /// Worker threads in this process.
    pub fn local(&self) -> usize {
        match self {
            Workers::Threads(n) | Workers::Cluster { threads: n, .. } => (*n).max(1),
        }
    }

    /// Worker threads in all processes together.
    pub fn total(&self) -> usize {
        match self {
            Workers::Threads(n) => (*n).max(1),
            Workers::Cluster { threads, addresses, .. } => (*threads).max(1) * addresses.len(),
        }
    }

    /// This process's index (0 without a cluster).
    pub fn process(&self) -> usize {
        match self {
            Workers::Threads(_) => 0,
            Workers::Cluster { process, .. } => *process,
        }
    }

    /// Whether this process owns the study, the journal and the tables (process 0).
    pub fn is_coordinator(&self) -> bool {
        self.process() == 0
    }

    /// Checks the process index against the addresses.
    pub fn validate(&self) -> Result<(), SweepError> {
        if let Workers::Cluster { process, addresses, .. } = self {
            if addresses.is_empty() {
                return Err(cluster_error("no process addresses"));
            }
            if *process >= addresses.len() {
                return Err(cluster_error(format!(
                    "process {process} of {}: the index must be below the process count",
                    addresses.len()
                )));
            }
        }
        Ok(())
    }

    /// Starts this process's share of the timely workers, connecting to the other processes
    /// first (within [`CONNECT_TIMEOUT`]), and runs `func` on each.
    pub(crate) fn execute<T, F>(&self, func: F) -> Result<WorkerGuards<T>, SweepError>
    where
        T: Send + 'static,
        F: Fn(&mut timely::worker::Worker) -> T + Send + Sync + 'static,
    {
        match self {
            Workers::Threads(n) => timely::execute(timely::Config::process((*n).max(1)), func)
                .map_err(SweepError::Timely),
            Workers::Cluster { threads, process, addresses } => {
                let threads = (*threads).max(1);
                let sockets = connect(addresses, *process, CONNECT_TIMEOUT)?;
                let hooks = Hooks::default();
                let local = ProcessBuilder::new_typed_vector(threads, hooks.refill.clone(), None);
                let (builders, comms) =
                    initialize_networking_from_sockets(local, sockets, *process, threads, hooks)
                        .map_err(|e| SweepError::Timely(format!("starting the network: {e}")))?;
                let builders = builders.into_iter().map(AllocatorBuilder::Tcp).collect();
                timely::execute::execute_from(
                    builders,
                    Box::new(comms),
                    timely::WorkerConfig::default(),
                    func,
                )
                .map_err(SweepError::Timely)
            }
        }
    }
}

impl Workers {
    /// Joins the workers `execute` started. A process of the cluster that dies makes timely's
    /// network threads panic (and then the join itself): those panics are kept quiet and
    /// become one error naming the process that went away.
    pub(crate) fn join<T: Send + 'static>(
        &self,
        guards: WorkerGuards<T>,
    ) -> Result<Vec<T>, SweepError> {
        quiet_timely_panics();
        // The join panics on this thread when timely's network threads did (its guard
        // `expect`s them): that one is quiet too.
        JOINING.set(true);
        let joined = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| guards.join()));
        JOINING.set(false);
        let panics = std::mem::take(&mut *TIMELY_PANICS.lock().unwrap_or_else(|p| p.into_inner()));
        let mut results = Vec::new();
        let mut failure = None;
        match joined {
            Ok(all) => {
                for r in all {
                    match r {
                        Ok(t) => results.push(t),
                        Err(e) => failure = failure.or(Some(e)),
                    }
                }
            }
            Err(_) => failure = Some("the workers' network stopped".into()),
        }
        let Some(failure) = failure else { return Ok(results) };
        // The peer whose connection broke, from timely's thread names (`timely:recv-P`).
        let lost = panics.iter().find_map(|(thread, message)| {
            let peer = thread
                .strip_prefix("timely:recv-")
                .or_else(|| thread.strip_prefix("timely:send-"))?;
            // Where in timely it panicked says nothing to a user here.
            let message = message.split(" at ").next().unwrap_or(message);
            Some((peer.parse::<usize>().ok()?, message))
        });
        Err(SweepError::Timely(match (lost, self) {
            (Some((peer, message)), Workers::Cluster { addresses, .. }) => format!(
                "process {peer} ({}) went away mid-sweep ({message})",
                addresses.get(peer).map_or("?", String::as_str)
            ),
            _ => match panics.first() {
                Some((thread, message)) => format!("{failure}: {thread} panicked: {message}"),
                None => failure,
            },
        }))
    }
}

thread_local! {
    /// This thread is joining timely's workers.
    static JOINING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Panics on timely's own threads (`timely:…`), by thread name, since the last join.
static TIMELY_PANICS: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());

/// Installs (once) a panic hook that records panics on timely's threads instead of printing
/// them; every other panic goes to the hook that was there before.
fn quiet_timely_panics() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let thread = std::thread::current().name().unwrap_or_default().to_owned();
            if !(thread.starts_with("timely:") || JOINING.get()) {
                return previous(info);
            }
            let message = quantsweep_core::contain::panic_message(info.payload());
            let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line()));
            TIMELY_PANICS
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((thread, message + &at.unwrap_or_default()));
        }));
    });
}

/// How long a process waits for the others of its cluster to be up.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// What a process sends first on each connection: who it is, and of how many.
const HELLO: &[u8; 12] = b"quantsweep/1";

/// Connects process `me` to every other of `addresses`: it dials the processes before it and
/// accepts the ones after it, as timely's own start-up does, but gives up after `timeout`
/// naming the processes that did not come, and checks that each peer is a quantsweep process
/// of the same cluster size.
fn connect(
    addresses: &[String],
    me: usize,
    timeout: Duration,
) -> Result<Vec<Option<TcpStream>>, SweepError> {
    let deadline = Instant::now() + timeout;
    let n = addresses.len();
    let net = |message: String| SweepError::Timely(format!("process {me} of {n}: {message}"));
    let listener = TcpListener::bind(&addresses[me])
        .map_err(|e| net(format!("cannot listen on {}: {e}", addresses[me])))?;
    listener.set_nonblocking(true).map_err(|e| net(format!("listener: {e}")))?;
    let mut sockets: Vec<Option<TcpStream>> = (0..n).map(|_| None).collect();
    // Dial the earlier processes (they listen before they dial).
    for (peer, address) in addresses.iter().enumerate().take(me) {
        let stream = loop {
            match TcpStream::connect(address) {
                Ok(stream) => break stream,
                Err(e) if Instant::now() >= deadline => {
                    return Err(net(format!(
                        "process {peer} at {address} did not answer within {} s: {e}",
                        timeout.as_secs()
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(100)),
            }
        };
        let mut stream = stream;
        let mut hello = Vec::with_capacity(28);
        hello.extend_from_slice(HELLO);
        hello.extend_from_slice(&(me as u64).to_be_bytes());
        hello.extend_from_slice(&(n as u64).to_be_bytes());
        stream
            .set_nodelay(true)
            .and_then(|()| stream.write_all(&hello))
            .map_err(|e| net(format!("greeting process {peer} at {address}: {e}")))?;
        sockets[peer] = Some(stream);
    }
    // Accept the later ones.
    while sockets[me + 1..].iter().any(Option::is_none) {
        match listener.accept() {
            Ok((mut stream, from)) => {
                let mut hello = [0u8; 28];
                stream
                    .set_nonblocking(false)
                    .and_then(|()| stream.set_read_timeout(Some(Duration::from_secs(10))))
                    .and_then(|()| stream.read_exact(&mut hello))
                    .and_then(|()| stream.set_read_timeout(None))
                    .and_then(|()| stream.set_nodelay(true))
                    .map_err(|e| net(format!("reading the greeting of {from}: {e}")))?;
                let word = |i: usize| {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(&hello[i..i + 8]);
                    u64::from_be_bytes(b) as usize
                };
                let (peer, size) = (word(12), word(20));
                if &hello[..12] != HELLO || size != n || peer <= me || peer >= n {
                    return Err(net(format!(
                        "{from} is not a later process of this {n}-process sweep \
                         (it says process {peer} of {size})"
                    )));
                }
                sockets[peer] = Some(stream);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = (me + 1..n)
                        .filter(|&p| sockets[p].is_none())
                        .map(|p| format!("{p} ({})", addresses[p]))
                        .collect();
                    return Err(net(format!(
                        "no connection from process(es) {} within {} s",
                        missing.join(", "),
                        timeout.as_secs()
                    )));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(net(format!("accepting on {}: {e}", addresses[me]))),
        }
    }
    Ok(sockets)
}

fn cluster_error(message: impl Into<String>) -> SweepError {
    SweepError::Config { key: "cluster".into(), message: message.into() }
}

/// Reads a hostfile: one `host:port` a line, in process order; blank lines and `#` comments
/// are skipped. A line without a port is refused with its number.
pub fn read_hostfile(path: &Path) -> Result<Vec<String>, SweepError> {
    let text = std::fs::read_to_string(path).map_err(|e| SweepError::Config {
        key: "--hostfile".into(),
        message: format!("cannot read {}: {e}", path.display()),
    })?;
    let mut addresses = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let port_ok = line.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if !port_ok {
            return Err(SweepError::Config {
                key: "--hostfile".into(),
                message: format!(
                    "{} line {}: expected host:port (e.g. node01:51700), found {line:?}",
                    path.display(),
                    i + 1
                ),
            });
        }
        addresses.push(line.to_owned());
    }
    if addresses.is_empty() {
        return Err(SweepError::Config {
            key: "--hostfile".into(),
            message: format!("{} lists no process", path.display()),
        });
    }
    Ok(addresses)
}

/// The cluster a Slurm job step describes, from `SLURM_PROCID`, `SLURM_NTASKS`,
/// `SLURM_JOB_NODELIST` (or `SLURM_STEP_NODELIST`) and `SLURM_TASKS_PER_NODE`, read through
/// `var`; `None` outside Slurm (no `SLURM_PROCID`) or for a single task.
///
/// Tasks are placed on the nodes in blocks, as Slurm's default distribution does; the task
/// with index `k` among those of its node listens on [`SLURM_BASE_PORT`]` + k`.
pub fn slurm_workers(
    threads: usize,
    var: impl Fn(&str) -> Option<String>,
) -> Result<Option<Workers>, SweepError> {
    let Some(procid) = var("SLURM_PROCID") else { return Ok(None) };
    let slurm = |key: &str, message: String| SweepError::Config { key: key.into(), message };
    let process: usize = procid
        .trim()
        .parse()
        .map_err(|_| slurm("SLURM_PROCID", format!("not a task index: {procid:?}")))?;
    let ntasks: usize = match var("SLURM_NTASKS") {
        Some(n) => {
            n.trim().parse().map_err(|_| slurm("SLURM_NTASKS", format!("not a count: {n:?}")))?
        }
        None => 1,
    };
    if ntasks <= 1 {
        return Ok(None);
    }
    let list_key = if var("SLURM_STEP_NODELIST").is_some() {
        "SLURM_STEP_NODELIST"
    } else {
        "SLURM_JOB_NODELIST"
    };
    let list = var(list_key).ok_or_else(|| slurm(list_key, "not set".into()))?;
    let nodes = expand_nodelist(&list).map_err(|m| slurm(list_key, m))?;
    let per_node = match var("SLURM_TASKS_PER_NODE") {
        Some(spec) => expand_tasks_per_node(&spec).map_err(|m| slurm("SLURM_TASKS_PER_NODE", m))?,
        // Without it, spread the tasks evenly (the first nodes take one more).
        None => (0..nodes.len())
            .map(|i| ntasks / nodes.len() + usize::from(i < ntasks % nodes.len()))
            .collect(),
    };
    if per_node.len() != nodes.len() {
        return Err(slurm(
            "SLURM_TASKS_PER_NODE",
            format!("counts for {} nodes, but {list_key} lists {}", per_node.len(), nodes.len()),
        ));
    }
    let mut addresses = Vec::with_capacity(ntasks);
    for (node, &count) in nodes.iter().zip(&per_node) {
        for k in 0..count {
            addresses.push(format!("{node}:{}", usize::from(SLURM_BASE_PORT) + k));
        }
    }
    if addresses.len() != ntasks {
        return Err(slurm(
            "SLURM_TASKS_PER_NODE",
            format!("places {} tasks, but SLURM_NTASKS is {ntasks}", addresses.len()),
        ));
    }
    let workers = Workers::Cluster { threads, process, addresses };
    workers.validate()?;
    Ok(Some(workers))
}

/// Expands a Slurm hostlist: `node[01-03,7],gpu5` → node01, node02, node03, node7, gpu5.
fn expand_nodelist(list: &str) -> Result<Vec<String>, String> {
    let mut nodes = Vec::new();
    let mut rest = list.trim();
    while !rest.is_empty() {
        // The next entry ends at a comma outside brackets.
        let mut depth = 0i32;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                depth += i32::from(c == '[') - i32::from(c == ']');
                c == ',' && depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let entry = &rest[..end];
        rest = rest[end..].trim_start_matches(',');
        match entry.split_once('[') {
            None if !entry.is_empty() => nodes.push(entry.to_owned()),
            None => return Err(format!("empty host name in {list:?}")),
            Some((prefix, ranges)) => {
                let (ranges, suffix) =
                    ranges.split_once(']').ok_or_else(|| format!("unclosed '[' in {list:?}"))?;
                for range in ranges.split(',') {
                    let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                    let width = lo.len();
                    let parse = |s: &str| {
                        s.parse::<u64>().map_err(|_| format!("bad range {range:?} in {list:?}"))
                    };
                    let (lo, hi) = (parse(lo)?, parse(hi)?);
                    if hi < lo || hi - lo > 100_000 {
                        return Err(format!("bad range {range:?} in {list:?}"));
                    }
                    for n in lo..=hi {
                        nodes.push(format!("{prefix}{n:0width$}{suffix}"));
                    }
                }
            }
        }
    }
    if nodes.is_empty() {
        return Err("lists no node".into());
    }
    Ok(nodes)
}

/// Expands `SLURM_TASKS_PER_NODE`: `2(x3),1` → 2, 2, 2, 1.
fn expand_tasks_per_node(spec: &str) -> Result<Vec<usize>, String> {
    let mut counts = Vec::new();
    for part in spec.trim().split(',') {
        let bad = || format!("cannot read {part:?} in {spec:?}");
        let (count, times) = match part.split_once("(x") {
            Some((c, t)) => (c, t.strip_suffix(')').ok_or_else(bad)?),
            None => (part, "1"),
        };
        let count: usize = count.parse().map_err(|_| bad())?;
        let times: usize = times.parse().map_err(|_| bad())?;
        counts.extend(std::iter::repeat_n(count, times.min(100_000)));
    }
    Ok(counts)
}

/// This machine's view of which processes share it: the index of this process among those
/// whose address has the same host (its local rank), for spreading workers over GPUs.
pub fn local_rank(workers: &Workers) -> usize {
    match workers {
        Workers::Threads(_) => 0,
        Workers::Cluster { process, addresses, .. } => {
            let host = |a: &String| a.rsplit_once(':').map_or(a.clone(), |(h, _)| h.to_owned());
            let Some(mine) = addresses.get(*process).map(host) else { return 0 };
            addresses[..*process].iter().filter(|a| host(a) == mine).count()
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn nodelists_expand_like_slurm() {
        assert_eq!(
            expand_nodelist("node[01-03,7],gpu5").expect("list"),
            ["node01", "node02", "node03", "node7", "gpu5"]
        );
        assert_eq!(expand_nodelist("a[8-10]-ib").expect("list"), ["a8-ib", "a9-ib", "a10-ib"]);
        assert!(expand_nodelist("node[1-").is_err());
        assert!(expand_nodelist("node[3-1]").is_err());
        assert_eq!(expand_tasks_per_node("2(x3),1").expect("counts"), [2, 2, 2, 1]);
        assert!(expand_tasks_per_node("2(x").is_err());
    }

    #[test]
    fn a_slurm_job_step_becomes_a_cluster() {
        let workers = slurm_workers(
            4,
            env(&[
                ("SLURM_PROCID", "3"),
                ("SLURM_NTASKS", "4"),
                ("SLURM_JOB_NODELIST", "gpu[1-2]"),
                ("SLURM_TASKS_PER_NODE", "2(x2)"),
            ]),
        )
        .expect("slurm")
        .expect("a cluster");
        let port = |k: u16| SLURM_BASE_PORT + k;
        assert_eq!(
            workers,
            Workers::Cluster {
                threads: 4,
                process: 3,
                addresses: vec![
                    format!("gpu1:{}", port(0)),
                    format!("gpu1:{}", port(1)),
                    format!("gpu2:{}", port(0)),
                    format!("gpu2:{}", port(1)),
                ],
            }
        );
        assert_eq!(local_rank(&workers), 1);
        assert_eq!(workers.total(), 16);
        // One task, or no Slurm at all: no cluster.
        assert_eq!(slurm_workers(2, env(&[("SLURM_PROCID", "0")])).expect("one task"), None);
        assert_eq!(slurm_workers(2, env(&[])).expect("no slurm"), None);
        // Counts that do not add up are refused, naming the variable.
        let err = slurm_workers(
            1,
            env(&[
                ("SLURM_PROCID", "0"),
                ("SLURM_NTASKS", "3"),
                ("SLURM_JOB_NODELIST", "n1"),
                ("SLURM_TASKS_PER_NODE", "2"),
            ]),
        )
        .expect_err("2 placed, 3 tasks");
        assert!(err.to_string().contains("SLURM_TASKS_PER_NODE"), "{err}");
    }

    /// Processes find each other in any start order; a missing one is named after the
    /// timeout instead of being waited for forever.
    #[test]
    fn processes_connect_or_name_the_missing_one() {
        let free = || TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr());
        let addresses: Vec<String> =
            (0..3).map(|_| free().expect("a free port").to_string()).collect();
        let timeout = Duration::from_secs(20);
        let handles: Vec<_> = (0..3)
            .rev()
            .map(|me| {
                let addresses = addresses.clone();
                std::thread::spawn(move || connect(&addresses, me, timeout))
            })
            .collect();
        for (handle, me) in handles.into_iter().zip((0..3).rev()) {
            let sockets = handle.join().expect("thread").expect("connected");
            assert_eq!(sockets.iter().filter(|s| s.is_some()).count(), 2);
            assert!(sockets[me].is_none());
        }
        let alone = vec![free().expect("port").to_string(), free().expect("port").to_string()];
        let err = connect(&alone, 0, Duration::from_millis(300)).expect_err("nobody comes");
        assert!(err.to_string().contains("no connection from process(es) 1"), "{err}");
        let err = connect(&alone, 1, Duration::from_millis(300)).expect_err("nobody listens");
        assert!(err.to_string().contains("process 0 at"), "{err}");
    }

    /// Process 0 listens on its hostfile address only (not on every interface), and a
    /// connection without the greeting of a later process of this sweep is refused with an
    /// error naming where it came from.
    #[test]
    fn a_stranger_on_the_port_is_refused() {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("port");
        let addresses = vec![port.to_string(), "127.0.0.1:1".to_owned()];
        let process_0 = std::thread::spawn(move || connect(&addresses, 0, Duration::from_secs(20)));
        let mut stranger = loop {
            match TcpStream::connect(port) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        // Listening on 127.0.0.1 only: the same port on another local address is closed.
        assert!(TcpStream::connect(("127.0.0.2", port.port())).is_err());
        stranger.write_all(b"GET / HTTP/1.1\r\nHost: stranger\r\n\r\n").expect("write");
        let err = process_0.join().expect("thread").expect_err("refused");
        assert!(
            err.to_string().contains("is not a later process of this 2-process sweep"),
            "{err}"
        );
    }

    #[test]
    fn hostfiles_are_read_and_checked() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("hosts");
        std::fs::write(&path, "# the sweep\nnode1:2101\n\nnode2:2101  # second\n").expect("write");
        assert_eq!(read_hostfile(&path).expect("hosts"), ["node1:2101", "node2:2101"]);
        std::fs::write(&path, "node1:2101\nnode2\n").expect("write");
        let err = read_hostfile(&path).expect_err("no port");
        assert!(err.to_string().contains("line 2"), "{err}");
        let bad = Workers::localhost(1, 2, 2, 4000).validate().expect_err("index 2 of 2");
        assert!(bad.to_string().contains("process 2 of 2"), "{bad}");
    }
}
