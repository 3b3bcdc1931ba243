// The restart count of a supervisor! intensity has a type suffix.
use fauxtp::prelude::*;

struct Worker;

#[genserver]
impl Worker {
    fn init() -> Self {
        Worker
    }
}

supervisor! {
    App {
        intensity: 3u32 per 5s,
        children: [worker: Worker::child(())],
    }
}

fn main() {}
