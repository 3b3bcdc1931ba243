// A key of the supervisor! tree is given twice.
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
        strategy: one_for_one,
        strategy: one_for_all,
        children: [worker: Worker::child(())],
    }
}

fn main() {}
