//! Parsing of the values users type on the command line and in suite files.

use std::time::Duration;

/// A value the user typed could not be understood; each message names the input, says what
/// was wrong and what to type instead, so the CLI can print it as is.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParseError {
    /// The text is not a size, so the user needs to see the accepted forms.
    #[error("invalid size '{0}': expected a byte count like 4, 1K, 64KiB or 1MiB (K = KiB = 1024), or the keyword seed or sweep")]
    Size(String),
    /// Sizes are whole bytes; a fraction would silently be rounded.
    #[error("invalid size '{0}': sizes are whole bytes; write the byte count instead, e.g. 1536 rather than 1.5K")]
    FractionalSize(String),
    /// A zero-byte message measures nothing.
    #[error("invalid size '{0}': a message must be at least 1 byte; give a size of 1 or more")]
    ZeroSize(String),
    /// The size does not fit in 64 bits, which no fabric could send anyway.
    #[error("invalid size '{0}': too large; give a size below 16 EiB, e.g. 8MiB")]
    SizeTooLarge(String),
    /// An empty list or list item is almost always a typo such as "4,,8".
    #[error("invalid size list '{0}': it has an empty item; give comma-separated sizes such as 4,64,1K, or seed, or sweep")]
    SizeList(String),
    /// The text is not a percentage above 0 and below 100.
    #[error(
        "invalid precision '{0}': expected a percentage above 0 and below 100, like 1% or 0.5%"
    )]
    Percent(String),
    /// The text is not a count, so the user needs to see the accepted forms.
    #[error("invalid count '{0}': expected a whole number like 1000, 100k or 1m (k = 10^3, m = 10^6, g = 10^9)")]
    Count(String),
    /// Zero iterations would produce no samples.
    #[error("invalid count '{0}': it must be at least 1; give a count like 1000 or 1m")]
    ZeroCount(String),
    /// The count does not fit in 64 bits.
    #[error("invalid count '{0}': too large; give a count below 18446744073709551616, e.g. 1g")]
    CountTooLarge(String),
    /// The text is not a duration, so the user needs to see the accepted forms.
    #[error("invalid duration '{0}': expected a number with a unit, like 5s, 500ms, 250us, 100ns, 2m or 1.5s")]
    Duration(String),
    /// A bare number is ambiguous (seconds? milliseconds?), so a unit is required.
    #[error("invalid duration '{0}': a unit is required; add one of ns, us, ms, s or m (minutes), e.g. {0}s")]
    DurationUnit(String),
    /// A zero duration would run no iterations.
    #[error("invalid duration '{0}': it must be at least 1ns; give a duration like 5s")]
    ZeroDuration(String),
    /// The duration does not fit in 64-bit nanoseconds (about 584 years).
    #[error("invalid duration '{0}': too long; give a duration below 500 years, e.g. 10m")]
    DurationTooLong(String),
}

/// The message sizes of the seed project's published table (4 B .. 100 KiB).
pub const SEED_SIZES: [u64; 8] = [4, 16, 64, 256, 1024, 10240, 51200, 102400];

/// Powers of two from 2 B to 8 MiB, like `perftest -a`.
pub fn sweep_sizes() -> Vec<u64> {
    (1..=23).map(|shift| 1u64 << shift).collect()
}

/// Why a number with a suffix could not become a u64, before the caller names the kind of value.
enum NumberError {
    Invalid,
    Fraction,
    Overflow,
}

/// Splits "64KiB" into ("64", "kib") and multiplies the number by the suffix's multiplier from
/// `multiplier_of`; shared by sizes and counts, which differ only in their suffixes.
fn parse_scaled(text: &str, multiplier_of: fn(&str) -> Option<u64>) -> Result<u64, NumberError> {
    let end = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, rest) = text.split_at(end);
    if digits.is_empty() {
        return Err(NumberError::Invalid);
    }
    if rest.starts_with('.') {
        return Err(NumberError::Fraction);
    }
    let multiplier = multiplier_of(&rest.to_ascii_lowercase()).ok_or(NumberError::Invalid)?;
    // All-digit text only fails to parse by overflowing.
    let value: u64 = digits.parse().map_err(|_| NumberError::Overflow)?;
    value.checked_mul(multiplier).ok_or(NumberError::Overflow)
}

/// Parses one message size. K/KiB, M/MiB and G/GiB (any case, also KB/MB/GB) are binary
/// multiples of 1024, because perftest and fabtests size their messages that way and results
/// must line up with theirs.
pub fn parse_size(s: &str) -> Result<u64, ParseError> {
    let bytes = parse_scaled(s.trim(), |suffix| match suffix {
        "" | "b" => Some(1),
        "k" | "kib" | "kb" => Some(1 << 10),
        "m" | "mib" | "mb" => Some(1 << 20),
        "g" | "gib" | "gb" => Some(1 << 30),
        _ => None,
    })
    .map_err(|e| match e {
        NumberError::Invalid => ParseError::Size(s.to_string()),
        NumberError::Fraction => ParseError::FractionalSize(s.to_string()),
        NumberError::Overflow => ParseError::SizeTooLarge(s.to_string()),
    })?;
    if bytes == 0 {
        return Err(ParseError::ZeroSize(s.to_string()));
    }
    Ok(bytes)
}

/// Parses a comma-separated size list so one flag can name several sizes; the keywords `seed`
/// (the seed table's sizes) and `sweep` (powers of two) expand in place. The result is sorted
/// ascending without duplicates so runs and reports always go from small to large.
pub fn parse_size_list(s: &str) -> Result<Vec<u64>, ParseError> {
    let mut sizes = Vec::new();
    for item in s.split(',') {
        let item = item.trim();
        match item.to_ascii_lowercase().as_str() {
            "" => return Err(ParseError::SizeList(s.to_string())),
            "seed" => sizes.extend_from_slice(&SEED_SIZES),
            "sweep" => sizes.extend(sweep_sizes()),
            _ => sizes.push(parse_size(item)?),
        }
    }
    sizes.sort_unstable();
    sizes.dedup();
    Ok(sizes)
}

/// Parses an iteration count. k, m and g (any case) are decimal, so "1m" is one million: that
/// is how fi_pingpong prints 1000000 and how the seed table labels its rows.
pub fn parse_count(s: &str) -> Result<u64, ParseError> {
    let count = parse_scaled(s.trim(), |suffix| match suffix {
        "" => Some(1),
        "k" => Some(1_000),
        "m" => Some(1_000_000),
        "g" => Some(1_000_000_000),
        _ => None,
    })
    .map_err(|e| match e {
        NumberError::Invalid | NumberError::Fraction => ParseError::Count(s.to_string()),
        NumberError::Overflow => ParseError::CountTooLarge(s.to_string()),
    })?;
    if count == 0 {
        return Err(ParseError::ZeroCount(s.to_string()));
    }
    Ok(count)
}

/// Parses a precision target such as "1%", "0.5%" or "2" (percent either way), above 0 and
/// below 100.
pub fn parse_percent(s: &str) -> Result<f64, ParseError> {
    let text = s.trim();
    let number = text.strip_suffix('%').unwrap_or(text).trim();
    match number.parse::<f64>() {
        Ok(value) if value > 0.0 && value < 100.0 => Ok(value),
        _ => Err(ParseError::Percent(s.to_string())),
    }
}

/// Parses a time budget such as "5s", "500ms", "250us", "100ns", "2m" (minutes) or "1.5s".
/// The unit is mandatory because a bare number is ambiguous; the result is rounded to the
/// nearest nanosecond.
pub fn parse_duration(s: &str) -> Result<Duration, ParseError> {
    let text = s.trim().to_ascii_lowercase();
    let end = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(end);
    let value: f64 = number
        .parse()
        .map_err(|_| ParseError::Duration(s.to_string()))?;
    let nanos_per_unit: f64 = match unit.trim_start() {
        "" => return Err(ParseError::DurationUnit(s.trim().to_string())),
        "ns" => 1.0,
        "us" | "µs" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        "m" | "min" => 60e9,
        _ => return Err(ParseError::Duration(s.to_string())),
    };
    let nanos = (value * nanos_per_unit).round();
    // u64::MAX as f64 rounds up to 2^64, so `>=` rejects exactly what does not fit.
    if !nanos.is_finite() || nanos >= u64::MAX as f64 {
        return Err(ParseError::DurationTooLong(s.to_string()));
    }
    if nanos < 1.0 {
        return Err(ParseError::ZeroDuration(s.to_string()));
    }
    Ok(Duration::from_nanos(nanos as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_accept_binary_suffixes_in_any_case() {
        assert_eq!(parse_size("4"), Ok(4));
        assert_eq!(parse_size("4B"), Ok(4));
        assert_eq!(parse_size("1K"), Ok(1024));
        assert_eq!(parse_size("1KiB"), Ok(1024));
        assert_eq!(parse_size("64KiB"), Ok(65536));
        assert_eq!(parse_size("1M"), Ok(1 << 20));
        assert_eq!(parse_size("1mib"), Ok(1 << 20));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size(" 8b "), Ok(8));
    }

    #[test]
    fn bad_sizes_say_what_is_wrong_and_what_to_type() {
        assert_eq!(parse_size("0"), Err(ParseError::ZeroSize("0".into())));
        assert_eq!(parse_size("0K"), Err(ParseError::ZeroSize("0K".into())));
        assert_eq!(
            parse_size("1.5K"),
            Err(ParseError::FractionalSize("1.5K".into()))
        );
        assert_eq!(
            parse_size("17179869184G"),
            Err(ParseError::SizeTooLarge("17179869184G".into()))
        );
        assert_eq!(
            parse_size("99999999999999999999"),
            Err(ParseError::SizeTooLarge("99999999999999999999".into()))
        );
        for bad in ["", "K", "-4", "+4", "4 K", "seed"] {
            assert_eq!(parse_size(bad), Err(ParseError::Size(bad.into())));
        }
        assert_eq!(
            parse_size("12Q").unwrap_err().to_string(),
            "invalid size '12Q': expected a byte count like 4, 1K, 64KiB or 1MiB \
             (K = KiB = 1024), or the keyword seed or sweep"
        );
    }

    #[test]
    fn sweep_is_powers_of_two_from_2_bytes_to_8_mib() {
        let sweep = sweep_sizes();
        assert_eq!(sweep.len(), 23);
        assert_eq!((sweep[0], sweep[22]), (2, 8 << 20));
        assert!(sweep.windows(2).all(|w| w[1] == 2 * w[0]));
    }

    #[test]
    fn size_lists_expand_keywords_sort_and_dedupe() {
        assert_eq!(parse_size_list("64,4,1K,4"), Ok(vec![4, 64, 1024]));
        assert_eq!(parse_size_list(" 64 , 4 "), Ok(vec![4, 64]));
        assert_eq!(parse_size_list("seed"), Ok(SEED_SIZES.to_vec()));
        assert_eq!(parse_size_list("SWEEP"), Ok(sweep_sizes()));
        let mixed = parse_size_list("seed,3,sweep").unwrap();
        assert_eq!(&mixed[..4], &[2, 3, 4, 8]);
        assert!(mixed.contains(&10240) && mixed.windows(2).all(|w| w[0] < w[1]));
        for bad in ["", ",", "4,,8", "4,"] {
            assert_eq!(parse_size_list(bad), Err(ParseError::SizeList(bad.into())));
        }
        assert_eq!(parse_size_list("4, x"), Err(ParseError::Size("x".into())));
    }

    #[test]
    fn counts_use_decimal_suffixes() {
        assert_eq!(parse_count("1000"), Ok(1000));
        assert_eq!(parse_count("100k"), Ok(100_000));
        assert_eq!(parse_count("1m"), Ok(1_000_000));
        assert_eq!(parse_count("1M"), Ok(1_000_000));
        assert_eq!(parse_count(" 2g "), Ok(2_000_000_000));
        assert_eq!(parse_count("0"), Err(ParseError::ZeroCount("0".into())));
        assert_eq!(
            parse_count("99999999999g"),
            Err(ParseError::CountTooLarge("99999999999g".into()))
        );
        for bad in ["", "1.5k", "ten", "5x", "1_000", "-1"] {
            assert_eq!(parse_count(bad), Err(ParseError::Count(bad.into())));
        }
    }

    #[test]
    fn durations_need_a_unit() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("250us"), Ok(Duration::from_micros(250)));
        assert_eq!(parse_duration("100ns"), Ok(Duration::from_nanos(100)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1.001S"), Ok(Duration::from_millis(1001)));
        assert_eq!(parse_duration(" 5 s "), Ok(Duration::from_secs(5)));
        assert_eq!(
            parse_duration("5").unwrap_err().to_string(),
            "invalid duration '5': a unit is required; add one of ns, us, ms, s or m (minutes), e.g. 5s"
        );
        assert_eq!(
            parse_duration("0s"),
            Err(ParseError::ZeroDuration("0s".into()))
        );
        assert_eq!(
            parse_duration("0.1ns"),
            Err(ParseError::ZeroDuration("0.1ns".into()))
        );
        assert_eq!(
            parse_duration("1000000000m"),
            Err(ParseError::DurationTooLong("1000000000m".into()))
        );
        for bad in ["fast", "s", "5h", "1.2.3s", "-5s", ""] {
            assert_eq!(parse_duration(bad), Err(ParseError::Duration(bad.into())));
        }
    }

    #[test]
    fn percentages_take_an_optional_sign_and_stay_between_0_and_100() {
        assert_eq!(parse_percent("1%"), Ok(1.0));
        assert_eq!(parse_percent(" 0.5 % "), Ok(0.5));
        assert_eq!(parse_percent("2"), Ok(2.0));
        for bad in ["0%", "100", "-1%", "one", "", "%"] {
            let err = parse_percent(bad).unwrap_err();
            assert!(err.to_string().contains("like 1%"), "{bad}: {err}");
        }
    }
}
