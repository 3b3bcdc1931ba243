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
        restarts: 3,
        children: [worker: Worker::child(())],
    }
}

fn main() {}
