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
        intensity: 3 per 5,
        children: [worker: Worker::child(())],
    }
}

fn main() {}
