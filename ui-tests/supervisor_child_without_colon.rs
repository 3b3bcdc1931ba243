// A child of a supervisor! tree is written `id = spec` instead of `id: spec`.
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
        children: [worker = Worker::child(())],
    }
}

fn main() {}
