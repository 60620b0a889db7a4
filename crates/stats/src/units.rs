//! The seed table's number formats (which are fabtests'), so our tables read like theirs.

/// Short count as fabtests prints it: 1000000 -> "1m", 100000 -> "100k", 999 -> "999".
pub fn seed_count(n: u64) -> String {
    match n {
        n if n >= 1_000_000_000 => format!("{}g", n / 1_000_000_000),
        n if n >= 1_000_000 => format!("{}m", n / 1_000_000),
        n if n >= 1_000 => format!("{}k", n / 1_000),
        n => n.to_string(),
    }
}

/// Seconds with two decimals and a unit: 20520000000 -> "20.52s".
pub fn seed_time(total_ns: u64) -> String {
    format!("{:.2}s", total_ns as f64 / 1e9)
}

/// Nanoseconds as microseconds with two decimals: 10260 -> "10.26".
pub fn usec(ns: u64) -> String {
    format!("{:.2}", ns as f64 / 1000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_match_the_seed_table() {
        assert_eq!(seed_count(1_000_000), "1m");
        assert_eq!(seed_count(100_000), "100k");
        assert_eq!(seed_count(1_500), "1k");
        assert_eq!(seed_count(999), "999");
        assert_eq!(seed_count(2_000_000_000), "2g");
        assert_eq!(seed_time(20_520_000_000), "20.52s");
        assert_eq!(usec(10_260), "10.26");
    }
}
