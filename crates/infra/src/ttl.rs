//! Stack lifetimes ("4h", "90m"): how long a stack may run before `infra status` warns.

/// Parses a TTL into minutes; hours and minutes only, because a stack lives hours, not seconds.
pub fn parse_ttl(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let value: u64 = number.parse().ok().filter(|v| *v > 0)?;
    match unit {
        "h" => value.checked_mul(60),
        "m" => Some(value),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::parse_ttl;

    #[test]
    fn hours_and_minutes() {
        assert_eq!(parse_ttl("4h"), Some(240));
        assert_eq!(parse_ttl("90m"), Some(90));
        assert_eq!(parse_ttl("0h"), None);
        assert_eq!(parse_ttl("4"), None);
        assert_eq!(parse_ttl("2d"), None);
    }
}
