use fauxtp::prelude::*;

struct Worker;

#[genserver]
impl Worker {
    fn init(port: u16) -> Self {
        let _ = port;
        Worker
    }
}

supervisor! {
    App(port) {
        children: [worker: Worker::child(port)],
    }
}

fn main() {}
