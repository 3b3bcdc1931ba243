// Temporary probe (not committed): fauxtp -> erlang throughput, 8 callers.
use fauxtp::dist::{Cookie, Node, Remote};
use std::time::{Duration, Instant};
use tokio::process::Command;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let threads: usize = args.get(1).map(|a| a.parse().unwrap()).unwrap_or(2);
    let secs: u64 = args.get(2).map(|a| a.parse().unwrap()).unwrap_or(5);
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
            .unwrap()
    };
    let mode = args.get(3).cloned().unwrap_or_default();
    if mode == "efserve" {
        rt.block_on(async move { tokio::spawn(efserve(secs)).await.unwrap() });
    } else if mode == "ff" {
        rt.block_on(async move { tokio::spawn(ff(secs)).await.unwrap() });
    } else if mode == "ef" {
        rt.block_on(async move { tokio::spawn(serve(secs)).await.unwrap() });
    } else {
        rt.block_on(async move { tokio::spawn(run(secs)).await.unwrap() });
    }
}

async fn run(secs: u64) {
    let id = std::process::id();
    let server = format!("probe_srv_{id}@localhost");
    let mut child = Command::new("erl")
        .args(["-noshell", "-sname", &server, "-setcookie", "probe"])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args([
            "-pa",
            "/tmp/probe",
            "-eval",
            "{ok, _} = bench_counter:start(counter), receive stop -> ok end.",
        ])
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let node = Node::start(&format!("probe_cli_{id}@localhost"), Cookie::new("probe"))
        .await
        .unwrap();
    let counter = Remote::name("counter", &server);
    let add = (fauxtp::dist::term::atom("add"), 1u64);
    loop {
        if node.call::<u64>(&counter, add.clone()).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for _ in 0..secs {
        let started = Instant::now();
        let done = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let callers: Vec<_> = (0..8)
            .map(|_| {
                let (node, counter, add, done) =
                    (node.clone(), counter.clone(), add.clone(), done.clone());
                tokio::spawn(async move {
                    while started.elapsed() < Duration::from_secs(1) {
                        let _: u64 = node.call(&counter, add.clone()).await.unwrap();
                        done.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        let n = done.load(std::sync::atomic::Ordering::Relaxed);
        println!("{:.0} calls/s", n as f64 / started.elapsed().as_secs_f64());
    }
    child.kill().await.ok();
}

struct Counter {
    count: u64,
}

#[fauxtp::genserver(remote)]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }
    #[call]
    fn add(&mut self, n: u64) -> u64 {
        self.count += n;
        self.count
    }
}

async fn serve(secs: u64) {
    use tokio::io::AsyncBufReadExt;
    let id = std::process::id();
    let me = format!("probe_srv_{id}@localhost");
    let node = Node::start(&me, Cookie::new("probe")).await.unwrap();
    let counter = Counter::start(()).await.unwrap();
    node.register("counter", &counter).unwrap();
    let eval = format!("ok = bench_counter:wait_for('{me}'), S = {{counter, '{me}'}}, \
        [io:format(\"~p~n\", [round(bench_counter:throughput(S, 8, 20000))]) || _ <- lists:seq(1, {secs})], halt().");
    let mut child = Command::new("erl")
        .args([
            "-noshell",
            "-sname",
            &format!("probe_cli_{id}@localhost"),
            "-setcookie",
            "probe",
        ])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .args(["-pa", "/tmp/probe", "-eval", &eval])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        println!("{line} calls/s");
    }
}

pub async fn ff(secs: u64) {
    let id = std::process::id();
    let a = Node::start(&format!("probe_ffa_{id}@localhost"), Cookie::new("probe"))
        .await
        .unwrap();
    let bname = format!("probe_ffb_{id}@localhost");
    let b = Node::start(&bname, Cookie::new("probe")).await.unwrap();
    let counter = Counter::start(()).await.unwrap();
    b.register("counter", &counter).unwrap();
    let remote = Remote::name("counter", &bname);
    let add = (fauxtp::dist::term::atom("add"), 1u64);
    for _ in 0..secs {
        let started = Instant::now();
        let mut n = 0u64;
        while started.elapsed() < Duration::from_secs(1) {
            let _: u64 = a.call(&remote, add.clone()).await.unwrap();
            n += 1;
        }
        println!(
            "{:.1} us/call",
            started.elapsed().as_micros() as f64 / n as f64
        );
    }
}

async fn efserve(secs: u64) {
    let id = std::process::id();
    let me = format!("probe_srv_{id}@localhost");
    let node = Node::start(&me, Cookie::new("probe")).await.unwrap();
    let counter = Counter::start(()).await.unwrap();
    node.register("counter", &counter).unwrap();
    println!("{me}");
    tokio::time::sleep(Duration::from_secs(secs)).await;
}
