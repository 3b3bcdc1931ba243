//! Restart intensity: how many restarts a supervisor allows within a
//! sliding window before it gives up (OTP's `intensity` and `period`).

use std::collections::VecDeque;
use std::fmt;
use std::time::Duration;

use tokio::time::Instant;

/// At most `max` restarts within any window of `within`: one more and the
/// supervisor gives up. The window slides, as in OTP: a restart counts
/// against the limit for `within` after it happened.
#[derive(Debug)]
pub(super) struct RestartIntensity {
    max: u32,
    within: Duration,
    /// When the restarts of the last `within` happened, oldest first.
    history: VecDeque<Instant>,
}

impl RestartIntensity {
    pub(super) fn new(max: u32, within: Duration) -> Self {
        RestartIntensity {
            max,
            within,
            history: VecDeque::new(),
        }
    }

    /// Records a restart at `now`; false if the restarts within the window
    /// ending at `now` are now more than the limit.
    pub(super) fn allow(&mut self, now: Instant) -> bool {
        self.history.push_back(now);
        while let Some(oldest) = self.history.front() {
            if now.duration_since(*oldest) > self.within {
                self.history.pop_front();
            } else {
                break;
            }
        }
        self.history.len() <= self.max as usize
    }
}

impl RestartIntensity {
    /// How many restarts count against the limit at `now`.
    pub(super) fn used(&self, now: Instant) -> usize {
        self.history
            .iter()
            .filter(|at| now.duration_since(**at) <= self.within)
            .count()
    }

    /// The limit: at most this many restarts ...
    pub(super) fn max(&self) -> u32 {
        self.max
    }

    /// ... within this window.
    pub(super) fn within(&self) -> Duration {
        self.within
    }
}

/// How the limit reads in the reason a supervisor gives up with.
impl fmt::Display for RestartIntensity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "more than {} restarts within {:?}",
            self.max, self.within
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn allows_as_many_restarts_as_the_limit_within_the_window() {
        let t0 = Instant::now();
        let mut intensity = RestartIntensity::new(3, 5 * SECOND);
        assert!(intensity.allow(t0));
        assert!(intensity.allow(t0 + SECOND));
        assert!(intensity.allow(t0 + 2 * SECOND));
        assert!(!intensity.allow(t0 + 3 * SECOND), "the fourth within 5 s");
    }

    #[test]
    fn restarts_older_than_the_window_no_longer_count() {
        let t0 = Instant::now();
        let mut intensity = RestartIntensity::new(2, 5 * SECOND);
        assert!(intensity.allow(t0));
        assert!(intensity.allow(t0 + 4 * SECOND));
        // t0 is more than 5 s before this one: it has left the window.
        assert!(intensity.allow(t0 + 5 * SECOND + Duration::from_millis(1)));
        // But the one at 4 s and the one just before still count.
        assert!(!intensity.allow(t0 + 6 * SECOND));
    }

    #[test]
    fn a_restart_exactly_a_window_ago_still_counts() {
        let t0 = Instant::now();
        let mut intensity = RestartIntensity::new(1, 5 * SECOND);
        assert!(intensity.allow(t0));
        assert!(!intensity.allow(t0 + 5 * SECOND));
    }

    #[test]
    fn a_limit_of_zero_allows_no_restart() {
        let mut intensity = RestartIntensity::new(0, 5 * SECOND);
        assert!(!intensity.allow(Instant::now()));
    }

    #[test]
    fn says_its_limit() {
        let intensity = RestartIntensity::new(3, 5 * SECOND);
        assert_eq!(intensity.to_string(), "more than 3 restarts within 5s");
    }
}
