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
        children: [
            good: Worker::child(()),
            bad: Worker::start(()),
        ],
    }
}

fn main() {}
