// A tree with one mistake (an unknown key), used from main as a user would:
// only the mistake is reported.
use fauxtp::prelude::*;

struct Worker;

#[genserver]
impl Worker {
    fn init() -> Self {
        Worker
    }
}

supervisor! {
    pub App {
        strategy: one_for_one,
        restarts: 3,
        children: [worker: Worker::child(())],
    }
}

#[tokio::main]
async fn main() {
    let app = App::start(()).await.unwrap();
    let _children = app.which_children().await.unwrap();
    let _spec: fauxtp::supervisor::ChildSpec = App::child(());
}
