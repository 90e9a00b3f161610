//! `allowed_hours`: a weekly window, at a fixed UTC offset, outside which some statement kinds
//! are denied.
//!
//! Only fixed offsets are supported: a named time zone (`Europe/Paris`) would need the tz
//! database inside the plugin, and the offset does not follow daylight saving time. Set the
//! offset you want in force, or widen the window by an hour.

use sluice_policy_sdk::StatementKind;

/// A day of the week.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Day {
    /// Monday.
    Mon,
    /// Tuesday.
    Tue,
    /// Wednesday.
    Wed,
    /// Thursday.
    Thu,
    /// Friday.
    Fri,
    /// Saturday.
    Sat,
    /// Sunday.
    Sun,
}

impl Day {
    /// Monday to Sunday.
    pub const ALL: [Day; 7] = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri, Day::Sat, Day::Sun];

    /// `mon` ... `sun` (as written in the configuration).
    pub fn parse(text: &str) -> Option<Day> {
        Day::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// The configuration's name for the day.
    pub fn as_str(self) -> &'static str {
        match self {
            Day::Mon => "mon",
            Day::Tue => "tue",
            Day::Wed => "wed",
            Day::Thu => "thu",
            Day::Fri => "fri",
            Day::Sat => "sat",
            Day::Sun => "sun",
        }
    }

    /// The day before.
    fn previous(self) -> Day {
        match self {
            Day::Mon => Day::Sun,
            Day::Tue => Day::Mon,
            Day::Wed => Day::Tue,
            Day::Thu => Day::Wed,
            Day::Fri => Day::Thu,
            Day::Sat => Day::Fri,
            Day::Sun => Day::Sat,
        }
    }
}

/// The validated `allowed_hours`.
#[derive(Debug, Clone)]
pub struct Hours {
    /// Minutes east of UTC.
    pub offset_minutes: i32,
    /// Start of the window, minutes after local midnight (inclusive).
    pub start: u32,
    /// End of the window, minutes after local midnight (exclusive); `1440` is midnight at the
    /// end of the day. `end < start` is a window across midnight, belonging to the day it starts.
    pub end: u32,
    /// Days on which the window opens.
    pub days: Vec<Day>,
    /// Statement kinds restricted to the window.
    pub applies_to: Vec<StatementKind>,
}

impl Hours {
    /// Whether a statement of `kind` may run at `now_ms` (milliseconds since the Unix epoch).
    pub fn allows(&self, kind: StatementKind, now_ms: u64) -> bool {
        if !self.applies_to.contains(&kind) {
            return true;
        }
        let (day, minute) = local_time(now_ms, self.offset_minutes);
        if self.start < self.end {
            self.days.contains(&day) && (self.start..self.end).contains(&minute)
        } else {
            // Across midnight: the evening part is on an allowed day, the morning part follows one.
            (minute >= self.start && self.days.contains(&day))
                || (minute < self.end && self.days.contains(&day.previous()))
        }
    }

    /// The window in words, for deny reasons: `08:00-18:00 UTC+01:00 on mon,tue`.
    pub fn describe(&self) -> String {
        let hm = |m: u32| format!("{:02}:{:02}", m / 60, m % 60);
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let off = self.offset_minutes.unsigned_abs();
        let days: Vec<&str> = self.days.iter().map(|d| d.as_str()).collect();
        format!(
            "{}-{} UTC{sign}{:02}:{:02} on {}",
            hm(self.start),
            hm(self.end),
            off / 60,
            off % 60,
            days.join(",")
        )
    }
}

/// The local weekday and minute of the day at `now_ms`, `offset_minutes` east of UTC.
fn local_time(now_ms: u64, offset_minutes: i32) -> (Day, u32) {
    let minutes = i64::try_from(now_ms / 60_000).unwrap_or(i64::MAX / 2) + i64::from(offset_minutes);
    let days = minutes.div_euclid(1440);
    let minute = u32::try_from(minutes.rem_euclid(1440)).unwrap_or(0);
    // 1970-01-01 was a Thursday.
    let weekday = match (days + 3).rem_euclid(7) {
        0 => Day::Mon,
        1 => Day::Tue,
        2 => Day::Wed,
        3 => Day::Thu,
        4 => Day::Fri,
        5 => Day::Sat,
        _ => Day::Sun,
    };
    (weekday, minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2024-01-01 00:00 UTC, a Monday.
    const MONDAY: u64 = 1_704_067_200_000;
    const HOUR: u64 = 3_600_000;
    const DAY: u64 = 24 * HOUR;

    fn office(offset: i32) -> Hours {
        Hours {
            offset_minutes: offset,
            start: 8 * 60,
            end: 18 * 60,
            days: vec![Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri],
            applies_to: vec![StatementKind::Update, StatementKind::Ddl],
        }
    }

    #[test]
    fn local_time_and_weekday() {
        assert_eq!(local_time(MONDAY, 0), (Day::Mon, 0));
        assert_eq!(local_time(MONDAY, -60), (Day::Sun, 23 * 60));
        assert_eq!(local_time(MONDAY + 6 * DAY + 90 * 60_000, 0), (Day::Sun, 90));
        assert_eq!(local_time(0, 0), (Day::Thu, 0));
    }

    #[test]
    fn office_hours() {
        let h = office(0);
        assert!(!h.allows(StatementKind::Update, MONDAY + 7 * HOUR + 59 * 60_000));
        assert!(h.allows(StatementKind::Update, MONDAY + 8 * HOUR));
        assert!(h.allows(StatementKind::Update, MONDAY + 17 * HOUR + 59 * 60_000));
        assert!(!h.allows(StatementKind::Update, MONDAY + 18 * HOUR));
        assert!(!h.allows(StatementKind::Ddl, MONDAY + 5 * DAY + 10 * HOUR), "saturday");
        assert!(h.allows(StatementKind::Read, MONDAY + 5 * DAY + 10 * HOUR), "reads not restricted");
        assert!(h.allows(StatementKind::Insert, MONDAY), "insert not listed");
    }

    #[test]
    fn offsets_shift_the_window() {
        // 07:30 UTC is 08:30 at UTC+01:00.
        assert!(office(60).allows(StatementKind::Update, MONDAY + 7 * HOUR + 30 * 60_000));
        assert!(!office(0).allows(StatementKind::Update, MONDAY + 7 * HOUR + 30 * 60_000));
        // Monday 02:00 UTC is Sunday 21:00 at UTC-05:00.
        assert!(!office(-300).allows(StatementKind::Update, MONDAY + 2 * HOUR));
        assert!(office(-300).allows(StatementKind::Update, MONDAY + 14 * HOUR));
    }

    #[test]
    fn windows_across_midnight_belong_to_their_start_day() {
        let night = Hours { start: 22 * 60, end: 6 * 60, days: vec![Day::Fri], ..office(0) };
        let friday = MONDAY + 4 * DAY;
        assert!(night.allows(StatementKind::Update, friday + 23 * HOUR));
        assert!(night.allows(StatementKind::Update, friday + DAY + 5 * HOUR), "saturday morning");
        assert!(!night.allows(StatementKind::Update, friday + 5 * HOUR), "friday morning");
        assert!(!night.allows(StatementKind::Update, friday + 12 * HOUR));
    }

    #[test]
    fn all_day() {
        let h = Hours { start: 0, end: 1440, ..office(0) };
        assert!(h.allows(StatementKind::Update, MONDAY + 23 * HOUR + 59 * 60_000));
        assert!(!h.allows(StatementKind::Update, MONDAY + 5 * DAY));
        assert_eq!(office(-90).describe(), "08:00-18:00 UTC-01:30 on mon,tue,wed,thu,fri");
    }
}
