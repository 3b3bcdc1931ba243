// An #[info] handler takes two arguments instead of the one message it handles.
use fauxtp::prelude::*;

struct Plotter {
    points: Vec<(i32, i32)>,
}

#[genserver]
impl Plotter {
    fn init() -> Self {
        Plotter { points: Vec::new() }
    }

    #[info]
    fn plot(&mut self, x: i32, y: i32) {
        self.points.push((x, y));
    }
}

fn main() {}
