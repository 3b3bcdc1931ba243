// A tree whose children do not parse, used from main as a user would: the
// tree's type is still there, so only the mistake is reported.
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
        children: [worker = Worker::child(())],
    }
}

#[tokio::main]
async fn main() {
    let app = App::start(()).await.unwrap();
    let _children = app.which_children().await.unwrap();
}
