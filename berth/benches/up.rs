//! `berth up` to node Ready, with the images already present, and where the time goes.
//!
//! Runs the `berth` binary as a user would (root; containerd, runc, CNI plugins): one first
//! `berth up` + `berth down` that imports the pause image into the data directory's image
//! store (kept by `berth down`), then `BERTH_BENCH_UP_RUNS` (default 5) timed rounds of
//! `berth up` (until it returns with the node Ready) and `berth down`. Prints the wall time
//! of each `berth up` and `berth down`, p50 and max, the timeline of steps `berth up` prints
//! (median over the rounds), and the VmRSS of the cluster process (API server, controllers,
//! scheduler, kubelet in one) 3 s after the last `berth up` returned.
//!
//! `cargo bench -p berth --bench up`. The cluster gets a pod CIDR claimed from the node test
//! harness, its own runtime directory, ports, route metric and kubeconfig.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use berth_kubelet::testenv::{claim_subnet, free_port};

struct Cluster {
    dir: PathBuf,
    args: Vec<String>,
}

impl Cluster {
    fn berth(&self, args: &[String]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env("KUBECONFIG", self.dir.join("kubeconfig"))
            .env("HOME", &self.dir)
            .output()
            .expect("run berth")
    }

    fn up(&self) -> (Duration, Output) {
        let started = Instant::now();
        let out = self.berth(&self.args);
        (started.elapsed(), out)
    }

    fn down(&self) -> (Duration, Output) {
        let started = Instant::now();
        let data = self.dir.join("data").display().to_string();
        let out = self.berth(&["down".into(), "--data-dir".into(), data]);
        (started.elapsed(), out)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.down();
    }
}

fn check(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The steps `berth up` printed: ` - <step> ... ok (<secs> s, at <secs> s)`.
fn steps(stdout: &str) -> Vec<(String, f64)> {
    stdout
        .lines()
        .filter_map(|l| {
            let rest = l.strip_prefix(" - ")?;
            let (name, result) = rest.split_once(" ... ok (")?;
            let secs: f64 = result.split_whitespace().next()?.parse().ok()?;
            // Names carry a path or URL in parentheses that differs per run.
            let name: Vec<&str> = name
                .split_whitespace()
                .take_while(|w| !w.starts_with('('))
                .collect();
            Some((name.join(" "), secs))
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn rss_mib(pid: &str) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

fn main() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("skipped: berth up needs root");
        return;
    }
    let runs: usize = std::env::var("BERTH_BENCH_UP_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let (n, _claim) = claim_subnet().expect("a test pod CIDR");
    let tmp = tempfile::Builder::new()
        .prefix("berth-bench-up-")
        .tempdir()
        .unwrap();
    let dir = std::fs::canonicalize(tmp.path()).unwrap();
    let args: Vec<String> = [
        "up",
        "--data-dir",
        &dir.join("data").display().to_string(),
        "--port",
        &free_port().unwrap().to_string(),
        "--runtime-dir",
        &dir.join("run").display().to_string(),
        "--pod-cidr",
        &format!("10.244.{n}.0/24"),
        "--bridge",
        &format!("berth-t{n}"),
        "--cgroup-parent",
        &format!("berth-t{n}"),
        "--route-metric",
        &(4_300_000 + n).to_string(),
        "--kubelet-port",
        &free_port().unwrap().to_string(),
    ]
    .map(String::from)
    .to_vec();
    let cluster = Cluster { dir, args };
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average before: {}", load.trim());

    let (first, out) = cluster.up();
    check("the first berth up", &out);
    let (_, out) = cluster.down();
    check("berth down", &out);
    println!(
        "first berth up (empty data dir, pause image imported): {:.2} s",
        first.as_secs_f64()
    );

    let mut ups = Vec::new();
    let mut downs = Vec::new();
    let mut timeline: BTreeMap<usize, (String, Vec<f64>)> = BTreeMap::new();
    let mut rss = 0.0;
    for round in 0..runs {
        let (took, out) = cluster.up();
        check("berth up", &out);
        let stdout = String::from_utf8_lossy(&out.stdout);
        for (i, (name, secs)) in steps(&stdout).into_iter().enumerate() {
            timeline
                .entry(i)
                .or_insert_with(|| (name, Vec::new()))
                .1
                .push(secs);
        }
        ups.push(took.as_secs_f64());
        if round + 1 == runs {
            std::thread::sleep(Duration::from_secs(3));
            let pid = std::fs::read_to_string(cluster.dir.join("data/berth.pid")).unwrap();
            rss = rss_mib(pid.split_whitespace().next().unwrap());
        }
        let (took, out) = cluster.down();
        check("berth down", &out);
        downs.push(took.as_secs_f64());
    }
    let show = |v: &[f64]| {
        v.iter()
            .map(|s| format!("{s:.2}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("berth up to node Ready, images present (s): {}", show(&ups));
    println!(
        "  p50 {:.2} s  max {:.2} s",
        median(ups.clone()),
        ups.iter().copied().fold(0.0, f64::max)
    );
    println!("berth down (s): {}", show(&downs));
    println!("  p50 {:.2} s", median(downs.clone()));
    println!("timeline of berth up (median per step over {runs} rounds):");
    let mut at = 0.0;
    for (name, secs) in timeline.into_values() {
        let m = median(secs);
        at += m;
        println!("  {name:<28} {m:>6.2} s   (ends at ~{at:.2} s)");
    }
    println!("cluster process VmRSS 3 s after berth up returned: {rss:.1} MiB");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average after: {}", load.trim());
}
