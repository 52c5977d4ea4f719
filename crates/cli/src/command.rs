//! `objective: {kind: command, ...}`: each trial runs a program of the user's (any language,
//! any framework) and reads its metrics back from what it prints.
//!
//! - The program gets the trial's parameters as `{dotted.key}` placeholders in its arguments
//!   and as environment variables: `QS_PARAM_<KEY>` (the key upper-cased, other characters
//!   `_`), `QS_PARAMS` (all of them as a JSON object), `QS_TRIAL_ID` and `QS_SEED`.
//! - Each standard-output line that is a JSON object with an `epoch` number reports an epoch
//!   (`train_loss`, `val_loss`, anything else numeric): pruners and TensorBoard see it, and a
//!   pruned trial's program is stopped. The last other JSON-object line holds the trial's
//!   metrics, e.g. `{"sharpe": 1.2, "val_loss": 0.31}`.
//! - A program that exits non-zero, prints no metrics, lacks the sweep's metric or runs past
//!   `timeout_s` fails its trial with the reason (and the end of its standard error); the sweep
//!   goes on. A timed-out or pruned program is killed with its whole process group.
//!
//! Commands run only with `quantsweep run --allow-commands` (a pipeline file from someone
//! else must not run programs by being swept), never through a shell unless `shell: true`.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::ops::ControlFlow;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use quantsweep_core::{
    EpochMetrics, Observer, Stop, TeeObserver, TrialError, TrialResult, TrialSpec, TrialStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The `command` objective's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandConfig {
    /// The program and its arguments, e.g. `[python3, train.py, "--lr={train.lr}"]`; a single
    /// string is one argument (or, with `shell: true`, the shell's command line).
    #[serde(deserialize_with = "one_or_many")]
    pub command: Vec<String>,
    /// Run the command line through `sh -c` (placeholders are single-quoted for it).
    #[serde(default)]
    pub shell: bool,
    /// Seconds a trial may run before its program is killed and the trial fails.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// The folder the program runs in (default: the current directory).
    #[serde(default)]
    pub workdir: Option<std::path::PathBuf>,
}

fn default_timeout() -> u64 {
    3600
}

fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

impl CommandConfig {
    /// Checks what can be checked before any trial: a program is named and every placeholder
    /// is a swept key, `seed` or `trial_id`.
    pub fn validate(&self, keys: &[&str]) -> Result<(), String> {
        if self.command.first().is_none_or(|p| p.trim().is_empty()) {
            return Err(
                "objective.command: name the program to run, e.g. [python3, train.py]".into()
            );
        }
        if self.timeout_s == 0 {
            return Err("objective.timeout_s: must be at least 1 second".into());
        }
        for arg in &self.command {
            for name in placeholders(arg) {
                if !(keys.contains(&name) || name == "seed" || name == "trial_id") {
                    return Err(format!(
                        "objective.command: `{{{name}}}` is not a swept parameter (known: {}, \
                         seed, trial_id)",
                        keys.join(", ")
                    ));
                }
            }
        }
        Ok(())
    }

    /// The program, its arguments and its environment for `trial`, and the command line as
    /// shown in messages.
    fn command_for(&self, trial: &TrialSpec) -> (Command, String) {
        let quote =
            |s: String| if self.shell { format!("'{}'", s.replace('\'', "'\\''")) } else { s };
        let value_of = |name: &str| match name {
            "seed" => Some(trial.seed.to_string()),
            "trial_id" => Some(trial.id.to_string()),
            key => trial.params.get(key).map(ToString::to_string),
        };
        let args: Vec<String> = self
            .command
            .iter()
            .map(|arg| {
                let mut out = arg.clone();
                for name in placeholders(arg) {
                    if let Some(v) = value_of(name) {
                        out = out.replace(&format!("{{{name}}}"), &quote(v));
                    }
                }
                out
            })
            .collect();
        let mut cmd = if self.shell {
            let mut c = Command::new("sh");
            c.arg("-c").arg(args.join(" "));
            c
        } else {
            let mut c = Command::new(&args[0]);
            c.args(&args[1..]);
            c
        };
        let json: serde_json::Map<String, Value> = trial
            .params
            .iter()
            .map(|(k, v)| (k.clone(), serde_json::to_value(v).unwrap_or(Value::Null)))
            .collect();
        for (k, v) in &trial.params {
            cmd.env(env_name(k), v.to_string());
        }
        cmd.env("QS_PARAMS", Value::Object(json).to_string())
            .env("QS_TRIAL_ID", trial.id.to_string())
            .env("QS_SEED", trial.seed.to_string());
        if let Some(dir) = &self.workdir {
            cmd.current_dir(dir);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // Its own process group, so that a timeout or a prune stops whatever it started.
        cmd.process_group(0);
        (cmd, args.join(" "))
    }
}

/// `{name}` placeholders in an argument.
fn placeholders(arg: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = arg;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('}') else { break };
        let name = &after[..end];
        if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || "._-".contains(c)) {
            names.push(name);
            rest = &after[end + 1..];
        } else {
            // Not a placeholder (JSON in a shell line: `{"value": {x}}`): look on after the
            // brace.
            rest = after;
        }
    }
    names
}

/// `QS_PARAM_TRAIN_LR` for `train.lr`.
fn env_name(key: &str) -> String {
    let k: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' })
        .collect();
    format!("QS_PARAM_{k}")
}

/// Runs the program once per trial.
pub struct CommandObjective {
    config: CommandConfig,
    /// The sweep's metric, which the program must report.
    metric: String,
    /// Where each trial's TensorBoard run goes (`<dir>/<trial_id>`), if anywhere.
    tensorboard_dir: Option<std::path::PathBuf>,
    /// With `--out` on an object store: puts each trial's TensorBoard run there.
    uploader: Option<crate::store::Uploader>,
}

/// What the program printed, line by line.
enum Line {
    Out(String),
    End,
}

impl CommandObjective {
    pub fn new(config: CommandConfig, metric: String) -> Self {
        Self { config, metric, tensorboard_dir: None, uploader: None }
    }

    /// Also writes each trial's epochs and metrics as a TensorBoard run under `dir`.
    pub fn with_tensorboard(
        mut self,
        dir: std::path::PathBuf,
        uploader: Option<crate::store::Uploader>,
    ) -> Self {
        self.tensorboard_dir = Some(dir);
        self.uploader = uploader;
        self
    }

    fn run_program(
        &self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let outcome = self.run_program_once(trial, obs);
        // A second Ctrl-C killed the program and is ending the process: the trial did not
        // fail, it was stopped, and must not be journaled (it runs again on resume).
        if crate::interrupt::stopping() {
            loop {
                std::thread::park();
            }
        }
        outcome
    }

    fn run_program_once(
        &self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let (mut command, program) = self.config.command_for(trial);
        let mut child = command
            .spawn()
            .map_err(|e| TrialError::failed(format!("cannot start `{program}`: {e}")))?;
        let _running = Running::register(&child);
        let (tx, rx) = mpsc::channel();
        let stdout = child.stdout.take().map(BufReader::new);
        let reader = std::thread::spawn(move || {
            if let Some(out) = stdout {
                for line in out.lines() {
                    // Not UTF-8, or the pipe broke: the rest is unreadable.
                    let Ok(line) = line else { break };
                    if tx.send(Line::Out(line)).is_err() {
                        return;
                    }
                }
            }
            let _ = tx.send(Line::End);
        });
        let stderr = child.stderr.take().map(BufReader::new);
        let tail = std::thread::spawn(move || {
            let mut last: std::collections::VecDeque<String> = Default::default();
            if let Some(err) = stderr {
                for line in err.lines().map_while(Result::ok) {
                    if last.len() == 5 {
                        last.pop_front();
                    }
                    last.push_back(line);
                }
            }
            Vec::from(last).join("\n")
        });

        let deadline = Instant::now() + Duration::from_secs(self.config.timeout_s);
        let timed_out = format!(
            "`{program}` timed out after {} s (objective.timeout_s)",
            self.config.timeout_s
        );
        let mut epochs: Vec<EpochMetrics> = Vec::new();
        let mut metrics: Option<BTreeMap<String, f64>> = None;
        let stopped = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(Line::Out(line)) => {
                    let Some(object) = json_object(&line) else { continue };
                    match object.get("epoch").and_then(Value::as_f64) {
                        Some(_) => {
                            let m = epoch_metrics(&object);
                            let epoch = epochs.len();
                            epochs.push(m.clone());
                            if let ControlFlow::Break(stop) = obs.on_epoch(epoch, &m) {
                                break Some(stop);
                            }
                        }
                        None => metrics = Some(numbers(&object)),
                    }
                }
                Ok(Line::End) | Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    kill(&mut child);
                    let _ = reader.join();
                    return Err(TrialError::Failed { reason: timed_out.clone(), epochs });
                }
            }
        };
        if let Some(stop) = stopped {
            kill(&mut child);
            let _ = reader.join();
            return Err(match stop {
                Stop::Pruned => TrialError::Pruned { epochs },
                Stop::Cancelled => TrialError::Failed { reason: "cancelled".into(), epochs },
            });
        }
        // Standard output is closed; the program may still be finishing.
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5));
                }
                Ok(None) => {
                    kill(&mut child);
                    return Err(TrialError::Failed { reason: timed_out.clone(), epochs });
                }
                Err(e) => {
                    return Err(TrialError::Failed {
                        reason: format!("waiting for `{program}`: {e}"),
                        epochs,
                    });
                }
            }
        };
        let _ = reader.join();
        let stderr_tail = tail.join().unwrap_or_default();
        let with_stderr = |reason: String| {
            if stderr_tail.is_empty() {
                reason
            } else {
                format!("{reason}; its standard error ended with:\n{stderr_tail}")
            }
        };
        if !status.success() {
            let reason = format!("`{program}` exited with {status}");
            return Err(TrialError::Failed { reason: with_stderr(reason), epochs });
        }
        let Some(metrics) = metrics else {
            let reason = format!(
                "`{program}` printed no metrics: its last line of JSON on standard output \
                 should be an object such as {{\"{}\": 1.0}}",
                self.metric
            );
            return Err(TrialError::Failed { reason: with_stderr(reason), epochs });
        };
        if !metrics.contains_key(&self.metric) {
            let names: Vec<&str> = metrics.keys().map(String::as_str).collect();
            let reason = format!(
                "`{program}` reported no `{}` (the sweep's metric); it reported: {}",
                self.metric,
                if names.is_empty() { "nothing numeric".into() } else { names.join(", ") }
            );
            return Err(TrialError::Failed { reason, epochs });
        }
        Ok(TrialResult { metrics, epochs, device: "command".into(), ..TrialResult::default() })
    }
}

impl quantsweep_sweep::Objective for CommandObjective {
    fn run(
        &mut self,
        trial: &TrialSpec,
        obs: &mut dyn Observer,
    ) -> Result<TrialResult, TrialError> {
        let Some(root) = &self.tensorboard_dir else { return self.run_program(trial, obs) };
        let mut tb = crate::objective::open_tensorboard(root, trial, "command")?;
        let result = self.run_program(trial, &mut TeeObserver::new(obs, &mut tb));
        let (status, metrics, step) = match &result {
            Ok(r) => (TrialStatus::Complete, r.metrics.clone(), r.epochs.len()),
            Err(TrialError::Pruned { epochs }) => {
                (TrialStatus::Pruned, BTreeMap::new(), epochs.len())
            }
            Err(TrialError::Failed { epochs, .. }) => {
                (TrialStatus::Failed, BTreeMap::new(), epochs.len())
            }
        };
        let logged = tb.finish(status, &metrics, step as i64);
        if let Some(uploader) = &self.uploader {
            uploader.trial_or_later(trial.id);
        }
        match (result, logged) {
            (Ok(_), Err(e)) => Err(TrialError::failed(format!("TensorBoard: {e}"))),
            (result, _) => result,
        }
    }
}

/// The process groups of the programs running now, for a second Ctrl-C to stop
/// (`crate::interrupt`): they are groups of their own, which a terminal's signal misses.
static RUNNING: std::sync::Mutex<std::collections::BTreeSet<i32>> =
    std::sync::Mutex::new(std::collections::BTreeSet::new());

/// A running program's entry in [`RUNNING`], removed when its trial ends.
struct Running(Option<i32>);

impl Running {
    fn register(child: &Child) -> Self {
        let pid = i32::try_from(child.id()).ok();
        if let Some(pid) = pid {
            RUNNING.lock().unwrap_or_else(|p| p.into_inner()).insert(pid);
        }
        Running(pid)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            RUNNING.lock().unwrap_or_else(|p| p.into_inner()).remove(&pid);
        }
    }
}

/// Kills the process group of every program a trial is running now.
pub fn kill_running() {
    for &pid in RUNNING.lock().unwrap_or_else(|p| p.into_inner()).iter() {
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
    }
}

/// Kills the program's whole process group and reaps it.
fn kill(child: &mut Child) {
    if let Ok(pid) = i32::try_from(child.id()) {
        let _ =
            nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGKILL);
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// The line as a JSON object, if it is one.
fn json_object(line: &str) -> Option<serde_json::Map<String, Value>> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    }
}

/// The numeric entries of an object: numbers, booleans (0/1) and the strings `NaN`, `inf`,
/// `-inf`.
fn numbers(object: &serde_json::Map<String, Value>) -> BTreeMap<String, f64> {
    object
        .iter()
        .filter_map(|(k, v)| {
            let x = match v {
                Value::Number(n) => n.as_f64()?,
                Value::Bool(b) => f64::from(u8::from(*b)),
                Value::String(s) => match s.as_str() {
                    "NaN" | "nan" => f64::NAN,
                    "inf" | "Infinity" => f64::INFINITY,
                    "-inf" | "-Infinity" => f64::NEG_INFINITY,
                    _ => return None,
                },
                _ => return None,
            };
            Some((k.clone(), x))
        })
        .collect()
}

fn epoch_metrics(object: &serde_json::Map<String, Value>) -> EpochMetrics {
    let mut all = numbers(object);
    all.remove("epoch");
    let train_loss = all.remove("train_loss").unwrap_or(f64::NAN);
    let val_loss = all.remove("val_loss");
    EpochMetrics { train_loss, val_loss, extra: all }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quantsweep_core::{ParamValue, Params, TrialId};

    fn trial(lr: f64) -> TrialSpec {
        let mut params = Params::new();
        params.insert("train.lr".into(), ParamValue::Float(lr));
        TrialSpec { id: TrialId(3), params, seed: 11 }
    }

    fn config(script: &str, timeout_s: u64) -> CommandConfig {
        CommandConfig {
            command: vec!["sh".into(), "-c".into(), script.into()],
            shell: false,
            timeout_s,
            workdir: None,
        }
    }

    struct Record(Vec<EpochMetrics>, Option<usize>);
    impl Observer for Record {
        fn on_epoch(&mut self, _: usize, m: &EpochMetrics) -> ControlFlow<Stop> {
            self.0.push(m.clone());
            match self.1 {
                Some(n) if self.0.len() >= n => ControlFlow::Break(Stop::Pruned),
                _ => ControlFlow::Continue(()),
            }
        }
    }

    fn run(cfg: CommandConfig, prune_after: Option<usize>) -> Result<TrialResult, TrialError> {
        let mut obs = Record(Vec::new(), prune_after);
        CommandObjective::new(cfg, "sharpe".into()).run_program(&trial(0.01), &mut obs)
    }

    fn reason(r: Result<TrialResult, TrialError>) -> String {
        match r {
            Err(TrialError::Failed { reason, .. }) => reason,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn parameters_arrive_as_arguments_and_environment_and_metrics_come_back() {
        let cfg = CommandConfig {
            command: vec![
                "sh".into(),
                "-c".into(),
                r#"echo "noise"; echo '{"epoch": 0, "train_loss": 0.5, "val_loss": 0.6, "acc": 0.4}'; echo "{\"sharpe\": $1, \"seed\": $QS_SEED, \"id\": $QS_TRIAL_ID, \"env_lr\": $QS_PARAM_TRAIN_LR, \"flag\": true, \"name\": \"x\"}""#.into(),
                "sh".into(),
                "{train.lr}".into(),
            ],
            shell: false,
            timeout_s: 30,
            workdir: None,
        };
        let r = run(cfg, None).expect("trial completes");
        assert_eq!(r.metrics["sharpe"], 0.01);
        assert_eq!(r.metrics["seed"], 11.0);
        assert_eq!(r.metrics["id"], 3.0);
        assert_eq!(r.metrics["env_lr"], 0.01);
        assert_eq!(r.metrics["flag"], 1.0);
        assert!(!r.metrics.contains_key("name"));
        assert_eq!(r.epochs.len(), 1);
        assert_eq!(r.epochs[0].train_loss, 0.5);
        assert_eq!(r.epochs[0].val_loss, Some(0.6));
        assert_eq!(r.epochs[0].extra["acc"], 0.4);
    }

    #[test]
    fn a_shell_command_line_gets_quoted_values() {
        let cfg = CommandConfig {
            command: vec![r#"x={train.lr}; echo "{\"sharpe\": $x}""#.into()],
            shell: true,
            timeout_s: 30,
            workdir: None,
        };
        assert_eq!(run(cfg, None).expect("completes").metrics["sharpe"], 0.01);
    }

    #[test]
    fn crashes_garbage_missing_metrics_and_hangs_fail_the_trial_with_the_reason() {
        let crash = reason(run(config("echo 'Traceback: boom' >&2; exit 3", 30), None));
        assert!(crash.contains("exited with exit status: 3"), "{crash}");
        assert!(crash.ends_with("Traceback: boom"), "{crash}");
        let garbage = reason(run(config("echo '{not json'; echo 42", 30), None));
        assert!(garbage.contains("printed no metrics"), "{garbage}");
        let other = reason(run(config(r#"echo '{"val_loss": 1}'"#, 30), None));
        assert!(other.contains("reported no `sharpe`") && other.ends_with("val_loss"), "{other}");
        // A hang, and a child it started that keeps the pipe open: both are killed.
        let started = Instant::now();
        let hang = reason(run(config("sleep 30 & sleep 30", 1), None));
        assert!(hang.contains("timed out after 1 s"), "{hang}");
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        let missing = CommandConfig { command: vec!["/no/such/program".into()], ..config("", 5) };
        assert!(reason(run(missing, None)).starts_with("cannot start `/no/such/program`"));
    }

    #[test]
    fn a_pruned_trial_stops_its_program() {
        let script = r#"i=0; while true; do echo "{\"epoch\": $i, \"train_loss\": 1}"; i=$((i+1)); sleep 0.01; done"#;
        let started = Instant::now();
        match run(config(script, 30), Some(3)) {
            Err(TrialError::Pruned { epochs }) => assert_eq!(epochs.len(), 3),
            other => panic!("expected pruned, got {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn placeholders_are_found_inside_json() {
        assert_eq!(
            placeholders(r#"echo '{"value": {x}, "y": {model.hidden}}'"#),
            ["x", "model.hidden"]
        );
        assert_eq!(placeholders("{a}{b} {} {c"), ["a", "b"]);
    }

    #[test]
    fn placeholders_must_be_swept_keys() {
        let cfg =
            CommandConfig { command: vec!["x".into(), "--lr={train.lr}".into()], ..config("", 5) };
        assert!(cfg.validate(&["train.lr"]).is_ok());
        let err = cfg.validate(&["model.hidden"]).expect_err("unknown key");
        assert!(err.contains("`{train.lr}` is not a swept parameter"), "{err}");
        assert!(config("", 0).validate(&[]).is_err());
        let empty = CommandConfig { command: vec![], ..config("", 5) };
        assert!(empty.validate(&[]).expect_err("no program").contains("name the program"));
    }
}
