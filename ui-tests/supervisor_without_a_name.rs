// A supervisor! tree has no name.
use fauxtp::prelude::*;

struct Worker;

#[genserver]
impl Worker {
    fn init() -> Self {
        Worker
    }
}

supervisor! {
    pub {
        children: [worker: Worker::child(())],
    }
}

fn main() {}
