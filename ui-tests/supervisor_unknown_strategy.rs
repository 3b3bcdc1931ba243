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
        strategy: one_for_some,
        children: [worker: Worker::child(())],
    }
}

fn main() {}
