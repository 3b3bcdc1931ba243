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
            worker: Worker::child(()),
            worker: Worker::child(()),
        ],
    }
}

fn main() {}
