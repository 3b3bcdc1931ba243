//! fauxtp against ractor, kameo, actix and raw tokio, side by side in one run.
//!
//! `cargo run --release --manifest-path bench/Cargo.toml -- [--quick] [--json] [--only WORKLOAD] [--repeat N] [--subscriber]`
//!
//! `--subscriber` installs a `tracing` subscriber that takes every fauxtp
//! event (debug level and up, written nowhere), to show what fauxtp's
//! reports cost when someone listens: compare with a run without it.
//!
//! Multi-thread columns (tokio, fauxtp, ractor, kameo, and the kanal and
//! crossfire channel floors) run on a 2-worker tokio runtime; the
//! current-thread columns (tokio-ct, fauxtp-ct) are the like-for-like
//! comparison for actix, which runs its actors on one thread. Each figure is
//! followed by its ratio to raw tokio on the same kind of runtime. Every
//! workload checks its result; a wrong result is reported and makes the
//! program exit non-zero.
//!
//! Each figure is the median of several runs (3 for a full run, 1 with
//! `--quick`, or `--repeat N`), taken in rounds that go through every
//! column once, so that a slow moment of the machine does not fall on one
//! column only.

mod actix_impl;
mod channels;
mod dist;
mod dist_cast;
mod fauxtp_impl;
mod harness;
mod kameo_impl;
mod ractor_impl;
mod tokio_impl;

use std::collections::BTreeMap;
use std::process::{Command, ExitCode};

use harness::{Framework, Outcome, Sizes, Workload};

/// The columns, in order; the bool says whether the column is a
/// current-thread one (compared with tokio-ct rather than tokio).
fn frameworks() -> Vec<(Box<dyn Framework>, bool)> {
    vec![
        (
            Box::new(tokio_impl::Tokio {
                current_thread: false,
            }),
            false,
        ),
        (
            Box::new(fauxtp_impl::Fauxtp {
                current_thread: false,
            }),
            false,
        ),
        (Box::new(ractor_impl::Ractor), false),
        (Box::new(kameo_impl::Kameo), false),
        (Box::new(channels::Channel::Kanal), false),
        (Box::new(channels::Channel::Crossfire), false),
        (
            Box::new(tokio_impl::Tokio {
                current_thread: true,
            }),
            true,
        ),
        (
            Box::new(fauxtp_impl::Fauxtp {
                current_thread: true,
            }),
            true,
        ),
        (Box::new(actix_impl::Actix), true),
    ]
}

struct Options {
    quick: bool,
    json: bool,
    only: Option<Workload>,
    /// `--only dist_call`: the calls between nodes alone. A run without
    /// `--only` does them after the table.
    only_dist: bool,
    /// `--only dist_cast`: the streams of casts between nodes alone.
    only_dist_cast: bool,
    /// Runs per figure (the median is shown); `None`: 3, or 1 with `--quick`.
    repeat: Option<usize>,
    /// `--child WORKLOAD FRAMEWORK`: run one measurement in this process
    /// and print it (used for memory, which needs a fresh process each).
    child: Option<(Workload, String)>,
    /// `--subscriber`: a `tracing` subscriber listens to fauxtp's events.
    subscriber: bool,
}

fn options() -> Result<Options, String> {
    let mut args = std::env::args().skip(1);
    let mut options = Options {
        quick: false,
        json: false,
        only: None,
        only_dist: false,
        only_dist_cast: false,
        repeat: None,
        child: None,
        subscriber: false,
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--quick" => options.quick = true,
            "--json" => options.json = true,
            "--subscriber" => options.subscriber = true,
            "--only" => {
                let name = args.next().ok_or("--only needs a workload")?;
                if name == "dist_call" {
                    options.only_dist = true;
                } else if name == "dist_cast" {
                    options.only_dist_cast = true;
                } else {
                    options.only =
                        Some(Workload::parse(&name).ok_or(format!("unknown workload {name}"))?);
                }
            }
            "--repeat" => {
                let n = args
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--repeat needs a number of runs, at least 1")?;
                options.repeat = Some(n);
            }
            "--child" => {
                let workload = args
                    .next()
                    .and_then(|w| Workload::parse(&w))
                    .ok_or("--child needs a workload")?;
                let framework = args.next().ok_or("--child needs a framework")?;
                options.child = Some((workload, framework));
            }
            other => {
                return Err(format!(
                "unknown argument {other}; use [--quick] [--json] [--only WORKLOAD] [--repeat N] [--subscriber]"
            ))
            }
        }
    }
    Ok(options)
}

/// Runs a memory measurement in a fresh process, so that one framework's
/// allocations do not count for the next.
fn in_child(workload: Workload, framework: &str, quick: bool) -> Option<Outcome> {
    let exe = std::env::current_exe().ok()?;
    let mut command = Command::new(exe);
    command.args(["--child", workload.name(), framework]);
    if quick {
        command.arg("--quick");
    }
    if SUBSCRIBER.load(std::sync::atomic::Ordering::Relaxed) {
        command.arg("--subscriber");
    }
    let output = command.output().ok()?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    match text.as_str() {
        "none" => None,
        ok if ok.starts_with("ok ") => Some(ok[3..].parse().map_err(|e| format!("{e}"))),
        err => Some(Err(format!(
            "{err} {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))),
    }
}

/// Whether this run listens to fauxtp's events (passed on to children).
static SUBSCRIBER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn main() -> ExitCode {
    let options = match options() {
        Ok(options) => options,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::FAILURE;
        }
    };
    if options.subscriber {
        SUBSCRIBER.store(true, std::sync::atomic::Ordering::Relaxed);
        tracing_subscriber::fmt()
            .with_writer(std::io::sink)
            .with_env_filter("fauxtp=debug")
            .init();
    }
    let sizes = if options.quick {
        Sizes::quick()
    } else {
        Sizes::full()
    };

    if let Some((workload, name)) = &options.child {
        let found = frameworks().into_iter().find(|(f, _)| f.name() == name);
        match found.and_then(|(f, _)| f.run(*workload, &sizes)) {
            None => println!("none"),
            Some(Ok(value)) => println!("ok {value}"),
            Some(Err(error)) => println!("error {error}"),
        }
        return ExitCode::SUCCESS;
    }

    let only_between_nodes = options.only_dist || options.only_dist_cast;
    let workloads: Vec<Workload> = match (options.only, only_between_nodes) {
        (Some(w), _) => vec![w],
        (None, true) => Vec::new(),
        (None, false) => Workload::ALL.to_vec(),
    };
    let run_dist = options.only.is_none() && !options.only_dist_cast;
    let run_dist_cast = options.only.is_none() && !options.only_dist;
    let columns = frameworks();
    let mut results: BTreeMap<&'static str, Row> = BTreeMap::new();
    let mut failures = Vec::new();
    let repeat = options.repeat.unwrap_or(if options.quick { 1 } else { 3 });
    for &workload in &workloads {
        let mut runs: Vec<Vec<f64>> = vec![Vec::new(); columns.len()];
        let mut absent = vec![false; columns.len()];
        for round in 0..repeat {
            for (i, (framework, _)) in columns.iter().enumerate() {
                if absent[i] {
                    continue;
                }
                if !options.json {
                    eprint!(
                        "\r{:<18} {:<10} {}/{repeat}",
                        workload.name(),
                        framework.name(),
                        round + 1
                    );
                }
                let outcome = if workload.in_child() {
                    in_child(workload, framework.name(), options.quick)
                } else {
                    framework.run(workload, &sizes)
                };
                match outcome {
                    None => absent[i] = true,
                    Some(Ok(value)) => runs[i].push(value),
                    Some(Err(error)) => failures.push(format!(
                        "{} / {}: {error}",
                        workload.name(),
                        framework.name()
                    )),
                }
            }
        }
        let row = columns
            .iter()
            .zip(runs)
            .zip(absent)
            .map(|(((framework, current_thread), runs), absent)| {
                let outcome = if absent {
                    None
                } else {
                    Some(median(runs).ok_or_else(|| "every run failed".to_owned()))
                };
                (framework.name(), *current_thread, outcome)
            })
            .collect();
        results.insert(workload.name(), row);
    }
    if !options.json {
        eprint!("\r{:<40}\r", "");
    }

    let dist = if run_dist {
        if !options.json {
            eprint!("\r{:<40}", "dist_call (erl nodes)");
        }
        let outcome = dist::run(&sizes, repeat);
        if !options.json {
            eprint!("\r{:<40}\r", "");
        }
        match outcome {
            Ok(pairs) => Some(pairs),
            Err(error) => {
                failures.push(format!("dist_call: {error}"));
                None
            }
        }
    } else {
        None
    };
    let casts = if run_dist_cast {
        if !options.json {
            eprint!("\r{:<40}", "dist_cast (erl nodes)");
        }
        let outcome = dist_cast::run(&sizes, repeat);
        if !options.json {
            eprint!("\r{:<40}\r", "");
        }
        match outcome {
            Ok(figures) => Some(figures),
            Err(error) => {
                failures.push(format!("dist_cast: {error}"));
                None
            }
        }
    } else {
        None
    };
    if options.json {
        print_json(
            &workloads,
            &results,
            dist.as_deref(),
            casts.as_ref().map(|(rows, _)| &rows[..]),
        );
    } else {
        if !workloads.is_empty() {
            print_table(&workloads, &results, &columns);
        }
        if let Some(pairs) = &dist {
            print_dist(pairs);
        }
        if let Some((rows, stalls)) = &casts {
            print_dist_cast(rows);
            print_stalls(stalls);
        }
    }
    if failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        for failure in failures {
            eprintln!("CHECK FAILED: {failure}");
        }
        ExitCode::FAILURE
    }
}

type Row = Vec<(&'static str, bool, Option<Outcome>)>;

/// The middle value of `runs` (the mean of the two middle ones for an even
/// count); `None` if there are none.
fn median(mut runs: Vec<f64>) -> Option<f64> {
    if runs.is_empty() {
        return None;
    }
    runs.sort_by(f64::total_cmp);
    let mid = runs.len() / 2;
    Some(if runs.len() % 2 == 1 {
        runs[mid]
    } else {
        (runs[mid - 1] + runs[mid]) / 2.0
    })
}

/// The `dist_call` figures, with the ratios to the Erlang to Erlang row
/// above them (measured in the same rounds).
fn print_dist(pairs: &[dist::Pair]) {
    println!();
    println!("dist_call (loopback)                      latency           throughput (8 callers)");
    let mut reference: Option<&dist::Pair> = None;
    for pair in pairs {
        if pair.name.starts_with("erlang -> erlang") {
            reference = Some(pair);
        }
        let Some(reference) = reference else { continue };
        println!(
            "{:<41} {:>7.1} us ({:.2}x)   {:>7.0} calls/s ({:.2}x)",
            pair.name,
            pair.latency / 1_000.0,
            pair.latency / reference.latency,
            pair.throughput,
            pair.throughput / reference.throughput,
        );
    }
    println!("ratios are to the erlang -> erlang row above, measured in the same rounds;");
    println!("lower latency and higher throughput are better.");
}

/// The `dist_cast` figures, with the ratios to the Erlang to Erlang row of
/// the same payload.
fn print_dist_cast(rows: &[dist_cast::Row]) {
    println!();
    println!("dist_cast (loopback, 2 workers)   payload          msgs/s        MB/s");
    let mut reference = f64::NAN;
    for row in rows {
        if row.pair == "erlang -> erlang" {
            reference = row.per_second;
        }
        let mbs = row
            .payload
            .bytes()
            .map(|b| format!("{:>8.0}", row.per_second * b as f64 / 1e6))
            .unwrap_or_else(|| format!("{:>8}", "-"));
        println!(
            "{:<33} {:<8} {:>10} ({:.2}x) {mbs}",
            row.pair,
            row.payload.name(),
            figure(row.per_second),
            row.per_second / reference,
        );
    }
    println!("each stream is N casts then a call for the sink's count; ratios are to");
    println!("the erlang -> erlang row of the same payload; higher is better.");
}

/// How long calls wait behind a flood of large messages, pair by pair.
fn print_stalls(stalls: &[dist_cast::Stall]) {
    println!();
    println!(
        "dist_stall (calls beside a flood of {} MiB casts)    alone: p50 / p99 / max      flooded: p50 / p99 / max",
        dist_cast::FLOOD_BYTES >> 20
    );
    let times = |t: &[f64; 3]| format!("{:>7.0} {:>7.0} {:>7.0} us", t[0], t[1], t[2]);
    for stall in stalls {
        println!(
            "{:<33} {:>28} {:>28}",
            stall.pair,
            times(&stall.alone),
            times(&stall.flooded)
        );
    }
    println!("calls to a second server on the sink's node, first alone, then while");
    println!("another process floods the sink over the same connection; lower is better.");
}

fn print_json(
    workloads: &[Workload],
    results: &BTreeMap<&'static str, Row>,
    dist: Option<&[dist::Pair]>,
    casts: Option<&[dist_cast::Row]>,
) {
    let mut parts = Vec::new();
    for workload in workloads {
        let row = &results[workload.name()];
        let cells: Vec<String> = row
            .iter()
            .filter_map(|(name, _, outcome)| match outcome {
                Some(Ok(value)) => Some(format!("\"{name}\": {value:.1}")),
                _ => None,
            })
            .collect();
        parts.push(format!("\"{}\": {{{}}}", workload.name(), cells.join(", ")));
    }
    let units: Vec<String> = workloads
        .iter()
        .map(|w| format!("\"{}\": \"{}\"", w.name(), w.unit()))
        .collect();
    if let Some(pairs) = dist {
        let cells: Vec<String> = pairs
            .iter()
            .map(|p| {
                format!(
                    "\"{}\": {{\"latency_ns\": {:.1}, \"calls_per_s\": {:.1}}}",
                    p.name, p.latency, p.throughput
                )
            })
            .collect();
        parts.push(format!("\"dist_call\": {{{}}}", cells.join(", ")));
    }
    if let Some(rows) = casts {
        let cells: Vec<String> = rows
            .iter()
            .map(|r| format!("\"{} {}\": {:.1}", r.pair, r.payload.name(), r.per_second))
            .collect();
        parts.push(format!(
            "\"dist_cast_msgs_per_s\": {{{}}}",
            cells.join(", ")
        ));
    }
    parts.push(format!("\"units\": {{{}}}", units.join(", ")));
    println!("{{{}}}", parts.join(", "));
}

fn print_table(
    workloads: &[Workload],
    results: &BTreeMap<&'static str, Row>,
    columns: &[(Box<dyn Framework>, bool)],
) {
    print!("{:<18} {:<14}", "workload", "unit");
    for (framework, _) in columns {
        print!(" {:>20}", framework.name());
    }
    println!();
    for workload in workloads {
        let row = &results[workload.name()];
        let floor = |current_thread: bool| {
            let base = if current_thread { "tokio-ct" } else { "tokio" };
            row.iter().find_map(|(name, _, outcome)| match outcome {
                Some(Ok(value)) if *name == base => Some(*value),
                _ => None,
            })
        };
        print!("{:<18} {:<14}", workload.name(), workload.unit());
        for (_, current_thread, outcome) in row {
            let cell = match outcome {
                None => "-".to_owned(),
                Some(Err(_)) => "CHECK FAILED".to_owned(),
                Some(Ok(value)) => match floor(*current_thread) {
                    Some(base) if base > 0.0 => {
                        format!("{} ({:.2}x)", figure(*value), value / base)
                    }
                    _ => figure(*value),
                },
            };
            print!(" {cell:>20}");
        }
        println!();
    }
    println!("\nratios are to raw tokio on the same runtime (tokio for the multi-thread");
    println!("columns, tokio-ct for the current-thread ones and actix); for msgs/s and");
    println!("round trips/s higher is better, for the other units lower is better.");
}

/// A figure, readable: 12.3k, 4.56M, 789.
fn figure(value: f64) -> String {
    if value >= 1e6 {
        format!("{:.2}M", value / 1e6)
    } else if value >= 1e4 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}
